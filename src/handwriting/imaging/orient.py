"""Pictures the wrong way up: a scan fed upside down, a photo turned sideways without an EXIF
tag to say so. Digits are taller than they are wide, so a page whose marks are mostly wider
than tall is likely lying on its side; an upside-down page is told by the network, which
reads its digits turned back more surely (the recognizer decides: this module knows no
network, only the geometry).

``turn`` turns the working image a quarter at a time, counter-clockwise, as ``np.rot90``
does; ``unturn`` takes a box found in the turned image back to the image as it came.
"""

from __future__ import annotations

import numpy as np

from .segment import Box

SIDEWAYS_AT = 1.1  # median width / height of the marks above which a page may lie on its side


def turn(gray: np.ndarray, quarters: int) -> np.ndarray:
    """``gray`` turned by ``quarters`` quarter turns counter-clockwise (a contiguous copy)."""
    return np.ascontiguousarray(np.rot90(gray, quarters))


def unturn(box: Box, shape: tuple[int, int], quarters: int) -> Box:
    """A box (x0, y0, x1, y1) of the image ``turn(g, quarters)``, whose shape is ``shape``,
    as a box of ``g``. One counter-clockwise quarter turn takes g's pixel (row r, column c) to
    (W - 1 - c, r), W being g's width, which is the turned image's height."""
    x0, y0, x1, y1 = box
    h, w = shape
    for _ in range(quarters % 4):  # undo one quarter turn at a time
        x0, y0, x1, y1 = h - y1, x0, h - y0, x1
        h, w = w, h
    return (x0, y0, x1, y1)


def looks_sideways(boxes: np.ndarray) -> bool:
    """Whether marks with these boxes (n, 4: x0, y0, x1, y1) are mostly wider than tall, as
    digits lying on their side. Judged on the pieces of ink as found: cut as if touching,
    digits on their side no longer look it."""
    if not len(boxes):
        return False
    b = np.asarray(boxes, np.float64)
    return float(np.median((b[:, 2] - b[:, 0]) / np.maximum(b[:, 3] - b[:, 1], 1))) > SIDEWAYS_AT
