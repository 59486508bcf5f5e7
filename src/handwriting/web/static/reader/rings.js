// Step 4 in the browser, after the Python package's page.py (_remove_rings, same constants):
// a closed curve drawn round a number is set aside. A ring is a large component filling
// little of its box, along whose outline an ellipse fits (cv2.fitEllipse: here the direct
// least-squares fit of Halir and Flusser) better than a rectangle (cv2.minAreaRect), with
// marks inside it or joined to it; the band along the ellipse is removed, so digits that
// touch the ring stay. Masks are {w, h, data: Uint8Array}.

import { components, dilate, maxOf } from "./imaging.js";

const RING_SIZE = 1.25;  // a ring round a number is at least this many digit heights tall and wide
const RING = 0.5;  // a curve filling less of its box than this, round other marks, is a frame
const COVER = 0.8;  // share of each quarter of a fitted ellipse along which a ring's ink must lie
const HOLLOW = 0.3;  // a ring that digits touch from inside still encloses this much of its box
const MIN_PIECE = 0.015;

// the mask without its rings, and their boxes
export function removeRings(mask, sw, height, { labels, boxes, area }) {
  const largest = maxOf(area), keep = boxes.map((_, i) => i).filter((i) => area[i] >= MIN_PIECE * largest);
  const out = { w: mask.w, h: mask.h, data: mask.data.slice() }, rings = [];
  for (const i of keep) {
    const [x0, y0, x1, y1] = boxes[i], bw = x1 - x0, bh = y1 - y0;
    if (bw < RING_SIZE * height || bh < RING_SIZE * height || area[i] >= RING * bw * bh || Math.min(bw, bh) < 8) continue;
    const inside = keep.some((j) => {
      if (j === i) return false;
      const [cx, cy] = [(boxes[j][0] + boxes[j][2]) / 2, (boxes[j][1] + boxes[j][3]) / 2];
      return cx > x0 && cx < x1 && cy > y0 && cy < y1 && boxes[j][3] - boxes[j][1] >= 0.3 * bh;
    });
    const component = { w: bw, h: bh, data: new Uint8Array(bw * bh) };
    for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) component.data[y * bw + x] = labels[(y0 + y) * mask.w + x0 + x] === i + 1 ? 1 : 0;
    const band = ellipseBand(component, sw);
    if (!band || !(inside || holdsMark(component, band, sw))) continue;  // a digit such as 0
    for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) if (band[y * bw + x]) out.data[(y0 + y) * mask.w + x0 + x] = 0;
    rings.push([x0, y0, x1, y1]);
  }
  return [out, rings];
}

// the paper around a component: background pixels joined (4-connected) to its box's edge
function outside(c) {
  const { w, h, data } = c, out = new Uint8Array(w * h), stack = [];
  const push = (x, y) => { if (x >= 0 && y >= 0 && x < w && y < h && !data[y * w + x] && !out[y * w + x]) { out[y * w + x] = 1; stack.push(y * w + x); } };
  for (let x = 0; x < w; x++) { push(x, 0); push(x, h - 1); }
  for (let y = 0; y < h; y++) { push(0, y); push(w - 1, y); }
  while (stack.length) {
    const i = stack.pop(), x = i % w, y = (i - x) / w;
    push(x - 1, y); push(x + 1, y); push(x, y - 1); push(x, y + 1);
  }
  return out;
}

// the component's pixels within a few stroke widths of the ellipse fitted to its outer
// outline, if it is a closed curve (page.py's _ellipse_band); else null
function ellipseBand(c, sw) {
  const { w, h, data } = c, paper = outside(c), xs = [], ys = [];
  const open = (x, y) => x < 0 || y < 0 || x >= w || y >= h || paper[y * w + x];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (data[y * w + x] && (open(x - 1, y) || open(x + 1, y) || open(x, y - 1) || open(x, y + 1))) { xs.push(x); ys.push(y); }
    }
  }
  if (xs.length < 20) return null;
  const reach = Math.max(3, Math.trunc(2 * sw) | 1), near = dilate(c, reach >> 1).data;
  const ellipse = fitEllipse(xs, ys);
  if (!ellipse) return null;
  const curve = new Uint8Array(w * h);
  drawEllipse(curve, w, h, ellipse);
  const cover = coverage(curve, near, w, ellipse.cx, ellipse.cy), rect = new Uint8Array(w * h);
  const corners = minAreaRect(xs, ys);
  corners.forEach((p, k) => drawLine(rect, w, h, p, corners[(k + 1) % 4]));
  const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
  if (Math.min(...cover) < COVER || mean(coverage(rect, near, w, ellipse.cx, ellipse.cy)) >= mean(cover)) return null;
  const band = dilate({ w, h, data: curve }, (reach + 2) >> 1).data;
  for (let i = 0; i < band.length; i++) band[i] = band[i] && data[i] ? 1 : 0;
  return band;
}

// for each quarter of a closed curve around (cx, cy): the share of its pixels in `near`
function coverage(curve, near, w, cx, cy) {
  const hits = [0, 0, 0, 0], counts = [0, 0, 0, 0];
  for (let i = 0; i < curve.length; i++) {
    if (!curve[i]) continue;
    const x = i % w, y = (i - x) / w;
    const q = ((Math.floor((Math.atan2(y - cy, x - cx) + Math.PI) / (Math.PI / 2)) % 4) + 4) % 4;
    counts[q]++;
    hits[q] += near[i];
  }
  return hits.map((v, q) => v / Math.max(counts[q], 1));
}

// the ellipse a x^2 + b x y + c y^2 + d x + e y + f = 0 nearest the points, 4ac - b^2 = 1
// (Halir and Flusser's direct least squares), as its centre, semi-axes and angle
function fitEllipse(xs, ys) {
  const n = xs.length, mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  const s = maxOf(xs.map((x, i) => Math.hypot(x - mx, ys[i] - my))) || 1;
  const S1 = zeros(3), S2 = zeros(3), S3 = zeros(3);
  for (let i = 0; i < n; i++) {
    const x = (xs[i] - mx) / s, y = (ys[i] - my) / s, q = [x * x, x * y, y * y], l = [x, y, 1];
    for (let r = 0; r < 3; r++) for (let k = 0; k < 3; k++) { S1[r][k] += q[r] * q[k]; S2[r][k] += q[r] * l[k]; S3[r][k] += l[r] * l[k]; }
  }
  const S3inv = inverse(S3);
  if (!S3inv) return null;
  const T = mul(mul(S3inv, transpose(S2)), [[-1, 0, 0], [0, -1, 0], [0, 0, -1]]);  // linear part = T quadratic part
  const M0 = add(S1, mul(S2, T));
  const M = [[M0[2][0] / 2, M0[2][1] / 2, M0[2][2] / 2], [-M0[1][0], -M0[1][1], -M0[1][2]], [M0[0][0] / 2, M0[0][1] / 2, M0[0][2] / 2]];
  let best = null;
  for (const v of eigenvectors(M)) {
    if (4 * v[0] * v[2] - v[1] * v[1] > 0) best = v;
  }
  if (!best) return null;
  const [A, B, C] = best, [D, E, F] = [0, 1, 2].map((r) => T[r][0] * A + T[r][1] * B + T[r][2] * C);
  // centre, axes and angle of the conic, back in pixels
  const den = B * B - 4 * A * C, x0 = (2 * C * D - B * E) / den, y0 = (2 * A * E - B * D) / den;
  const F0 = A * x0 * x0 + B * x0 * y0 + C * y0 * y0 + D * x0 + E * y0 + F;
  const root = Math.sqrt((A - C) ** 2 + B * B), l1 = (A + C + root) / 2, l2 = (A + C - root) / 2;
  if (-F0 / l1 <= 0 || -F0 / l2 <= 0) return null;
  const theta = 0.5 * Math.atan2(B, A - C) + Math.PI / 2;  // the long axis: across the larger eigenvalue's
  return { cx: x0 * s + mx, cy: y0 * s + my, a: Math.sqrt(-F0 / l2) * s, b: Math.sqrt(-F0 / l1) * s, theta };
}

// the curve, one pixel wide: points at most half a pixel apart along it
function drawEllipse(out, w, h, { cx, cy, a, b, theta }) {
  const steps = Math.max(64, Math.ceil(2 * Math.PI * Math.max(a, b) * 2)), [co, si] = [Math.cos(theta), Math.sin(theta)];
  for (let k = 0; k < steps; k++) {
    const t = (2 * Math.PI * k) / steps, u = a * Math.cos(t), v = b * Math.sin(t);
    const x = Math.round(cx + u * co - v * si), y = Math.round(cy + u * si + v * co);
    if (x >= 0 && y >= 0 && x < w && y < h) out[y * w + x] = 1;
  }
}

function drawLine(out, w, h, [x0, y0], [x1, y1]) {
  const steps = Math.max(1, Math.ceil(2 * Math.hypot(x1 - x0, y1 - y0)));
  for (let k = 0; k <= steps; k++) {
    const x = Math.round(x0 + ((x1 - x0) * k) / steps), y = Math.round(y0 + ((y1 - y0) * k) / steps);
    if (x >= 0 && y >= 0 && x < w && y < h) out[y * w + x] = 1;
  }
}

// the corners of the smallest rectangle holding the points, at any angle: one side lies
// along an edge of their convex hull (rotating calipers)
function minAreaRect(xs, ys) {
  const hull = convexHull(xs.map((x, i) => [x, ys[i]]));
  let best = null;
  for (let k = 0; k < hull.length; k++) {
    const [p, q] = [hull[k], hull[(k + 1) % hull.length]], len = Math.hypot(q[0] - p[0], q[1] - p[1]) || 1;
    const [ux, uy] = [(q[0] - p[0]) / len, (q[1] - p[1]) / len];
    let [lo, hi, top] = [Infinity, -Infinity, 0];
    for (const [x, y] of hull) {
      const along = (x - p[0]) * ux + (y - p[1]) * uy, across = -(x - p[0]) * uy + (y - p[1]) * ux;
      lo = Math.min(lo, along); hi = Math.max(hi, along);
      if (Math.abs(across) > Math.abs(top)) top = across;
    }
    const area = (hi - lo) * Math.abs(top);
    if (!best || area < best.area) best = { area, p, ux, uy, lo, hi, top };
  }
  const { p, ux, uy, lo, hi, top } = best, at = (a, c) => [p[0] + a * ux - c * uy, p[1] + a * uy + c * ux];
  return [at(lo, 0), at(hi, 0), at(hi, top), at(lo, top)];
}

function convexHull(points) {  // Andrew's monotone chain
  const pts = points.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const half = (list) => {
    const out = [];
    for (const p of list) {
      while (out.length >= 2 && cross(out[out.length - 2], out[out.length - 1], p) <= 0) out.pop();
      out.push(p);
    }
    return out.slice(0, -1);
  };
  return [...half(pts), ...half(pts.reverse())];
}

// a mark joined to the curve from inside: once the curve's band is off, a piece 0.3 of its
// height tall and half a stroke wide on average, and the paper the curve encloses at least
// HOLLOW of its box (two touching digits enclose only their loops): page.py's _holds_mark
function holdsMark(c, band, sw) {
  const rest = { w: c.w, h: c.h, data: c.data.map((v, i) => (v && !band[i] ? 1 : 0)) };
  const { boxes, area } = components(rest);
  if (!boxes.some((b, k) => b[3] - b[1] >= 0.3 * c.h && area[k] >= 0.5 * sw * (b[3] - b[1]))) return false;
  const paper = outside(c);
  let holes = 0;
  for (let i = 0; i < c.data.length; i++) if (!c.data[i] && !paper[i]) holes++;
  return holes >= HOLLOW * c.w * c.h;
}

// ---- 3x3 matrices ----
const zeros = (n) => Array.from({ length: n }, () => new Array(n).fill(0));
const transpose = (m) => m[0].map((_, k) => m.map((row) => row[k]));
const mul = (a, b) => a.map((row) => b[0].map((_, k) => row.reduce((s, v, j) => s + v * b[j][k], 0)));
const add = (a, b) => a.map((row, r) => row.map((v, k) => v + b[r][k]));

function inverse(m) {
  const [[a, b, c], [d, e, f], [g, h, i]] = m, det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (Math.abs(det) < 1e-12) return null;
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}

// the eigenvectors of a 3x3 matrix for its real eigenvalues (roots of the characteristic cubic)
function eigenvectors(m) {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const p2 = -(a + e + i), p1 = a * e + a * i + e * i - b * d - c * g - f * h;
  const p0 = -(a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g));
  const out = [];
  for (const lambda of cubicRoots(p2, p1, p0)) {
    const r = [[a - lambda, b, c], [d, e - lambda, f], [g, h, i - lambda]];
    const crosses = [[0, 1], [0, 2], [1, 2]].map(([u, v]) => [
      r[u][1] * r[v][2] - r[u][2] * r[v][1], r[u][2] * r[v][0] - r[u][0] * r[v][2], r[u][0] * r[v][1] - r[u][1] * r[v][0],
    ]);
    const v = crosses.reduce((x, y) => (Math.hypot(...y) > Math.hypot(...x) ? y : x));
    if (Math.hypot(...v) > 0) out.push(v);
  }
  return out;
}

function cubicRoots(b, c, d) {  // real roots of x^3 + b x^2 + c x + d
  const p = c - (b * b) / 3, q = (2 * b * b * b) / 27 - (b * c) / 3 + d, shift = -b / 3;
  const disc = (q * q) / 4 + (p * p * p) / 27;
  if (disc > 0) {
    const u = Math.cbrt(-q / 2 + Math.sqrt(disc)), v = Math.cbrt(-q / 2 - Math.sqrt(disc));
    return [u + v + shift];
  }
  const r = Math.sqrt(Math.max(0, -p / 3)), phi = Math.acos(Math.max(-1, Math.min(1, r ? -q / (2 * r * r * r) : 0)));
  return [0, 1, 2].map((k) => 2 * r * Math.cos((phi - 2 * Math.PI * k) / 3) + shift);
}
