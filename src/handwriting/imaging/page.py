"""From a grayscale picture to lines of digits and separators: the whole way, top to bottom.

0. a picture blown up with nearest-neighbour resampling made smooth again (``pixelated.py``);
1. ink (``ink.py``): the ink map, whatever the polarity and lighting, and its mask; on
   squared paper, the grid taken off both (``grid.py``);
2. scale: the typical digit height and stroke width, from the connected components that are
   not straight lines, the page's own long lines taken off first (and judged again once step
   4 has taken off the others, if digits were joined to them); large writing is read at a
   smaller scale;
3. rings: a closed curve drawn round a number (an ellipse follows its outline) set aside;
4. lines that are not writing (``rules.py``): rules, margins, boxes, frames, underlines and
   strike-throughs removed, strokes that cross them kept;
5. pieces: connected components of what is left; specks dropped, small marks reported;
6. lines of writing (``lines.py``), top to bottom; two lines of one piece each, one just
   over the other, that the classifier reads together as one digit far more surely, joined
   (the halves of a broken 3 or 5);
7. each line (``segment.py``): digits, separators and spaces, left to right, touching digits
   cut where the classifier reads them best;
8. each digit to 28x28 (``normalize.py``), and, asked for where the first reading is unsure
   (``Page.give_back_faint``), once more with the faint ink joined to its strokes
   (``faint.py``), for a second look.

What is set aside (a rule, an underline, a frame, a mark too small to read) is listed with
its box and the reason, never silently dropped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from .faint import faint_ink, give_back_faint
from .grid import remove_grid
from .ink import FAINT, MIN_CONTRAST, ink_map, ink_mask
from .lines import group_lines
from .normalize import WORK, stroke_width, to_mnist
from .orient import looks_sideways
from .pixelated import unpixelate
from .rules import LONG, rejoined, remove_lines, straight
from .segment import ALONE, Box, Classifier, Digit, Segmented, one_digit, segment_line

COARSE = 200  # the digits' size is judged on a copy at most this many pixels across
TARGET = WORK  # larger digits are read at this height in pixels (to_mnist's own working size)
SHRUNK = 0.5  # digits this much smaller than TARGET at the working scale were misjudged
SKEW = 0.1  # a page's lines are within this slope of horizontal or vertical
PAGE = 30  # a picture needs to be this many stroke widths across to hold lines or rings
SPECK = 4.0  # a component of this many stroke widths squared is more than a speck
MIN_PIECE = 0.015  # components smaller than this fraction of the largest are specks
FLAT = 4.0  # a component this many times longer than wide may be a straight line
COVER = 0.8  # share of each quarter of a fitted ellipse along which a ring's ink must lie
AGAIN = 0.8  # digits this much shorter once the lines are off were joined to a frame
RING_SIZE = 1.25  # a ring round a number is at least this many digit heights tall and wide
RING = 0.5  # a curve filling less of its box than this, round other marks, is a frame
HOLLOW = 0.3  # a ring that digits touch from inside still encloses this much of its box
HALVES_OVER, HALVES_GAP = 0.25, 0.25  # one piece over another, this close: maybe one digit's halves,
HALVES_ODDS = 2.0  # if read as one this many times more surely than as the digits of two lines


@dataclass
class Page:
    """What was found: the lines of writing, top to bottom, and the marks set aside."""

    lines: list[Segmented] = field(default_factory=list)
    rejected: list[tuple[Box, str]] = field(default_factory=list)
    sideways: bool = False  # its pieces are mostly wider than tall, as digits on their side
    cut: bool = True  # touching digits were cut where the classifier reads them best
    _faint: Callable[[list[Digit]], None] | None = field(default=None, repr=False)

    def give_back_faint(self, digits: list[Digit]) -> None:
        """Give ``digits`` (this page's) their second look, ``Digit.faint`` (faint.py): made
        only for the digits that need it, since most are read surely the first time."""
        if self._faint is not None and digits:
            self._faint(digits)

    @property
    def digits(self) -> list[Digit]:
        return [it for line in self.lines for it in line.items if isinstance(it, Digit)]


def read_page(gray: np.ndarray, classify: Classifier | None = None, cut_sideways: bool = True) -> Page:
    """The lines of digits in a grayscale picture (H, W) in [0, 1]; see the module's steps.
    Boxes are in the picture's pixels. Large writing is read at a smaller scale (digits
    about TARGET pixels tall): the network sees 20x20 pixels of it anyway. With
    ``cut_sideways`` False, a page whose pieces lie on their side (``Page.sideways``) is read
    without ``classify`` (``Page.cut`` False): every digit on its side is wide, and cutting
    each where the classifier reads it best would show it some 70 pieces a digit, for a
    reading that only serves to compare with the page turned upright."""
    gray = unpixelate(gray)
    scale = _working_scale(gray)
    measured = _measure(_scaled(gray, scale))
    # On the coarse copy that chose the scale, digits close to a frame or a rule merge with it
    # into one tall piece; measured where they stand apart, they may come out much smaller.
    if scale < 1.0 and measured is not None and measured.height < SHRUNK * TARGET:
        scale = min(1.0, scale * TARGET / measured.height)
        measured = _measure(_scaled(gray, scale))
    if measured is None:
        return Page()
    page = _read(measured, classify, cut_sideways)
    if scale == 1.0:
        return page
    (h, w), (sh, sw) = gray.shape, measured.ink.shape
    return _rescaled(page, (w / sw, h / sh), (w, h))


def whole_digit(gray: np.ndarray, box: Box) -> Digit:
    """All the ink within ``box`` (x0, y0, x1, y1 in the picture's pixels, as read_page gives
    them) read as one digit: for marks that are each no digit but may be one together (an 8
    whose strokes came apart)."""
    ink = ink_map(unpixelate(gray))
    x0, y0, x1, y1 = box
    return Digit(box, to_mnist(ink[y0:y1, x0:x1] * ink_mask(ink)[y0:y1, x0:x1]))


def _scaled(gray: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return gray
    h, w = gray.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _working_scale(gray: np.ndarray) -> float:
    """The factor (at most 1) that brings the digits to about TARGET pixels tall, judged on a
    copy at most COARSE pixels across."""
    h, w = gray.shape
    f = COARSE / max(h, w)
    if f >= 1.0:
        return 1.0
    measured = _measure(_scaled(gray, f))
    if measured is None or measured.height / f <= 1.25 * TARGET:
        return 1.0
    return TARGET * f / measured.height


@dataclass
class _Measured:
    """A picture's ink map and mask, stroke width, components and digit height."""

    ink: np.ndarray
    mask: np.ndarray
    sw: float
    pieces: Components
    height: float
    grid: Box | None = None  # the squared paper's grid, taken off ink and mask (grid.py)


def _measure(gray: np.ndarray) -> _Measured | None:
    """Steps 1 and 2 on ``gray``; None where it holds no ink."""
    ink = ink_map(gray)
    if float(ink.max()) < MIN_CONTRAST:
        return None
    mask = ink_mask(ink)
    pieces = _components(mask)
    ink, mask, grid = remove_grid(ink, mask, pieces)
    if grid is not None:
        pieces = _components(mask)
    sw = stroke_width(mask)
    height = _digit_height(mask, sw, pieces)
    return None if height is None else _Measured(ink, mask, sw, pieces, height, grid)


def _rescaled(page: Page, scale: tuple[float, float], size: tuple[int, int]) -> Page:
    """``page`` with every box multiplied by ``scale`` (x, y), within ``size``."""

    def big(box: Box) -> Box:
        x0, y0, x1, y1 = box
        return (
            int(x0 * scale[0]),
            int(y0 * scale[1]),
            min(size[0], int(np.ceil(x1 * scale[0]))),
            min(size[1], int(np.ceil(y1 * scale[1]))),
        )

    for line in page.lines:
        for item in line.items:
            item.box = big(item.box)
        line.too_small = [big(b) for b in line.too_small]
    page.rejected = [(big(b), why) for b, why in page.rejected]
    return page


def _read(measured: _Measured, classify: Classifier | None, cut_sideways: bool = True) -> Page:
    """``read_page`` at the working scale, from steps 1 and 2 done there."""
    ink, mask, sw, height = measured.ink, measured.mask, measured.sw, measured.height
    pieces = measured.pieces  # computed again below only where the mask changes
    circles, removed = [], []
    if max(mask.shape) >= PAGE * sw:  # room for lines and rings besides the writing
        mask, circles = _remove_rings(mask, sw, height, pieces)
        unlined, removed = remove_lines(mask, height)
        # digits joined to a frame or a form's boxes made one piece as tall as the frame: judged
        # again without the lines found, they are shorter, and the frame's sides now long enough
        again = _digit_height(unlined, sw, _components(unlined)) if removed else None
        if again is not None and again < AGAIN * height:
            height = again
            unlined, removed = remove_lines(mask, height)
        mask = unlined
    page = Page(rejected=[(b, "frame") for b in circles] + [(line.box, line.reason) for line in removed])
    if measured.grid is not None:
        page.rejected.insert(0, (measured.grid, "grid"))
    n, labels, boxes, area = _components(mask) if circles or removed else pieces
    if n == 0:
        return page
    keep = np.flatnonzero(area >= MIN_PIECE * area.max())
    # below that, a mark of a quarter of a stroke width squared or more is reported; smaller is grain
    specks = np.flatnonzero((area < MIN_PIECE * area.max()) & (area >= 0.25 * sw * sw))
    page.rejected += [(_box(boxes[i]), "too small") for i in specks]
    page.sideways = looks_sideways(boxes[keep])
    if page.sideways and not cut_sideways:
        classify, page.cut = None, False

    def segment(members: np.ndarray) -> Segmented:
        return segment_line(ink, labels, boxes, area, members, classify, dot=0.3 * sw * sw)

    def whole(members: np.ndarray) -> Digit:
        return one_digit(ink, labels, boxes, list(members))

    lines = [keep[line] for line in group_lines(boxes[keep], height)]
    for members, decided in _join_halves(lines, segment, whole, boxes, classify):
        if (boxes[members, 3] - boxes[members, 1]).max() < ALONE * height:  # no digit-sized mark
            page.rejected += [(_box(boxes[i]), "too small") for i in members]
            continue
        segmented = decided or segment(members)
        page.rejected += [(b, "too small") for b in segmented.too_small]
        if segmented.items:
            page.lines.append(segmented)
    at_work_scale = {id(d): d.box for d in page.digits}  # read_page may rescale the boxes after
    page._faint = functools.partial(_give_back_faint, at_work_scale, ink, measured.mask, mask, sw)
    return page


def _give_back_faint(
    boxes: dict[int, Box],
    ink: np.ndarray,
    found: np.ndarray,
    kept: np.ndarray,
    sw: float,
    digits: list[Digit],
) -> None:
    """Step 8's second image for ``digits``, whose boxes at the working scale ``boxes`` holds
    (by id): ``found`` is the ink mask as first found, ``kept`` what is left of it once the
    rules, frames and rings are off."""
    near = faint_ink(ink_mask(ink, FAINT), found, kept, sw)
    give_back_faint(digits, [boxes[id(d)] for d in digits], ink, near)


def _join_halves(
    lines: list[np.ndarray],
    segment: Callable[[np.ndarray], Segmented],
    whole: Callable[[np.ndarray], Digit],
    boxes: np.ndarray,
    classify: Classifier | None,
) -> list[tuple[np.ndarray, Segmented | None]]:
    """The lines (their pieces, and their reading where it is already decided), where two
    lines of one piece each that are the halves of one digit become one line of that digit."""
    out: list[tuple[np.ndarray, Segmented | None]] = []
    for line in lines:
        one = _halves_as_one(out[-1][0], line, segment, whole, boxes, classify) if out else None
        if one is None:
            out.append((line, None))
        else:
            out[-1] = np.concatenate([out[-1][0], line]), Segmented([one], [False], [])
    return out


def _halves_as_one(
    above: np.ndarray,
    below: np.ndarray,
    segment: Callable[[np.ndarray], Segmented],
    whole: Callable[[np.ndarray], Digit],
    boxes: np.ndarray,
    classify: Classifier | None,
) -> Digit | None:
    """The digit that one piece just over another make together, if the classifier reads it
    more surely than the digits the two make as lines of their own (max p_k of the whole >
    HALVES_ODDS times the product of theirs: a 1 with a flag just over another 1 reads as one
    long 1 1.6 times as surely as two): a digit that the pen, or a faint photo, left in an
    upper and a lower half (a 3, a 5) is not read as two lines. None otherwise."""
    if (
        classify is None
        or len(above) != 1
        or len(below) != 1
        or not _stacked(boxes[above[0]], boxes[below[0]])
    ):
        return None
    one = whole(np.concatenate([above, below]))
    halves = [it for m in (above, below) for it in segment(m).items if isinstance(it, Digit)]
    p = classify(np.stack([one.pixels] + [d.pixels for d in halves]))[:, :10].max(axis=1)
    return one if p[0] > HALVES_ODDS * np.prod(p[1:]) else None


def _stacked(upper: np.ndarray, lower: np.ndarray) -> bool:
    """Whether box ``lower`` (x0, y0, x1, y1) lies just under box ``upper``, overlapping it
    across: HALVES_OVER of the narrower's width, at most HALVES_GAP of the taller's height apart."""
    over = min(upper[2], lower[2]) - max(upper[0], lower[0])
    narrower = min(upper[2] - upper[0], lower[2] - lower[0])
    taller = max(upper[3] - upper[1], lower[3] - lower[1])
    return over >= HALVES_OVER * narrower and lower[1] - upper[3] <= HALVES_GAP * taller


def _digit_height(mask: np.ndarray, sw: float, pieces: Components) -> float | None:
    """The typical height of a digit: the median height of the substantial components that
    are not straight lines (long and no thicker than a stroke or two), once the page's own
    lines are taken away: where there are two or more straight runs across half the width or
    four fifths of the height (rules and a margin, which join the writing on a page); None
    without ink."""
    # a page's lines are long and thin; in a picture a few strokes across there are none
    long_runs, count = _page_lines(mask) if max(mask.shape) >= PAGE * sw else (None, 0)
    # Two or more such lines are printed; one alone may be a digit's stroke (the stem of a
    # large 1), whose removal would leave only its flag to measure.
    for n, _, boxes, area in (_components(rejoined(mask, long_runs)) if count >= 2 else pieces, pieces):
        if n == 0:
            continue
        bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        long_side = np.maximum(bw, bh)
        candidates = ~((long_side >= FLAT * np.minimum(bw, bh)) & (area < 1.6 * sw * long_side))
        if count >= 2:  # what is left of lines the search missed, joined into a mesh: not a digit
            candidates &= (bw < 3 * mask.shape[1] // 4) & (bh < 3 * mask.shape[0] // 4)
        if candidates.any():
            return _median_height(bh[candidates], area[candidates], sw)
    n, _, boxes, area = pieces  # only straight strokes: a lone 1, or writing joined to lines
    return _median_height(boxes[:, 3] - boxes[:, 1], area, sw) if n else None


def _page_lines(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Roughly, the pixels of the page's own lines, and how many there are: straight lines
    across three quarters of the picture's width or height, within
    SKEW of horizontal or vertical (a page photographed a little askew). Found by the
    probabilistic Hough transform on a copy at a quarter of the size (half, or full, for
    small pictures); each line's own pixels are then those along the line fitted to it."""
    h, w = mask.shape
    f = 4 if min(h, w) >= 400 else 2 if min(h, w) >= 200 else 1
    small = (
        cv2.resize(mask.astype(np.uint8) * 255, (w // f, h // f), interpolation=cv2.INTER_AREA) > 0
    ).astype(np.uint8)
    sh, sw_ = small.shape
    stats = cv2.connectedComponentsWithStats(small, connectivity=8)[2][1:]
    lines, count = np.zeros_like(mask), 0
    for length, vertical in ((3 * sw_ // 4, False), (3 * sh // 4, True)):
        if not (stats[:, 3 if vertical else 2] >= length).any():  # a line is one piece that long
            continue
        found = cv2.HoughLinesP(
            small, 1, np.pi / 360, threshold=length // 2, minLineLength=length, maxLineGap=3
        )
        if found is None:
            continue
        drawn = np.zeros_like(small)
        for x0, y0, x1, y1 in found.reshape(-1, 4):
            along, across = (abs(y1 - y0), abs(x1 - x0)) if vertical else (abs(x1 - x0), abs(y1 - y0))
            if across <= SKEW * along:
                cv2.line(drawn, (int(x0), int(y0)), (int(x1), int(y1)), 1, 3)
        n = cv2.connectedComponents(drawn)[0] - 1
        if n == 0:
            continue
        count += n
        near = cv2.resize(drawn, (w, h), interpolation=cv2.INTER_NEAREST)
        lines |= straight(mask & (cv2.dilate(near, np.ones((f + 1, f + 1), np.uint8)) > 0), mask)
    return lines, count


def _median_height(heights: np.ndarray, area: np.ndarray, sw: float) -> float:
    """The median height of the components with at least 5% of the largest one's area or
    SPECK stroke widths squared (specks do not count; a ring or frame that digits touch, one
    large piece, does not make every lone digit a speck)."""
    counted = area >= min(0.05 * area.max(), SPECK * sw * sw)
    return float(max(np.median(heights[counted]), 8.0 / LONG))


Components = tuple[int, np.ndarray, np.ndarray, np.ndarray]


def _components(mask: np.ndarray) -> Components:
    """8-connected components: their count n, labels 1..n, boxes (x0, y0, x1, y1), areas."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    x, y, w, h, area = (stats[1:, k] for k in range(5))
    return n - 1, labels, np.column_stack([x, y, x + w, y + h]), area


def _remove_rings(
    mask: np.ndarray, sw: float, height: float, pieces: Components
) -> tuple[np.ndarray, list[Box]]:
    """The mask without the thin closed curves drawn round other marks (a circle round a
    number), and their boxes. A ring is a component filling little of its box, not made of
    straight sides (rectangular frames are left to ``rules``), with other marks inside it or
    joined to it; what is removed is the band along the ellipse fitted to its outline, so
    digits that touch the ring stay. Only marks taller and wider than RING_SIZE digits are
    looked at (a 0 is not a ring)."""
    n, labels, boxes, area = pieces
    if n == 0:
        return mask, []
    keep = np.flatnonzero(area >= MIN_PIECE * area.max())
    bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    large = keep[(bw[keep] >= RING_SIZE * height) & (bh[keep] >= RING_SIZE * height)]
    out, rings = mask.copy(), []
    for i in large:
        x0, y0, x1, y1 = boxes[i]
        if area[i] >= RING * (x1 - x0) * (y1 - y0) or min(x1 - x0, y1 - y0) < 8:
            continue
        others = keep[keep != i]
        cx, cy = (boxes[others, 0] + boxes[others, 2]) / 2, (boxes[others, 1] + boxes[others, 3]) / 2
        inside = (cx > x0) & (cx < x1) & (cy > y0) & (cy < y1)
        inside &= boxes[others, 3] - boxes[others, 1] >= 0.3 * (y1 - y0)
        component = labels[y0:y1, x0:x1] == i + 1
        band = _ellipse_band(component, sw)
        if band is None or not (inside.any() or _holds_mark(component, band, sw)):
            continue  # no marks inside, and nothing but the curve itself: a digit such as 0
        out[y0:y1, x0:x1] &= ~band
        rings.append(_box(boxes[i]))
    return out, rings


def _holds_mark(component: np.ndarray, band: np.ndarray, sw: float) -> bool:
    """Whether a closed curve's component holds a mark joined to it from inside: what is left
    once the curve is taken off has a piece 0.3 of the curve's height tall and, on average,
    half a stroke wide (a curve alone leaves thin slivers along its edges), and the paper the
    curve encloses is at least HOLLOW of its box (two touching digits enclose only their
    loops)."""
    _, _, stats, _ = cv2.connectedComponentsWithStats((component & ~band).astype(np.uint8), connectivity=8)
    h, area = stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_AREA]
    if not ((h >= 0.3 * component.shape[0]) & (area >= 0.5 * sw * h)).any():
        return False
    outlines, tree = cv2.findContours(component.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    holes = sum(cv2.contourArea(c) for c, (*_, parent) in zip(outlines, tree[0], strict=True) if parent >= 0)
    return holes >= HOLLOW * component.size


def _ellipse_band(component: np.ndarray, sw: float) -> np.ndarray | None:
    """The component's pixels within a few stroke widths of the ellipse fitted to its outer
    outline, if it is a closed curve: ink lies along at least COVER of each quarter of that
    ellipse, and along more of it than of the outline's best rectangle (else None)."""
    contours, _ = cv2.findContours(component.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    outline = max(contours, key=len)
    if len(outline) < 20:
        return None
    reach = max(3, int(2 * sw) | 1)
    near = cv2.dilate(component.astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
    ellipse = cv2.fitEllipse(outline)
    curve = np.zeros(component.shape, np.uint8)
    cv2.ellipse(curve, ellipse, 1, thickness=1)
    cover = _coverage(curve, near, ellipse[0])
    rect = np.zeros(component.shape, np.uint8)
    cv2.drawContours(rect, [cv2.boxPoints(cv2.minAreaRect(outline)).astype(np.int32)], 0, 1, thickness=1)
    if cover.min() < COVER or _coverage(rect, near, ellipse[0]).mean() >= cover.mean():
        return None
    band = cv2.dilate(curve, np.ones((reach + 2, reach + 2), np.uint8)) > 0
    return component & band


def _coverage(curve: np.ndarray, near: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    """For each quarter of a closed curve around ``centre``: the share of its points in ``near``."""
    ys, xs = np.nonzero(curve)
    quarter = ((np.arctan2(ys - centre[1], xs - centre[0]) + np.pi) // (np.pi / 2)).astype(np.int64) % 4
    return np.bincount(quarter, near[ys, xs], minlength=4) / np.maximum(np.bincount(quarter, minlength=4), 1)


def _box(row: np.ndarray) -> Box:
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))
