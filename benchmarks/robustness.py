"""How well `recognize` reads MNIST test digits re-rendered the way a user's picture might
come: placed at a random size and position on a larger canvas, sometimes inverted, on grey
paper, with noise, a slight blur and JPEG compression. Also 4-digit numbers built from test
digits the same way. Prints the accuracy next to the model's clean test accuracy.

    python benchmarks/robustness.py --data-dir ../shared/data/mnist [--model FILE] [--n 10000]
"""

from __future__ import annotations

import argparse
import io
import os
import time

import numpy as np
from PIL import Image, ImageFilter

from handwriting import recognize
from handwriting.data import load_mnist
from handwriting.recognizer import load_model


def as_photo(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """MNIST digits (ink = 1) side by side, then degraded like a user's picture; JPEG bytes."""
    gaps = rng.integers(-3, 9, len(digits) - 1)  # at 28x28 scale; MNIST boxes have ~4 px margins
    width = 28 * len(digits) + int(gaps.sum())
    strip = np.zeros((28, width), np.float32)
    x = 0
    for i, d in enumerate(digits):
        strip[:, x : x + 28] = np.maximum(strip[:, x : x + 28], d)
        x += 28 + (int(gaps[i]) if i < len(gaps) else 0)
    scale = rng.uniform(1.5, 8.0)
    size = (max(1, round(width * scale)), max(1, round(28 * scale)))
    ink = np.asarray(Image.fromarray(strip).resize(size, Image.Resampling.BICUBIC), np.float32).clip(0, 1)
    canvas_w = int(size[0] * rng.uniform(1.2, 2.5)) + 10
    canvas_h = int(size[1] * rng.uniform(1.2, 2.5)) + 10
    canvas = np.zeros((canvas_h, canvas_w), np.float32)
    top, left = rng.integers(0, canvas_h - size[1] + 1), rng.integers(0, canvas_w - size[0] + 1)
    canvas[top : top + size[1], left : left + size[0]] = ink
    paper, pen = rng.uniform(170, 255), rng.uniform(0, 70)
    if rng.random() < 0.5:  # light ink on dark paper
        paper, pen = 255 - paper, 255 - pen
    pixels = paper + (pen - paper) * canvas + rng.normal(0, rng.uniform(0, 12), canvas.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2) * scale / 3))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(40, 95)))
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("HANDWRITING_DATA"))
    parser.add_argument("--model", help="model file (default: the pretrained model)")
    parser.add_argument("--n", type=int, default=10_000, help="single test digits to re-render")
    parser.add_argument("--numbers", type=int, default=1_000, help="4-digit numbers to build")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    ds = load_mnist(args.data_dir)
    model = load_model(args.model)
    x, y = ds.x_test, ds.y_test
    rng = np.random.default_rng(args.seed)
    clean = model.score(x, y)
    print(
        f"model: {args.model or 'pretrained'} ({model.meta.get('preset')}); "
        f"clean test accuracy {100 * clean:.2f}%"
    )

    start = time.perf_counter()
    right, found_one = 0, 0
    for i in rng.permutation(len(y))[: args.n]:
        result = recognize(as_photo([x[i]], rng), model)
        found_one += len(result.digits) == 1
        right += result.digits == str(y[i])
    seconds = time.perf_counter() - start
    print(
        f"re-rendered single digits: {100 * right / args.n:.2f}% read right "
        f"({args.n} digits, {100 * found_one / args.n:.2f}% found as exactly one digit, "
        f"{1000 * seconds / args.n:.1f} ms each)"
    )

    whole = 0
    for _ in range(args.numbers):
        idx = rng.choice(len(y), 4, replace=False)
        result = recognize(as_photo([x[i] for i in idx], rng), model)
        whole += result.digits == "".join(str(y[i]) for i in idx)
    print(f"4-digit numbers: {100 * whole / args.numbers:.2f}% read entirely right ({args.numbers} numbers)")


if __name__ == "__main__":
    main()
