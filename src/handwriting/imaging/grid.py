"""Step 1b: squared paper. A printed grid lies under the writing, every digit crosses it, and
its lines are closer together than a digit is tall. Where the grid is dark enough to come out
in the ink mask, it joins all the writing into one mesh in which no digit can be measured or
cut out; a light grid stays under the threshold and needs nothing.

The grid is seen in the mask as one piece that spans the picture (GRID_SPAN of its width and
height) and encloses many holes, its cells, that fill most of it (GRID_CELLS holes or more,
covering GRID_FILL of its box; a ruled page's rules and margin enclose only the loops of
digits). Its lines are then removed as ``rules.py`` removes a page's rules, with the cell size
standing in for the unknown digit height: a straight run across about three cells is a line,
and the strokes that cross it are kept (a digit's stroke across one row of cells is no frame
side here). The ink map loses the removed pixels and the band around them, so that neither
the digits' images nor the faint strokes given back (step 8) bring the grid back.
"""

from __future__ import annotations

import cv2
import numpy as np

from .rules import remove_lines

GRID_CELLS = 20  # a piece spanning the picture that encloses this many holes...
GRID_FILL = 0.5  # ... filling this share of its box is a grid
GRID_SPAN = 0.9  # share of the picture's width and height that a grid spans
CELL_HEIGHTS = 1.5  # lines are looked for as for digits this many cells tall


Components = tuple[int, np.ndarray, np.ndarray, np.ndarray]  # n, labels, boxes, areas (page.py's)


def grid_cell(mask: np.ndarray, pieces: Components) -> tuple[float, tuple[int, int, int, int]] | None:
    """The side of the squared paper's cells in ``mask``, whose 8-connected components are
    ``pieces`` (the median of the holes' longer sides), and the grid's box (x0, y0, x1, y1),
    or None where the picture has no grid."""
    n, labels, boxes, area = pieces
    if n == 0:
        return None
    h, w = mask.shape
    largest = int(np.argmax(area))
    x, y, x1, y1 = (int(v) for v in boxes[largest])
    bw, bh = x1 - x, y1 - y
    if bw < GRID_SPAN * w or bh < GRID_SPAN * h:
        return None
    paper = (labels[y:y1, x:x1] != largest + 1).astype(np.uint8)
    _, _, holes, _ = cv2.connectedComponentsWithStats(paper, connectivity=8)
    hx, hy, hw, hh, area = (holes[1:, k] for k in range(5))
    inside = (hx > 0) & (hy > 0) & (hx + hw < bw) & (hy + hh < bh)  # not open to the box's edge
    if inside.sum() < GRID_CELLS or area[inside].sum() < GRID_FILL * bw * bh:
        return None
    return float(np.median(np.maximum(hw, hh)[inside])), (x, y, x1, y1)


def remove_grid(
    ink: np.ndarray, mask: np.ndarray, pieces: Components
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int] | None]:
    """The ink map and mask (whose components are ``pieces``) without the squared paper's
    grid, and the grid's box (None, and both unchanged, where there is no grid)."""
    found = grid_cell(mask, pieces)
    if found is None:
        return ink, mask, None
    kept, _ = remove_lines(mask, CELL_HEIGHTS * found[0], sides=False)
    near = cv2.dilate((mask & ~kept).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return np.where(near & ~kept, 0.0, ink).astype(np.float32), kept, found[1]
