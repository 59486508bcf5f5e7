"""A data set split three ways: train (to fit), validation (to choose hyper-parameters and
stop early) and test (touched only to report the final figure)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    """Images as float32 arrays (N, H, W) scaled to [0, 1]; labels as int64 classes 0-9
    (and 10, "not a digit", in the open-set data of ``data.openset``).

    ``files`` maps each source file's name to its SHA-256, so a model can record exactly
    what it was trained on.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    files: dict[str, str] = field(default_factory=dict)
    n_classes: int = 10  # 11 where label 10 means "not a digit"

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def summary(self) -> str:
        h, w = self.image_shape
        return (
            f"{self.name}: {len(self.y_train):,} training, {len(self.y_val):,} validation, "
            f"{len(self.y_test):,} test images of {h}x{w}"
        )


def holdout_split(
    x: np.ndarray, y: np.ndarray, val_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out the *last* ``val_size`` training examples as the validation split."""
    if not 0 < val_size < len(y):
        raise ValueError(f"validation size must be between 1 and {len(y) - 1}, got {val_size}")
    cut = len(y) - val_size
    return x[:cut], y[:cut], x[cut:], y[cut:]
