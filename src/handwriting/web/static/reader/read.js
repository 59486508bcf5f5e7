// A picture to the result `handwriting recognize --json` prints (format version 2), entirely
// in the browser: decode -> gray -> lines of 28x28 digits (imaging.js) -> network.js ->
// text, as the Python package's recognizer.py does. Adds, for the page, each digit's ten
// probabilities and the 28x28 images (as data URLs) the network was shown.

import { FIELD, looksLikeAOne, readPage, resizeArea, pyRound, wholeDigit } from "./imaging.js";
import { Network } from "./network.js";
import { turn, unturn } from "./orient.js";

export const FORMAT_VERSION = 2;
const WORK_SIZE = 1024, THRESHOLD = 0.5, UNKNOWN = "?", N_DIGITS = 10;
const LONE_ONE_AT = 0.9;  // recognizer.LONE_ONE_AT
const TURN_MARGIN = 2.0, UPSIDE_DOWN_BELOW = 0.97, TURN_MARKS = 3, TURN_SURE = 0.5;  // recognizer's
const MAX_PIXELS = 40_000_000;  // as load.py: a larger picture is refused, not read

export class Reader {
  constructor(network) { this.network = network; }

  static async load(url = "model.json") { return new Reader(await Network.load(url)); }

  // an image file (Blob) -> the result; EXIF orientation honoured, as `recognize` does
  async readBlob(blob, topK = 3) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob, { imageOrientation: "from-image" });
    } catch {
      throw new Error("not an image this browser can read; use PNG or JPEG");
    }
    if (bitmap.width * bitmap.height > MAX_PIXELS) {
      const allowed = MAX_PIXELS.toLocaleString("en");
      throw new Error(`${bitmap.width}x${bitmap.height} pixels is more than the ${allowed} allowed; scale it down first`);
    }
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height), ctx = canvas.getContext("2d");
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return this.readRGBA(data, bitmap.width, bitmap.height, topK);
  }

  // RGBA bytes (as ImageData holds them) -> the result
  readRGBA(rgba, width, height, topK = 3) {
    const gray = reduced(grayOf(rgba, width, height));
    const found = this.oriented(this.find(gray, 0, false));
    const { page, digits } = found, spec = this.network.spec;
    const proba = readOnes(digits, this.secondLook(digits, found.proba, page.giveBackFaint), spec.reject_class, spec.reject_at);
    const [sx, sy] = [width / gray.w, height / gray.h];
    const box = (b) => {  // a box of the (turned) working image in the picture's own pixels
      const [x0, y0, x1, y1] = unturn(b, [found.gray.h, found.gray.w], found.quarters);
      return [Math.floor(x0 * sx), Math.floor(y0 * sy), Math.min(width, Math.ceil(x1 * sx)), Math.min(height, Math.ceil(y1 * sy))];
    };
    const out = { lines: [], rejected: page.rejected.map(([b, reason]) => ({ box: box(b), reason })) };
    let next = 0;
    for (const segmented of page.lines) {
      const line = this.readLine(segmented, proba.slice(next), topK, out.rejected, box);
      next += segmented.items.filter((it) => it.kind === "digit").length;
      if (line) out.lines.push(line);
    }
    if (!out.lines.length && digits.length >= 2) this.together(found.gray, digits, topK, out, box);
    const every = (key) => out.lines.flatMap((l) => l[key]);
    return {
      version: FORMAT_VERSION,
      text: out.lines.map((l) => l.text).join("\n"),
      digits: out.lines.map((l) => l.digits).join("\n"),
      confidences: every("confidences"),
      boxes: every("boxes"),
      top_k: every("top_k"),
      lines: out.lines.map(({ text, digits, confidences, boxes, top_k }) => ({ text, digits, confidences, boxes, top_k })),
      rejected: out.rejected,
      probabilities: every("probabilities"),
      images: typeof document === "undefined" ? [] : every("pixels").map(dataURL),  // none in Node or a worker
    };
  }

  // recognizer.find: the working image (turned `quarters` times), its page, its digits and their
  // first probabilities (cutSideways: as read_page's)
  find(gray, quarters, cutSideways = true) {
    const page = readPage(gray, (images) => this.network.predictProba(images), cutSideways);
    const digits = page.lines.flatMap((line) => line.items.filter((it) => it.kind === "digit"));
    const proba = digits.length ? this.network.predictProba(digits.map((d) => d.pixels)) : [];
    return { gray, quarters, page, digits, proba };
  }

  // recognizer.Found._oriented: the picture found again turned where its marks read surer that
  // way by TURN_MARGIN (evidence: the sum of log P(best digit)): a quarter turn either way when
  // its pieces lie on their side, upside down when they read unsure and surer turned over; not
  // when every mark is "not a digit". A page on its side, first found uncut, keeps a turn that
  // beats that reading and reads TURN_SURE; else it is found again with its pieces cut, and a turn
  // must beat that reading (tried then if the uncut reading tried none).
  oriented(found) {
    const turns = this.turns(found), best = surest(turns, found.proba);
    if (found.page.cut || (best && meanBest(best.proba) >= TURN_SURE)) return best || found;
    const again = this.find(found.gray, 0);
    return surest(turns.length ? turns : this.turns(again), again.proba) || again;
  }

  turns(found) {  // recognizer.Found._turns
    return this.tries(found).map((quarters) => this.find(turn(found.gray, quarters), quarters));
  }

  tries(found) {  // recognizer.Found._tries
    const spec = this.network.spec, reject = spec.reject_class;
    if (found.quarters || !found.digits.length) return [];
    if (reject !== null && found.proba.every((r) => r[reject] >= spec.reject_at)) return [];  // read together first
    if (found.page.sideways) return [1, 3];
    if (meanBest(found.proba) < UPSIDE_DOWN_BELOW
      && evidence(this.network.predictProba(found.digits.map((d) => Float32Array.from(d.pixels).reverse()))) > evidence(found.proba)) return [2];
    return [];
  }

  // recognizer._second_look: a digit read unsure or called "not a digit" is read again from its
  // image with the faint ink given back (made by giveBack for those digits only); that reading
  // replaces the first if a digit and surer (a rejected mark only as a sure digit, with strokes
  // given back); not where every mark, two or more, is "not a digit": those are read together first
  secondLook(digits, rows, giveBack) {
    const reject = this.network.spec.reject_class, rejectAt = this.network.spec.reject_at;
    if (reject === null || !rows.length || (rows.length >= 2 && rows.every((r) => r[reject] >= rejectAt))) return rows;
    let unsure = digits.map((d, i) => i).filter((i) => rows[i][reject] >= rejectAt || bestDigit(rows[i]) < THRESHOLD);
    giveBack(unsure.map((i) => digits[i]));  // their second images, made now
    unsure = unsure.filter((i) => digits[i].faint);
    if (!unsure.length) return rows;
    const again = this.network.predictProba(unsure.map((i) => digits[i].faint)), out = rows.slice();
    unsure.forEach((i, k) => {
      const sure = bestDigit(again[k]) >= THRESHOLD, wasRejected = rows[i][reject] >= rejectAt;
      const given = sure && digits[i].strokesGiven;  // a rejected mark: strokes given back, not a rim
      if (again[k][reject] < rejectAt && bestDigit(again[k]) > bestDigit(rows[i]) && (given || !wasRejected)) out[i] = again[k];
    });
    return out;
  }

  // recognizer.Found._together: a picture whose marks the network each calls "not a digit",
  // read as one digit if all of them together are one
  together(gray, digits, topK, out, box) {
    const spec = this.network.spec, b = [0, 1, 2, 3].map((k) => (k < 2 ? Math.min : Math.max)(...digits.map((d) => d.box[k])));
    const digit = wholeDigit(gray, b), row = this.network.predictProba([digit.pixels]);
    if (spec.reject_class === null || row[0][spec.reject_class] >= spec.reject_at) return;
    const rejected = out.rejected.filter((r) => r.reason !== "not a digit");
    const line = this.readLine({ items: [digit], spaces: [false] }, row, topK, rejected, box);
    out.lines.push(line);
    out.rejected = rejected;
  }

  // recognizer._read_line: separators and spaces kept, "not a digit" set aside, '?' below THRESHOLD
  readLine({ items, spaces }, proba, topK, rejected, box) {
    const spec = this.network.spec, reject = spec.reject_class;
    const line = { text: "", digits: "", confidences: [], boxes: [], top_k: [], probabilities: [], pixels: [] };
    let space = false, i = 0;
    items.forEach((item, k) => {
      space ||= spaces[k];
      const gap = space && line.text ? " " : "";
      if (item.kind === "separator") { line.text += gap + item.char; space = false; return; }
      const row = proba[i++];
      if (reject !== null && row[reject] >= spec.reject_at) { rejected.push({ box: box(item.box), reason: "not a digit" }); return; }
      const p = row.slice(0, N_DIGITS), best = p.indexOf(Math.max(...p));
      const char = p[best] >= THRESHOLD ? String(best) : UNKNOWN;
      line.text += gap + char;
      space = false;
      line.digits += char;
      line.confidences.push(round4(p[best]));
      line.boxes.push(box(item.box));
      const order = [...p.keys()].sort((a, b) => p[b] - p[a]).slice(0, Math.max(1, topK));
      line.top_k.push(order.map((d) => ({ digit: d, probability: round4(p[d]) })));
      line.probabilities.push(p.map(round4));
      line.pixels.push(item.pixels);
    });
    if (!line.digits) return null;
    const kept = [...line.text].map((c, j) => (/[0-9?]/.test(c) ? j : -1)).filter((j) => j >= 0);
    line.text = line.text.slice(kept[0], kept[kept.length - 1] + 1);  // no separator left hanging
    return line;
  }
}

const round4 = (v) => Math.round(v * 1e4) / 1e4;
const bestDigit = (r) => Math.max(...Array.from(r.slice(0, N_DIGITS)));
const logBest = (r) => Math.log(Math.max(bestDigit(r), 1e-9));  // recognizer._best_digit
const evidence = (rows) => rows.reduce((sum, r) => sum + logBest(r), 0);  // recognizer._evidence
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const meanBest = (rows) => Math.exp(mean(rows.map(logBest)));  // recognizer._mean_best

// recognizer._surest: the turned reading with the most evidence, if it holds TURN_MARKS marks or
// more and beats the reading as it is (rows) by TURN_MARGIN; else null
function surest(turns, rows) {
  let best = null, bar = evidence(rows) + TURN_MARGIN;
  for (const again of turns) {
    if (again.proba.length >= TURN_MARKS && evidence(again.proba) > bar) [best, bar] = [again, evidence(again.proba)];
  }
  return best;
}

// recognizer._read_ones: a mark the network calls "not a digit" but reads best as 1 is a 1 if
// it is one thin straight upright stroke, on a picture that holds other digits whatever the
// network's doubt, alone unless P(not a digit) >= LONE_ONE_AT; its probabilities become
// those of the digits alone
function readOnes(digits, rows, reject, rejectAt) {
  if (reject === null || !rows.length) return rows;
  const doubt = rows.some((r) => r[reject] < rejectAt) ? 1.0 : LONE_ONE_AT;
  return rows.map((r, k) => {
    const p = Array.from(r.slice(0, reject));
    if (r[reject] < rejectAt || r[reject] >= doubt || p.indexOf(Math.max(...p)) !== 1 || !looksLikeAOne(digits[k].pixels)) return r;
    const sum = p.reduce((a, b) => a + b);
    return [...p.map((v) => v / sum), 0];
  });
}

// load.py's _flatten: gray levels in [0, 1]; a transparent background becomes paper of the
// opposite brightness to the ink; opaque pictures as Pillow's "L" conversion
function grayOf(rgba, w, h) {
  const gray = { w, h, data: new Float32Array(w * h) };
  let transparent = false;
  for (let i = 0; i < w * h; i++) if (rgba[4 * i + 3] < 0.98 * 255) { transparent = true; break; }
  if (!transparent) {
    for (let i = 0; i < w * h; i++) {
      const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
      gray.data[i] = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) / 255;
    }
    return gray;
  }
  let sum = 0, count = 0;
  for (let i = 0; i < w * h; i++) {
    gray.data[i] = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
    if (rgba[4 * i + 3] > 0.5 * 255) { sum += gray.data[i]; count++; }
  }
  const paper = !count || sum / count < 0.5 ? 1 : 0;
  for (let i = 0; i < w * h; i++) {
    const a = rgba[4 * i + 3] / 255;
    gray.data[i] = a * gray.data[i] + (1 - a) * paper;
  }
  return gray;
}

function reduced(gray) {  // at most WORK_SIZE pixels across, as load.py reads a picture
  const f = WORK_SIZE / Math.max(gray.w, gray.h);
  if (f >= 1) return gray;
  return resizeArea(gray, Math.max(1, pyRound(gray.w * f)), Math.max(1, pyRound(gray.h * f)));
}

function dataURL(pixels) {  // a 28x28 digit as the network saw it: white ink on black
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = FIELD;
  const ctx = canvas.getContext("2d"), im = ctx.createImageData(FIELD, FIELD);
  pixels.forEach((v, i) => {
    const g = Math.round(255 * v);
    im.data.set([g, g, g, 255], 4 * i);
  });
  ctx.putImageData(im, 0, 0);
  return canvas.toDataURL("image/png");
}
