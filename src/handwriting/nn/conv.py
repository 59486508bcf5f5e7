"""Convolution and pooling on channels-first batches (N, C, H, W).

A convolution is a matrix product in disguise (im2col): gather every k x k patch of the
input into one row of a matrix, and the layer becomes ``patches @ kernels``. The gather is a
strided view of the input (no Python loop over examples or pixels), copied into rows.

The batch is convolved a few images at a time, each core taking its share of these chunks:
a chunk's patches fit in the core's cache, so they are multiplied while still there instead
of making a round trip through memory (the patches are k x k times bigger than the input).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .backend import xp
from .init import INITIALIZERS, draw
from .layers import LAYERS, Layer
from .parallel import in_parallel
from .reference import conv2d_backward, conv2d_forward, reference

CHUNK_BYTES = 4 << 20  # patches per chunk: about what one core's share of the caches holds


def _pad_channels_last(x: Any, p: int, out: Any = None) -> Any:
    """(n, h, w, c) with p zeros around each image, channels-last. ``out``, if given, is a
    buffer of the right shape whose border is already zero (only the inside is written)."""
    if p == 0:
        return x
    n, h, w, c = x.shape
    if out is None:
        out = xp.zeros((n, h + 2 * p, w + 2 * p, c), dtype=x.dtype)
    in_parallel(
        n, lambda lo, hi: out[lo:hi, p : p + h, p : p + w].__setitem__(Ellipsis, x[lo:hi]), size=x.size
    )
    return out


def _im2col(x: Any, k: int, s: int, oh: int, ow: int, out: Any) -> Any:
    """The k x k patches of a channels-last batch (n, h, w, c) at stride s, one per row,
    copied into ``out``: (n oh ow, k k c). The windows are a strided view of x."""
    n, c = x.shape[0], x.shape[3]
    windows = sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s][:, :oh, :ow]  # (n, oh, ow, c, k, k)
    out.reshape(n, oh, ow, k, k, c)[...] = windows.transpose(0, 1, 2, 4, 5, 3)
    return out


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

    reference.conv2d_forward and conv2d_backward are these equations line by line (the
    reference engine). The fast path below does each chunk of images start to finish in one
    thread; backward forms the chunk's patches again rather than keeping the whole batch's
    (k x k times the input) from forward. Sums over chunks are added in chunk order, so
    results do not depend on the core count.
    """

    decay = ("W",)

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
        self._buffers: dict[tuple[str, int], Any] = {}  # scratch arrays, per thread, reused

    def size(self) -> int:
        return self.f * (self.c * self.k * self.k + 1)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 3 or shape[0] != self.c:
            raise ValueError(f"Conv2D expects ({self.c}, H, W) inputs, got {shape}")
        oh, ow = ((d + 2 * self.padding - self.k) // self.stride + 1 for d in shape[1:])
        if min(oh, ow) < 1:
            raise ValueError(f"Conv2D's {self.k}x{self.k} kernel does not fit inputs of {shape[1:]}")
        return self.f, oh, ow

    def cost(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """A matmul of the patches (one row of c k k numbers per output position) by the
        kernels; the padded input and the patches are the scratch memory."""
        _, oh, ow = self.output_shape(shape)
        patches = oh * ow * self.c * self.k * self.k
        padded = self.c * (shape[1] + 2 * self.padding) * (shape[2] + 2 * self.padding)
        return 2 * patches * self.f, patches + padded

    def initialize(self, rng: np.random.Generator, dtype: Any) -> None:
        fan_in, fan_out = self.c * self.k * self.k, self.f * self.k * self.k
        w = draw(self.init, rng, (self.f, self.c, self.k, self.k), fan_in, fan_out)
        self.params = {"W": xp.asarray(w, dtype=dtype), "b": xp.zeros(self.f, dtype=dtype)}

    def forward(self, a_in: Any, training: bool = False) -> Any:
        n, c, h, w = a_in.shape
        if c != self.c:
            raise ValueError(f"Conv2D expects {self.c} input channels, got {c}")
        if reference():
            self.in_shape = a_in.shape
            z, self.P = conv2d_forward(a_in, self.params["W"], self.params["b"], self.stride, self.padding)
            return z
        k, s, p = self.k, self.stride, self.padding
        oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        # Work channels-last: patches are then copied in contiguous runs of c numbers.
        x = a_in.transpose(0, 2, 3, 1)
        if p:
            x = _pad_channels_last(
                x, p, self._buffer("padded", (n, h + 2 * p, w + 2 * p, c), x.dtype, zero=True)
            )
        self.x, self.shape = x, (n, c, h, w, oh, ow)
        # (n, oh, ow, f) in memory, seen as (n, f, oh, ow): the delta that comes back has
        # the same layout, so backward's reshape is free.
        z = xp.empty((n, oh, ow, self.f), dtype=x.dtype)
        kernels_t, b = self._kernels().T, self.params["b"]

        def convolve(lo: int, hi: int) -> None:
            zc = z[lo:hi].reshape(-1, self.f)
            xp.matmul(self._patches(lo, hi, chunk, "patches"), kernels_t, out=zc)
            zc += b

        chunk = self._chunk_size(oh * ow * k * k * c)
        self._each_chunk(convolve, chunk)
        return z.transpose(0, 3, 1, 2)

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        if reference():
            dw, db, da_in = conv2d_backward(
                delta, self.P, self.params["W"], self.in_shape, self.stride, self.padding
            )
            self.grads["W"], self.grads["b"] = dw, db
            return da_in
        n, c, h, w, oh, ow = self.shape
        k, s, p, f = self.k, self.stride, self.padding, self.f
        d = delta.transpose(0, 2, 3, 1)  # (n, oh, ow, f)
        as_conv = self._grad_as_conv()
        chunk = self._chunk_size(oh * ow * k * k * c, h * w * k * k * f if need_input_grad and as_conv else 0)
        n_chunks = -(-n // chunk)
        nabla_w = xp.empty((n_chunks, f, k * k * c), dtype=delta.dtype)  # one sum per chunk
        nabla_b = xp.empty((n_chunks, f), dtype=delta.dtype)
        if as_conv:
            # dC/da is itself a convolution: delta, padded by k-1-p, correlated with the kernels
            # flipped in space and with in/out channels swapped. One more im2col and matmul
            # instead of a scatter-add of every patch gradient (which is memory-bound).
            q = k - 1 - p
            dx = xp.empty((n, h, w, c), dtype=delta.dtype)
            flipped = self.params["W"][:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(-1, c)
        else:
            dx = xp.zeros((n, h + 2 * p, w + 2 * p, c), dtype=delta.dtype)
            kernels = self._kernels()

        def backprop(lo: int, hi: int) -> None:
            i, dc = lo // chunk, d[lo:hi].reshape(-1, f)
            xp.matmul(dc.T, self._patches(lo, hi, chunk, "patches-back"), out=nabla_w[i])
            dc.sum(axis=0, out=nabla_b[i])
            if not need_input_grad:
                return
            if as_conv:
                dpad = self._buffer("dpad", (chunk, oh + 2 * q, ow + 2 * q, f), delta.dtype, zero=True)
                dpad = dpad[: hi - lo]
                dpad[:, q : q + oh, q : q + ow] = d[lo:hi]
                dpatches = self._scratch("dpatches", chunk, hi - lo, h * w, k * k * f, delta.dtype)
                xp.matmul(_im2col(dpad, k, 1, h, w, dpatches), flipped, out=dx[lo:hi].reshape(-1, c))
            else:
                dpatches = (dc @ kernels).reshape(hi - lo, oh, ow, k, k, c)
                for ki in range(k):  # a loop over the k x k kernel offsets, not over pixels
                    for kj in range(k):
                        dx[lo:hi, ki : ki + s * oh : s, kj : kj + s * ow : s] += dpatches[:, :, :, ki, kj]

        self._each_chunk(backprop, chunk)
        dk = nabla_w.sum(axis=0).reshape(f, k, k, c)
        self.grads["W"] = xp.ascontiguousarray(dk.transpose(0, 3, 1, 2))
        self.grads["b"] = nabla_b.sum(axis=0)
        if not need_input_grad:
            return None
        if not as_conv:
            dx = dx[:, p : p + h, p : p + w]
        return dx.transpose(0, 3, 1, 2)

    # ----- chunks and scratch memory ---------------------------------------------------
    def _grad_as_conv(self) -> bool:
        return self.stride == 1 and self.padding <= self.k - 1

    def _chunk_size(self, *numbers_per_image: int) -> int:
        """As many images as fit CHUNK_BYTES of patches (the biggest kind formed)."""
        per_image = max(numbers_per_image) * self.x.dtype.itemsize
        return max(1, min(self.shape[0], CHUNK_BYTES // per_image))

    def _each_chunk(self, work: Callable[[int, int], None], chunk: int) -> None:
        """work(lo, hi) for each chunk of images [lo, hi), the chunks shared out among the cores."""
        n = self.shape[0]

        def share(first: int, last: int) -> None:
            for i in range(first, last):
                work(i * chunk, min(n, (i + 1) * chunk))

        in_parallel(-(-n // chunk), share)

    def _patches(self, lo: int, hi: int, chunk: int, name: str) -> Any:
        """The patches of images lo..hi-1 of the (padded) input, in this thread's scratch."""
        _, c, _, _, oh, ow = self.shape
        out = self._scratch(name, chunk, hi - lo, oh * ow, self.k * self.k * c, self.x.dtype)
        return _im2col(self.x[lo:hi], self.k, self.stride, oh, ow, out)

    def _scratch(self, name: str, chunk: int, images: int, rows: int, cols: int, dtype: Any) -> Any:
        """A (images rows, cols) matrix in a scratch array sized for a whole chunk."""
        return self._buffer(name, (chunk * rows, cols), dtype)[: images * rows]

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: Any, zero: bool = False) -> Any:
        """A scratch array of this thread's, kept from the previous batch of the same shape:
        touching fresh memory for every batch (page faults) costs as much as the copy into it."""
        key = (name, threading.get_ident())
        buf = self._buffers.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[key] = (xp.zeros if zero else xp.empty)(shape, dtype=dtype)
        return buf

    def _kernels(self) -> Any:
        """W (f, c, k, k) as the matrix K (f, k k c), matching the patches' column order."""
        return self.params["W"].transpose(0, 2, 3, 1).reshape(self.f, -1)

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

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 3 or min(shape[1:]) < self.pool:
            raise ValueError(f"{type(self).__name__}({self.pool}) cannot take inputs of shape {shape}")
        return shape[0], shape[1] // self.pool, shape[2] // self.pool

    def config(self) -> dict[str, Any]:
        return {"size": self.pool}


class MaxPool2D(_Pool):
    """z = the largest value of each window;
    dC/da = delta at the position that was the largest (the first, on ties), 0 elsewhere.

    Forward runs through the window's positions in order, keeping the running maximum and
    noting where each position takes the lead (beats all before it; strictly, so a tie stays
    with the earlier one). The winner is the last to take the lead, so backward walks the
    positions in reverse: each takes what is left of delta where it took the lead.
    """

    def forward(self, a_in: Any, training: bool = False) -> Any:
        self.a_in = a_in
        views = _offsets(a_in, self.pool)
        z = views[0].copy()
        self.leads = [xp.empty(z.shape, dtype=bool) for _ in views[1:]]

        def pool(lo: int, hi: int) -> None:
            for v, lead in zip(views[1:], self.leads, strict=True):
                xp.greater(v[lo:hi], z[lo:hi], out=lead[lo:hi])
                xp.maximum(z[lo:hi], v[lo:hi], out=z[lo:hi])

        in_parallel(a_in.shape[0], pool, size=z.size)
        return z

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        h, w = self.a_in.shape[2:]
        whole = h % self.pool == 0 and w % self.pool == 0  # else the uncovered edge stays 0
        dx = (xp.empty_like if whole else xp.zeros_like)(self.a_in)  # in the input's memory layout
        targets = _offsets(dx, self.pool)

        def route(lo: int, hi: int) -> None:
            rest = delta[lo:hi]
            for dst, lead in zip(targets[:0:-1], self.leads[::-1], strict=True):
                xp.multiply(rest, lead[lo:hi], out=dst[lo:hi])
                rest = rest - dst[lo:hi]  # exactly 0 where this position took the lead
            targets[0][lo:hi] = rest

        in_parallel(delta.shape[0], route, size=delta.size)
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

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) != 3:
            raise ValueError(f"GlobalAvgPool2D expects (C, H, W) inputs, got {shape}")
        return (shape[0],)

    def forward(self, a_in: Any, training: bool = False) -> Any:
        self.in_shape = a_in.shape
        return a_in.mean(axis=(2, 3))

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        h, w = self.in_shape[2:]
        return xp.broadcast_to((delta / delta.dtype.type(h * w))[:, :, None, None], self.in_shape)


LAYERS.update({cls.__name__: cls for cls in (Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D)})
