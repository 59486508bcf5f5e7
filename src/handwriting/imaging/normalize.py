"""Step 6: one digit's ink to the 28x28 image the network reads, the way MNIST was made.

MNIST was made this way (LeCun et al.): each digit's bounding box was scaled, keeping its
aspect ratio and with anti-aliasing, to fit a 20x20 box, then placed in a 28x28 field with
its centre of mass at the centre. Before that, strokes much thinner than MNIST's (a thin pen
on a large page) are thickened to its width, judged at 80x80.
"""

from __future__ import annotations

import cv2
import numpy as np

FIELD, BOX = 28, 20  # MNIST: digits fit a 20x20 box inside a 28x28 field
WORK = 4 * BOX  # resolution at which stroke width is judged and adjusted
STROKE = 11.0  # median MNIST stroke width at WORK resolution (measured on its test set)


def to_mnist(patch: np.ndarray) -> np.ndarray:
    """An ink patch (ink = 1) to 28x28 the MNIST way: strokes thickened to MNIST's width if
    thinner, scaled (aspect kept, anti-aliased) to fit 20x20, centre of mass at the centre."""
    inked = patch[patch > 0]
    top = _percentile(inked, 90) if inked.size else 1.0
    patch = np.clip(patch / max(top, 1e-3), 0, 1).astype(np.float32)
    h, w = patch.shape
    s = WORK / max(h, w)
    big = _resize(patch, max(1, round(w * s)), max(1, round(h * s)))
    big = dilate(big, round((STROKE - stroke_width(big > 0.5)) / 2))  # thin strokes to MNIST's width
    h2, w2 = big.shape
    s2 = BOX / max(h2, w2)
    small = np.clip(_resize(big, max(1, round(w2 * s2)), max(1, round(h2 * s2))), 0, 1)
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    sh, sw = small.shape
    mass = small.sum()
    if mass <= 0:
        return field
    cy = (small.sum(axis=1) @ np.arange(sh)) / mass
    cx = (small.sum(axis=0) @ np.arange(sw)) / mass
    # MNIST's centres of mass sit at (14.0, 14.0) in pixel indices (measured on its test set).
    y0 = int(np.clip(round(FIELD / 2 - cy), 0, FIELD - sh))
    x0 = int(np.clip(round(FIELD / 2 - cx), 0, FIELD - sw))
    field[y0 : y0 + sh, x0 : x0 + sw] = small
    return field


def _percentile(values: np.ndarray, q: float) -> float:
    """The q-th percentile of ``values`` (1-D, not empty), interpolated linearly between the
    two nearest ranks as np.percentile does: v[lo] + (v[lo + 1] - v[lo]) (i - lo), where
    i = (n - 1) q / 100 and v is sorted. Only those two ranks are sorted into place (and
    NumPy's general machinery, many times the work on a few hundred values, is skipped)."""
    at = (values.size - 1) * q / 100
    lo = int(at)
    hi = min(lo + 1, values.size - 1)
    v = np.partition(values, [lo, hi])
    return float(v[lo]) + (float(v[hi]) - float(v[lo])) * (at - lo)


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a mask in pixels: area / length, where a stroke's length is about
    half the perimeter of its outline (the pixels with a 4-neighbour outside)."""
    m8 = mask.astype(np.uint8)
    inner = cv2.erode(m8, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)), borderValue=0)
    perimeter = int(np.count_nonzero(m8 > inner))
    return 2.0 * float(np.count_nonzero(m8)) / max(perimeter, 1)


def _resize(a: np.ndarray, width: int, height: int) -> np.ndarray:
    """Anti-aliased resize of a float image (area averaging down, bilinear up)."""
    shrinking = width < a.shape[1] or height < a.shape[0]
    method = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(a.astype(np.float32), (width, height), interpolation=method)


def dilate(a: np.ndarray, r: int) -> np.ndarray:
    """Grey dilation by a (2r+1)^2 square (nothing for r <= 0)."""
    if r <= 0:
        return a
    return cv2.dilate(
        a, np.ones((2 * r + 1, 2 * r + 1), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0
    )


def looks_like_a_one(pixels: np.ndarray, width: float = 3.5, bend: float = 1.5) -> bool:
    """Whether a 28x28 digit image (ink = 1) is one thin, nearly upright, straight stroke, as a
    1 is written: at least 14 rows of ink, at most ``width`` ink pixels a row on average, and
    the centre of each row within ``bend`` pixels of a straight line of slope |dx/dy| < 0.5.
    About two MNIST 1s in three are; about 1% of the pieces of photographed clothes are."""
    ink = pixels > 0.5
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size < 14:
        return False
    counts = ink[rows].sum(axis=1)
    if counts.mean() > width:
        return False
    centre = (ink[rows] * np.arange(ink.shape[1])).sum(axis=1) / counts
    slope, offset = np.polyfit(rows, centre, 1)
    return abs(slope) < 0.5 and float(np.abs(centre - (slope * rows + offset)).max()) <= bend
