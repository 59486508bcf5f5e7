"""Pictures blown up with nearest-neighbour resampling are found and made smooth again."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from handwriting import recognize
from handwriting.imaging.pixelated import _grid, unpixelate
from handwriting.imaging.synthetic import render


def _small(c: str, n: int = 8) -> np.ndarray:
    """Digit ``c`` as an n x n ink image (ink = 1), like the 8x8 UCI digits."""
    ink = 1.0 - np.asarray(render(c, height=64, pen=0.12), np.float32) / 255.0
    ys, xs = np.nonzero(ink > 0.3)
    crop = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    (h, w), side = crop.shape, max(crop.shape)
    square = np.zeros((side, side), np.float32)
    square[(side - h) // 2 : (side - h) // 2 + h, (side - w) // 2 : (side - w) // 2 + w] = crop
    return cv2.resize(square, (n, n), interpolation=cv2.INTER_AREA)


def _enlarged(ink: np.ndarray, k: int, method: int, pad: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Dark ink on light paper, k times larger, with ``pad`` rows and columns of paper before."""
    big = cv2.resize(1.0 - ink, None, fx=k, fy=k, interpolation=method)
    return np.pad(big, ((pad[0], 0), (pad[1], 0)), constant_values=1.0).clip(0, 1)


@pytest.mark.parametrize(("k", "pad"), [(8, (0, 0)), (5, (3, 2)), (12, (7, 0))])
def test_a_nearest_neighbour_enlargement_is_found_with_its_offset(k, pad):
    gray = _enlarged(_small("3"), k, cv2.INTER_NEAREST, pad)
    assert _grid(gray) == (k, pad[0] % k, pad[1] % k)


def test_it_is_smoothed_like_a_bicubic_enlargement():
    ink = _small("5")
    smooth = unpixelate(_enlarged(ink, 8, cv2.INTER_NEAREST))
    bicubic = _enlarged(ink, 8, cv2.INTER_CUBIC)
    assert smooth.shape == bicubic.shape and smooth.min() >= 0 and smooth.max() <= 1
    assert np.corrcoef(smooth.ravel(), bicubic.ravel())[0, 1] > 0.98


@pytest.mark.parametrize("what", ["bicubic", "drawn", "rectangle", "blank", "tiny"])
def test_other_pictures_are_left_alone(what):
    if what == "bicubic":
        gray = _enlarged(_small("7"), 8, cv2.INTER_CUBIC)
    elif what == "drawn":
        gray = np.asarray(render("42"), np.float32) / 255.0
    elif what == "rectangle":  # two edges on any grid of their spacing: not a picture of blocks
        gray = np.ones((120, 160), np.float32)
        gray[40:80, 40:120] = 0.0
    elif what == "blank":
        gray = np.ones((100, 100), np.float32)
    else:
        gray = _enlarged(_small("1", 4), 4, cv2.INTER_NEAREST)  # 16x16: too few blocks to tell
    assert unpixelate(gray) is gray


def test_small_digits_blown_up_blockily_are_read():
    """Issue #11: the 8x8 UCI digits blown up with nearest-neighbour were read 42% right."""
    right = 0
    for c in "0123456789":
        picture = Image.fromarray(np.round(255 * _enlarged(_small(c), 8, cv2.INTER_NEAREST)).astype(np.uint8))
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        right += recognize(buffer.getvalue()).digits == c
    assert right >= 9
