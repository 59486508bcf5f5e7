"""Step 7, again for unsure readings: a digit's faint strokes given back.

The ink mask keeps what is darker than Otsu's threshold. A thin pencil stroke, blurred and
photographed, can be fainter than that along part of its length: the digit then loses that
part (a 4 keeps its upright and loses its arm) and may be read wrong, unsure, or as no digit.
Here each digit's mask grows into the faint ink (above ``ink.FAINT`` of the threshold) joined
to it, a pixel a step, for at most REACH of its height: the faint ink of other marks' strokes
and of the lines taken off the page never joins. The digit's image made again from the grown
mask is its second look (``Digit.faint``), which the reader uses where the first is unsure;
``Digit.strokes_given`` says whether the mask grew past its own edge (a stroke's faint part)
or only thickened it (the blurred rim of a stroke every picture has).
"""

from __future__ import annotations

import cv2
import numpy as np

from .segment import Box, Digit, cut

REACH = 0.25  # the faint ink joins a digit within this fraction of its height


def give_back_faint(digits: list[Digit], boxes: list[Box], ink: np.ndarray, faint: np.ndarray) -> None:
    """Set ``faint`` on each digit whose mask the faint ink (bool, free of any other mark)
    widens: the 28x28 image of its ink within the grown mask. ``boxes`` are the digits' boxes
    in ``ink``, where their masks lie."""
    step = np.ones((3, 3), np.uint8)
    for digit, (x0, y0, x1, y1) in zip(digits, boxes, strict=True):
        if digit.mask is None:
            continue
        reach = max(2, round(REACH * (y1 - y0)))
        top, left = max(0, y0 - reach), max(0, x0 - reach)
        bottom, right = min(ink.shape[0], y1 + reach), min(ink.shape[1], x1 + reach)
        seed = np.zeros((bottom - top, right - left), np.uint8)
        seed[y0 - top : y1 - top, x0 - left : x1 - left] = digit.mask
        allowed = faint[top:bottom, left:right].astype(np.uint8) | seed
        grown = seed
        for _ in range(reach):  # geodesic dilation: one pixel a step, only into faint ink
            wider = cv2.dilate(grown, step) & allowed
            if np.array_equal(wider, grown):
                break
            grown = wider
        if np.count_nonzero(grown) > np.count_nonzero(seed):
            digit.faint = cut(ink, grown.astype(bool), top, left, [(0, grown.shape[1])])[0].pixels
            # past the pixel of edge that cut() keeps in the first image already: strokes, not a rim
            digit.strokes_given = bool((grown & ~cv2.dilate(seed, step)).any())


def faint_ink(faint: np.ndarray, mask: np.ndarray, kept: np.ndarray, sw: float) -> np.ndarray:
    """The faint ink a digit may grow into: faint (bool) but not ink of ``mask`` (every mark
    as first found), and away (two stroke widths) from the marks taken off since (``mask``
    but not ``kept``: rules, frames, rings), whose blurred edges are faint too."""
    size = int(2 * sw) | 1
    taken = cv2.dilate((mask & ~kept).astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)
    return faint & ~mask & ~taken
