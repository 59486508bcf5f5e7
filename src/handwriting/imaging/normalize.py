"""From a grayscale picture to digits shaped like MNIST's.

MNIST was made this way (LeCun et al.): each digit's bounding box was scaled, keeping its
aspect ratio and with anti-aliasing, to fit a 20x20 box, then placed in a 28x28 field with
its centre of mass at the centre. Before that, a photo or scan needs its ink found:

1. ink map: decide whether the ink is darker or lighter than the paper (the paper is the
   majority of pixels), then divide out uneven lighting by estimating the paper's brightness
   locally (a coarse grid of block maxima), so ink = how much darker than its paper a pixel is;
2. mask: ink above a threshold chosen by Otsu's method on the ink map;
3. digits: connected components; tall pieces that mostly overlap horizontally are one digit,
   short pieces (a broken-off bar) join the nearest digit or are dropped (specks, dashes);
   a group much wider than tall may be touching digits, and is cut at the columns with the
   least ink where that reads better; left to right;
4. each digit: its ink, thickened if its strokes are much thinner than MNIST's, scaled to fit
   20x20, centred by centre of mass in 28x28.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .components import boxes, label

FIELD, BOX = 28, 20  # MNIST: digits fit a 20x20 box inside a 28x28 field
WORK = 4 * BOX  # resolution at which stroke width is judged and adjusted
MIN_CONTRAST = 0.15  # an image whose ink is fainter than this holds no digit
MIN_PIECE = 0.05  # components smaller than this fraction of the largest are specks
SMALL = 0.5  # a piece less tall than this fraction of the tallest is not a digit on its own;
NEAR = 0.25  # it joins a digit within this fraction of the tallest's height, else is dropped
MERGE_OVERLAP = 0.7  # tall pieces overlapping this much (of the narrower's width) are one digit
SPLIT_PENALTY = 0.6  # log-odds against cutting a group only a little wider than one digit
SURE_SPLIT = 1.5  # a group this much wider than tall, or than its neighbours, is cut freely
MAX_ASPECT = 1.15  # a group wider than this times its height holds touching digits
DIGIT_ASPECT = 0.7  # typical width / height of one digit, to guess how many are touching
STROKE = 11.0  # median MNIST stroke width at WORK resolution (measured on its test set)


@dataclass
class Digit:
    """One digit found in an image: where it was and what the network is shown."""

    box: tuple[int, int, int, int]  # (top, left, bottom, right) in the working image
    pixels: np.ndarray  # (28, 28) float32, ink = 1, like MNIST


def ink_map(gray: np.ndarray) -> np.ndarray:
    """How much each pixel is ink, in [0, 1], whatever the polarity and lighting."""
    if float(np.median(gray)) < 0.5:  # light ink on dark paper
        gray = 1.0 - gray
    paper = _paper(gray)
    return np.clip((paper - gray) / np.maximum(paper, 0.1), 0.0, 1.0).astype(np.float32)


def _paper(gray: np.ndarray) -> np.ndarray:
    """The paper's brightness around each pixel: the maximum over a coarse grid of blocks,
    widened to the 3x3 neighbouring blocks (so a stroke never fills a window), upsampled."""
    h, w = gray.shape
    b = max(8, min(h, w) // 12)
    gh, gw = -(-h // b), -(-w // b)
    padded = np.pad(gray, ((0, gh * b - h), (0, gw * b - w)), mode="edge")
    grid = padded.reshape(gh, b, gw, b).max(axis=(1, 3))
    g = np.pad(grid, 1, mode="edge")
    grid = np.max([g[i : i + gh, j : j + gw] for i in range(3) for j in range(3)], axis=0)
    up = Image.fromarray(grid.astype(np.float32)).resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(up, dtype=np.float32)


def otsu(values: np.ndarray, bins: int = 64) -> float:
    """The threshold that best separates ``values`` (in [0, 1]) into two classes (Otsu 1979):
    it maximizes the between-class variance w0 w1 (mu0 - mu1)^2."""
    hist, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    p = hist / max(hist.sum(), 1)
    centers = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * centers)
    total = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total * w0 - m0) ** 2 / (w0 * (1 - w0))
    between[~np.isfinite(between)] = 0
    return float(edges[int(np.argmax(between)) + 1])


def _dilate(a: np.ndarray, r: int) -> np.ndarray:
    """Grey dilation by a (2r+1)^2 square: the max over shifted copies (r is small)."""
    if r <= 0:
        return a
    h, w = a.shape
    p = np.pad(a, r)
    out = a.copy()
    for dy in range(2 * r + 1):
        for dx in range(2 * r + 1):
            np.maximum(out, p[dy : dy + h, dx : dx + w], out=out)
    return out


Classifier = Callable[[np.ndarray], np.ndarray]  # (n, 28, 28) images -> (n, 10) probabilities


def find_digits(gray: np.ndarray, classify: Classifier | None = None) -> list[Digit]:
    """The digits in a grayscale image, left to right, each as an MNIST-style 28x28 array.

    A group of ink much wider than tall may be several touching digits. With ``classify``,
    each way of cutting it (into 1, 2, ... digits) is shown to the classifier and the one
    whose digits it is jointly most sure of (largest sum of log max-probabilities) wins;
    without, the number of digits is guessed from the width alone.
    """
    ink = ink_map(gray)
    if float(ink.max()) < MIN_CONTRAST:
        return []
    smooth = ink
    if min(ink.shape) >= 100:  # average out pixel noise before thresholding a large picture
        p = np.pad(ink, 1, mode="edge")
        h, w = ink.shape
        smooth = sum(p[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9.0
    faint = smooth > 0.02
    mask = smooth > max(otsu(smooth[faint]) if faint.any() else 1.0, MIN_CONTRAST)
    labels, n = label(mask)
    if n == 0:
        return []
    box, area = boxes(labels, n)
    keep = np.flatnonzero(area >= MIN_PIECE * area.max())
    groups = _group(box, keep)
    widths = [int(box[g, 3].max() - box[g, 1].min()) for g in groups]
    heights = [int(box[g, 2].max() - box[g, 0].min()) for g in groups]
    single = [w for w, h in zip(widths, heights, strict=True) if w <= MAX_ASPECT * h]
    typical = float(np.median(single)) if len(single) >= 2 else None  # one digit's width here
    digits: list[Digit] = []
    for members in groups:
        top, left = box[members, 0].min(), box[members, 1].min()
        bottom, right = box[members, 2].max(), box[members, 3].max()
        region = np.isin(labels[top:bottom, left:right], np.asarray(members) + 1)
        h, w = region.shape
        # Clearly wider than one digit (by its shape, or next to its neighbours)?
        sure = w > SURE_SPLIT * h or (typical is not None and w > SURE_SPLIT * typical)
        if not sure and (classify is None or w <= MAX_ASPECT * h):
            digits += _cut(ink, region, top, left, [(0, w)])
            continue
        guess = max(2, round(w / (typical or DIGIT_ASPECT * h)))
        if classify is None:
            digits += _cut(ink, region, top, left, _split(region, guess))
            continue
        options = [_cut(ink, region, top, left, _split(region, k)) for k in range(1, guess + 2)]
        penalty = 0.0 if sure else SPLIT_PENALTY
        scores = [
            float(np.log(np.maximum(classify(np.stack([d.pixels for d in o])).max(axis=1), 1e-12)).sum())
            - penalty * (len(o) - 1)
            for o in options
        ]
        digits += options[int(np.argmax(scores))]
    return digits


def _cut(
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
        patch = ink[y0 : top + b, x0 : left + c0 + rgt] * _dilate(piece[t:b, lft:rgt].astype(np.float32), 1)
        out.append(Digit((int(y0), int(x0), int(top + b), int(left + c0 + rgt)), to_mnist(patch)))
    return out


def _group(box: np.ndarray, keep: np.ndarray) -> list[list[int]]:
    """Components (indices into ``box``) gathered into digits, left to right.

    A component at least half as tall as the tallest is a digit, or part of the digit it
    mostly overlaps horizontally (two strokes of one digit); a shorter one (a broken-off bar,
    a speck, a dash) joins the nearest digit if it is close, and is dropped otherwise.
    """
    heights = box[keep, 2] - box[keep, 0]
    tall = keep[heights >= SMALL * heights.max()]
    short = keep[heights < SMALL * heights.max()]
    groups: list[list[int]] = []
    spans: list[list[int]] = []  # left, right of each group
    for i in tall[np.argsort(box[tall, 1])]:
        left, right = int(box[i, 1]), int(box[i, 3])
        if spans:
            gl, gr = spans[-1]
            if min(right, gr) - max(left, gl) >= MERGE_OVERLAP * min(right - left, gr - gl):
                groups[-1].append(int(i))
                spans[-1] = [min(gl, left), max(gr, right)]
                continue
        groups.append([int(i)])
        spans.append([left, right])
    for i in short:
        left, right = int(box[i, 1]), int(box[i, 3])
        # gap between intervals (negative: they overlap, and more overlap is nearer)
        gaps = [max(left, gl) - min(right, gr) for gl, gr in spans]
        nearest = int(np.argmin(gaps))
        if gaps[nearest] <= NEAR * heights.max():
            groups[nearest].append(int(i))
    return groups


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


def to_mnist(patch: np.ndarray) -> np.ndarray:
    """An ink patch (ink = 1) to 28x28 the MNIST way: strokes thickened to MNIST's width if
    thinner, scaled (aspect kept, anti-aliased) to fit 20x20, centre of mass at the centre."""
    top = np.percentile(patch[patch > 0], 90) if (patch > 0).any() else 1.0
    patch = np.clip(patch / max(float(top), 1e-3), 0, 1).astype(np.float32)
    h, w = patch.shape
    s = WORK / max(h, w)
    big = _resize(patch, max(1, round(w * s)), max(1, round(h * s)))
    big = _dilate(big, round((STROKE - stroke_width(big)) / 2))  # thin strokes to MNIST's width
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


def stroke_width(a: np.ndarray) -> float:
    """Mean stroke width of the ink (> 0.5) in pixels: area / length, where the length of a
    stroke is about half the perimeter of its outline."""
    solid = a > 0.5
    inner = solid.copy()
    inner[1:-1, 1:-1] &= solid[:-2, 1:-1] & solid[2:, 1:-1] & solid[1:-1, :-2] & solid[1:-1, 2:]
    perimeter = int((solid & ~inner).sum())
    return 2.0 * float(solid.sum()) / max(perimeter, 1)


def _resize(a: np.ndarray, width: int, height: int) -> np.ndarray:
    """Anti-aliased resize of a float image (area averaging down, bilinear up)."""
    shrinking = width < a.shape[1] or height < a.shape[0]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(a.astype(np.float32)).resize((width, height), method), dtype=np.float32)
