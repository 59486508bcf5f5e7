"""The math of the two heavy layers, plainly: what docs/backprop.md quotes, and what the fast
paths in ``layers.Dense`` and ``conv.Conv2D`` are tested equal to.

With ``HANDWRITING_ENGINE=reference`` in the environment (or ``use_engine("reference")``),
``Dense`` and ``Conv2D`` compute with these functions instead of their fast paths (chunks,
threads, scratch buffers, the convolution of delta): slower, the same numbers to float32
rounding, and each line one equation. Notation as in layers.py: rows are examples, ``delta``
is dC/d(the layer's output), and the cost already holds the 1/N.
"""

from __future__ import annotations

import os
from typing import Any

from numpy.lib.stride_tricks import sliding_window_view

from .backend import xp

ENGINE_ENV = "HANDWRITING_ENGINE"
ENGINES = ("fast", "reference")
_engine = os.environ.get(ENGINE_ENV) or "fast"  # checked when first used: a typo is one clear error


def use_engine(name: str) -> None:
    """Compute ``Dense`` and ``Conv2D`` with the ``"fast"`` paths (default) or the ``"reference"``
    functions of this module."""
    global _engine
    _engine = _known(name)


def reference() -> bool:
    """Whether the reference engine is in use."""
    return _known(_engine) == "reference"


def _known(name: str) -> str:
    if name not in ENGINES:
        raise ValueError(f"{ENGINE_ENV} must be one of {', '.join(ENGINES)}; got {name!r}")
    return name


# ----- Dense: z = a_in W + b ----------------------------------------------------------------
def dense_forward(a_in: Any, W: Any, b: Any) -> Any:
    """Z = A W + b: every example (row of A) at once."""
    return a_in @ W + b


def dense_backward(delta: Any, a_in: Any, W: Any) -> tuple[Any, Any, Any]:
    """(dC/dW, dC/db, dC/da_in) from delta = dC/dZ."""
    dW = a_in.T @ delta  # BP4: input activation times output error, summed over the batch
    db = delta.sum(axis=0)  # BP3: the error itself, summed over the batch
    da_in = delta @ W.T  # BP2: the error moved down one layer (the activation below adds sigma')
    return dW, db, da_in


# ----- Conv2D: z[n, f, y, x] = b[f] + sum_{c, i, j} W[f, c, i, j] a_pad[n, c, s y + i, s x + j]
def im2col(x: Any, k: int, s: int) -> Any:
    """P: every k x k patch of x (N, C, H, W) at stride s as one row, (N oh ow, C k k),
    rows in order (n, y, x), columns in order (c, i, j) like W's last three axes."""
    windows = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]  # (N, C, oh, ow, k, k)
    n, c, oh, ow = windows.shape[:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * k * k)


def col2im(dP: Any, shape: tuple[int, ...], k: int, s: int) -> Any:
    """The adjoint of im2col: each row's gradient added back onto the pixels its patch came
    from, (N oh ow, C k k) -> (N, C, H, W). Overlapping patches add up."""
    n, c, h, w = shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    patches = dP.reshape(n, oh, ow, c, k, k).transpose(0, 3, 1, 2, 4, 5)  # (N, C, oh, ow, k, k)
    dx = xp.zeros(shape, dtype=dP.dtype)
    for i in range(k):  # a loop over the k x k offsets of a patch, not over pixels
        for j in range(k):
            dx[:, :, i : i + s * oh : s, j : j + s * ow : s] += patches[..., i, j]
    return dx


def conv2d_forward(a_in: Any, W: Any, b: Any, s: int, p: int) -> tuple[Any, Any]:
    """(Z, P): Z = P K^T + b, with P the patches of a_in padded by p zeros and K = W as
    (F, C k k); P is kept for the backward pass."""
    n, f, k = a_in.shape[0], W.shape[0], W.shape[2]
    a_pad = xp.pad(a_in, ((0, 0), (0, 0), (p, p), (p, p)))
    oh, ow = (a_pad.shape[2] - k) // s + 1, (a_pad.shape[3] - k) // s + 1
    P = im2col(a_pad, k, s)
    Z = P @ W.reshape(f, -1).T + b  # one row per output position (n, y, x), one column per filter
    return Z.reshape(n, oh, ow, f).transpose(0, 3, 1, 2), P


def conv2d_backward(
    delta: Any, P: Any, W: Any, in_shape: tuple[int, ...], s: int, p: int
) -> tuple[Any, Any, Any]:
    """(dC/dW, dC/db, dC/da_in) from delta = dC/dZ (N, F, oh, ow) and forward's patches P."""
    n, c, h, w = in_shape
    f, k = W.shape[0], W.shape[2]
    D = delta.transpose(0, 2, 3, 1).reshape(-1, f)  # one row per output position, like P
    dW = (D.T @ P).reshape(W.shape)  # BP4: delta^T P, every position's patch times its error
    db = D.sum(axis=0)  # BP3: the error summed over examples and positions
    dP = D @ W.reshape(f, -1)  # BP2: delta K, each patch's share of the error ...
    da_pad = col2im(dP, (n, c, h + 2 * p, w + 2 * p), k, s)  # ... added back onto its pixels
    return dW, db, da_pad[:, :, p : p + h, p : p + w]
