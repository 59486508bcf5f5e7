"""Make the figures in docs/: what the augmentation does, and accuracy against training
time for trained models (each model file records its per-epoch history).

    python docs/make_figures.py augmentation
    python docs/make_figures.py curves seed.npz mlp.npz cnn.npz    # needs matplotlib
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).parent


def augmentation(out: Path = HERE / "augmentation.png") -> None:
    """Row 1: digits drawn by the project and normalized like MNIST; rows 2-6: the cnn
    preset's random distortions of them (affine and elastic)."""
    from handwriting.imaging import find_digits
    from handwriting.imaging.synthetic import render
    from handwriting.presets import PRESETS

    rng = np.random.default_rng(0)
    digits = np.stack(
        [find_digits(np.asarray(render(d, rng=rng), np.float32) / 255)[0].pixels for d in "0123456789"]
    )
    rows = [digits] + [PRESETS["cnn"].augment(digits, rng) for _ in range(5)]
    grid = np.concatenate([np.concatenate(list(r), axis=1) for r in rows], axis=0)
    Image.fromarray((255 * (1 - np.clip(grid, 0, 1))).astype(np.uint8)).resize(
        (grid.shape[1] * 3, grid.shape[0] * 3), Image.Resampling.NEAREST
    ).save(out)
    print(f"wrote {out}")


def curves(paths: list[str], out: Path = HERE / "accuracy-vs-time.png") -> None:
    """Validation accuracy after each epoch against cumulative training seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from handwriting.model import Model

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for path in paths:
        meta = Model.load(path).meta
        h = meta["history"]
        t = np.cumsum(h["seconds"])
        ax.plot(
            t,
            100 * np.array(h["val_accuracy"]),
            marker="o",
            ms=3,
            label=f"{meta['preset']} (test {100 * meta['metrics']['test_accuracy']:.2f}%)",
        )
    ax.set_xscale("log")
    ax.set_xlabel("training time (s, 2-core CPU, log scale)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_ylim(90, 100)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("MNIST: accuracy against training time, per preset")
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["augmentation"]:
        augmentation()
    elif sys.argv[1:2] == ["curves"]:
        curves(sys.argv[2:])
    else:
        sys.exit(__doc__)
