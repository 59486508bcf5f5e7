"""Step 4: the lines of writing, top to bottom.

Two pieces of ink are on the same line when their vertical extents overlap by at least
OVERLAP of the shorter one and they are horizontally within REACH digit heights of each
other, or when a small piece lies just above or below a larger one (a 5 whose bar the pen
left separate); lines are the chains of such pairs (connected components of that relation, by
union-find). Chaining neighbour to neighbour follows a line that rises or falls slowly
(slanted writing, a skewed photo) while lines one above the other, whose extents barely
overlap, stay apart. Last, a small mark linked to nothing joins the line of a piece it hangs
from (a comma below the baseline) or sits just above or below (a stroke the pen left apart
from its digit), instead of making a line of its own.
"""

from __future__ import annotations

import numpy as np

OVERLAP = 0.4  # shared vertical extent, as a fraction of the shorter piece, to be on one line
REACH = 4.0  # largest horizontal gap between neighbours on a line, in digit heights
SMALL, NEAR = 0.5, 0.25  # a piece under half as tall as one it overlaps, that near it, is its part
HANG, HANG_REACH = 0.75, 0.5  # a lone mark this small (in digit heights), this near, hangs from a line


def group_lines(boxes: np.ndarray, height: float) -> list[np.ndarray]:
    """Indices of ``boxes`` (rows x0, y0, x1, y1) per line, lines top to bottom, each line's
    pieces left to right."""
    n = len(boxes)
    if n == 0:
        return []
    x0, y0, x1, y1 = (boxes[:, k].astype(np.float64) for k in range(4))
    shared = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
    shorter = np.minimum((y1 - y0)[:, None], (y1 - y0)[None, :])
    gap = np.maximum(x0[:, None], x0[None, :]) - np.minimum(x1[:, None], x1[None, :])
    linked = (shared >= OVERLAP * shorter) & (gap <= REACH * height)
    # a small piece just above or below a larger one, over it, is part of it (the bar of a 5)
    tall = y1 - y0
    small = np.minimum(tall[:, None], tall[None, :]) < SMALL * np.maximum(tall[:, None], tall[None, :])
    above_below = np.maximum(y0[:, None], y0[None, :]) - np.minimum(y1[:, None], y1[None, :])
    linked |= small & (gap < 0) & (above_below <= NEAR * np.maximum(tall[:, None], tall[None, :]))
    parent = np.arange(n)
    for i, j in zip(*np.nonzero(np.triu(linked, 1)), strict=True):
        ri, rj = _root(parent, i), _root(parent, j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    # a small mark linked to nothing joins the line of a piece it hangs from (a comma below
    # the baseline) or sits just above or below (a stroke the pen left apart from its digit)
    alone = (linked.sum(axis=1) == 1) & (tall < HANG * height)  # linked only with itself
    hangs = (shared > 0) & (y1[:, None] > y1[None, :]) & (gap <= HANG_REACH * height)
    apart = (gap < 0) & (above_below <= NEAR * height)
    for i in np.flatnonzero(alone):
        hosts = np.flatnonzero((hangs[i] | apart[i]) & ~alone)
        if len(hosts):
            parent[i] = _root(parent, int(hosts[np.argmin(above_below[i, hosts])]))
    roots = np.array([_root(parent, i) for i in range(n)])
    lines = [np.flatnonzero(roots == r) for r in np.unique(roots)]
    lines = [line[np.argsort(x0[line])] for line in lines]
    return sorted(lines, key=lambda line: float(np.median((y0[line] + y1[line]) / 2)))


def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return int(i)
