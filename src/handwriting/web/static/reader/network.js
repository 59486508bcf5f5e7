// The trained network's forward pass in plain JavaScript: each layer of the Python engine
// (handwriting/nn) as one function, on a batch held as {shape, data: Float32Array}, NCHW.
// The weights come from `handwriting export MODEL --format web` (model.json + weights.bin).

const size = (shape) => shape.reduce((a, b) => a * b, 1);
const tensor = (shape) => ({ shape, data: new Float32Array(size(shape)) });

// z = a W + b, W of shape (inputs, outputs)
function dense(x, { W, b }) {
  const [n, m] = [x.shape[0], W.shape[1]], k = W.shape[0], out = tensor([n, m]);
  for (let i = 0; i < n; i++) {
    const row = out.data.subarray(i * m, (i + 1) * m);
    row.set(b.data);
    for (let j = 0; j < k; j++) {
      const a = x.data[i * k + j];
      if (a === 0) continue;  // after a ReLU most inputs are zero
      const w = W.data.subarray(j * m, (j + 1) * m);
      for (let o = 0; o < m; o++) row[o] += a * w[o];
    }
  }
  return out;
}

// z[f, y, x] = b[f] + sum over c, u, v of W[f, c, u, v] a[c, s y + u - p, s x + v - p]
// computed as W (f, c k k) times the columns of the input's patches (im2col): long inner loops
function conv2d(x, { W, b }, { k, stride: s, padding: p }) {
  const [n, c, h, w] = x.shape, f = W.shape[0];
  const oh = Math.floor((h + 2 * p - k) / s) + 1, ow = Math.floor((w + 2 * p - k) / s) + 1, m = oh * ow;
  const out = tensor([n, f, oh, ow]), cols = new Float32Array(c * k * k * m);
  for (let i = 0; i < n; i++) {
    cols.fill(0);  // padding: zeros
    for (let ch = 0; ch < c; ch++) {
      const a = x.data.subarray((i * c + ch) * h * w, (i * c + ch + 1) * h * w);
      for (let u = 0; u < k; u++) {
        for (let v = 0; v < k; v++) {
          const col = cols.subarray(((ch * k + u) * k + v) * m, ((ch * k + u) * k + v + 1) * m);
          for (let y = 0; y < oh; y++) {
            const yy = s * y + u - p;
            if (yy < 0 || yy >= h) continue;
            for (let xo = 0; xo < ow; xo++) {
              const xx = s * xo + v - p;
              if (xx >= 0 && xx < w) col[y * ow + xo] = a[yy * w + xx];
            }
          }
        }
      }
    }
    // four filters at a time: each column value is loaded once for four products
    const taps = c * k * k, o = out.data;
    for (let g = 0; g < f; g += 4) {
      const count = Math.min(4, f - g), z = (i * f + g) * m;
      for (let q = 0; q < count; q++) o.fill(b.data[g + q], z + q * m, z + (q + 1) * m);
      for (let r = 0; r < taps; r++) {
        const col = r * m, w0 = W.data[g * taps + r];
        const w1 = count > 1 ? W.data[(g + 1) * taps + r] : 0, w2 = count > 2 ? W.data[(g + 2) * taps + r] : 0;
        const w3 = count > 3 ? W.data[(g + 3) * taps + r] : 0;
        if (count === 4) {
          for (let j = 0; j < m; j++) {
            const v = cols[col + j];
            o[z + j] += w0 * v;
            o[z + m + j] += w1 * v;
            o[z + 2 * m + j] += w2 * v;
            o[z + 3 * m + j] += w3 * v;
          }
        } else {
          for (let q = 0; q < count; q++) {
            const wq = [w0, w1, w2, w3][q];
            for (let j = 0; j < m; j++) o[z + q * m + j] += wq * cols[col + j];
          }
        }
      }
    }
  }
  return out;
}

// max or mean over each pool x pool window; windows that do not fit are dropped
function pool2d(x, { pool }, reduce) {
  const [n, c, h, w] = x.shape, oh = Math.floor(h / pool), ow = Math.floor(w / pool), out = tensor([n, c, oh, ow]);
  for (let m = 0; m < n * c; m++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const window = [];
        for (let u = 0; u < pool; u++) for (let v = 0; v < pool; v++) window.push(x.data[(m * h + y * pool + u) * w + xo * pool + v]);
        out.data[(m * oh + y) * ow + xo] = reduce(window);
      }
    }
  }
  return out;
}
const maxOf = (a) => Math.max(...a);
const meanOf = (a) => a.reduce((s, v) => s + v, 0) / a.length;

function globalAvgPool(x) {
  const [n, c, h, w] = x.shape, out = tensor([n, c]);
  for (let m = 0; m < n * c; m++) out.data[m] = meanOf(x.data.subarray(m * h * w, (m + 1) * h * w));
  return out;
}

// y = gamma (x - running mean) / sqrt(running var + eps) + beta, per channel (axis 1)
function batchNorm(x, { gamma, beta, running_mean: mean, running_var: variance }, { eps }) {
  const channels = x.shape[1], inner = size(x.shape.slice(2)), out = tensor(x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const ch = Math.floor(i / inner) % channels;
    out.data[i] = (gamma.data[ch] * (x.data[i] - mean.data[ch])) / Math.sqrt(variance.data[ch] + eps) + beta.data[ch];
  }
  return out;
}

function elementwise(x, f) {
  const out = tensor(x.shape);
  for (let i = 0; i < x.data.length; i++) out.data[i] = f(x.data[i]);
  return out;
}

const LAYERS = {
  Dense: dense,
  Conv2D: conv2d,
  MaxPool2D: (x, _, a) => pool2d(x, a, maxOf),
  AvgPool2D: (x, _, a) => pool2d(x, a, meanOf),
  GlobalAvgPool2D: globalAvgPool,
  BatchNorm: batchNorm,
  Flatten: (x) => ({ shape: [x.shape[0], size(x.shape.slice(1))], data: x.data }),
  Reshape: (x, _, a) => ({ shape: [x.shape[0], ...a.shape], data: x.data }),
  ReLU: (x) => elementwise(x, (v) => (v > 0 ? v : 0)),
  LeakyReLU: (x, _, a) => elementwise(x, (v) => (v > 0 ? v : a.alpha * v)),
  Sigmoid: (x) => elementwise(x, (v) => 1 / (1 + Math.exp(-v))),
  Tanh: (x) => elementwise(x, Math.tanh),
  Dropout: (x) => x,  // nothing to do when predicting
};

export class Network {
  // spec: model.json's contents; weights: an ArrayBuffer of little-endian float32
  constructor(spec, weights) {
    this.spec = spec;
    this.layers = spec.layers.map((layer) => {
      if (!(layer.kind in LAYERS)) throw new Error(`this page cannot run a ${layer.kind} layer`);
      const params = {};
      for (const [name, { shape, offset }] of Object.entries(layer.params)) {
        params[name] = { shape, data: new Float32Array(weights, offset * 4, size(shape)) };
      }
      return { run: LAYERS[layer.kind], params, attributes: layer };
    });
  }

  static async load(url) {
    const spec = await (await fetch(url)).json();
    const weights = await (await fetch(new URL(spec.weights, new URL(url, location.href)))).arrayBuffer();
    return new Network(spec, weights);
  }

  // images: a list of Float32Array(H * W) in [0, 1] -> a list of probability rows, as
  // Model.predict_proba: softmax(z / T), or sigmoid outputs normalized to sum 1
  predictProba(images) {
    const [h, w] = this.spec.input;
    let x = tensor([images.length, h, w]);
    images.forEach((im, i) => x.data.set(im, i * h * w));
    for (const { run, params, attributes } of this.layers) x = run(x, params, attributes);
    const m = x.shape[1], rows = [];
    for (let i = 0; i < x.shape[0]; i++) {
      const z = Array.from(x.data.subarray(i * m, (i + 1) * m));
      rows.push(this.spec.output === "softmax" ? softmax(z, this.spec.temperature) : normalized(z));
    }
    return rows;
  }
}

function softmax(z, t) {
  const top = Math.max(...z), e = z.map((v) => Math.exp((v - top) / t)), total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

function normalized(p) {
  const total = Math.max(p.reduce((a, b) => a + b, 0), 1e-12);
  return p.map((v) => v / total);
}
