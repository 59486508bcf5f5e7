"""How well `recognize` reads MNIST test digits re-rendered the way a user's picture might
come: placed at a random size and position on a larger canvas, sometimes inverted, on grey
paper, with noise, a slight blur and JPEG compression. Also 4-digit numbers built from test
digits the same way. Prints the accuracy next to the model's clean test accuracy.

    python benchmarks/robustness.py --data-dir ../shared/data/mnist [--model FILE] [--n 10000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from handwriting import recognize
from handwriting.data import load_mnist
from handwriting.imaging.synthetic import photo
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
    return photo(strip, rng)


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
