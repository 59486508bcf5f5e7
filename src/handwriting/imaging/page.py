"""From a grayscale picture to lines of digits and separators: the whole way, top to bottom.

1. ink (``ink.py``): the ink map, whatever the polarity and lighting, and its mask;
2. scale: the typical digit height and stroke width, from the connected components that are
   not straight lines;
3. lines that are not writing (``rules.py``): rules, margins, boxes, frames, underlines and
   strike-throughs removed, strokes that cross them kept;
4. pieces: connected components of what is left; specks dropped; a thin closed mark around
   other pieces (a circle or frame drawn round a number) set aside;
5. lines of writing (``lines.py``), top to bottom;
6. each line (``segment.py``): digits, separators and spaces, left to right, touching digits
   cut where the classifier reads them best;
7. each digit to 28x28 (``normalize.py``).

What is set aside (a rule, an underline, a frame, a mark too small to read) is listed with
its box and the reason, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .ink import MIN_CONTRAST, ink_map, ink_mask
from .lines import group_lines
from .normalize import stroke_width
from .rules import LONG, remove_lines
from .segment import Box, Classifier, Digit, Segmented, segment_line

MIN_PIECE = 0.015  # components smaller than this fraction of the largest are specks
FLAT = 4.0  # a component this many times longer than wide may be a straight line
RING = 0.35  # a mark filling less of its box than this, round other marks, is a frame


@dataclass
class Page:
    """What was found: the lines of writing, top to bottom, and the marks set aside."""

    lines: list[Segmented] = field(default_factory=list)
    rejected: list[tuple[Box, str]] = field(default_factory=list)

    @property
    def digits(self) -> list[Digit]:
        return [it for line in self.lines for it in line.items if isinstance(it, Digit)]


def read_page(gray: np.ndarray, classify: Classifier | None = None) -> Page:
    """The lines of digits in a grayscale picture (H, W) in [0, 1]; see the module's steps."""
    ink = ink_map(gray)
    if float(ink.max()) < MIN_CONTRAST:
        return Page()
    mask = ink_mask(ink)
    sw = stroke_width(mask)
    height = _digit_height(mask, sw)
    if height is None:
        return Page()
    mask, removed = remove_lines(mask, height)
    page = Page(rejected=[(line.box, line.reason) for line in removed])
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return page
    boxes = np.column_stack(
        [stats[1:, 0], stats[1:, 1], stats[1:, 0] + stats[1:, 2], stats[1:, 1] + stats[1:, 3]]
    )
    area = stats[1:, 4]
    keep = np.flatnonzero(area >= MIN_PIECE * area.max())
    frames = _frames(boxes, area, keep)
    page.rejected += [(_box(boxes[i]), "frame") for i in frames]
    keep = np.setdiff1d(keep, frames)
    for line in group_lines(boxes[keep], height):
        segmented = segment_line(ink, labels, boxes, keep[line], classify, dot=0.3 * sw * sw)
        page.rejected += [(b, "too small") for b in segmented.too_small]
        if segmented.items:
            page.lines.append(segmented)
    return page


def _digit_height(mask: np.ndarray, sw: float) -> float | None:
    """The typical height of a digit: the median height of the substantial components that
    are not straight lines (long and no thicker than a stroke or two); None without ink."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None
    w, h, area = stats[1:, 2], stats[1:, 3], stats[1:, 4]
    long_side = np.maximum(w, h)
    straight = (long_side >= FLAT * np.minimum(w, h)) & (area < 1.6 * sw * long_side)
    big = area >= 0.05 * area.max()
    chosen = h[big & ~straight]
    if chosen.size == 0:  # only lines (or writing joined to lines): take the tallest thing
        chosen = h[big]
    return float(max(np.median(chosen), 8.0 / LONG))


def _frames(boxes: np.ndarray, area: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The kept components that are thin closed marks around others (a circle round a number)."""
    out = []
    for i in keep:
        x0, y0, x1, y1 = boxes[i]
        fill = area[i] / max((x1 - x0) * (y1 - y0), 1)
        if fill >= RING:
            continue
        others = keep[keep != i]
        cx, cy = (boxes[others, 0] + boxes[others, 2]) / 2, (boxes[others, 1] + boxes[others, 3]) / 2
        inside = (cx > x0) & (cx < x1) & (cy > y0) & (cy < y1)
        inside &= boxes[others, 3] - boxes[others, 1] >= 0.3 * (y1 - y0)
        if inside.any():
            out.append(int(i))
    return np.asarray(out, dtype=np.int64)


def _box(row: np.ndarray) -> Box:
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))
