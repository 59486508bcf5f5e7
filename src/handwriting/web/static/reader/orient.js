// imaging/orient.py: pictures the wrong way up. `turn` gives quarter turns counter-clockwise as
// np.rot90 does; `unturn` takes a box of the turned image back to the image as it came.

export const SIDEWAYS_AT = 1.1;  // orient.SIDEWAYS_AT

export function turn(gray, quarters) {
  let out = gray;
  for (let q = 0; q < ((quarters % 4) + 4) % 4; q++) {  // one quarter: out[i][j] = in[j][w - 1 - i]
    const { w, h, data } = out, next = { w: h, h: w, data: new data.constructor(w * h) };
    for (let i = 0; i < w; i++) for (let j = 0; j < h; j++) next.data[i * h + j] = data[j * w + (w - 1 - i)];
    out = next;
  }
  return out;
}

export function unturn([x0, y0, x1, y1], [h, w], quarters) {  // [h, w]: the turned image's shape
  for (let q = 0; q < ((quarters % 4) + 4) % 4; q++) {
    [x0, y0, x1, y1] = [h - y1, x0, h - y0, x1];
    [h, w] = [w, h];
  }
  return [x0, y0, x1, y1];
}

export function looksSideways(boxes) {  // the pieces mostly wider than tall
  if (!boxes.length) return false;
  const ratios = boxes.map((b) => (b[2] - b[0]) / Math.max(b[3] - b[1], 1)).sort((a, b) => a - b);
  const n = ratios.length, median = n % 2 ? ratios[(n - 1) / 2] : (ratios[n / 2 - 1] + ratios[n / 2]) / 2;
  return median > SIDEWAYS_AT;
}
