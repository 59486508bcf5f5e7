// From a grayscale picture to lines of 28x28 digits, in the browser: the same steps, constants
// and rules as the Python package's imaging/ (ink.py, page.py, lines.py, segment.py,
// normalize.py; rules.py is rules.js, page.py's rings rings.js, pixelated.py pixelated.js,
// orient.py orient.js), each function named after the one it follows. Images are
// {w, h, data: Float32Array} row by row; masks the same with a Uint8Array.

import { looksSideways } from "./orient.js";
import { unpixelate } from "./pixelated.js";
import { removeRings } from "./rings.js";
import { removeGrid } from "./grid.js";
import { LONG, pageLines, rejoined, removeLines } from "./rules.js";

// ---- small helpers: Python's round (halves to even), numpy's median and percentile ----
export function pyRound(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
function sortedCopy(values) { return Float64Array.from(values).sort(); }
export function median(values) {
  const a = sortedCopy(values), n = a.length;
  return n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
}
function percentile(values, q) {
  const a = sortedCopy(values), at = (a.length - 1) * q / 100, lo = Math.floor(at);
  return a[lo] + (a[Math.min(lo + 1, a.length - 1)] - a[lo]) * (at - lo);
}
const image = (w, h, Kind = Float32Array) => ({ w, h, data: new Kind(w * h) });
export function maxOf(values) {  // (Math.max(...values) overflows the stack on a large picture)
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  return m;
}

// ---- resizing as OpenCV does it: area averaging to shrink, bilinear to enlarge ----
function areaTaps(src, dst) {  // OpenCV's computeResizeAreaTab: each output cell's share of inputs
  const scale = src / dst, taps = [];
  for (let d = 0; d < dst; d++) {
    const f1 = d * scale, f2 = f1 + scale, cell = Math.min(scale, src - f1), t = [];
    let s2 = Math.min(Math.floor(f2), src - 1);
    const s1 = Math.min(Math.ceil(f1), s2);
    if (s1 - f1 > 1e-3) t.push([s1 - 1, (s1 - f1) / cell]);
    for (let s = s1; s < s2; s++) t.push([s, 1 / cell]);
    if (f2 - s2 > 1e-3) t.push([s2, Math.min(f2 - s2, 1, cell) / cell]);
    taps.push(t);
  }
  return taps;
}
function linearTaps(src, dst) {  // OpenCV's INTER_LINEAR: pixel centres aligned, edges clamped
  const scale = src / dst, taps = [];
  for (let d = 0; d < dst; d++) {
    let f = (d + 0.5) * scale - 0.5, s = Math.floor(f);
    f -= s;
    if (s < 0) { f = 0; s = 0; }
    if (s >= src - 1) { f = 0; s = src - 1; }
    taps.push([[s, 1 - f], [Math.min(s + 1, src - 1), f]]);
  }
  return taps;
}
export function resample(a, w, h, taps) {  // separable: rows, then columns
  const [tx, ty] = [taps(a.w, w), taps(a.h, h)], mid = new Float32Array(w * a.h), out = image(w, h);
  for (let y = 0; y < a.h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (const [s, k] of tx[x]) v += a.data[y * a.w + s] * k;
      mid[y * w + x] = v;
    }
  }
  for (let y = 0; y < h; y++) {
    for (const [s, k] of ty[y]) for (let x = 0; x < w; x++) out.data[y * w + x] += mid[s * w + x] * k;
  }
  return out;
}
export const resizeArea = (a, w, h) => resample(a, w, h, areaTaps);
export const resizeLinear = (a, w, h) => resample(a, w, h, linearTaps);

// grey dilation by a (2r+1)^2 square, of an image or a mask; outside the picture adds nothing
export function dilate(a, r) {
  const rows = image(a.w, a.h, a.data.constructor), out = image(a.w, a.h, a.data.constructor);
  for (let y = 0; y < a.h; y++) {
    for (let x = 0; x < a.w; x++) {
      let m = -Infinity;
      for (let i = Math.max(0, x - r); i <= Math.min(a.w - 1, x + r); i++) m = Math.max(m, a.data[y * a.w + i]);
      rows.data[y * a.w + x] = m;
    }
  }
  for (let y = 0; y < a.h; y++) {
    for (let x = 0; x < a.w; x++) {
      let m = -Infinity;
      for (let j = Math.max(0, y - r); j <= Math.min(a.h - 1, y + r); j++) m = Math.max(m, rows.data[j * a.w + x]);
      out.data[y * a.w + x] = m;
    }
  }
  return out;
}

// ---- step 1, ink.py: the ink map and its mask ----
export const MIN_CONTRAST = 0.15;

export function inkMap(gray) {
  const sample = [];
  for (let y = 0; y < gray.h; y += 3) for (let x = 0; x < gray.w; x += 3) sample.push(gray.data[y * gray.w + x]);
  const g = image(gray.w, gray.h);
  const light = median(sample) < 0.5;  // light ink on dark paper
  for (let i = 0; i < g.data.length; i++) g.data[i] = light ? 1 - gray.data[i] : gray.data[i];
  const paper = paperOf(g), ink = image(g.w, g.h);
  for (let i = 0; i < ink.data.length; i++) {
    const p = paper.data[i];
    ink.data[i] = Math.min(1, Math.max(0, (p - g.data[i]) / Math.max(p, 0.1)));
  }
  return ink;
}

function paperOf(g) {  // block maxima on a coarse grid, widened to 3x3 blocks, upsampled
  const b = Math.max(8, Math.floor(Math.min(g.h, g.w) / 12));
  const grid = image(Math.ceil(g.w / b), Math.ceil(g.h / b));
  grid.data.fill(-Infinity);
  for (let y = 0; y < grid.h * b; y++) {
    for (let x = 0; x < grid.w * b; x++) {
      const v = g.data[Math.min(y, g.h - 1) * g.w + Math.min(x, g.w - 1)], k = Math.floor(y / b) * grid.w + Math.floor(x / b);
      if (v > grid.data[k]) grid.data[k] = v;
    }
  }
  return resizeLinear(dilate(grid, 1), g.w, g.h);
}

export function otsu(values, bins = 64) {
  const hist = new Float64Array(bins);
  for (const v of values) hist[Math.min(bins - 1, Math.max(0, Math.trunc(v * bins)))]++;
  const total = values.length || 1;
  let w0 = 0, m0 = 0, best = -1, at = 0, mean = 0;
  for (let i = 0; i < bins; i++) mean += (hist[i] / total) * (i + 0.5) / bins;
  for (let i = 0; i < bins; i++) {
    w0 += hist[i] / total;
    m0 += (hist[i] / total) * (i + 0.5) / bins;
    let between = (mean * w0 - m0) ** 2 / (w0 * (1 - w0));
    if (!Number.isFinite(between)) between = 0;
    if (between > best) { best = between; at = i; }
  }
  return (at + 1) / bins;
}

export const FAINT = 0.5;  // ink.FAINT: ink above this share of the threshold may be a stroke's faint part

export function inkMask(ink, share = 1) {
  let smooth = ink;
  if (Math.min(ink.w, ink.h) >= 100) {  // a 3x3 average, edges replicated
    smooth = image(ink.w, ink.h);
    for (let y = 0; y < ink.h; y++) {
      for (let x = 0; x < ink.w; x++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = Math.min(ink.h - 1, Math.max(0, y + dy)), xx = Math.min(ink.w - 1, Math.max(0, x + dx));
            s += ink.data[yy * ink.w + xx];
          }
        }
        smooth.data[y * ink.w + x] = s / 9;
      }
    }
  }
  const faint = smooth.data.filter((v) => v > 0.02);
  const t = share * Math.max(faint.length ? otsu(faint) : 1, MIN_CONTRAST), mask = image(ink.w, ink.h, Uint8Array);
  for (let i = 0; i < mask.data.length; i++) mask.data[i] = smooth.data[i] > t ? 1 : 0;
  return mask;
}

// ---- normalize.py: one digit's ink to 28x28, the way MNIST was made ----
export const FIELD = 28, BOX = 20, WORK = 4 * BOX, STROKE = 11.0;

export function strokeWidth(mask) {  // area / (half the outline's length)
  let area = 0, edge = 0;
  const { w, h, data } = mask, at = (x, y) => (x >= 0 && y >= 0 && x < w && y < h ? data[y * w + x] : 0);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!data[y * w + x]) continue;
      area++;
      if (!(at(x - 1, y) && at(x + 1, y) && at(x, y - 1) && at(x, y + 1))) edge++;
    }
  }
  return (2 * area) / Math.max(edge, 1);
}

function resized(a, w, h) {  // normalize._resize: area averaging down, bilinear up
  return w < a.w || h < a.h ? resizeArea(a, w, h) : resizeLinear(a, w, h);
}

export function toMnist(patch) {
  const inked = patch.data.filter((v) => v > 0);
  const top = Math.max(inked.length ? percentile(inked, 90) : 1, 1e-3), p = image(patch.w, patch.h);
  for (let i = 0; i < p.data.length; i++) p.data[i] = Math.min(1, Math.max(0, patch.data[i] / top));
  const s = WORK / Math.max(p.h, p.w);
  let big = resized(p, Math.max(1, pyRound(p.w * s)), Math.max(1, pyRound(p.h * s)));
  const thick = image(big.w, big.h, Uint8Array);
  for (let i = 0; i < thick.data.length; i++) thick.data[i] = big.data[i] > 0.5 ? 1 : 0;
  const r = pyRound((STROKE - strokeWidth(thick)) / 2);
  if (r > 0) big = dilate(big, r);  // thin strokes to MNIST's width
  const s2 = BOX / Math.max(big.h, big.w);
  const small = resized(big, Math.max(1, pyRound(big.w * s2)), Math.max(1, pyRound(big.h * s2)));
  const field = new Float32Array(FIELD * FIELD);
  let mass = 0, my = 0, mx = 0;
  for (let y = 0; y < small.h; y++) {
    for (let x = 0; x < small.w; x++) {
      const v = Math.min(1, Math.max(0, small.data[y * small.w + x]));
      small.data[y * small.w + x] = v;
      mass += v; my += v * y; mx += v * x;
    }
  }
  if (mass <= 0) return field;
  const y0 = Math.min(FIELD - small.h, Math.max(0, pyRound(FIELD / 2 - my / mass)));
  const x0 = Math.min(FIELD - small.w, Math.max(0, pyRound(FIELD / 2 - mx / mass)));
  for (let y = 0; y < small.h; y++) {
    for (let x = 0; x < small.w; x++) field[(y0 + y) * FIELD + x0 + x] = small.data[y * small.w + x];
  }
  return field;
}

// normalize.py's looks_like_a_one: a 28x28 digit that is one thin, nearly upright, straight
// stroke (at least 14 rows of ink, at most 3.5 ink pixels a row on average, each row's centre
// within 1.5 pixels of the least-squares line through them, of slope |dx/dy| < 0.5)
export function looksLikeAOne(pixels) {
  const rows = [], centres = [];
  let count = 0;
  for (let y = 0; y < FIELD; y++) {
    let n = 0, sum = 0;
    for (let x = 0; x < FIELD; x++) if (pixels[y * FIELD + x] > 0.5) { n++; sum += x; }
    if (n) { rows.push(y); centres.push(sum / n); count += n; }
  }
  if (rows.length < 14 || count / rows.length > 3.5) return false;
  const k = rows.length, my = rows.reduce((a, b) => a + b) / k, mc = centres.reduce((a, b) => a + b) / k;
  let sxy = 0, syy = 0;
  rows.forEach((y, j) => { sxy += (y - my) * (centres[j] - mc); syy += (y - my) ** 2; });
  const slope = sxy / syy, offset = mc - slope * my;
  return Math.abs(slope) < 0.5 && centres.every((c, j) => Math.abs(c - (slope * rows[j] + offset)) <= 1.5);
}

// ---- connected components (8-connected), labels 1..n in the order they are first met ----
const BEFORE = [-1, 0, -1, -1, 0, -1, 1, -1];  // (dx, dy) of the neighbours already labelled

export function components(mask) {
  const { w, h, data } = mask, provisional = new Int32Array(w * h), parent = [0];
  const root = (i) => { while (parent[i] !== i) { parent[i] = parent[parent[i]]; i = parent[i]; } return i; };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!data[y * w + x]) continue;
      let label = 0;
      for (let k = 0; k < BEFORE.length; k += 2) {
        const xx = x + BEFORE[k], yy = y + BEFORE[k + 1];
        if (xx < 0 || yy < 0 || xx >= w) continue;
        const other = provisional[yy * w + xx];
        if (!other) continue;
        if (!label) label = root(other);
        else { const a = root(label), b = root(other); if (a !== b) parent[Math.max(a, b)] = Math.min(a, b); label = Math.min(a, b); }
      }
      if (!label) { label = parent.length; parent.push(label); }
      provisional[y * w + x] = label;
    }
  }
  // numbered as OpenCV numbers them: in the order first met scanning 2x2 blocks row by row
  const final = new Int32Array(parent.length), labels = new Int32Array(w * h), boxes = [], area = [];
  const meet = (x, y) => {
    if (x >= w || y >= h || !provisional[y * w + x]) return;
    const r = root(provisional[y * w + x]);
    if (!final[r]) { final[r] = boxes.length + 1; boxes.push([Infinity, Infinity, -1, -1]); area.push(0); }
  };
  for (let by = 0; by < h; by += 2) {
    for (let bx = 0; bx < w; bx += 2) {
      meet(bx, by); meet(bx + 1, by); meet(bx, by + 1); meet(bx + 1, by + 1);
    }
  }
  for (let i = 0; i < w * h; i++) {
    if (!provisional[i]) continue;
    const k = final[root(provisional[i])], b = boxes[k - 1], x = i % w, y = (i - x) / w;
    labels[i] = k;
    area[k - 1]++;
    b[0] = Math.min(b[0], x); b[1] = Math.min(b[1], y); b[2] = Math.max(b[2], x + 1); b[3] = Math.max(b[3], y + 1);
  }
  return { n: boxes.length, labels, w, boxes, area };
}

// ---- page.py: scale, digit height, pieces, lines ----
const COARSE = 200, TARGET = WORK, SHRUNK = 0.5, SPECK = 4.0, MIN_PIECE = 0.015, FLAT = 4.0, AGAIN = 0.8;

// page.whole_digit: all the ink within a box read as one digit (marks that are each no digit
// but may be one together)
export function wholeDigit(gray, [x0, y0, x1, y1]) {
  const ink = inkMap(unpixelate(gray)), mask = inkMask(ink), patch = image(x1 - x0, y1 - y0);
  for (let y = 0; y < patch.h; y++) {
    for (let x = 0; x < patch.w; x++) {
      const i = (y0 + y) * ink.w + x0 + x;
      patch.data[y * patch.w + x] = ink.data[i] * mask.data[i];
    }
  }
  return { kind: "digit", box: [x0, y0, x1, y1], pixels: toMnist(patch) };
}

// cutSideways false: a page whose pieces lie on their side is read without classify
// (page.cut false), for comparing with it turned (page.py's read_page)
export function readPage(gray, classify, cutSideways = true) {
  gray = unpixelate(gray);
  let scale = workingScale(gray), measured = measure(scaled(gray, scale));
  // on the coarse copy digits close to a frame merge with it: measured where they stand apart
  if (scale < 1 && measured && measured.height < SHRUNK * TARGET) {
    scale = Math.min(1, (scale * TARGET) / measured.height);
    measured = measure(scaled(gray, scale));
  }
  if (!measured) return { lines: [], rejected: [], cut: true };
  const page = read(measured, classify, cutSideways);
  if (scale === 1) return page;
  const [sx, sy] = [gray.w / measured.ink.w, gray.h / measured.ink.h];
  const big = (b) => [Math.trunc(b[0] * sx), Math.trunc(b[1] * sy), Math.min(gray.w, Math.ceil(b[2] * sx)), Math.min(gray.h, Math.ceil(b[3] * sy))];
  for (const line of page.lines) for (const item of line.items) item.box = big(item.box);
  page.rejected = page.rejected.map(([b, why]) => [big(b), why]);
  return page;
}

function scaled(gray, scale) {
  return scale === 1 ? gray : resizeArea(gray, Math.max(1, pyRound(gray.w * scale)), Math.max(1, pyRound(gray.h * scale)));
}

function workingScale(gray) {  // at most 1, judged on a copy at most COARSE pixels across
  const f = COARSE / Math.max(gray.h, gray.w);
  if (f >= 1) return 1;
  const measured = measure(scaled(gray, f));
  return !measured || measured.height / f <= 1.25 * TARGET ? 1 : (TARGET * f) / measured.height;
}

// steps 1 and 2: the ink map and mask, stroke width, components and digit height (null: no ink)
function measure(gray) {
  const first = inkMap(gray);
  if (maxOf(first.data) < MIN_CONTRAST) return null;
  const found = inkMask(first), foundPieces = components(found);
  const [ink, mask, grid] = removeGrid(first, found, foundPieces);  // squared paper: its grid off
  const pieces = grid ? components(mask) : foundPieces;
  const sw = strokeWidth(mask), height = digitHeight(mask, sw, pieces);
  return height === null ? null : { ink, mask, sw, pieces, height, grid };
}

// the median height of the pieces that are not straight lines, the page's own lines taken
// off first where it has two or more (page.py's _digit_height)
function digitHeight(mask, sw, pieces) {
  const [longRuns, count] = Math.max(mask.w, mask.h) >= PAGE * sw ? pageLines(mask, sw) : [null, 0];
  const tries = count >= 2 ? [components(rejoined(mask, longRuns)), pieces] : [pieces];
  for (const { n, boxes, area } of tries) {
    if (!n) continue;
    const heights = [], areas = [];
    boxes.forEach((b, i) => {
      const bw = b[2] - b[0], bh = b[3] - b[1], long = Math.max(bw, bh);
      let candidate = !(long >= FLAT * Math.min(bw, bh) && area[i] < 1.6 * sw * long);
      // what is left of lines the search missed, joined into a mesh, is no digit
      if (count >= 2) candidate &&= bw < Math.floor((3 * mask.w) / 4) && bh < Math.floor((3 * mask.h) / 4);
      if (candidate) { heights.push(bh); areas.push(area[i]); }
    });
    if (heights.length) return medianHeight(heights, areas, sw);
  }
  const { n, boxes, area } = pieces;  // only straight strokes: a lone 1, or writing joined to lines
  return n ? medianHeight(boxes.map((b) => b[3] - b[1]), area, sw) : null;
}

function medianHeight(heights, area, sw) {
  const least = Math.min(0.05 * maxOf(area), SPECK * sw * sw);
  return Math.max(median(heights.filter((_, i) => area[i] >= least)), 8.0 / LONG);
}

function read(measured, classify, cutSideways) {
  const page = { lines: [], rejected: measured.grid ? [[measured.grid, "grid"]] : [], cut: true }, { ink, sw } = measured;
  let { mask, pieces, height } = measured;
  if (Math.max(mask.w, mask.h) >= PAGE * sw) {  // room for lines and rings besides the writing
    const [unringed, circles] = removeRings(mask, sw, height, pieces);
    let [unlined, removed] = removeLines(unringed, height);
    // digits joined to a frame made one piece as tall as it: judged again without the lines
    const again = removed.length ? digitHeight(unlined, sw, components(unlined)) : null;
    if (again !== null && again < AGAIN * height) {
      height = again;
      [unlined, removed] = removeLines(unringed, height);
    }
    page.rejected.push(...circles.map((b) => [b, "frame"]), ...removed);
    if (circles.length || removed.length) {
      mask = unlined;
      pieces = components(mask);
    }
  }
  const { boxes, area } = pieces, largest = maxOf(area), keep = [];
  area.forEach((a, i) => {
    if (a >= MIN_PIECE * largest) keep.push(i);
    else if (a >= 0.25 * sw * sw) page.rejected.push([boxes[i].slice(), "too small"]);
  });
  page.sideways = looksSideways(keep.map((i) => boxes[i]));  // digits lying on their side?
  if (page.sideways && !cutSideways) [classify, page.cut] = [null, false];
  const segment = (members) => segmentLine(ink, pieces, members, classify, 0.3 * sw * sw);
  const lines = groupLines(keep.map((i) => boxes[i]), height).map((line) => line.map((j) => keep[j]));
  for (const [members, decided] of joinHalves(lines, segment, ink, pieces, classify)) {
    if (Math.max(...members.map((i) => boxes[i][3] - boxes[i][1])) < ALONE * height) {
      for (const i of members) page.rejected.push([boxes[i].slice(), "too small"]);
      continue;
    }
    const segmented = decided || segment(members);
    for (const b of segmented.tooSmall) page.rejected.push([b, "too small"]);
    if (segmented.items.length) page.lines.push(segmented);
  }
  // step 8's second images, made only for the digits the reader asks for (Page.give_back_faint);
  // their boxes kept as they are here, before readPage rescales them
  const digits = page.lines.flatMap((line) => line.items.filter((it) => it.kind === "digit"));
  const atWorkScale = new Map(digits.map((d) => [d, d.box.slice()]));
  page.giveBackFaint = (digits) => {
    if (digits.length) giveBackFaint(digits, digits.map((d) => atWorkScale.get(d)), ink, faintInk(inkMask(ink, FAINT), measured.mask, mask, sw));
  };
  return page;
}

// ---- faint.py: a digit's faint strokes given back, for a second look ----
const FAINT_REACH = 0.25;  // faint.REACH: the faint ink joins a digit within this fraction of its height

// the faint ink a digit may grow into: not ink of any mark as first found, and two stroke
// widths away from the marks taken off since (their blurred edges are faint too)
function faintInk(faint, mask, kept, sw) {
  const taken = image(mask.w, mask.h, Uint8Array);
  for (let i = 0; i < taken.data.length; i++) taken.data[i] = mask.data[i] && !kept.data[i] ? 1 : 0;
  const near = dilate(taken, ((Math.trunc(2 * sw) | 1) - 1) / 2), out = image(mask.w, mask.h, Uint8Array);
  for (let i = 0; i < out.data.length; i++) out.data[i] = faint.data[i] && !mask.data[i] && !near.data[i] ? 1 : 0;
  return out;
}

// each digit's mask (placed at its box in `boxes`) grown into the joined faint ink, a pixel a
// step, at most FAINT_REACH of its height; where it grows, the digit's image made again from it
// is its `faint` image, and `strokesGiven` says whether it grew past its own edge
function giveBackFaint(digits, boxes, ink, faint) {
  for (const [n, digit] of digits.entries()) {
    if (!digit.mask) continue;
    const [x0, y0, x1, y1] = boxes[n], reach = Math.max(2, pyRound(FAINT_REACH * (y1 - y0)));
    const top = Math.max(0, y0 - reach), left = Math.max(0, x0 - reach);
    const w = Math.min(ink.w, x1 + reach) - left, h = Math.min(ink.h, y1 + reach) - top;
    const seed = image(w, h, Uint8Array);
    for (let y = 0; y < digit.mask.h; y++) {
      for (let x = 0; x < digit.mask.w; x++) seed.data[(y0 - top + y) * w + x0 - left + x] = digit.mask.data[y * digit.mask.w + x];
    }
    let grown = seed;
    const allowed = grown.data.map((v, i) => v || faint.data[(top + Math.trunc(i / w)) * faint.w + left + (i % w)]);
    const seedCount = count(grown.data);
    for (let step = 0; step < reach; step++) {
      const wider = dilate(grown, 1);
      for (let i = 0; i < wider.data.length; i++) wider.data[i] &= allowed[i];
      if (wider.data.every((v, i) => v === grown.data[i])) break;
      grown = wider;
    }
    if (count(grown.data) === seedCount) continue;
    const [d] = cut(ink, grown, top, left, [[0, w]]);
    digit.faint = d.pixels;
    const band = dilate(seed, 1);  // past the pixel of edge the first image keeps: strokes, not a rim
    digit.strokesGiven = grown.data.some((v, i) => v && !band.data[i]);
  }
}

function count(data) {
  let n = 0;
  for (const v of data) n += v;
  return n;
}

const PAGE = 30;  // a picture needs to be this many stroke widths across to hold lines or rings
const HALVES_OVER = 0.25, HALVES_GAP = 0.25, HALVES_ODDS = 2.0;  // one piece over another: maybe one digit's halves

// page.py's _join_halves: two lines of one piece each, one just over the other, become one
// line of one digit if the classifier reads the two together as a digit more surely than the
// digits of the two lines (max p_k of the whole > HALVES_ODDS times the product of theirs)
function joinHalves(lines, segment, ink, pieces, classify) {
  const out = [];
  for (const line of lines) {
    const one = out.length ? halvesAsOne(out[out.length - 1][0], line, segment, ink, pieces, classify) : null;
    if (one === null) out.push([line, null]);
    else out[out.length - 1] = [[...out[out.length - 1][0], ...line], { items: [one], spaces: [false], tooSmall: [] }];
  }
  return out;
}

function halvesAsOne(above, below, segment, ink, pieces, classify) {
  if (!classify || above.length !== 1 || below.length !== 1) return null;
  const [u, l] = [pieces.boxes[above[0]], pieces.boxes[below[0]]];
  const over = Math.min(u[2], l[2]) - Math.max(u[0], l[0]), narrower = Math.min(u[2] - u[0], l[2] - l[0]);
  const taller = Math.max(u[3] - u[1], l[3] - l[1]);
  if (!(over >= HALVES_OVER * narrower && l[1] - u[3] <= HALVES_GAP * taller)) return null;
  const one = oneDigit(ink, pieces, [above[0], below[0]]);
  const halves = [above, below].flatMap((m) => segment(m).items.filter((it) => it.kind === "digit"));
  const p = classify([one, ...halves].map((d) => d.pixels)).map((r) => Math.max(...r.slice(0, 10)));
  return p[0] > HALVES_ODDS * p.slice(1).reduce((a, b) => a * b, 1) ? one : null;
}

// ---- lines.py: pieces into lines of writing ----
const OVERLAP = 0.4, REACH = 4.0, L_SMALL = 0.5, L_NEAR = 0.25, HANG = 0.75, HANG_REACH = 0.5;

export function groupLines(boxes, height) {
  const n = boxes.length;
  if (!n) return [];
  const tall = boxes.map((b) => b[3] - b[1]);
  const pair = (i, j) => {
    const [a, b] = [boxes[i], boxes[j]];
    return {
      shared: Math.min(a[3], b[3]) - Math.max(a[1], b[1]),
      gap: Math.max(a[0], b[0]) - Math.min(a[2], b[2]),
      aboveBelow: Math.max(a[1], b[1]) - Math.min(a[3], b[3]),
    };
  };
  const linked = (i, j) => {
    const { shared, gap, aboveBelow } = pair(i, j), big = Math.max(tall[i], tall[j]);
    if (shared >= OVERLAP * Math.min(tall[i], tall[j]) && gap <= REACH * height) return true;
    return Math.min(tall[i], tall[j]) < L_SMALL * big && gap < 0 && aboveBelow <= L_NEAR * big;
  };
  const parent = [...Array(n).keys()];
  const root = (i) => { while (parent[i] !== i) { parent[i] = parent[parent[i]]; i = parent[i]; } return i; };
  const degree = new Array(n).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      if (!linked(i, j)) continue;
      degree[i]++;
      if (j === i) continue;
      degree[j]++;
      const [ri, rj] = [root(i), root(j)];
      if (ri !== rj) parent[Math.max(ri, rj)] = Math.min(ri, rj);
    }
  }
  // a small mark linked to nothing joins the line of a piece it hangs from or sits just above or below
  const alone = tall.map((t, i) => degree[i] === 1 && t < HANG * height);
  for (let i = 0; i < n; i++) {
    if (!alone[i]) continue;
    let host = -1, nearest = Infinity;
    for (let j = 0; j < n; j++) {
      if (alone[j]) continue;
      const { shared, gap, aboveBelow } = pair(i, j);
      const hangs = shared > 0 && boxes[i][3] > boxes[j][3] && gap <= HANG_REACH * height;
      const apart = gap < 0 && aboveBelow <= L_NEAR * height;
      if ((hangs || apart) && aboveBelow < nearest) { host = j; nearest = aboveBelow; }
    }
    if (host >= 0) parent[i] = root(host);
  }
  const byRoot = new Map();
  for (let i = 0; i < n; i++) {
    const r = root(i);
    if (!byRoot.has(r)) byRoot.set(r, []);
    byRoot.get(r).push(i);
  }
  const lines = [...byRoot.keys()].sort((a, b) => a - b).map((r) => byRoot.get(r).sort((a, b) => boxes[a][0] - boxes[b][0]));
  const centre = (line) => median(line.map((i) => (boxes[i][1] + boxes[i][3]) / 2));
  return lines.map((line) => [centre(line), line]).sort((a, b) => a[0] - b[0]).map(([, line]) => line);
}

// ---- segment.py: one line into digits, separators and spaces ----
const SMALL = 0.5, NEAR = 0.25, LOW = 0.45, CAP = 0.1, MERGE_OVERLAP = 0.7;
export const ALONE = 0.3;
const SPLIT_PENALTY = 0.15, SURE_SPLIT = 1.5, MAX_ASPECT = 1.15, DIGIT_ASPECT = 0.7, WIDE = 1.3;
const MIN_PIECE_WIDTH = 0.15, MAX_PIECE_WIDTH = 1.2, MAX_CUTS = 8, SPACE = 0.5, PITCH = 1.4;

export function segmentLine(ink, pieces, members, classify, dot) {
  const { boxes, area } = pieces, heights = members.map((i) => boxes[i][3] - boxes[i][1]);
  const tallest = Math.max(...heights);
  let isTall = heights.map((h) => h >= SMALL * tallest);
  const tops = members.filter((_, k) => isTall[k]).map((i) => boxes[i][1]);
  const bases = members.filter((_, k) => isTall[k]).map((i) => boxes[i][3]);
  const band = [median(tops), median(bases)];
  isTall = isTall.map((t, k) => t && boxes[members[k]][1] < band[0] + LOW * (band[1] - band[0]));
  const { groups, spans } = groupTall(boxes, members.filter((_, k) => isTall[k]));
  const separators = [], tooSmall = [], short = members.filter((_, k) => !isTall[k]);
  const colons = findColons(boxes, short, band), paired = new Set(colons.flat());
  for (const [u, l] of colons) {
    const b = [Math.min(boxes[u][0], boxes[l][0]), Math.min(boxes[u][1], boxes[l][1]), Math.max(boxes[u][2], boxes[l][2]), Math.max(boxes[u][3], boxes[l][3])];
    separators.push({ kind: "separator", box: b, char: ":" });
  }
  for (const i of short) {
    if (paired.has(i)) continue;
    const b = boxes[i];
    let char = separatorOf(b, band, area[i] >= dot);
    const gaps = spans.map(([gl, gr]) => Math.max(b[0], gl) - Math.min(b[2], gr));
    const nearest = gaps.length ? gaps.indexOf(Math.min(...gaps)) : -1;
    const overlap = (char === "-" ? 0.2 : 0.5) * (b[2] - b[0]);
    if (char === "-" && nearest >= 0 && gaps[nearest] < 0) {  // a 5's flag drawn apart is part of it
      const top = Math.min(...groups[nearest].map((g) => boxes[g][1]));
      if (Math.abs(b[3] - top) <= CAP * tallest && b[1] < top) char = null;
    }
    if (char !== null && (nearest < 0 || gaps[nearest] > -overlap)) separators.push({ kind: "separator", box: b.slice(), char });
    else if (nearest >= 0 && gaps[nearest] <= NEAR * tallest) groups[nearest].push(i);
    else if (b[3] - b[1] >= ALONE * tallest) { groups.push([i]); spans.push([b[0], b[2]]); }
    else tooSmall.push(b.slice());
  }
  const typical = typicalWidth(boxes, groups);
  let digits = [];
  for (const g of groups) digits = digits.concat(readGroup(ink, pieces, g, typical, classify));
  let items = [...digits, ...separators].sort((a, b) => a.box[0] - b.box[0]);
  if (!digits.length) { tooSmall.push(...separators.map((s) => s.box)); items = []; }
  return { items, spaces: spacesOf(items, band[1] - band[0]), tooSmall };
}

function spacesOf(items, height) {
  const centres = items.map((it) => (it.box[0] + it.box[2]) / 2), pitches = [];
  for (let i = 1; i < items.length; i++) {
    if (items[i].kind === "digit" && items[i - 1].kind === "digit") pitches.push(centres[i] - centres[i - 1]);
  }
  if (pitches.length < 2) return items.map(() => false);
  const usual = median(pitches);
  return items.map((it, i) => i > 0 && centres[i] - centres[i - 1] > PITCH * usual && it.box[0] - items[i - 1].box[2] > SPACE * height);
}

function groupTall(boxes, tall) {
  const groups = [], spans = [];
  for (const i of [...tall].sort((a, b) => boxes[a][0] - boxes[b][0])) {
    const [left, right] = [boxes[i][0], boxes[i][2]];
    if (spans.length) {
      const s = spans[spans.length - 1];
      if (Math.min(right, s[1]) - Math.max(left, s[0]) >= MERGE_OVERLAP * Math.min(right - left, s[1] - s[0])) {
        groups[groups.length - 1].push(i);
        spans[spans.length - 1] = [Math.min(s[0], left), Math.max(s[1], right)];
        continue;
      }
    }
    groups.push([i]);
    spans.push([left, right]);
  }
  return { groups, spans };
}

function separatorOf(box, [top, base], bigEnough) {
  const hLine = Math.max(base - top, 1), w = box[2] - box[0], h = box[3] - box[1], cy = (box[1] + box[3]) / 2 - top;
  if (h <= 0.25 * hLine && w >= 1.8 * h && w >= 0.2 * hLine && w <= 1.2 * hLine && cy / hLine > 0.25 && cy / hLine < 0.8) return "-";
  if (!bigEnough || w > 0.4 * hLine) return null;
  if (h <= 0.65 * hLine && box[1] > top + LOW * hLine && box[3] > base + 0.1 * hLine && h >= 1.5 * w) return ",";
  return w <= 0.3 * hLine && h <= 0.35 * hLine && cy >= 0.6 * hLine ? "." : null;
}

function findColons(boxes, short, [top, base]) {
  const hLine = Math.max(base - top, 1), pairs = [], used = new Set();
  const dots = short.filter((i) => boxes[i][2] - boxes[i][0] <= 0.3 * hLine && boxes[i][3] - boxes[i][1] <= 0.3 * hLine);
  for (let a = 0; a < dots.length; a++) {
    for (let b = a + 1; b < dots.length; b++) {
      const [i, j] = [dots[a], dots[b]];
      if (used.has(i) || used.has(j)) continue;
      const overlap = Math.min(boxes[i][2], boxes[j][2]) - Math.max(boxes[i][0], boxes[j][0]);
      const [upper, lower] = boxes[j][1] < boxes[i][1] ? [j, i] : [i, j];
      const mid = (k) => (boxes[k][1] + boxes[k][3]) / 2;
      if (overlap > 0 && mid(upper) < top + 0.55 * hLine && mid(lower) > top + 0.55 * hLine) {
        pairs.push([upper, lower]);
        used.add(i).add(j);
      }
    }
  }
  return pairs;
}

function typicalWidth(boxes, groups) {
  const single = [];
  for (const g of groups) {
    const w = Math.max(...g.map((i) => boxes[i][2])) - Math.min(...g.map((i) => boxes[i][0]));
    const h = Math.max(...g.map((i) => boxes[i][3])) - Math.min(...g.map((i) => boxes[i][1]));
    if (w <= MAX_ASPECT * h) single.push(w);
  }
  return single.length >= 2 ? median(single) : null;
}

function regionOf(pieces, members) {  // the pieces' mask within their joint box, and its top and left
  const { boxes, labels } = pieces, mine = new Set(members.map((i) => i + 1));
  const left = Math.min(...members.map((i) => boxes[i][0])), top = Math.min(...members.map((i) => boxes[i][1]));
  const right = Math.max(...members.map((i) => boxes[i][2])), bottom = Math.max(...members.map((i) => boxes[i][3]));
  const region = image(right - left, bottom - top, Uint8Array);
  for (let y = 0; y < region.h; y++) {
    for (let x = 0; x < region.w; x++) region.data[y * region.w + x] = mine.has(labels[(top + y) * pieces.w + left + x]) ? 1 : 0;
  }
  return [region, top, left];
}

function oneDigit(ink, pieces, members) {  // segment.one_digit: the pieces read as one digit, uncut
  const [region, top, left] = regionOf(pieces, members);
  return cut(ink, region, top, left, [[0, region.w]])[0];
}

function readGroup(ink, pieces, members, typical, classify) {
  const [region, top, left] = regionOf(pieces, members);
  const { w, h } = region;
  const sure = w > SURE_SPLIT * h || (typical !== null && w > SURE_SPLIT * typical);
  if (!sure && (!classify || w <= MAX_ASPECT * h)) return cut(ink, region, top, left, [[0, w]]);
  const guess = Math.max(2, pyRound(w / (typical || DIGIT_ASPECT * h)));
  if (!classify) return cut(ink, region, top, left, split(region, guess));
  return bestCutting(ink, region, top, left, classify, guess, sure || w > WIDE * h ? 0 : SPLIT_PENALTY);
}

// Recognition-driven segmentation (segment.py's _best_cutting):
//   best(0) = 0,   best(c) = max over candidates b < c of best(b) + score(b, c) - penalty
function bestCutting(ink, region, top, left, classify, guess, penalty) {
  const { w, h } = region, cuts = candidates(region, guess), digits = new Map();
  for (let i = 0; i < cuts.length; i++) {
    for (const b of cuts.slice(i + 1)) {
      const a = cuts[i];
      if ((MIN_PIECE_WIDTH * h <= b - a && b - a <= MAX_PIECE_WIDTH * h) || (a === 0 && b === w)) {
        const d = cut(ink, region, top, left, [[a, b]]);
        if (d.length) digits.set(a + "," + b, d[0]);
      }
    }
  }
  const keys = [...digits.keys()], p = classify(keys.map((k) => digits.get(k).pixels)), score = new Map();
  keys.forEach((k, i) => score.set(k, Math.log(Math.max(Math.max(...p[i].slice(0, 10)), 1e-12))));
  const best = new Map([[0, [0, []]]]);
  for (const c of cuts.slice(1)) {
    let top1 = null;
    for (const a of cuts) {
      if (!(a < c && best.has(a) && score.has(a + "," + c))) continue;
      const [v, path] = best.get(a), value = v + score.get(a + "," + c) - (path.length ? penalty : 0);
      if (top1 === null || value > top1[0]) top1 = [value, [...path, a + "," + c]];
    }
    if (top1) best.set(c, top1);
  }
  if (!best.has(w)) return cut(ink, region, top, left, [[0, w]]);
  return best.get(w)[1].map((k) => digits.get(k));
}

function columnSums(region) {
  const sums = new Float64Array(region.w);
  for (let y = 0; y < region.h; y++) for (let x = 0; x < region.w; x++) sums[x] += region.data[y * region.w + x];
  return sums;
}

function candidates(region, guess) {
  const { w, h } = region, c = columnSums(region), profile = new Float64Array(w);
  const third = 1 / 3;  // as np.convolve(c, np.ones(3) / 3, "same") adds it up: ties must stay ties
  for (let x = 0; x < w; x++) {
    profile[x] = (x > 0 ? c[x - 1] * third : 0) + c[x] * third + (x < w - 1 ? c[x + 1] * third : 0);
  }
  let valleys = [];
  for (let x = 1; x < w - 1; x++) {
    if (profile[x] <= profile[x - 1] && profile[x] <= profile[x + 1] && x >= MIN_PIECE_WIDTH * h && x <= w - MIN_PIECE_WIDTH * h) valleys.push(x);
  }
  valleys = valleys.sort((a, b) => profile[a] - profile[b]).slice(0, MAX_CUTS);  // stable: ties keep order
  const all = new Set([0, w, ...valleys]);
  for (let k = 2; k <= guess + 1; k++) {
    for (const [a] of split(region, k).slice(1)) all.add(a);
    for (let j = 1; j < k; j++) all.add(pyRound((j * w) / k));
  }
  return [...all].sort((a, b) => a - b);
}

function cut(ink, region, top, left, ranges) {
  const out = [];
  for (const [c0, c1] of ranges) {
    let t = Infinity, b = -1, l = Infinity, r = -1;
    for (let y = 0; y < region.h; y++) {
      for (let x = c0; x < c1; x++) {
        if (!region.data[y * region.w + x]) continue;
        t = Math.min(t, y); b = Math.max(b, y + 1); l = Math.min(l, x - c0); r = Math.max(r, x - c0 + 1);
      }
    }
    if (b < 0) continue;
    const patch = image(r - l, b - t);
    for (let y = 0; y < patch.h; y++) {
      for (let x = 0; x < patch.w; x++) {
        let grown = 0;  // the piece's mask widened by a pixel (keeps a stroke's anti-aliased edge)
        for (let dy = -1; dy <= 1 && !grown; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy, xx = x + dx;
            if (yy >= 0 && xx >= 0 && yy < patch.h && xx < patch.w && region.data[(t + yy) * region.w + c0 + l + xx]) { grown = 1; break; }
          }
        }
        if (grown) patch.data[y * patch.w + x] = ink.data[(top + t + y) * ink.w + left + c0 + l + x];
      }
    }
    const mask = image(r - l, b - t, Uint8Array);
    for (let y = 0; y < mask.h; y++) for (let x = 0; x < mask.w; x++) mask.data[y * mask.w + x] = region.data[(t + y) * region.w + c0 + l + x];
    out.push({ kind: "digit", box: [left + c0 + l, top + t, left + c0 + r, top + b], pixels: toMnist(patch), mask });
  }
  return out;
}

function split(region, k) {
  const w = region.w;
  if (k <= 1) return [[0, w]];
  const profile = columnSums(region), cuts = [0];
  for (let j = 1; j < k; j++) {
    const centre = (j * w) / k, half = (0.25 * w) / k;
    const lo = Math.trunc(Math.max(cuts[cuts.length - 1] + 1, centre - half)), hi = Math.trunc(Math.min(w - 1, centre + half)) + 1;
    if (lo >= hi) continue;
    let at = lo;
    for (let x = lo; x < hi; x++) if (profile[x] < profile[at]) at = x;
    cuts.push(at);
  }
  cuts.push(w);
  return cuts.slice(1).map((c, i) => [cuts[i], c]);
}
