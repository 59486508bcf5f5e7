"""Step 1 of reading a picture: where is the ink?

1. ink map: decide whether the ink is darker or lighter than the paper (the paper is the
   majority of pixels), then divide out uneven lighting by estimating the paper's brightness
   locally (a coarse grid of block maxima), so ink = how much darker than its paper a pixel is;
2. mask: ink above a threshold chosen by Otsu's method on the ink map, after a 3x3 average
   on large pictures so that grain does not survive; and the faint ink, above FAINT of that
   threshold, from which ``faint.py`` gives back a stroke's faint parts.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_CONTRAST = 0.15  # an image whose ink is fainter than this holds no digit
FAINT = 0.5  # ink above this share of the threshold may be a stroke's faint part


def ink_map(gray: np.ndarray) -> np.ndarray:
    """How much each pixel is ink, in [0, 1], whatever the polarity and lighting."""
    gray = np.asarray(gray, np.float32)
    if float(np.median(gray[::3, ::3])) < 0.5:  # light ink on dark paper (a sample decides)
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
    grid = cv2.dilate(grid, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_LINEAR)


def otsu(values: np.ndarray, bins: int = 64) -> float:
    """The threshold that best separates ``values`` (in [0, 1]) into two classes (Otsu 1979):
    it maximizes the between-class variance w0 w1 (mu0 - mu1)^2."""
    hist = np.bincount(np.clip((values * bins).astype(np.int64), 0, bins - 1), minlength=bins)
    edges = np.linspace(0.0, 1.0, bins + 1)
    p = hist / max(hist.sum(), 1)
    centers = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * centers)
    total = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total * w0 - m0) ** 2 / (w0 * (1 - w0))
    between[~np.isfinite(between)] = 0
    return float(edges[int(np.argmax(between)) + 1])


def ink_mask(ink: np.ndarray, share: float = 1.0) -> np.ndarray:
    """The pixels that are ink (bool): above Otsu's threshold and at least MIN_CONTRAST, both
    times ``share`` (FAINT: the faint ink too)."""
    smooth = ink
    if min(ink.shape) >= 100:  # average out pixel noise before thresholding a large picture
        smooth = cv2.blur(ink, (3, 3), borderType=cv2.BORDER_REPLICATE)
    faint = smooth > 0.02
    return smooth > share * max(otsu(smooth[faint]) if faint.any() else 1.0, MIN_CONTRAST)
