"""Training data for a reader of people's pictures: MNIST plus what MNIST lacks.

A network trained on MNIST alone has seen only clean MNIST digits, so it calls anything a
digit and reads other writing styles poorly. This module adds, to the training and
validation splits of a 28x28 data set, examples made by the project's own code:

* **styles**: MNIST digits of the *same split*, altered the ways real writing differs from
  MNIST (very low resolution then blown up smoothly or blockily, thick marker strokes,
  broken strokes, a crossbar on the 7, a base under the 1), labelled with their digit;
* **not a digit** (class 10): Fashion-MNIST *training* items (clothes and shoes) and shapes
  the project draws (zigzags, stars, spirals, scribbles, ...), less the pieces that are one
  thin straight stroke: a strap or a seam cut out of a garment is written like a 1.

Every example is rendered as a photo (``imaging.synthetic.photo``) and taken back through
the very segmentation and normalization that ``recognize`` uses, so the network is trained
on what it will be shown. Letters are never used: they measure rejection of a kind of mark
never trained on. Test splits are left untouched.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from ..errors import DataError, HandwritingError
from ..imaging import find_digits
from ..imaging.load import load_gray
from ..imaging.normalize import dilate, looks_like_a_one
from ..imaging.synthetic import photo, shape
from .dataset import Dataset
from .idx import read_idx
from .mnist import sha256_of

NOT_A_DIGIT = 10  # the label of every mark that is not a digit
FASHION_ENV = "HANDWRITING_FASHION"
FASHION_DIRS = ("/usr/share/datasets/fashion-mnist",)  # Debian's dataset-fashion-mnist
FASHION_TRAIN = "train-images-idx3-ubyte.gz"

# How many examples of each kind, per split (train, validation).
N_STYLES = (10_000, 2_000)
N_FASHION = (12_000, 2_000)
N_SHAPES = (6_000, 1_000)
STYLES = ("lowres", "blocky", "thick", "broken", "bar")


def find_fashion(folder: str | os.PathLike[str] | None = None) -> Path | None:
    """Fashion-MNIST's training images: in ``folder``, $HANDWRITING_FASHION or Debian's place."""
    for candidate in (folder, os.environ.get(FASHION_ENV), *FASHION_DIRS):
        if candidate and (Path(candidate) / FASHION_TRAIN).is_file():
            return Path(candidate) / FASHION_TRAIN
    return None


def with_open_set(dataset: Dataset, seed: int = 0, fashion_dir: str | None = None) -> Dataset:
    """``dataset`` (28x28) with style variants and non-digits added to its training and
    validation splits, shuffled; the test split unchanged. Deterministic for a given seed.
    Fashion-MNIST's training split is used where found; it is required, since drawn shapes
    alone teach too little of what is not a digit."""
    if dataset.image_shape != (28, 28):
        raise HandwritingError(f"the open-set examples are 28x28; {dataset.name} is {dataset.image_shape}")
    path = find_fashion(fashion_dir)
    if path is None:
        raise DataError(
            "training a reader needs Fashion-MNIST's training images as examples of what is not a digit: "
            f"apt-get install dataset-fashion-mnist, or set {FASHION_ENV} to a folder holding {FASHION_TRAIN}"
        )
    fashion = read_idx(path).astype(np.float32) / np.float32(255.0)
    rng = np.random.default_rng([seed, 2026])
    cut = len(fashion) - N_FASHION[1]  # the last items for validation, the first for training
    parts = []
    for x, y, n_style, items, n_shapes in (
        (dataset.x_train, dataset.y_train, N_STYLES[0], fashion[: N_FASHION[0]], N_SHAPES[0]),
        (dataset.x_val, dataset.y_val, N_STYLES[1], fashion[cut:], N_SHAPES[1]),
    ):
        pick = rng.choice(len(y), n_style, replace=False)
        styled_x, styled_y = _through_pipeline([_style(x[i], int(y[i]), rng) for i in pick], y[pick], rng)
        neg = [photo(item, rng) for item in items] + [_shape_photo(rng) for _ in range(n_shapes)]
        neg_x, neg_y = _through_pipeline(neg, np.full(len(neg), NOT_A_DIGIT), rng, rendered=True)
        xs, ys = np.concatenate([x, styled_x, neg_x]), np.concatenate([y, styled_y, neg_y])
        order = rng.permutation(len(ys))
        parts.append((xs[order], ys[order]))
    (x_train, y_train), (x_val, y_val) = parts
    files = {**dataset.files, f"fashion-mnist/{FASHION_TRAIN}": sha256_of(path)}
    return replace(
        dataset,
        name=f"{dataset.name}+open-set",
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        files=files,
        n_classes=NOT_A_DIGIT + 1,
    )


def _through_pipeline(
    items: list, labels: np.ndarray, rng: np.random.Generator, rendered: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Each item (an ink image and its resampling, or JPEG bytes when ``rendered``) read by the
    recognizer's own segmentation; every piece found keeps its item's label."""
    xs, ys = [], []
    for item, label in zip(items, labels, strict=True):
        data = item if rendered else photo(item[0], rng, resample=item[1])
        for d in find_digits(load_gray(data)):
            if label == NOT_A_DIGIT and looks_like_a_one(d.pixels):
                continue  # labelled "not a digit", it taught the network to reject thin 1s
            xs.append(d.pixels)
            ys.append(int(label))
    if not xs:
        return np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64)
    return np.stack(xs).astype(np.float32), np.asarray(ys, np.int64)


def _shape_photo(rng: np.random.Generator) -> bytes:
    """A drawn non-digit mark, pen and size at random, as a photo."""
    image = shape(height=int(rng.integers(24, 120)), pen=rng.uniform(0.04, 0.14), ink=0, paper=255, rng=rng)
    ink = 1.0 - np.asarray(image, np.float32) / 255.0
    return photo(ink, rng, resample="bicubic")


def _style(digit: np.ndarray, label: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A 28x28 MNIST digit altered one random way; returns the ink image and how to enlarge it."""
    kind = str(rng.choice(STYLES))
    if kind in ("lowres", "blocky"):  # a few pixels across, like the 8x8 UCI digits
        k = int(rng.integers(6, 11))
        small = cv2.resize(digit[4:24, 4:24], (k, k), interpolation=cv2.INTER_AREA)
        small = np.round(small * 16) / 16  # 17 grey levels
        return np.pad(small, 1), "nearest" if kind == "blocky" else "bicubic"
    if kind == "thick":  # a broad marker
        r = int(rng.integers(1, 3))
        return dilate(digit, r), "bicubic"
    if kind == "broken":  # a pen that skips: one or two thin bands without ink
        out = digit.copy()
        for _ in range(int(rng.integers(1, 3))):
            angle = rng.uniform(0, np.pi)
            yy, xx = np.mgrid[0:28, 0:28] - 13.5
            d = yy * np.cos(angle) + xx * np.sin(angle) - rng.uniform(-6, 6)
            out[np.abs(d) < rng.uniform(0.6, 1.2)] = 0
        return out, "bicubic"
    return _bar(digit, label, rng), "bicubic"


def counted(digits: np.ndarray, cut: float = 0.5) -> np.ndarray:
    """Digits (N, H, W), ink = 1, made into 8x8 digits the way the UCI digits were: the ink's
    box scaled (aspect kept) into a 32x32 bitmap (ink where above ``cut``), then the ink counted
    in each 4x4 block (0-16), over 16. The validation stand-in for the UCI digits
    (benchmarks/generalization.py); as a training style it did not help (BENCHMARKS.md, run 3)."""
    out = np.zeros((len(digits), 8, 8), np.float32)
    for k, d in enumerate(digits):
        ys, xs = np.nonzero(d > 0.3)
        if ys.size == 0:
            continue
        crop = np.ascontiguousarray(d[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1], np.float32)
        s = 32 / max(crop.shape)
        h, w = max(1, round(crop.shape[0] * s)), max(1, round(crop.shape[1] * s))
        big = cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR) > cut
        bitmap = np.zeros((32, 32), np.float32)
        bitmap[(32 - h) // 2 : (32 - h) // 2 + h, (32 - w) // 2 : (32 - w) // 2 + w] = big
        out[k] = bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3)) / 16
    return out


def _bar(digit: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray:
    """A crossbar through the middle of a 7, a base under a 1 (continental habits); other
    digits are returned thickened or thinned a little."""
    rows = np.flatnonzero(digit.max(axis=1) > 0.5)
    if label not in (1, 7) or rows.size == 0:
        return dilate(digit, 1) if rng.random() < 0.5 else digit
    row = int(rows[-1]) if label == 1 else int((rows[0] + rows[-1]) // 2 + rng.integers(-1, 2))
    cols = np.flatnonzero(digit[row] > 0.5)
    centre = int(cols.mean()) if cols.size else 14
    half = int(rng.integers(3, 6))
    out = digit.copy()
    out[row : row + 2, max(0, centre - half) : centre + half + 1] = 1.0
    return out
