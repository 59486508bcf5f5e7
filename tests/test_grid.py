"""Squared paper: a grid dark enough to come out in the ink mask is found and taken off the
mask and the ink map, the digits' strokes kept; ruled pages and lone digits are no grid."""

import cv2
import numpy as np

import handwriting
from handwriting.imaging.grid import grid_cell, remove_grid
from handwriting.imaging.page import _components
from handwriting.imaging.synthetic import render


def _digits(text: str = "4096") -> np.ndarray:
    """A mask of digits, ink = True, 200 pixels wide or more."""
    ink = 1.0 - np.asarray(render(text, height=60, rng=np.random.default_rng(5)), np.float32) / 255
    return ink > 0.5


def _grid(shape: tuple[int, int], cell: int) -> np.ndarray:
    grid = np.zeros(shape, bool)
    for k in (3, 4):  # lines two pixels thick
        grid[:, k::cell] = True
        grid[k::cell, :] = True
    return grid


def test_a_grid_is_found_with_its_cell_size():
    digits = _digits()
    mask = digits | _grid(digits.shape, 20)
    found = grid_cell(mask, _components(mask))
    assert found is not None
    cell, box = found
    assert 17 <= cell <= 19  # the holes between lines two pixels thick, 20 apart
    assert box[0] <= 3 and box[1] <= 3 and box[2:] == (digits.shape[1], digits.shape[0])


def test_ruled_paper_and_lone_digits_are_no_grid():
    digits = _digits("6890")  # loops, but not a grid's cells
    assert grid_cell(digits, _components(digits)) is None
    ruled = digits.copy()
    ruled[::25] = True  # rules across
    ruled[:, 10] = True  # and a margin joining them
    assert grid_cell(ruled, _components(ruled)) is None


def test_taking_the_grid_off_keeps_the_strokes_and_clears_the_ink_map():
    digits = _digits()
    lines = _grid(digits.shape, 30)
    grid = lines & ~digits
    mask = digits | grid
    ink = np.where(digits, 1.0, np.where(grid, 0.6, 0.0)).astype(np.float32)
    ink_out, kept, box = remove_grid(ink, mask, _components(mask))
    assert box is not None
    assert (kept & grid).sum() <= 0.02 * grid.sum()  # the grid's lines, off
    assert ink_out[grid & ~kept].max() == 0.0  # and the grid's ink with them
    # the strokes away from the lines, kept (a stroke along a line goes with it)
    off = digits & ~(cv2.dilate(lines.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
    assert (kept & off).sum() >= 0.98 * off.sum()


def test_a_page_on_squared_paper_lists_its_grid_once():
    rng = np.random.default_rng(7)
    rows = [np.asarray(render(t, height=60, rng=rng), np.float32) for t in ("4096", "1357", "28")]
    page = np.full((sum(r.shape[0] for r in rows), max(r.shape[1] for r in rows)), 245.0, np.float32)
    y = 0
    for r in rows:
        page[y : y + r.shape[0], : r.shape[1]] = r
        y += r.shape[0]
    page[_grid(page.shape, 50)] = np.minimum(page[_grid(page.shape, 50)], 40)
    result = handwriting.recognize(page.astype(np.uint8))
    reasons = [r.reason for r in result.rejected]
    assert reasons.count("grid") == 1 and "rule" not in reasons
    assert result.digits.replace("\n", "") != ""
