"""Weight initializers: each returns a ``(fan_in, fan_out)`` array drawn from ``rng``.

* ``gaussian``: w ~ N(0, 1), the original ``train.py`` (and Nielsen's) choice.
* ``xavier`` (Glorot & Bengio 2010): w ~ N(0, 2 / (fan_in + fan_out)), for sigmoid/tanh.
* ``he`` (He et al. 2015): w ~ N(0, 2 / fan_in), for ReLU-like units, which zero half
  their inputs and so need twice the variance to keep activations from shrinking.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def gaussian(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """Unit Gaussian: w ~ N(0, 1)."""
    return rng.standard_normal((fan_in, fan_out))


def xavier(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """Glorot/Xavier normal: w ~ N(0, 2 / (fan_in + fan_out))."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / (fan_in + fan_out))


def he(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """He/Kaiming normal: w ~ N(0, 2 / fan_in)."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


INITIALIZERS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "gaussian": gaussian,
    "xavier": xavier,
    "he": he,
}
