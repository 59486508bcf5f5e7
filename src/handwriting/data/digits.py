"""The UCI handwritten digits that scikit-learn ships (1,797 images of 8x8, values 0-16):
a small real data set that works offline, read straight from scikit-learn's data file."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import Dataset
from .mnist import sha256_of

TEST_SIZE = 360
VAL_SIZE = 360


def digits_file() -> Path:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the built-in digits come with scikit-learn, which is not installed: "
            "pip install 'handwriting[digits]' (or pip install scikit-learn)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        raise DataError(f"{path}: scikit-learn's digits file is missing; reinstall scikit-learn")
    return path


def load_digits() -> Dataset:
    """The 1,797 digits, shuffled once with a fixed seed (0) and split 1,077 / 360 / 360
    into train / validation / test. The split never depends on the training seed."""
    path = digits_file()
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    if table.ndim != 2 or table.shape[1] != 65:
        raise DataError(f"{path}: expected rows of 64 pixels and a label, got shape {table.shape}")
    x = (table[:, :64] / np.float32(16.0)).reshape(-1, 8, 8)
    y = table[:, 64].astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    n_train = len(y) - TEST_SIZE - VAL_SIZE
    return Dataset(
        "digits",
        x[:n_train],
        y[:n_train],
        x[n_train : n_train + VAL_SIZE],
        y[n_train : n_train + VAL_SIZE],
        x[n_train + VAL_SIZE :],
        y[n_train + VAL_SIZE :],
        {path.name: sha256_of(path)},
    )
