"""Data: IDX files, MNIST (local folder, cache, or download) and the built-in UCI digits."""

from __future__ import annotations

import os

from ..errors import DataError
from .dataset import Dataset, holdout_split
from .digits import load_digits
from .idx import parse_idx, read_idx, write_idx
from .mnist import find_local, load_mnist

DATASETS = ("auto", "mnist", "digits")


def load_dataset(name: str = "auto", data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """``mnist``: MNIST (downloaded into the cache if no local copy is found);
    ``digits``: the small built-in set; ``auto``: MNIST if a copy is found in ``data_dir``,
    $HANDWRITING_DATA or the cache, else the built-in digits (it never downloads)."""
    if name == "auto":
        name = "mnist" if data_dir is not None or find_local() is not None else "digits"
    if name == "mnist":
        return load_mnist(data_dir)
    if name == "digits":
        return load_digits()
    raise DataError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")


__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "find_local",
    "holdout_split",
    "load_dataset",
    "load_digits",
    "load_mnist",
    "parse_idx",
    "read_idx",
    "write_idx",
]
