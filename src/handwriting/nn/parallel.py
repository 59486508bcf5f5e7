"""Running batch work on every core.

NumPy lets go of the GIL while it copies, adds and multiplies arrays, so splitting a batch
into one slice per core and handing the slices to threads puts every core to work: on
memory-bound copies (im2col, col2im, pooling), which NumPy runs on one core, and on matrix
products, each thread running its share single-threaded on its own core. A convolution does
both for a few images at a time, while their patches are still in that core's cache.

This does not mix with a multi-threaded BLAS library: after each product its idle threads
spin for a while waiting for more, taking the cores from ours, and small products split
again over its threads spend more time waking them than computing. So every network trains
and predicts inside ``engine_threads()``: BLAS on one thread, and ``matmul`` splitting large
products itself. Dense networks too: on 2 cores an `mlp` epoch took as long this way as with
OpenBLAS's two threads (1.06 s and 1.09 s), but beside one busy process 1.5x as long instead
of 2.6x, because our waiting threads sleep where OpenBLAS's spin (benchmarks/busy_core.py).

The split depends on the number of cores, never on how busy they are, so the same seed gives
the same model on a machine whatever else runs on it (OpenBLAS's own threads would not: the
rounding changes with their number). Convolutions split their batch into chunks of a fixed
size and add the chunks' sums in order, so they give the same bits on any number of cores;
a dense layer's product split in two rounds a little differently from the whole (BLAS
rounds by the shape it is given), so across core counts the last bits may differ.
(Simple elementwise layers gain nothing this way: measured on ReLU, they are bound by
memory bandwidth.)
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from typing import Any

from .backend import xp

_cores = os.cpu_count() or 1  # how many cores batch work is shared among (see use_cores)
MIN_SIZE = 1 << 18  # below this many elements, hand-offs to threads cost more than they save
MIN_PRODUCT = 1 << 23  # the same for matrix products, in multiply-adds
_engine_threads = contextvars.ContextVar("engine_threads", default=False)


def use_cores(n: int) -> None:
    """Share batch work among at most ``n`` cores: 1 in each of several processes that
    already share the machine's cores between them."""
    global _cores
    _cores = max(1, int(n))


@cache
def _pool() -> ThreadPoolExecutor:
    """The helper threads, started the first time work is shared (the caller is the other one)."""
    return ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 1) - 1))


@cache
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController  # imported when first needed, like the threads

    return ThreadpoolController()  # finds the BLAS library NumPy loaded, once


@contextmanager
def engine_threads() -> Iterator[None]:
    """A context in which BLAS runs on the calling thread alone and ``matmul`` shares large
    products among the cores itself."""
    token = _engine_threads.set(True)
    try:
        with _blas().limit(limits=1, user_api="blas"):
            yield
    finally:
        _engine_threads.reset(token)


def in_parallel(n: int, work: Callable[[int, int], None], size: int | None = None) -> None:
    """Run work(lo, hi) on slices covering [0, n), in parallel threads when the arrays
    involved (``size`` elements, if known) are large enough to be worth it."""
    parts = min(_cores, n)
    if parts <= 1 or (size is not None and size < MIN_SIZE):
        work(0, n)
        return
    bounds = [n * i // parts for i in range(parts + 1)]
    # Each thread runs in a copy of the caller's context, so settings such as np.errstate hold
    # there too. The calling thread does the first slice itself rather than wait idle.
    others = [
        _pool().submit(contextvars.copy_context().run, work, bounds[i], bounds[i + 1])
        for i in range(1, parts)
    ]
    try:
        work(bounds[0], bounds[1])
    finally:  # never return while a thread still writes into the caller's arrays
        for future in others:
            future.result()


def matmul(a: Any, b: Any, out: Any = None) -> Any:
    """a @ b (2-D). Inside ``engine_threads()``, a large product has the rows of its result
    shared among the cores, one slice each."""
    if not _engine_threads.get() or a.shape[0] * a.shape[1] * b.shape[1] < MIN_PRODUCT:
        return xp.matmul(a, b, out=out)
    if out is None:
        out = xp.empty((a.shape[0], b.shape[1]), dtype=xp.result_type(a, b))
    in_parallel(a.shape[0], lambda lo, hi: xp.matmul(a[lo:hi], b, out=out[lo:hi]))
    return out
