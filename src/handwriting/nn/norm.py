"""Batch normalization (Ioffe & Szegedy 2015), for dense (N, D) and convolutional (N, C, H, W)
activations: each feature (or channel) is normalized over the batch (and positions)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import xp
from .layers import LAYERS, Layer


class BatchNorm(Layer):
    """Training:  mu, var = mean and variance of x over the batch (and spatial positions),
                  x_hat = (x - mu) / sqrt(var + eps),  y = gamma x_hat + beta,
                  running_mean/var <- (1 - m) running + m batch  (m = momentum).
    Evaluation:  the same with the running statistics in place of the batch's.

    Backward (training), with M values per feature and g = dC/dy * gamma:
      dC/dgamma = sum dC/dy x_hat,   dC/dbeta = sum dC/dy,
      dC/dx = (g - mean(g) - x_hat mean(g x_hat)) / sqrt(var + eps).
    """

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        if num_features < 1 or not 0 < momentum <= 1 or eps <= 0:
            raise ValueError("need num_features >= 1, 0 < momentum <= 1 and eps > 0")
        self.n, self.momentum, self.eps = int(num_features), float(momentum), float(eps)

    def size(self) -> int:
        return 4 * self.n

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if not shape or shape[0] != self.n:
            raise ValueError(f"BatchNorm({self.n}) cannot take inputs of shape {shape}")
        return shape

    def initialize(self, rng: np.random.Generator, dtype: Any) -> None:
        self.params = {"gamma": xp.ones(self.n, dtype=dtype), "beta": xp.zeros(self.n, dtype=dtype)}
        self.buffers = {
            "running_mean": xp.zeros(self.n, dtype=dtype),
            "running_var": xp.ones(self.n, dtype=dtype),
        }

    def forward(self, x: Any, training: bool = False) -> Any:
        if x.shape[1] != self.n:
            raise ValueError(f"BatchNorm expects {self.n} features, got {x.shape[1]}")
        # Images: one row per (example, position), one column per channel. For the output of
        # a Conv2D (channels-last in memory) these views copy nothing.
        flat = x if x.ndim == 2 else x.transpose(0, 2, 3, 1).reshape(-1, self.n)
        f = x.dtype.type
        if training:
            mu = flat.mean(axis=0)
            xc = flat - mu
            var = xp.einsum("ij,ij->j", xc, xc) / f(flat.shape[0])
            m = flat.shape[0]
            self.buffers["running_mean"] *= f(1 - self.momentum)
            self.buffers["running_mean"] += f(self.momentum) * mu
            self.buffers["running_var"] *= f(1 - self.momentum)
            self.buffers["running_var"] += f(self.momentum * m / max(m - 1, 1)) * var  # unbiased
        else:
            xc = flat - self.buffers["running_mean"]
            var = self.buffers["running_var"]
        self.inv_std = 1.0 / xp.sqrt(var + f(self.eps))
        xc *= self.inv_std
        self.x_hat = xc
        self.in_shape = x.shape
        y = self.x_hat * self.params["gamma"]
        y += self.params["beta"]
        return y if x.ndim == 2 else self._unflatten(y)

    def _unflatten(self, a: Any) -> Any:
        n, c, h, w = self.in_shape
        return a.reshape(n, h, w, c).transpose(0, 3, 1, 2)

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        d = delta if delta.ndim == 2 else delta.transpose(0, 2, 3, 1).reshape(-1, self.n)
        self.grads["gamma"] = xp.einsum("ij,ij->j", d, self.x_hat)
        self.grads["beta"] = d.sum(axis=0)
        if not need_input_grad:
            return None
        # With g = delta gamma: mean(g) = gamma dC/dbeta / M and mean(g x_hat) = gamma dC/dgamma / M,
        # so dC/dx = gamma / sqrt(var + eps) (delta - dC/dbeta / M - x_hat dC/dgamma / M).
        m = d.dtype.type(d.shape[0])
        dx = self.x_hat * (self.grads["gamma"] / m)
        xp.subtract(d, dx, out=dx)
        dx -= self.grads["beta"] / m
        dx *= self.params["gamma"] * self.inv_std
        return dx if delta.ndim == 2 else self._unflatten(dx)

    def config(self) -> dict[str, Any]:
        return {"num_features": self.n, "momentum": self.momentum, "eps": self.eps}


LAYERS[BatchNorm.__name__] = BatchNorm
