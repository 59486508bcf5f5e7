// pixelated.py in the browser: a picture blown up with nearest-neighbour resampling (a grid of
// flat k x k blocks, every change between neighbouring pixels on a block boundary) is taken
// back to one pixel a block and enlarged again smoothly (bicubic, as OpenCV's INTER_CUBIC).

import { resample, resizeArea } from "./imaging.js";

const MIN_BLOCK = 3, MAX_BLOCK = 32, MIN_CELLS = 6, ON_GRID = 0.98, MIN_EDGES = 4, ROWS = 128;

export function unpixelate(gray) {
  const found = grid(gray);
  if (found === null) return gray;
  const [k, oy, ox] = found, ny = Math.floor((gray.h - oy) / k), nx = Math.floor((gray.w - ox) / k);
  const inner = { w: nx * k, h: ny * k, data: new Float32Array(nx * k * ny * k) };
  for (let y = 0; y < inner.h; y++) inner.data.set(gray.data.subarray((oy + y) * gray.w + ox, (oy + y) * gray.w + ox + inner.w), y * inner.w);
  const smooth = resample(resizeArea(inner, nx, ny), nx * k, ny * k, cubicTaps);
  const out = { w: gray.w, h: gray.h, data: Float32Array.from(gray.data) };
  for (let y = 0; y < smooth.h; y++) {
    for (let x = 0; x < smooth.w; x++) out.data[(oy + y) * out.w + ox + x] = Math.min(1, Math.max(0, smooth.data[y * smooth.w + x]));
  }
  return out;
}

function grid(gray) {  // [k, row offset, column offset] of the block grid, or null
  const top = Math.min(MAX_BLOCK, Math.floor(gray.h / MIN_CELLS), Math.floor(gray.w / MIN_CELLS));
  if (top < MIN_BLOCK) return null;
  const across = changes(gray, Math.max(1, Math.floor(gray.h / ROWS)), true);
  const down = changes(gray, Math.max(1, Math.floor(gray.w / ROWS)), false);
  for (let k = top; k >= MIN_BLOCK; k--) {  // the largest block that fits
    const ox = offset(across, k), oy = offset(down, k);
    if (ox !== null && oy !== null) return [k, oy, ox];
  }
  return null;
}

// summed absolute change between pixel i and i + 1 along rows (every step-th row) or columns
function changes(gray, step, alongRows) {
  const n = (alongRows ? gray.w : gray.h) - 1, out = new Float64Array(Math.max(0, n));
  if (alongRows) {
    for (let y = 0; y < gray.h; y += step) for (let i = 0; i < n; i++) out[i] += Math.abs(gray.data[y * gray.w + i + 1] - gray.data[y * gray.w + i]);
  } else {
    for (let x = 0; x < gray.w; x += step) for (let i = 0; i < n; i++) out[i] += Math.abs(gray.data[(i + 1) * gray.w + x] - gray.data[i * gray.w + x]);
  }
  return out;
}

function offset(change, k) {  // where blocks of k start, if ON_GRID of the change falls there
  let total = 0;
  for (const v of change) total += v;
  if (total <= 0) return null;
  const perOffset = new Float64Array(k);
  change.forEach((v, i) => { perOffset[(i + 1) % k] += v; });
  let o = 0;
  for (let j = 1; j < k; j++) if (perOffset[j] > perOffset[o]) o = j;
  let edges = 0;
  change.forEach((v, i) => { if ((i + 1) % k === o && v > 1e-3 * total) edges++; });
  return perOffset[o] < ON_GRID * total || edges < MIN_EDGES ? null : o;
}

function cubicTaps(src, dst) {  // OpenCV's INTER_CUBIC: A = -0.75, source indices clamped
  const A = -0.75, scale = src / dst, taps = [];
  for (let d = 0; d < dst; d++) {
    let f = (d + 0.5) * scale - 0.5;
    const s = Math.floor(f);
    f -= s;
    const c0 = ((A * (f + 1) - 5 * A) * (f + 1) + 8 * A) * (f + 1) - 4 * A;
    const c1 = ((A + 2) * f - (A + 3)) * f * f + 1;
    const c2 = ((A + 2) * (1 - f) - (A + 3)) * (1 - f) * (1 - f) + 1;
    const clamp = (i) => Math.min(src - 1, Math.max(0, i));
    taps.push([[clamp(s - 1), c0], [clamp(s), c1], [clamp(s + 1), c2], [clamp(s + 2), 1 - c0 - c1 - c2]]);
  }
  return taps;
}
