// Step 1b in the browser, after the Python package's grid.py (same constants): squared paper.
// Where the grid comes out in the ink mask it joins all the writing into one mesh; seen as one
// piece across the picture whose holes (its cells) are many and fill most of it, its lines are
// removed as rules.js removes a page's rules, the cell size standing in for the digit height,
// and the ink map loses them too.

import { components, dilate, median } from "./imaging.js";
import { removeLines } from "./rules.js";

const GRID_CELLS = 20, GRID_FILL = 0.5, GRID_SPAN = 0.9, CELL_HEIGHTS = 1.5;

// grid.grid_cell: [the cells' side, the grid's box], or null where the picture has no grid;
// pieces: the mask's components
export function gridCell(mask, { n, labels, boxes, area }) {
  if (!n) return null;
  let largest = 0;
  area.forEach((a, i) => { if (a > area[largest]) largest = i; });
  const [x0, y0, x1, y1] = boxes[largest], bw = x1 - x0, bh = y1 - y0;
  if (bw < GRID_SPAN * mask.w || bh < GRID_SPAN * mask.h) return null;
  const paper = { w: bw, h: bh, data: new Uint8Array(bw * bh) };
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) paper.data[y * bw + x] = labels[(y0 + y) * mask.w + x0 + x] !== largest + 1 ? 1 : 0;
  }
  const holes = components(paper), sides = [];
  let filled = 0;
  holes.boxes.forEach(([hx0, hy0, hx1, hy1], i) => {
    if (hx0 > 0 && hy0 > 0 && hx1 < bw && hy1 < bh) { sides.push(Math.max(hx1 - hx0, hy1 - hy0)); filled += holes.area[i]; }
  });
  if (sides.length < GRID_CELLS || filled < GRID_FILL * bw * bh) return null;
  return [median(sides), [x0, y0, x1, y1]];
}

// grid.remove_grid: [ink, mask, the grid's box] without the grid (null, and both as they
// were, where there is none); pieces: the mask's components
export function removeGrid(ink, mask, pieces) {
  const found = gridCell(mask, pieces);
  if (!found) return [ink, mask, null];
  const [kept] = removeLines(mask, CELL_HEIGHTS * found[0], false);
  const gone = { w: mask.w, h: mask.h, data: new Uint8Array(mask.w * mask.h) };
  for (let i = 0; i < gone.data.length; i++) gone.data[i] = mask.data[i] && !kept.data[i] ? 1 : 0;
  const near = dilate(gone, 1), out = { w: ink.w, h: ink.h, data: ink.data.slice() };
  for (let i = 0; i < out.data.length; i++) if (near.data[i] && !kept.data[i]) out.data[i] = 0;
  return [out, kept, found[1]];
}
