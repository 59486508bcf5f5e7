"""Which library for the image processing? The operations the recognizer does most, timed on
the masks and ink maps of the pictures ``speed.py`` draws, with OpenCV, scikit-image and
scipy.ndimage side by side (and the hand-written NumPy of an older checkout, if given):

* connected components (8-neighbour labels, with boxes and areas);
* grey dilation by a 3x3 square;
* morphological opening with a long thin kernel (1 x 61), the line finder's step;
* anti-aliased resizing of a float image to a third of its size.

    pip install scikit-image scipy opencv-python-headless
    python benchmarks/image_libraries.py [--numpy-src OLD_CHECKOUT/src]

``--numpy-src`` names the ``src`` folder of a checkout from before OpenCV (e.g. commit
81dc7d9, via ``git worktree add``), whose ``imaging/components.py`` and ``normalize._dilate``
are timed too.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import measure, morphology, transform

sys.path.insert(0, str(Path(__file__).parent))
from handwriting.imaging.ink import ink_map, ink_mask
from handwriting.imaging.load import load_gray
from speed import pictures

cv2.setNumThreads(1)


def best_ms(f: Callable[[], object], repeat: int) -> float:
    f()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def old_numpy(src: str | None) -> dict[str, Callable]:
    """The hand-written NumPy of an older checkout, if given."""
    if src is None:
        return {}
    out = {}
    for name in ("components", "normalize"):
        spec = importlib.util.spec_from_file_location(
            f"old_{name}", Path(src) / "handwriting" / "imaging" / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        try:
            spec.loader.exec_module(module)
        except ImportError:  # normalize imports its package's siblings: take components only
            continue
        out[name] = module
    found = {}
    if "components" in out:
        c = out["components"]
        found["components"] = lambda m: c.boxes(*c.label(m))
    return found


def candidates(
    ink: np.ndarray, mask: np.ndarray, old: dict[str, Callable]
) -> dict[str, dict[str, Callable[[], object]]]:
    """Each operation, as each library does it, on this picture's ink map and mask."""
    m8 = mask.astype(np.uint8)
    h, w = ink.shape
    kernel3, line = np.ones((3, 3), np.uint8), np.ones((1, 61), np.uint8)
    return {
        "components": {
            "OpenCV": lambda: cv2.connectedComponentsWithStats(m8, connectivity=8),
            "scikit-image": lambda: measure.regionprops(measure.label(mask, connectivity=2)),
            "scipy.ndimage": lambda: ndimage.find_objects(ndimage.label(mask, np.ones((3, 3)))[0]),
            **({"NumPy (old)": lambda: old["components"](mask)} if "components" in old else {}),
        },
        "dilation 3x3": {
            "OpenCV": lambda: cv2.dilate(ink, kernel3),
            "scikit-image": lambda: morphology.dilation(ink, np.ones((3, 3))),
            "scipy.ndimage": lambda: ndimage.grey_dilation(ink, size=(3, 3)),
            "NumPy (shifted maxima)": lambda: np.max(
                [np.pad(ink, 1)[i : i + h, j : j + w] for i in range(3) for j in range(3)], axis=0
            ),
        },
        "opening 1x61": {
            "OpenCV": lambda: cv2.morphologyEx(m8, cv2.MORPH_OPEN, line),
            "scikit-image": lambda: morphology.opening(m8, np.ones((1, 61), np.uint8)),
            "scipy.ndimage": lambda: ndimage.binary_opening(mask, np.ones((1, 61), bool)),
        },
        "resize to 1/3": {
            "OpenCV": lambda: cv2.resize(ink, (w // 3, h // 3), interpolation=cv2.INTER_AREA),
            "scikit-image": lambda: transform.resize(ink, (h // 3, w // 3), anti_aliasing=True),
            "scipy.ndimage": lambda: ndimage.zoom(ndimage.uniform_filter(ink, 3), 1 / 3, order=1),
            "Pillow": lambda: Image.fromarray(ink).resize((w // 3, h // 3), Image.Resampling.BOX),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--numpy-src", help="src folder of a checkout with the hand-written NumPy")
    args = parser.parse_args()
    old = old_numpy(args.numpy_src)
    for name, data in pictures().items():
        gray = load_gray(io.BytesIO(data).getvalue())
        ink = ink_map(gray)
        mask = ink_mask(ink)
        h, w = ink.shape
        print(f"\n{name}: working size {w}x{h}, {int(mask.sum()):,} ink pixels")
        rows = candidates(ink, mask, old)
        for op, libraries in rows.items():
            times = {lib: best_ms(f, args.repeat) for lib, f in libraries.items()}
            fastest = min(times.values())
            shown = ", ".join(f"{lib} {t:.3f} ms ({t / fastest:.1f}x)" for lib, t in times.items())
            print(f"  {op:<14} {shown}")


if __name__ == "__main__":
    main()
