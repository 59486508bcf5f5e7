// Step 5 in the browser, after the Python package's rules.py (same constants): straight lines
// that are not writing (paper rules, margins, form boxes, frames, underlines, strike-throughs),
// found as straight runs of ink longer than a digit and removed, except where a stroke crosses
// them. Masks are {w, h, data: Uint8Array}. Where OpenCV does the work in Python, the same
// operation is written out: runs along rows (a morphological opening with a line), a line
// fitted with Huber weights (cv2.fitLine), a 3x3 chamfer distance (cv2.distanceTransform).

import { components, dilate, median, pyRound } from "./imaging.js";

export const LONG = 1.7;  // a straight run this many digit heights long is a line, not a stroke
const SIDE = 1.0;  // a vertical run this long joining two lines is a frame side or a box divider
const TILT = 2;  // a run may wander this many pixels across its direction (a tilted rule)

const blank = (m) => ({ w: m.w, h: m.h, data: new Uint8Array(m.w * m.h) });
const some = (m) => m.data.some((v) => v);
function combine(a, b, f) {
  const out = blank(a);
  for (let i = 0; i < out.data.length; i++) out.data[i] = f(a.data[i], b.data[i]) ? 1 : 0;
  return out;
}
const or = (a, b) => combine(a, b, (x, y) => x || y);
export const andNot = (a, b) => combine(a, b, (x, y) => x && !y);

// the mask's pixels on straight runs at least `length` long, along rows (or columns) of the
// mask thickened TILT pixels across: cv2's opening with a line, as rules.py's _runs
function runs(mask, length, vertical) {
  const out = blank(mask), [along, across] = vertical ? [mask.h, mask.w] : [mask.w, mask.h];
  const at = vertical ? (i, j) => i * mask.w + j : (i, j) => j * mask.w + i;
  for (let j = 0; j < across; j++) {
    let start = 0;
    for (let i = 0; i <= along; i++) {
      let inked = 0;
      for (let t = Math.max(0, j - TILT); i < along && t <= Math.min(across - 1, j + TILT) && !inked; t++) inked = mask.data[at(i, t)];
      if (inked) continue;
      if (i - start >= length) for (let k = start; k < i; k++) out.data[at(k, j)] = mask.data[at(k, j)];
      start = i + 1;
    }
  }
  return out;
}

// vertical runs at least `length` long whose ends both touch horizontal lines (rules.py's _sides)
function sides(mask, horizontal, length) {
  const upright = andNot(runs(mask, length, true), horizontal);
  if (!some(upright)) return upright;
  const near = dilate(horizontal, TILT + 1), { labels, boxes } = components(upright);
  const touches = (y, x0, x1) => near.data.subarray(y * mask.w + x0, y * mask.w + x1).some((v) => v);
  const keep = boxes.map(([x0, y0, x1, y1]) => touches(y0, x0, x1) && touches(y1 - 1, x0, x1));
  const out = blank(mask);
  for (let i = 0; i < out.data.length; i++) out.data[i] = labels[i] && keep[labels[i] - 1] ? 1 : 0;
  return out;
}

function lineMasks(mask, height, withSides) {
  const horizontal = runs(mask, Math.max(Math.trunc(LONG * height), 12), false);
  let vertical = runs(mask, Math.max(Math.trunc(2.5 * height), 12), true);
  if (withSides && some(horizontal)) vertical = or(vertical, sides(mask, horizontal, Math.max(Math.trunc(SIDE * height), 8)));
  return [horizontal, vertical];
}

// the line through points minimizing the summed Huber cost of their distances (cv2.fitLine
// with DIST_HUBER): weighted total least squares, weights 1 then min(1, c / distance)
function fitLine(xs, ys) {
  const C = 1.345, w = new Float64Array(xs.length).fill(1);
  let line = null;
  for (let iteration = 0; iteration < 20; iteration++) {
    let sw = 0, mx = 0, my = 0;
    for (let i = 0; i < xs.length; i++) { sw += w[i]; mx += w[i] * xs[i]; my += w[i] * ys[i]; }
    mx /= sw; my /= sw;
    let xx = 0, yy = 0, xy = 0;
    for (let i = 0; i < xs.length; i++) {
      const dx = xs[i] - mx, dy = ys[i] - my;
      xx += w[i] * dx * dx; yy += w[i] * dy * dy; xy += w[i] * dx * dy;
    }
    const t = Math.atan2(2 * xy, xx - yy) / 2, next = [Math.cos(t), Math.sin(t), mx, my];
    const settled = line && Math.abs(next[0] * line[1] - next[1] * line[0]) < 1e-3 && Math.hypot(mx - line[2], my - line[3]) < 1e-2;
    line = next;
    if (settled) break;
    for (let i = 0; i < xs.length; i++) {
      const d = Math.abs((xs[i] - mx) * line[1] - (ys[i] - my) * line[0]);
      w[i] = d < C ? 1 : C / d;
    }
  }
  return line;
}

// the ink of each line found, and only that: the mask's pixels within half the line's
// thickness of the straight line fitted to it (rules.py's straight)
function straight(found, mask) {
  const out = blank(mask), { n, labels, boxes } = components(found), pixels = Array.from({ length: n }, () => []);
  for (let i = 0; i < labels.length; i++) if (labels[i]) pixels[labels[i] - 1].push(i);
  for (let k = 0; k < n; k++) {
    const [x, y, x1, y1] = boxes[k], all = pixels[k];
    const xs = all.map((i) => (i % mask.w) - x), ys = all.map((i) => Math.floor(i / mask.w) - y);
    const step = Math.max(1, Math.floor(xs.length / 400)), sx = [], sy = [];
    for (let i = 0; i < xs.length; i += step) { sx.push(xs[i]); sy.push(ys[i]); }
    const [vx, vy, cx, cy] = fitLine(sx, sy);
    const half = Math.max(1, 2 * median(xs.map((_, i) => Math.abs((xs[i] - cx) * vy - (ys[i] - cy) * vx))) + 0.5);
    for (let yy = Math.max(0, y - TILT); yy < Math.min(mask.h, y1 + TILT); yy++) {
      for (let xx = Math.max(0, x - TILT); xx < Math.min(mask.w, x1 + TILT); xx++) {
        const gx = xx - (x + cx), gy = yy - (y + cy), i = yy * mask.w + xx;
        if (mask.data[i] && Math.abs(gx * vy - gy * vx) <= half) out.data[i] = 1;
      }
    }
  }
  return out;
}

// the lines' typical thickness: twice the median distance of their pixels to their edge, by
// OpenCV's 3x3 chamfer distance (steps 0.955 and 1.3693)
function thickness(lines) {
  const { w, h } = lines, d = new Float64Array(w * h), A = 0.955, B = 1.3693;
  for (let i = 0; i < d.length; i++) d[i] = lines.data[i] ? Infinity : 0;
  const relax = (x, y, dx, dy, cost) => {
    const xx = x + dx, yy = y + dy;
    if (xx >= 0 && yy >= 0 && xx < w && yy < h) d[y * w + x] = Math.min(d[y * w + x], d[yy * w + xx] + cost);
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!d[y * w + x]) continue;
      relax(x, y, -1, 0, A); relax(x, y, -1, -1, B); relax(x, y, 0, -1, A); relax(x, y, 1, -1, B);
    }
  }
  for (let y = h - 1; y >= 0; y--) {
    for (let x = w - 1; x >= 0; x--) {
      if (!d[y * w + x]) continue;
      relax(x, y, 1, 0, A); relax(x, y, 1, 1, B); relax(x, y, 0, 1, A); relax(x, y, -1, 1, B);
    }
  }
  const inside = [];
  for (let i = 0; i < d.length; i++) if (d[i] > 0 && Number.isFinite(d[i])) inside.push(d[i]);
  return inside.length ? pyRound(2 * median(inside)) : 1;
}

// a closing with a line of `length` pixels, down the columns (or along the rows): gaps
// shorter than that between two ink pixels are filled
function closed(m, length, vertical) {
  const out = { w: m.w, h: m.h, data: m.data.slice() }, [along, across] = vertical ? [m.h, m.w] : [m.w, m.h];
  const at = vertical ? (i, j) => i * m.w + j : (i, j) => j * m.w + i;
  for (let j = 0; j < across; j++) {
    let last = -1;
    for (let i = 0; i < along; i++) {
      if (!m.data[at(i, j)]) continue;
      if (last >= 0 && i - last - 1 < length) for (let k = last + 1; k < i; k++) out.data[at(k, j)] = 1;
      last = i;
    }
  }
  return out;
}

// kept pieces no thicker than thick, at least longer long and mostly within two pixels of what
// was removed (the blurred edge of a tilted line): rules.py's _slivers
function slivers(kept, removed, thick, longer = 0) {
  const { labels, boxes, area } = components(kept), near = dilate(removed, 2), close = new Array(boxes.length).fill(0);
  for (let i = 0; i < labels.length; i++) if (labels[i] && near.data[i]) close[labels[i] - 1]++;
  const sliver = boxes.map(([x0, y0, x1, y1], k) => {
    const [short, long] = [x1 - x0, y1 - y0].sort((a, b) => a - b);
    return close[k] >= 0.6 * area[k] && short <= thick && long >= longer;
  });
  const out = blank(kept);
  for (let i = 0; i < labels.length; i++) out.data[i] = labels[i] && sliver[labels[i] - 1] ? 1 : 0;
  return out;
}

// one [box, reason] per piece of removed ink, named by its shape and extent (rules.py's _describe)
function describe(removed, height) {
  const { boxes, area } = components(removed), out = [];
  boxes.forEach(([x0, y0, x1, y1], k) => {
    if (area[k] < 4) return;
    const bw = x1 - x0, bh = y1 - y0;
    let reason = "frame";
    if (bw >= 0.8 * removed.w || bh >= 0.8 * removed.h) reason = "rule";
    else if (bh >= SIDE * height && bw >= 2.5 * bh) reason = "boxes";
    else if (bh >= SIDE * height && bw >= SIDE * height) reason = "frame";
    else if (bh <= 0.5 * height) reason = "underline";
    out.push([[x0, y0, x1, y1], reason]);
  });
  return out;
}

// the mask without its straight lines, given the digit height, and the lines removed
// withSides false: no frame sides or box dividers (in a grid, a digit's stroke across a row)
export function removeLines(mask, height, withSides = true) {
  const [foundH, foundV] = lineMasks(mask, height, withSides);
  if (!some(foundH) && !some(foundV)) return [mask, []];
  const horizontal = straight(foundH, mask), vertical = straight(foundV, mask), lines = or(horizontal, vertical);
  const t = thickness(lines), thick = Math.max(3, 2 * t + 3);
  // the line's blurred edge first, so that it cannot join the strokes touching the line
  let kept = andNot(mask, lines);
  kept = andNot(kept, slivers(kept, lines, Math.max(2, Math.floor(t / 2)), height));
  kept = putBack(kept, horizontal, vertical, thick);
  kept = andNot(kept, slivers(kept, andNot(lines, kept), thick));
  return [kept, describe(andNot(mask, kept), height)];
}

// rules.rejoined: the mask without lines found roughly (either way), the strokes that cross
// them joined again
export function rejoined(mask, lines) {
  return putBack(andNot(mask, lines), lines, lines, Math.max(3, 2 * thickness(lines) + 3));
}

// the pixels of the lines that a stroke runs through put back: a horizontal line's with ink
// within `thick` above and below, a vertical line's left and right (a new mask)
function putBack(kept, horizontal, vertical, thick) {
  const out = { w: kept.w, h: kept.h, data: kept.data.slice() };
  const acrossH = closed(kept, thick, true), acrossV = closed(kept, thick, false);
  for (let i = 0; i < out.data.length; i++) {
    if ((horizontal.data[i] && acrossH.data[i]) || (vertical.data[i] && acrossV.data[i])) out.data[i] = 1;
  }
  return out;
}

// Roughly, the pixels of a page's own lines, and how many there are: paths of ink across
// three quarters of the picture's width (or down its height), each step one pixel along and at
// most one across, that stay within SKEW of horizontal (vertical) and a few stroke widths
// thick, so that a page photographed askew still shows its rules (page.py's _page_lines finds
// them with a Hough transform); each line's ink then fitted.
const SKEW = 0.1;

export function pageLines(mask, sw) {
  let found = blank(mask), count = 0;
  for (const vertical of [false, true]) {
    const long = paths(mask, Math.floor((3 * (vertical ? mask.h : mask.w)) / 4), vertical);
    if (!some(long)) continue;
    const { labels, boxes } = components(long);
    const flat = boxes.map(([x0, y0, x1, y1]) => {
      const [along, across] = vertical ? [y1 - y0, x1 - x0] : [x1 - x0, y1 - y0];
      return across <= SKEW * along + 3 * sw;
    });
    const lines = blank(mask);
    for (let i = 0; i < labels.length; i++) lines.data[i] = labels[i] && flat[labels[i] - 1] ? 1 : 0;
    count += flat.filter(Boolean).length;
    found = or(found, straight(lines, mask));
  }
  return [found, count];
}

// the mask's pixels on 8-connected paths at least `length` long that advance a pixel a step
// along rows (down columns): the longest such path ending at each pixel, plus the longest
// starting there
function paths(mask, length, vertical) {
  const [along, across] = vertical ? [mask.h, mask.w] : [mask.w, mask.h];
  const at = vertical ? (i, j) => i * mask.w + j : (i, j) => j * mask.w + i;
  const ending = new Int32Array(mask.data.length), starting = new Int32Array(mask.data.length);
  for (const [from, to, step, best] of [[0, along, 1, ending], [along - 1, -1, -1, starting]]) {
    for (let i = from; i !== to; i += step) {
      for (let j = 0; j < across; j++) {
        if (!mask.data[at(i, j)]) continue;
        let before = 0;
        if (i - step >= 0 && i - step < along) {
          for (let t = Math.max(0, j - 1); t <= Math.min(across - 1, j + 1); t++) before = Math.max(before, best[at(i - step, t)]);
        }
        best[at(i, j)] = before + 1;
      }
    }
  }
  const out = blank(mask);
  for (let k = 0; k < out.data.length; k++) out.data[k] = mask.data[k] && ending[k] + starting[k] - 1 >= length ? 1 : 0;
  return out;
}
