"""Image handling, from a picture to MNIST-style 28x28 digits, one stage a module:

load (decode) -> pixelated (nearest-neighbour enlargements smoothed) -> ink (ink map, mask) ->
rules (straight lines that are not writing) -> lines (lines of writing) -> segment (digits,
separators, spaces) -> normalize (28x28) -> faint (each digit again, its faint strokes given
back); page.read_page runs them in that order. Imaging
knows nothing of networks: a caller that wants touching digits cut well hands it a
classifier function.
"""

from __future__ import annotations

import cv2
import numpy as np

from .load import load_gray
from .normalize import to_mnist
from .page import Page, read_page
from .segment import Classifier, Digit, Separator

# Pictures are small and each one's steps are short: OpenCV's own threads cost more in
# hand-offs than they save (measured: components 2x slower on 2 cores), and callers that
# want parallelism run pictures side by side.
cv2.setNumThreads(1)


def find_digits(gray: np.ndarray, classify: Classifier | None = None) -> list[Digit]:
    """Every digit found in a grayscale picture, line by line, left to right."""
    return read_page(gray, classify).digits


__all__ = ["Classifier", "Digit", "Page", "Separator", "find_digits", "load_gray", "read_page", "to_mnist"]
