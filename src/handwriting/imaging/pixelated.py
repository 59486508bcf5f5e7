"""Pictures blown up with nearest-neighbour resampling (a small scan or a screenshot zoomed in),
made smooth again before they are read.

Such a picture is a grid of flat k x k blocks: every change between neighbouring pixels falls
on a block boundary. Its strokes are staircases that no handwriting has, and a network trained
on pen strokes reads them poorly (issue #11: 8x8 digits blown up to 64x64 were read 42% right
with nearest-neighbour, 94% with bicubic enlargement). So the grid is found from where the
changes fall, the picture is taken back to one pixel a block, and enlarged again smoothly.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_BLOCK = 3  # smaller blocks are ordinary pixels as far as reading goes
MAX_BLOCK = 32
MIN_CELLS = 6  # the grid has at least this many blocks each way
ON_GRID = 0.98  # share of the change between neighbouring pixels that must fall on the grid
MIN_EDGES = 4  # boundaries with change on them, each way: fewer may be a mere rectangle
ROWS = 128  # changes are gathered from about this many rows and columns (enough, and cheap)


def unpixelate(gray: np.ndarray) -> np.ndarray:
    """``gray`` (H, W) unchanged, or, when it is a nearest-neighbour enlargement by k >= MIN_BLOCK
    pixels a block, its blocks averaged back to one pixel each and enlarged bicubically to
    (H, W) again; the part of the picture off the grid's whole blocks is kept as it was."""
    found = _grid(gray)
    if found is None:
        return gray
    k, oy, ox = found
    ny, nx = (gray.shape[0] - oy) // k, (gray.shape[1] - ox) // k
    inner = gray[oy : oy + ny * k, ox : ox + nx * k]
    cells = cv2.resize(inner, (nx, ny), interpolation=cv2.INTER_AREA)
    out = gray.copy()
    smooth = cv2.resize(cells, (nx * k, ny * k), interpolation=cv2.INTER_CUBIC)
    out[oy : oy + ny * k, ox : ox + nx * k] = smooth
    return np.clip(out, 0.0, 1.0, out=out)


def _grid(gray: np.ndarray) -> tuple[int, int, int] | None:
    """(k, row offset, column offset) of the block grid, or None when there is none."""
    h, w = gray.shape
    top = min(MAX_BLOCK, h // MIN_CELLS, w // MIN_CELLS)
    if top < MIN_BLOCK:
        return None
    across = _changes(gray[:: max(1, h // ROWS)], axis=1)
    down = _changes(gray[:, :: max(1, w // ROWS)], axis=0)
    for k in range(top, MIN_BLOCK - 1, -1):  # the largest block that fits (k fits, so do its divisors)
        ox, oy = _offset(across, k), _offset(down, k)
        if ox is not None and oy is not None:
            return k, oy, ox
    return None


def _changes(gray: np.ndarray, axis: int) -> np.ndarray:
    """Summed absolute change between pixel i and i+1 along ``axis``, for each i."""
    return np.abs(np.diff(gray, axis=axis)).sum(axis=1 - axis)


def _offset(change: np.ndarray, k: int) -> int | None:
    """The offset o at which blocks of k pixels start (boundaries after pixels o-1, o-1+k, ...),
    when at least ON_GRID of the change falls on them; None otherwise."""
    total = float(change.sum())
    if total <= 0.0:
        return None
    boundary = (np.arange(change.size) + 1) % k  # the boundary after pixel i starts a block at i+1
    per_offset = np.bincount(boundary, weights=change, minlength=k)
    o = int(per_offset.argmax())
    on_grid = boundary == o
    if per_offset[o] < ON_GRID * total or np.count_nonzero(change[on_grid] > 1e-3 * total) < MIN_EDGES:
        return None
    return o
