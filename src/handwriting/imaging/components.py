"""Connected components of a binary mask, vectorized: no Python loop over pixels.

Each ink pixel starts as its own tree. Every round, each pair of neighbouring ink pixels
hooks the larger of their two roots under the smaller, then pointer jumping
(parent <- parent[parent]) flattens the trees; a handful of rounds joins every component.
"""

from __future__ import annotations

import numpy as np

# 8-connectivity: each pixel linked to its right, lower, lower-right and lower-left neighbours
_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))


def label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels 1..n for the 8-connected components of ``mask`` (0 = background), and n."""
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    flat = np.flatnonzero(mask)
    labels = np.zeros(h * w, dtype=np.int32)
    if flat.size == 0:
        return labels.reshape(h, w), 0
    position = np.full(h * w, -1, dtype=np.int64)
    position[flat] = np.arange(flat.size)
    grid = position.reshape(h, w)
    u_parts, v_parts = [], []
    for dy, dx in _OFFSETS:
        a = grid[: h - dy, max(0, -dx) : w - max(0, dx)]
        b = grid[dy:, max(0, dx) : w - max(0, -dx) if dx < 0 else w]
        b = b[:, : a.shape[1]]
        linked = (a >= 0) & (b >= 0)
        u_parts.append(a[linked])
        v_parts.append(b[linked])
    u, v = np.concatenate(u_parts), np.concatenate(v_parts)
    parent = np.arange(flat.size)
    while True:
        ru, rv = parent[u], parent[v]
        differ = ru != rv
        if not differ.any():
            break
        lo, hi = np.minimum(ru[differ], rv[differ]), np.maximum(ru[differ], rv[differ])
        np.minimum.at(parent, hi, lo)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    roots, compact = np.unique(parent, return_inverse=True)
    labels[flat] = compact + 1
    return labels.reshape(h, w), int(roots.size)


def boxes(labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For labels 1..n: bounding boxes as rows (top, left, bottom, right), bottom/right
    exclusive, and pixel counts."""
    ys, xs = np.nonzero(labels)
    lab = labels[ys, xs] - 1
    area = np.bincount(lab, minlength=n)
    top = np.full(n, labels.shape[0])
    left = np.full(n, labels.shape[1])
    bottom = np.zeros(n, dtype=np.int64)
    right = np.zeros(n, dtype=np.int64)
    np.minimum.at(top, lab, ys)
    np.minimum.at(left, lab, xs)
    np.maximum.at(bottom, lab, ys + 1)
    np.maximum.at(right, lab, xs + 1)
    return np.stack([top, left, bottom, right], axis=1), area
