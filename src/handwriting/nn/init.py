"""Weight initializers: the standard deviation of the Gaussian each weight is drawn from.

* ``gaussian``: sigma = 1, the original ``train.py`` (and Nielsen's) choice.
* ``xavier`` (Glorot & Bengio 2010): sigma^2 = 2 / (fan_in + fan_out), for sigmoid/tanh.
* ``he`` (He et al. 2015): sigma^2 = 2 / fan_in, for ReLU-like units, which zero half their
  inputs and so need twice the variance to keep activations from shrinking layer by layer.

fan_in is how many inputs feed one unit (for a convolution: channels x kernel area), fan_out
how many units one input feeds.
"""

from __future__ import annotations

import math

import numpy as np

INITIALIZERS: dict[str, object] = {
    "gaussian": lambda fan_in, fan_out: 1.0,
    "xavier": lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out)),
    "he": lambda fan_in, fan_out: math.sqrt(2.0 / fan_in),
}


def draw(
    name: str, rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int
) -> np.ndarray:
    """Weights of ``shape`` ~ N(0, sigma^2), sigma given by the initializer ``name``."""
    return rng.standard_normal(shape) * INITIALIZERS[name](fan_in, fan_out)  # type: ignore[operator]
