"""Does the recognizer know what it is looking at? Every picture goes through
``handwriting.recognize()``, as a user's would:

* other people's writing: the 1,797 UCI digits that scikit-learn ships (13 writers outside
  MNIST, 8x8), upscaled to 64x64 bicubic and nearest-neighbour, dark ink on light paper; right
  only when ``digits`` is exactly the label (``?`` or nothing is wrong);
* no digit: Fashion-MNIST **test** items rendered as photos, and letters the project draws
  (none used in training; those shaped like digits left out), "no digit given" meaning
  ``digits == ""``; the rate per letter too;
* MNIST **test** digits rendered as photos (as in robustness.py): read right, and wrongly
  rejected (no digit given);
* calibration: the expected calibration error (top label, 15 equal-width bins) on the clean
  MNIST test set and on the photo digits that were not rejected; the clean test accuracy.

    python benchmarks/generalization.py --data-dir ../shared/data/mnist [--model FILE] [--n 10000]

``--split validation`` measures the same on stand-ins that no model trains on, for choosing
between models and settings: MNIST's validation digits (rendered as photos, and made into
8x8 UCI-like digits the way UCI's were: a 32x32 binary bitmap, counted in 4x4 blocks), and
Fashion-MNIST's last 2,000 training items (the reader's validation negatives). No letters:
they are kept for the test.
"""

from __future__ import annotations

import argparse
import gzip
import os
import time

import numpy as np
from PIL import Image

from handwriting import recognize
from handwriting.calibration import calibration_error, expected_calibration_error
from handwriting.data import load_mnist
from handwriting.data.digits import digits_file
from handwriting.data.idx import read_idx
from handwriting.data.openset import FASHION_DIRS, counted
from handwriting.imaging.synthetic import LETTERS, photo, render
from handwriting.recognizer import load_model
from robustness import as_photo


def uci_digits() -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(digits_file(), "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    return table[:, :64].reshape(-1, 8, 8) / 16.0, table[:, 64].astype(np.int64)


def uci_picture(x: np.ndarray, method: Image.Resampling) -> Image.Image:
    """An 8x8 UCI digit (ink = 1) as a 64x64 picture, dark ink on light paper."""
    image = Image.fromarray(np.round(255 * (1 - x)).astype(np.uint8))
    return image.resize((64, 64), method)


def letter_picture(c: str, rng: np.random.Generator) -> bytes:
    image = render(
        c, height=int(rng.integers(40, 160)), pen=float(rng.uniform(0.05, 0.13)), ink=0, paper=255, rng=rng
    )
    return photo(1.0 - np.asarray(image, np.float32) / 255.0, rng)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("HANDWRITING_DATA"))
    parser.add_argument("--fashion-dir", default=FASHION_DIRS[0])
    parser.add_argument("--model", help="model file (default: the pretrained model)")
    parser.add_argument("--n", type=int, default=10_000, help="Fashion-MNIST and MNIST test items to render")
    parser.add_argument("--letters", type=int, default=40, help="renderings per letter")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=("test", "validation"), default="test")
    args = parser.parse_args()
    model = load_model(args.model)
    ds = load_mnist(args.data_dir)
    test = args.split == "test"
    print(f"model: {args.model or 'pretrained'} ({model.meta.get('preset')}); {args.split} split")
    start = time.perf_counter()

    x, y = uci_digits() if test else (counted(ds.x_val[:2000]), ds.y_val[:2000])
    for name, method in (("bicubic", Image.Resampling.BICUBIC), ("nearest", Image.Resampling.NEAREST)):
        right = sum(
            recognize(uci_picture(xi, method), model).digits == str(yi) for xi, yi in zip(x, y, strict=True)
        )
        what = "UCI digits" if test else "UCI-like MNIST validation digits"
        print(f"{what} read right, {name} 64x64: {100 * right / len(y):6.2f}%  ({len(y)} digits)")

    rng = np.random.default_rng(args.seed)
    name = "t10k-images-idx3-ubyte.gz" if test else "train-images-idx3-ubyte.gz"
    fashion = read_idx(os.path.join(args.fashion_dir, name)).astype(np.float32) / 255
    items = rng.permutation(len(fashion))[: args.n] if test else np.arange(len(fashion) - 2000, len(fashion))
    none = sum(recognize(photo(fashion[i], rng), model).digits == "" for i in items)
    what = "Fashion-MNIST test" if test else "Fashion-MNIST last 2,000 training items"
    print(f"{what} as photos, no digit given: {100 * none / len(items):6.2f}%  ({len(items)} items)")

    if test:
        letters(model, rng, args.letters)
    x, y = (ds.x_test, ds.y_test) if test else (ds.x_val, ds.y_val)
    split = "test" if test else "validation"
    right = rejected = 0
    confidences, correct = [], []
    for i in rng.permutation(len(y))[: args.n]:
        result = recognize(as_photo([x[i]], rng), model)
        right += result.digits == str(y[i])
        rejected += result.digits == ""
        if len(result.confidences) == 1:
            confidences.append(result.confidences[0])
            correct.append(result.top_k[0][0][0] == y[i])
    n = min(args.n, len(y))
    print(f"MNIST {split} digits as photos, read right:      {100 * right / n:6.2f}%  ({n} digits)")
    print(f"MNIST {split} digits as photos, wrongly rejected:{100 * rejected / n:6.2f}%")
    proba = model.predict_proba(x)
    clean, ece = float((model.decide(proba) == y).mean()), expected_calibration_error(proba, y)
    print(f"Clean MNIST {split} accuracy:                    {100 * clean:6.2f}%")
    print(f"Calibration error (ECE), clean MNIST {split}:    {100 * ece:6.2f}%")
    ece = calibration_error(np.asarray(confidences), np.asarray(correct))
    print(f"Calibration error (ECE), photo digits read:   {100 * ece:6.2f}%  ({len(confidences)} digits)")
    print(f"({time.perf_counter() - start:.0f} s)")


def letters(model, rng: np.random.Generator, n: int) -> None:
    """Letters drawn by the project, none used in training: the rate of no digit given."""
    rates = {}
    for c in LETTERS:
        rates[c] = np.mean([recognize(letter_picture(c, rng), model).digits == "" for _ in range(n)])
    print(
        f"Letters drawn by the project, no digit given: {100 * np.mean(list(rates.values())):6.2f}%  "
        f"({len(LETTERS)} letters x {n})"
    )
    print("  per letter: " + " ".join(f"{c} {100 * r:.0f}%" for c, r in rates.items()))


if __name__ == "__main__":
    main()
