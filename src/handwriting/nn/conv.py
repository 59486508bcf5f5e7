"""Convolution and pooling on channels-first batches (N, C, H, W).

A convolution is a matrix product in disguise (im2col): gather every k x k patch of the
input into one row of a matrix, and the layer becomes ``patches @ kernels``. The gather is a
strided view of the input (no Python loop over examples or pixels), copied once into rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .backend import xp
from .init import INITIALIZERS, draw
from .layers import LAYERS, Layer
from .parallel import in_parallel


def _pad_channels_last(x: Any, p: int, out: Any = None) -> Any:
    """(n, h, w, c) with p zeros around each image, channels-last. ``out``, if given, is a
    buffer of the right shape whose border is already zero (only the inside is written)."""
    if p == 0:
        return x
    n, h, w, c = x.shape
    if out is None:
        out = xp.zeros((n, h + 2 * p, w + 2 * p, c), dtype=x.dtype)
    in_parallel(n, lambda lo, hi: out[lo:hi, p : p + h, p : p + w].__setitem__(Ellipsis, x[lo:hi]))
    return out


def _im2col(x: Any, k: int, s: int, oh: int, ow: int, out: Any = None) -> Any:
    """The k x k patches of a channels-last batch (n, h, w, c) at stride s, one per row:
    (n oh ow, k k c). The windows are a strided view; each thread copies part of the batch
    into ``out`` (a reused buffer, if given)."""
    n, c = x.shape[0], x.shape[3]
    windows = sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s][:, :oh, :ow]  # (n, oh, ow, c, k, k)
    windows = windows.transpose(0, 1, 2, 4, 5, 3)
    patches = (
        xp.empty((n, oh, ow, k, k, c), dtype=x.dtype) if out is None else out.reshape(n, oh, ow, k, k, c)
    )
    in_parallel(n, lambda lo, hi: patches[lo:hi].__setitem__(Ellipsis, windows[lo:hi]))
    return patches.reshape(n * oh * ow, k * k * c)


class Conv2D(Layer):
    """z[n, f, y, x] = b[f] + sum_{c, i, j} W[f, c, i, j] a_pad[n, c, s y + i, s x + j]

    with a_pad the input padded by ``padding`` zeros and s the stride. With the patches of
    the input as the rows of P (one row per output position (n, y, x), one column per
    (c, i, j)) and K = W reshaped to (F, C k k):

      forward:   Z = P K^T + b
      backward:  dC/dK = delta^T P,  dC/db = sum of delta over positions,
                 dC/dP = delta K, scattered back onto the input positions each patch came
                 from (col2im: for each of the k x k offsets, one strided add); with
                 stride 1 the same sum is computed as a convolution of delta instead.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        init: str = "he",
    ) -> None:
        super().__init__()
        if init not in INITIALIZERS:
            raise ValueError(f"unknown initializer {init!r}; choose from {sorted(INITIALIZERS)}")
        if min(in_channels, out_channels, kernel_size, stride) < 1 or padding < 0:
            raise ValueError("channels, kernel size and stride must be >= 1, padding >= 0")
        self.c, self.f, self.k = int(in_channels), int(out_channels), int(kernel_size)
        self.stride, self.padding, self.init = int(stride), int(padding), init
        self._buffers: dict[str, Any] = {}  # scratch arrays reused from batch to batch

    def size(self) -> int:
        return self.f * (self.c * self.k * self.k + 1)

    def initialize(self, rng: np.random.Generator, dtype: Any) -> None:
        fan_in, fan_out = self.c * self.k * self.k, self.f * self.k * self.k
        w = draw(self.init, rng, (self.f, self.c, self.k, self.k), fan_in, fan_out)
        self.params = {"W": xp.asarray(w, dtype=dtype), "b": xp.zeros(self.f, dtype=dtype)}

    def forward(self, a_in: Any, training: bool = False) -> Any:
        n, c, h, w = a_in.shape
        if c != self.c:
            raise ValueError(f"Conv2D expects {self.c} input channels, got {c}")
        k, s, p = self.k, self.stride, self.padding
        oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        # Work channels-last: patches are then copied in contiguous runs of c numbers.
        x = a_in.transpose(0, 2, 3, 1)
        if p:
            x = _pad_channels_last(
                x, p, self._buffer("padded", (n, h + 2 * p, w + 2 * p, c), x.dtype, zero=True)
            )
        self.patches = _im2col(x, k, s, oh, ow, self._buffer("patches", (n * oh * ow, k * k * c), x.dtype))
        self.shape = (n, c, h, w, oh, ow)
        z = self.patches @ self._kernels().T
        z += self.params["b"]
        # (n, oh, ow, f) in memory, seen as (n, f, oh, ow): no copy, and the delta that comes
        # back has the same layout, so backward's reshape is free too.
        return z.reshape(n, oh, ow, self.f).transpose(0, 3, 1, 2)

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: Any, zero: bool = False) -> Any:
        """A scratch array kept from the previous batch of the same shape: touching fresh
        memory for every batch (page faults) costs as much as the copy into it."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[name] = (xp.zeros if zero else xp.empty)(shape, dtype=dtype)
        return buf

    def _kernels(self) -> Any:
        """W (f, c, k, k) as the matrix K (f, k k c), matching the patches' column order."""
        return self.params["W"].transpose(0, 2, 3, 1).reshape(self.f, -1)

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        n, c, h, w, oh, ow = self.shape
        k, s, p = self.k, self.stride, self.padding
        d = delta.transpose(0, 2, 3, 1).reshape(n * oh * ow, self.f)
        dk = (d.T @ self.patches).reshape(self.f, k, k, c)
        self.grads["W"] = xp.ascontiguousarray(dk.transpose(0, 3, 1, 2))
        self.grads["b"] = d.sum(axis=0)
        if not need_input_grad:
            return None
        if s == 1 and p <= k - 1:
            # dC/da is itself a convolution: delta, padded by k-1-p, correlated with the kernels
            # flipped in space and with in/out channels swapped. One more im2col and matmul
            # instead of a scatter-add of every patch gradient (which is memory-bound).
            q = k - 1 - p
            shape = (n, oh + 2 * q, ow + 2 * q, self.f)
            dpad = _pad_channels_last(
                delta.transpose(0, 2, 3, 1), q, self._buffer("dpad", shape, delta.dtype, zero=True)
            )
            dpatches = _im2col(
                dpad, k, 1, h, w, self._buffer("dpatches", (n * h * w, k * k * self.f), delta.dtype)
            )
            flipped = self.params["W"][:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(-1, c)
            return (dpatches @ flipped).reshape(n, h, w, c).transpose(0, 3, 1, 2)
        dpatches = (d @ self._kernels()).reshape(n, oh, ow, k, k, c)
        dx = xp.zeros((n, h + 2 * p, w + 2 * p, c), dtype=delta.dtype)

        def col2im(lo: int, hi: int) -> None:
            for i in range(k):  # a loop over the k x k kernel offsets, not over pixels
                for j in range(k):
                    dx[lo:hi, i : i + s * oh : s, j : j + s * ow : s, :] += dpatches[lo:hi, :, :, i, j, :]

        in_parallel(n, col2im)
        return dx[:, p : p + h, p : p + w, :].transpose(0, 3, 1, 2)

    def config(self) -> dict[str, Any]:
        return {
            "in_channels": self.c,
            "out_channels": self.f,
            "kernel_size": self.k,
            "stride": self.stride,
            "padding": self.padding,
            "init": self.init,
        }


def _offsets(a: Any, size: int) -> list[Any]:
    """The size^2 strided views a[:, :, i::size, j::size] (cropped to whole windows): element
    (y, x) of view (i, j) is pixel (size y + i, size x + j). Views, so nothing is copied."""
    oh, ow = a.shape[2] // size, a.shape[3] // size
    return [a[:, :, i::size, j::size][:, :, :oh, :ow] for i in range(size) for j in range(size)]


class _Pool(Layer):
    """Pooling over non-overlapping size x size windows (rows and columns left over at the
    bottom and right edge are dropped)."""

    def __init__(self, size: int = 2) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"pool size must be >= 1, got {size}")
        self.pool = int(size)

    def config(self) -> dict[str, Any]:
        return {"size": self.pool}


class MaxPool2D(_Pool):
    """z = the largest value of each window;
    dC/da = delta at the position that was the largest (the first, on ties), 0 elsewhere."""

    def forward(self, a_in: Any, training: bool = False) -> Any:
        self.a_in = a_in
        views = _offsets(a_in, self.pool)
        self.z = views[0].copy()

        def pool(lo: int, hi: int) -> None:
            for v in views[1:]:
                xp.maximum(self.z[lo:hi], v[lo:hi], out=self.z[lo:hi])

        in_parallel(a_in.shape[0], pool)
        return self.z

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        dx = xp.zeros_like(self.a_in)  # same memory layout as the input
        sources, targets = _offsets(self.a_in, self.pool), _offsets(dx, self.pool)

        def route(lo: int, hi: int) -> None:
            z, taken = self.z[lo:hi], xp.zeros(self.z[lo:hi].shape, dtype=bool)
            for src, dst in zip(sources, targets, strict=True):
                winner = (src[lo:hi] == z) & ~taken
                taken |= winner
                xp.multiply(delta[lo:hi], winner, out=dst[lo:hi])

        in_parallel(delta.shape[0], route)
        return dx


class AvgPool2D(_Pool):
    """z = the mean of each window;  dC/da = delta / size^2 at every position of the window."""

    def forward(self, a_in: Any, training: bool = False) -> Any:
        self.in_shape, self.in_dtype = a_in.shape, a_in.dtype
        views = _offsets(a_in, self.pool)
        z = views[0].copy()
        for v in views[1:]:
            z += v
        z /= z.dtype.type(self.pool**2)
        return z

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        dx = xp.zeros(self.in_shape, dtype=self.in_dtype)
        share = delta / delta.dtype.type(self.pool**2)
        for dst in _offsets(dx, self.pool):
            dst[...] = share
        return dx


class GlobalAvgPool2D(Layer):
    """(N, C, H, W) -> (N, C): z[n, c] = mean over (y, x) of a[n, c, y, x];  dC/da = delta / (H W)."""

    def forward(self, a_in: Any, training: bool = False) -> Any:
        self.in_shape = a_in.shape
        return a_in.mean(axis=(2, 3))

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        h, w = self.in_shape[2:]
        return xp.broadcast_to((delta / delta.dtype.type(h * w))[:, :, None, None], self.in_shape)


LAYERS.update({cls.__name__: cls for cls in (Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D)})
