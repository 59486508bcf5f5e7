"""Running memory-bound array work on every core.

NumPy lets go of the GIL while it copies and adds arrays, so splitting a big batch into one
slice per core and handing the slices to threads makes a convolution's im2col copies and
col2im adds use all cores, as the BLAS matrix products already do. The result does not depend
on the split: each slice is computed exactly as it would be alone. (Simple elementwise layers
gain nothing this way: measured on ReLU, they are bound by memory bandwidth.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

_WORKERS = os.cpu_count() or 1
_POOL = ThreadPoolExecutor(max_workers=_WORKERS)
MIN_SIZE = 1 << 18  # below this many elements, thread hand-offs cost more than they save


def in_parallel(n: int, work: Callable[[int, int], None], size: int | None = None) -> None:
    """Run work(lo, hi) on slices covering [0, n) of the batch, in parallel threads when the
    arrays involved (``size`` elements, if known) are large enough to be worth it."""
    parts = min(_WORKERS, n)
    if parts <= 1 or (size is not None and size < MIN_SIZE):
        work(0, n)
        return
    bounds = [n * i // parts for i in range(parts + 1)]
    list(_POOL.map(lambda i: work(bounds[i], bounds[i + 1]), range(parts)))
