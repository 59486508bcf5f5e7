"""Running batch work on every core.

NumPy lets go of the GIL while it copies, adds and multiplies arrays, so splitting a batch
into one slice per core and handing the slices to threads puts every core to work: on
memory-bound copies (im2col, col2im, pooling), which NumPy runs on one core, and on matrix
products, which each thread then runs single-threaded on its own core. A convolution does
both for a few images at a time, while their patches are still in that core's cache.

So while the engine trains or predicts, it keeps BLAS to one thread (``single_threaded_blas``)
and does the splitting itself. Mixing the two does not work: after each product, the BLAS
library's idle threads spin for a while waiting for more, taking the cores from ours, and
many small products split again over the BLAS threads spend more time waking them than
computing.

Callers make results independent of the split: each slice is computed exactly as it would
be alone, and sums over slices are added up in a fixed order afterwards.
(Simple elementwise layers gain nothing this way: measured on ReLU, they are bound by
memory bandwidth.)
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from functools import cache

from threadpoolctl import ThreadpoolController

_WORKERS = os.cpu_count() or 1
_POOL = ThreadPoolExecutor(max_workers=_WORKERS)
MIN_SIZE = 1 << 18  # below this many elements (or multiply-adds), hand-offs cost more than they save


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # finds the BLAS library NumPy loaded, once


def single_threaded_blas() -> AbstractContextManager:
    """A context in which NumPy's matrix products run on the calling thread alone."""
    return _blas().limit(limits=1, user_api="blas")


def in_parallel(n: int, work: Callable[[int, int], None], size: int | None = None) -> None:
    """Run work(lo, hi) on slices covering [0, n), in parallel threads when the arrays
    involved (``size`` elements, if known) are large enough to be worth it."""
    parts = min(_WORKERS, n)
    if parts <= 1 or (size is not None and size < MIN_SIZE):
        work(0, n)
        return
    bounds = [n * i // parts for i in range(parts + 1)]
    # Each thread runs in a copy of the caller's context, so settings such as np.errstate hold there too.
    contexts = [contextvars.copy_context() for _ in range(parts)]
    list(_POOL.map(lambda i: contexts[i].run(work, bounds[i], bounds[i + 1]), range(parts)))
