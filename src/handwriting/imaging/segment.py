"""Step 5: one line of writing into digits, separators and spaces, left to right.

* Pieces at least SMALL of the line's height are digits, or strokes of the digit they
  mostly overlap horizontally (a "4" drawn in two strokes).
* A shorter piece is, by its size and place within the line's band (between the digits'
  tops and their baseline): a separator (``.`` ``,`` ``-`` ``:``); else part of the nearest
  digit if close (the bar of a "5" the pen left separate); else a small digit of its own if
  big enough to be one; else too small to read, and reported.
* A group much wider than tall may be touching digits: every way of cutting it into 1, 2, ...
  digits at the columns with the least ink is shown to the classifier, and the cutting whose
  digits it is jointly most sure of wins (sum of log max-probability, a small penalty per cut).
* A gap wider than SPACE line heights between neighbours is a space.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from .normalize import to_mnist

SMALL = 0.5  # a piece less tall than this fraction of the line is not a digit on its own,
NEAR = 0.25  # it joins a digit within this fraction of the line's height,
LOW = 0.45  # a piece whose top is below this fraction of the line's band is not a digit
ALONE = 0.3  # or is a digit of its own if at least this tall; else it is too small to read
CAP = 0.1  # a flat piece whose bottom is this close to a digit's top, overlapping it, is its flag
MERGE_OVERLAP = 0.7  # tall pieces overlapping this much (of the narrower's width) are one digit
SPLIT_PENALTY = 0.15  # log-odds against cutting a group only a little wider than one digit
SURE_SPLIT = 1.5  # a group this much wider than tall, or than its neighbours, is cut freely
MAX_ASPECT = 1.15  # a group wider than this times its height holds touching digits
DIGIT_ASPECT = 0.7  # typical width / height of one digit, to guess how many are touching
WIDE = 1.3  # a group this much wider than tall is cut without a penalty
MIN_PIECE_WIDTH, MAX_PIECE_WIDTH = 0.15, 1.2  # a digit's width, in line heights, when cutting
MAX_CUTS = 8  # valleys of the ink profile tried as cuts
SPACE = 0.5  # a gap this many line heights wide separates groups of digits,
PITCH = 1.4  # if the distance between centres is also this many times the line's usual one

Classifier = Callable[[np.ndarray], np.ndarray]  # (n, 28, 28) images -> (n, classes) probabilities
Box = tuple[int, int, int, int]  # x0, y0, x1, y1; x1 and y1 exclusive


@dataclass
class Digit:
    """A digit found: its box in the working image and the 28x28 image the network is shown."""

    box: Box
    pixels: np.ndarray  # (28, 28) float32, ink = 1, like MNIST
    mask: np.ndarray | None = field(default=None, repr=False)  # its ink within box (bool)
    faint: np.ndarray | None = field(default=None, repr=False)  # (28, 28) with faint strokes (faint.py)
    strokes_given: bool = False  # faint grew the mask past its edge, not only thicker (faint.py)


@dataclass
class Separator:
    box: Box
    char: str  # one of . , - :


@dataclass
class Segmented:
    """One line, read into items left to right, with a flag per item for a space before it."""

    items: list[Digit | Separator]
    spaces: list[bool]
    too_small: list[Box]


def segment_line(
    ink: np.ndarray,
    labels: np.ndarray,
    boxes: np.ndarray,
    area: np.ndarray,
    members: np.ndarray,
    classify: Classifier | None = None,
    dot: float = 0.0,
) -> Segmented:
    """The items of one line: ``members`` index ``boxes`` (rows x0, y0, x1, y1) and ``area``
    and are the labels ``members + 1`` in ``labels``; ``dot`` is the least area of a pen dot."""
    b = boxes[members]
    heights = b[:, 3] - b[:, 1]
    tallest = int(heights.max())
    is_tall = heights >= SMALL * tallest
    band = (float(np.median(b[is_tall, 1])), float(np.median(b[is_tall, 3])))
    is_tall &= b[:, 1] < band[0] + LOW * (band[1] - band[0])  # what starts low is a comma, not a digit
    tall = members[is_tall]
    groups, spans = _group_tall(boxes, tall)
    separators: list[Separator] = []
    too_small: list[Box] = []
    short = [int(i) for i in members[~is_tall]]
    colons = _colons(boxes, short, band)
    for pair in colons:
        x0 = int(min(boxes[pair, 0])), int(min(boxes[pair, 1]))
        separators.append(Separator((*x0, int(max(boxes[pair, 2])), int(max(boxes[pair, 3]))), ":"))
    paired = {i for pair in colons for i in pair}
    for i in short:
        if i in paired:
            continue
        char = _separator(boxes[i], band, area[i] >= dot)
        gaps = [max(boxes[i, 0], gl) - min(boxes[i, 2], gr) for gl, gr in spans]
        nearest = int(np.argmin(gaps)) if gaps else -1
        # a separator stands between digits: a dash overlaps none, a dot or comma little
        overlap = (0.2 if char == "-" else 0.5) * (boxes[i, 2] - boxes[i, 0])
        if char == "-" and nearest >= 0 and gaps[nearest] < 0:  # a flat stroke resting on a digit
            top = int(boxes[groups[nearest], 1].min())  # (a 5's flag drawn apart) is part of it
            char = None if abs(int(boxes[i, 3]) - top) <= CAP * tallest and boxes[i, 1] < top else char
        if char is not None and (nearest < 0 or gaps[nearest] > -overlap):
            separators.append(Separator(_box(boxes[i]), char))
        elif nearest >= 0 and gaps[nearest] <= NEAR * tallest:
            groups[nearest].append(i)
        elif boxes[i, 3] - boxes[i, 1] >= ALONE * tallest:
            groups.append([i])
            spans.append([int(boxes[i, 0]), int(boxes[i, 2])])
        else:
            too_small.append(_box(boxes[i]))
    digits: list[Digit] = []
    typical = _typical_width(boxes, groups)
    for g in groups:
        digits += _read_group(ink, labels, boxes, g, typical, classify)
    items: list[Digit | Separator] = sorted([*digits, *separators], key=lambda it: it.box[0])
    if not digits:  # separators alone on a line are no number
        too_small += [s.box for s in separators]
        items = []
    return Segmented(items, _spaces(items, band[1] - band[0]), too_small)


def _spaces(items: list[Digit | Separator], height: float) -> list[bool]:
    """A space before an item that stands much further from the previous one than digits on
    this line usually stand from each other: its centre distance over PITCH times the median
    between neighbouring digits, and a gap of SPACE line heights. Evenly spaced digits (a
    form's boxes) have none; nor has a line of one or two digits."""
    centres = [(it.box[0] + it.box[2]) / 2 for it in items]
    pitches = [
        centres[i] - centres[i - 1]
        for i in range(1, len(items))
        if isinstance(items[i], Digit) and isinstance(items[i - 1], Digit)
    ]
    if len(pitches) < 2:
        return [False] * len(items)
    usual = float(np.median(pitches))
    return [
        i > 0
        and centres[i] - centres[i - 1] > PITCH * usual
        and items[i].box[0] - items[i - 1].box[2] > SPACE * height
        for i in range(len(items))
    ]


def _box(row: np.ndarray) -> Box:
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def _group_tall(boxes: np.ndarray, tall: np.ndarray) -> tuple[list[list[int]], list[list[int]]]:
    """Tall pieces gathered into digits, left to right: a piece mostly overlapping the previous
    group horizontally is another stroke of that digit. Returns the groups and their spans."""
    groups: list[list[int]] = []
    spans: list[list[int]] = []
    for i in tall[np.argsort(boxes[tall, 0])]:
        left, right = int(boxes[i, 0]), int(boxes[i, 2])
        if spans:
            gl, gr = spans[-1]
            if min(right, gr) - max(left, gl) >= MERGE_OVERLAP * min(right - left, gr - gl):
                groups[-1].append(int(i))
                spans[-1] = [min(gl, left), max(gr, right)]
                continue
        groups.append([int(i)])
        spans.append([left, right])
    return groups, spans


def _separator(box: np.ndarray, band: tuple[float, float], big_enough: bool) -> str | None:
    """The separator a short piece is, by its size and place in the line's band, or None:
    a dash is flat and mid-height; a dot small and low; a comma narrow, low, and reaching
    below the baseline."""
    top, base = band
    h_line = max(base - top, 1.0)
    w, h = float(box[2] - box[0]), float(box[3] - box[1])
    cy = (box[1] + box[3]) / 2 - top
    if h <= 0.25 * h_line and w >= 1.8 * h and 0.2 * h_line <= w <= 1.2 * h_line and 0.25 < cy / h_line < 0.8:
        return "-"
    if not big_enough or w > 0.4 * h_line:
        return None
    if h <= 0.65 * h_line and box[1] > top + LOW * h_line and box[3] > base + 0.1 * h_line and h >= 1.5 * w:
        return ","
    return "." if w <= 0.3 * h_line and h <= 0.35 * h_line and cy >= 0.6 * h_line else None


def _colons(boxes: np.ndarray, short: list[int], band: tuple[float, float]) -> list[list[int]]:
    """Pairs of dots one above the other, one in the upper half of the band and one in the lower."""
    top, base = band
    h_line = max(base - top, 1.0)
    dots = [
        i
        for i in short
        if boxes[i, 2] - boxes[i, 0] <= 0.3 * h_line and boxes[i, 3] - boxes[i, 1] <= 0.3 * h_line
    ]
    pairs, used = [], set()
    for i, j in itertools.combinations(dots, 2):
        if i in used or j in used:
            continue
        overlap = min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0])
        upper, lower = sorted((i, j), key=lambda k: boxes[k, 1])
        if (
            overlap > 0
            and (boxes[upper, 1] + boxes[upper, 3]) / 2 < top + 0.55 * h_line
            and (boxes[lower, 1] + boxes[lower, 3]) / 2 > top + 0.55 * h_line
        ):
            pairs.append([upper, lower])
            used |= {i, j}
    return pairs


def _typical_width(boxes: np.ndarray, groups: list[list[int]]) -> float | None:
    """One digit's width on this line: the median width of groups not wider than tall."""
    single = []
    for g in groups:
        w = int(boxes[g, 2].max() - boxes[g, 0].min())
        h = int(boxes[g, 3].max() - boxes[g, 1].min())
        if w <= MAX_ASPECT * h:
            single.append(w)
    return float(np.median(single)) if len(single) >= 2 else None


def _read_group(
    ink: np.ndarray,
    labels: np.ndarray,
    boxes: np.ndarray,
    members: list[int],
    typical: float | None,
    classify: Classifier | None,
) -> list[Digit]:
    """A group's digits: itself, or its cutting into touching digits the classifier reads best."""
    region, top, left = _region(labels, boxes, members)
    h, w = region.shape
    sure = w > SURE_SPLIT * h or (typical is not None and w > SURE_SPLIT * typical)
    if not sure and (classify is None or w <= MAX_ASPECT * h):
        return cut(ink, region, top, left, [(0, w)])
    guess = max(2, round(w / (typical or DIGIT_ASPECT * h)))
    if classify is None:
        return cut(ink, region, top, left, _split(region, guess))
    penalty = 0.0 if sure or w > WIDE * h else SPLIT_PENALTY
    return _best_cutting(ink, region, top, left, classify, guess, penalty)


def one_digit(ink: np.ndarray, labels: np.ndarray, boxes: np.ndarray, members: list[int]) -> Digit:
    """The pieces ``members`` (labels ``members + 1``) read together as one digit, uncut."""
    region, top, left = _region(labels, boxes, members)
    return cut(ink, region, top, left, [(0, region.shape[1])])[0]


def _region(labels: np.ndarray, boxes: np.ndarray, members: list[int]) -> tuple[np.ndarray, int, int]:
    """The mask of the pieces ``members`` within their joint box, and the box's top and left."""
    left, top = int(boxes[members, 0].min()), int(boxes[members, 1].min())
    right, bottom = int(boxes[members, 2].max()), int(boxes[members, 3].max())
    return np.isin(labels[top:bottom, left:right], np.asarray(members) + 1), top, left


def _best_cutting(
    ink: np.ndarray,
    region: np.ndarray,
    top: int,
    left: int,
    classify: Classifier,
    guess: int,
    penalty: float,
) -> list[Digit]:
    """Recognition-driven segmentation. Candidate cut columns are the ink profile's valleys
    and the cuts into 2 to guess + 1 even parts; every piece between two candidates that could
    be one digit (MIN_PIECE_WIDTH to MAX_PIECE_WIDTH heights wide) is shown to the classifier,
    all in one batch; dynamic programming then finds the cutting with the highest total
    score, a piece scoring log max_k p_k (digit classes only), less ``penalty`` per cut:

        best(0) = 0,   best(c) = max over candidates b < c of best(b) + score(b, c) - penalty
    """
    h, w = region.shape
    cuts = _candidates(region, guess)
    pieces = [
        (a, b)
        for i, a in enumerate(cuts)
        for b in cuts[i + 1 :]
        if MIN_PIECE_WIDTH * h <= b - a <= MAX_PIECE_WIDTH * h or (a, b) == (0, w)
    ]
    digits = {piece: cut(ink, region, top, left, [piece]) for piece in pieces}
    pieces = [piece for piece in pieces if digits[piece]]
    p = classify(np.stack([digits[piece][0].pixels for piece in pieces]))[:, :10]
    score = dict(zip(pieces, np.log(np.maximum(p.max(axis=1), 1e-12)), strict=True))
    best: dict[int, tuple[float, list[tuple[int, int]]]] = {0: (0.0, [])}
    for c in cuts[1:]:
        paths = [
            (best[a][0] + score[(a, c)] - (penalty if best[a][1] else 0.0), [*best[a][1], (a, c)])
            for a in cuts
            if a < c and a in best and (a, c) in score
        ]
        if paths:
            best[c] = max(paths, key=lambda path: path[0])
    if w not in best:  # no cutting into digit-wide pieces: the group as it is
        return cut(ink, region, top, left, [(0, w)])
    return [digits[piece][0] for piece in best[w][1]]


def _candidates(region: np.ndarray, guess: int) -> list[int]:
    """Columns where a cut may go: both ends, the ink profile's valleys (at most MAX_CUTS, the
    emptiest first), the cuts of ``_split`` into 2 to guess + 1 parts, and the exact even
    divisions (touching round digits meet where the ink is thickest, not thinnest)."""
    h, w = region.shape
    profile = np.convolve(region.sum(axis=0).astype(np.float64), np.ones(3) / 3, mode="same")
    inner = np.arange(1, w - 1)
    valleys = inner[(profile[inner] <= profile[inner - 1]) & (profile[inner] <= profile[inner + 1])]
    valleys = valleys[(valleys >= MIN_PIECE_WIDTH * h) & (valleys <= w - MIN_PIECE_WIDTH * h)]
    valleys = valleys[np.argsort(profile[valleys], kind="stable")][:MAX_CUTS]
    even = {c for k in range(2, guess + 2) for c, _ in _split(region, k)[1:]}
    exact = {round(j * w / k) for k in range(2, guess + 2) for j in range(1, k)}  # where strokes touch
    return sorted({0, w, *(int(v) for v in valleys), *even, *exact})


def cut(
    ink: np.ndarray, region: np.ndarray, top: int, left: int, ranges: list[tuple[int, int]]
) -> list[Digit]:
    """One Digit per column range of ``region`` (a group's mask, placed at top/left in ``ink``)."""
    out = []
    for c0, c1 in ranges:
        piece = region[:, c0:c1]
        ys, xs = np.nonzero(piece)
        if ys.size == 0:
            continue
        t, b, lft, rgt = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        y0, x0 = top + t, left + c0 + lft
        mask = piece[t:b, lft:rgt]
        patch = ink[y0 : top + b, x0 : left + c0 + rgt] * _grow(mask)
        box = (int(x0), int(y0), int(left + c0 + rgt), int(top + b))
        out.append(Digit(box, to_mnist(patch), mask))
    return out


def _grow(mask: np.ndarray) -> np.ndarray:
    """The mask widened by one pixel all round (keeps a stroke's anti-aliased edge)."""
    return cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)


def _split(mask: np.ndarray, k: int) -> list[tuple[int, int]]:
    """``k`` column ranges covering a group: cut at the emptiest columns near even spacing."""
    w = mask.shape[1]
    if k <= 1:
        return [(0, w)]
    profile = mask.sum(axis=0)
    cuts = [0]
    for j in range(1, k):
        centre, half = j * w / k, 0.25 * w / k
        lo, hi = int(max(cuts[-1] + 1, centre - half)), int(min(w - 1, centre + half)) + 1
        if lo >= hi:
            continue
        cuts.append(lo + int(np.argmin(profile[lo:hi])))
    cuts.append(w)
    return list(itertools.pairwise(cuts))
