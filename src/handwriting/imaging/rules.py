"""Step 2: straight lines that are not writing: paper rules, margins, table and form grid
lines, the boxes of a form field, underlines, frames and strike-throughs.

A digit's strokes are at most about one digit height long; these lines are longer. So a
straight run of ink longer than LONG x the digit height, horizontal or vertical, is a line
(found by a morphological opening with a long thin kernel, on a mask thickened a little
across the line so that a slightly tilted rule still forms one run). Shorter vertical runs
that join two such horizontal lines are the sides of a frame or the dividers of a box comb.

The line's pixels are removed from the mask, except where a stroke crosses it: a removed
pixel with ink just above and just below it (or left and right, for a vertical line) is put
back, so that a digit written through a rule is not cut in two.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

LONG = 1.7  # a straight run this many digit heights long is a line, not a stroke
SIDE = 1.0  # a vertical run this long joining two lines is a frame side or a box divider
TILT = 2  # thicken the mask by this many pixels across a line before looking for runs
POOL = 4  # block size of the quick first look for runs


@dataclass
class Line:
    """A straight line found and removed: its box (x0, y0, x1, y1) and what it was taken for."""

    box: tuple[int, int, int, int]
    reason: str  # "rule", "underline", "frame" or "boxes"


def remove_lines(mask: np.ndarray, height: float, sides: bool = True) -> tuple[np.ndarray, list[Line]]:
    """``mask`` without its straight lines, given the typical digit ``height`` in pixels,
    and the lines removed; with ``sides`` False, no frame sides or box dividers (shorter
    verticals between two lines: in a grid, a digit's stroke across one of its rows)."""
    horizontal, vertical = _lines(mask, height, sides)
    if not (horizontal.any() or vertical.any()):
        return mask, []
    horizontal, vertical = straight(horizontal, mask), straight(vertical, mask)
    lines = horizontal | vertical
    t = _thickness(lines)
    thick = max(3, 2 * t + 3)
    # the line's blurred edge goes first: left beside the line, it would join the strokes that
    # touch the line into one piece along it (longer than a digit and thinner than half the
    # line: the flat foot of a 2 standing on a rule is neither)
    kept = mask & ~lines
    kept &= ~_slivers(kept, lines, max(2, t // 2), longer=height)
    kept = _put_back(kept, horizontal, vertical, thick)
    kept &= ~_slivers(kept, lines & ~kept, thick)
    return kept, _describe(mask & ~kept, mask.shape, height)


def rejoined(mask: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """``mask`` without ``lines`` (found roughly, horizontal or vertical), the strokes that
    cross them joined again: a digit on squared paper is then one piece, not the pieces that
    the grid cut it into."""
    thick = max(3, 2 * _thickness(lines) + 3)
    return _put_back(mask & ~lines, lines, lines, thick)


def _put_back(kept: np.ndarray, horizontal: np.ndarray, vertical: np.ndarray, thick: int) -> np.ndarray:
    """``kept`` with the pixels of the lines that a stroke runs through put back: those of a
    horizontal line with ink within ``thick`` above and below them, of a vertical line left
    and right."""
    across_h = cv2.morphologyEx(kept.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((thick, 1), np.uint8)) > 0
    across_v = cv2.morphologyEx(kept.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((1, thick), np.uint8)) > 0
    return kept | (horizontal & across_h) | (vertical & across_v)


def straight(found: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The ink of each found line, and only that: the mask's pixels within half the line's
    thickness of the straight line fitted to it (the tolerance used to find a tilted line
    would otherwise also take the bottom of a digit written just above it)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(found.astype(np.uint8), connectivity=8)
    out = np.zeros_like(found)
    for i in range(1, n):
        x, y, w, h = (int(v) for v in stats[i, :4])
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == i)
        points = np.column_stack([xs, ys]).astype(np.float32)[:: max(1, len(xs) // 400)]
        vx, vy, cx, cy = cv2.fitLine(points, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        across = np.abs((xs - cx) * vy - (ys - cy) * vx)  # each pixel's distance from the fitted line
        half = max(1.0, 2 * float(np.median(across)) + 0.5)  # distances spread evenly over [0, t/2]
        box_y = slice(max(0, y - TILT), min(found.shape[0], y + h + TILT))
        box_x = slice(max(0, x - TILT), min(found.shape[1], x + w + TILT))
        gx = np.arange(box_x.start, box_x.stop, dtype=np.float32)[None, :] - (x + cx)
        gy = np.arange(box_y.start, box_y.stop, dtype=np.float32)[:, None] - (y + cy)
        near = np.abs(gx * vy - gy * vx) <= half
        out[box_y, box_x] |= near & mask[box_y, box_x]
    return out


def _slivers(kept: np.ndarray, removed: np.ndarray, thick: int, longer: float = 0.0) -> np.ndarray:
    """Pieces of a line left beside what was removed (the blurred edge of a tilted line):
    kept components no thicker than ``thick`` and at least ``longer`` long, lying mostly
    within two pixels of it."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(kept.astype(np.uint8), connectivity=8)
    near = cv2.dilate(removed.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    close = np.bincount(labels[near & kept], minlength=n)
    sides = np.sort(stats[:, 2:4], axis=1)
    sliver = (close >= 0.6 * np.maximum(stats[:, 4], 1)) & (sides[:, 0] <= thick) & (sides[:, 1] >= longer)
    sliver[0] = False
    return sliver[labels]


def _lines(mask: np.ndarray, height: float, sides: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical line pixels: runs LONG digit heights long (2.5 for a vertical
    on its own), and (``sides``) the shorter verticals whose two ends touch horizontal lines."""
    m8 = mask.astype(np.uint8)
    horizontal = runs(m8, max(int(LONG * height), 12), vertical=False)
    vertical = runs(m8, max(int(2.5 * height), 12), vertical=True)
    if sides and horizontal.any():
        vertical |= _sides(m8, horizontal, max(int(SIDE * height), 8))
    return horizontal, vertical


def runs(mask: np.ndarray, length: int, vertical: bool) -> np.ndarray:
    """Ink pixels on straight runs at least ``length`` long (with TILT pixels of tolerance).
    Most pictures have none: a cheap look at the mask pooled POOL x POOL comes first, since
    pooling never shortens a run by more than a block."""
    m8 = mask.astype(np.uint8)
    h, w = m8.shape
    if min(h, w) >= 8 * POOL and length >= 8 * POOL:
        small = cv2.resize(m8 * 255, (w // POOL, h // POOL), interpolation=cv2.INTER_AREA) > 0  # any ink
        if not _runs(small.astype(np.uint8), length // POOL - 2, vertical, tilt=1).any():
            return np.zeros(mask.shape, bool)
    return _runs(m8, length, vertical, TILT)


def _runs(m8: np.ndarray, length: int, vertical: bool, tilt: int) -> np.ndarray:
    across = np.ones((1, 2 * tilt + 1) if vertical else (2 * tilt + 1, 1), np.uint8)
    along = np.ones((length, 1) if vertical else (1, length), np.uint8)
    # outside the picture is paper (OpenCV's default border would let a stroke that touches
    # the edge pass for a run as long as any kernel)
    opened = cv2.morphologyEx(
        cv2.dilate(m8, across), cv2.MORPH_OPEN, along, borderType=cv2.BORDER_CONSTANT, borderValue=0
    )
    return (opened > 0) & (m8 > 0)


def _sides(m8: np.ndarray, horizontal: np.ndarray, length: int) -> np.ndarray:
    """Vertical runs at least ``length`` long each of whose components touches horizontal
    lines at both its top and its bottom."""
    upright = runs(m8, length, vertical=True) & ~horizontal
    if not upright.any():
        return upright
    n, labels, stats, _ = cv2.connectedComponentsWithStats(upright.astype(np.uint8), connectivity=8)
    near = cv2.dilate(horizontal.astype(np.uint8), np.ones((2 * TILT + 3, 2 * TILT + 3), np.uint8)) > 0
    keep = np.zeros(n, bool)
    for i in range(1, n):
        x, y, bw, bh = stats[i, :4]
        column = slice(x, x + bw)
        keep[i] = near[y, column].any() and near[y + bh - 1, column].any()
    return keep[labels] & upright


def _thickness(lines: np.ndarray) -> int:
    """The lines' typical thickness in pixels (twice the median distance to their edge)."""
    d = cv2.distanceTransform(lines.astype(np.uint8), cv2.DIST_L2, 3)
    inside = d[d > 0]
    return round(2 * float(np.median(inside))) if inside.size else 1


def _describe(removed: np.ndarray, shape: tuple[int, int], height: float) -> list[Line]:
    """One Line per connected piece of removed ink, named by its shape and extent: a rule
    runs (nearly) across the page, a margin down it; a flat line shorter than that is an
    underline (or a strike-through); lines joined into a rectangle are a frame, into a row
    of rectangles a form's boxes."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(removed.astype(np.uint8), connectivity=8)
    h, w = shape
    out = []
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if area < 4:
            continue
        box = (x, y, x + bw, y + bh)
        if bw >= 0.8 * w or bh >= 0.8 * h:
            reason = "rule"
        elif bh >= SIDE * height and bw >= 2.5 * bh:
            reason = "boxes"  # a comb: one printed box per digit
        elif bh >= SIDE * height and bw >= SIDE * height:
            reason = "frame"
        elif bh <= 0.5 * height:
            reason = "underline"
        else:
            reason = "frame"
        out.append(Line(box, reason))
    return out
