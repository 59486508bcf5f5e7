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
    ks = np.arange(top, MIN_BLOCK - 1, -1)  # the largest block that fits (k fits, so do its divisors)
    across = _offsets(_changes(gray[:: max(1, h // ROWS)], axis=1), ks)
    down = _offsets(_changes(gray[:, :: max(1, w // ROWS)], axis=0), ks)
    fits = np.flatnonzero((across >= 0) & (down >= 0))
    return (int(ks[fits[0]]), int(down[fits[0]]), int(across[fits[0]])) if fits.size else None


def _changes(gray: np.ndarray, axis: int) -> np.ndarray:
    """Summed absolute change between pixel i and i+1 along ``axis``, for each i."""
    return np.abs(np.diff(gray, axis=axis)).sum(axis=1 - axis)


def _offsets(change: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """For each block size k, the offset o at which blocks start (boundaries after pixels o-1,
    o-1+k, ...), when at least ON_GRID of the change falls on them and MIN_EDGES of those
    boundaries carry change; -1 otherwise. All sizes at once: row j of ``per_offset`` sums the
    change by boundary (i + 1) mod k_j."""
    total = float(change.sum())
    if total <= 0.0:
        return np.full(ks.size, -1)
    boundary = (np.arange(change.size) + 1)[None, :] % ks[:, None]  # (sizes, n)
    at = boundary + np.arange(ks.size)[:, None] * ks.max()
    cells = ks.size * int(ks.max())
    per_offset = np.bincount(at.ravel(), np.tile(change, ks.size), cells).reshape(ks.size, -1)
    edges = np.bincount(at.ravel(), np.tile(change > 1e-3 * total, ks.size), cells).reshape(ks.size, -1)
    o = per_offset.argmax(axis=1)
    rows = np.arange(ks.size)
    ok = (per_offset[rows, o] >= ON_GRID * total) & (edges[rows, o] >= MIN_EDGES)
    return np.where(ok, o, -1)
