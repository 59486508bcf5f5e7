// The drawing page: pointer strokes on a canvas, read (debounced) by the server's
// /api/recognize, or, on the site `handwriting export --format web` writes (<html
// data-reader="browser">), by the reader in static/reader/ right here in the browser.
"use strict";

const inBrowser = document.documentElement.dataset.reader === "browser";
// the in-browser reader, once its model is loaded (window.reader: for scripts and tests)
const readerReady = inBrowser
  ? import("./reader/read.js").then(({ Reader }) => Reader.load("model.json")).then((r) => (window.reader = r))
  : null;

const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");
const digitsOut = document.getElementById("digits");
const errorBox = document.getElementById("error");
const details = document.getElementById("details");
const statusBox = document.getElementById("status");
const strokes = [];  // each stroke: a list of [x, y] in canvas pixels
let current = null;
let timer = null;
let requestId = 0;
let picture = null;  // an uploaded picture as drawn on the canvas: {img, s, x, y}
let shown = null;  // the last answer shown

function redraw() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#111";
  ctx.fillStyle = "#111";
  ctx.lineWidth = 16;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const s of strokes) {
    if (s.length === 1) {  // a dot
      ctx.beginPath();
      ctx.arc(s[0][0], s[0][1], ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    ctx.moveTo(s[0][0], s[0][1]);
    for (const [x, y] of s.slice(1)) ctx.lineTo(x, y);
    ctx.stroke();
  }
}

function point(event) {
  const r = canvas.getBoundingClientRect();
  return [(event.clientX - r.left) * canvas.width / r.width, (event.clientY - r.top) * canvas.height / r.height];
}

canvas.addEventListener("pointerdown", (e) => {
  canvas.setPointerCapture(e.pointerId);
  current = [point(e)];
  strokes.push(current);
  redraw();
});
canvas.addEventListener("pointermove", (e) => {
  if (!current) return;
  current.push(point(e));
  redraw();
  schedule();
});
for (const type of ["pointerup", "pointercancel"]) {
  canvas.addEventListener(type, () => {
    if (!current) return;
    current = null;
    schedule();
  });
}

document.getElementById("clear").addEventListener("click", () => {
  strokes.length = 0;
  picture = null;
  redraw();
  show(null);
});
document.getElementById("undo").addEventListener("click", () => {
  strokes.pop();
  redraw();
  if (strokes.length) schedule(); else show(null);
});

function schedule() {  // debounce: read once the hand has paused
  clearTimeout(timer);
  timer = setTimeout(() => canvas.toBlob((blob) => send(blob, "drawing"), "image/png"), 250);
}

async function send(blob, what) {
  const id = ++requestId;
  statusBox.textContent = "reading…";
  try {
    const data = await read(blob, what);
    if (id !== requestId) return;  // a newer drawing is already on its way
    show(data);
  } catch (err) {
    if (id !== requestId) return;
    show(null);
    errorBox.textContent = err.message;
    errorBox.hidden = false;
  } finally {
    if (id === requestId) statusBox.textContent = "";
  }
}

async function read(blob, what) {
  if (inBrowser) return (await readerReady).readBlob(blob, 10);
  const form = new FormData();
  form.append("image", blob, what);
  const response = await fetch("api/recognize", { method: "POST", body: form });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function show(data) {
  errorBox.hidden = true;
  details.replaceChildren();
  shown = data;
  if (!data) {
    digitsOut.textContent = "";
    return;
  }
  // one line of output per line of writing, separators and spaces included
  digitsOut.textContent = data.lines.length ? data.lines.map((l) => l.text).join("\n") : "(no digits found)";
  if (picture) outline(data);
  const chars = data.lines.flatMap((l) => [...l.digits]);
  data.images.forEach((src, i) => {
    const card = document.createElement("div");
    card.className = "digit";
    const img = document.createElement("img");
    img.src = src;
    img.alt = "28x28 input " + (i + 1);
    const guess = document.createElement("div");
    guess.className = "guess";
    guess.textContent = chars[i] + "  (" + (100 * data.confidences[i]).toFixed(1) + "%)";
    card.append(img, guess);
    const probs = data.probabilities[i];
    const best = probs.indexOf(Math.max(...probs));
    probs.forEach((p, d) => {
      const row = document.createElement("div");
      row.className = "bar" + (d === best ? " best" : "");
      const label = document.createElement("span");
      label.textContent = d;
      const track = document.createElement("span");
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.width = (100 * p).toFixed(1) + "%";
      track.append(fill);
      const value = document.createElement("span");
      value.textContent = (100 * p).toFixed(1) + "%";
      row.append(label, track, value);
      card.append(row);
    });
    details.append(card);
  });
}

// Uploads: the file picker, or a file dropped anywhere on the page.
document.getElementById("file").addEventListener("change", (e) => {
  if (e.target.files.length) upload(e.target.files[0]);
  e.target.value = "";
});
const drop = document.getElementById("drop");
document.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("dragging"); });
document.addEventListener("dragleave", () => drop.classList.remove("dragging"));
document.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("dragging");
  if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]);
});

function upload(file) {
  strokes.length = 0;
  picture = null;
  shown = null;
  redraw();
  const url = URL.createObjectURL(file);
  const img = new Image();
  img.onload = () => {  // show the picture on the canvas, fitted, then read the file itself
    const s = Math.min(canvas.width / img.width, canvas.height / img.height);
    picture = { img, s, x: (canvas.width - img.width * s) / 2, y: (canvas.height - img.height * s) / 2 };
    ctx.drawImage(img, picture.x, picture.y, img.width * s, img.height * s);
    if (shown) outline(shown);  // the answer came before the picture was drawn
    URL.revokeObjectURL(url);
  };
  img.src = url;
  send(file, file.name);
}

// The boxes the server found, over the uploaded picture: digits in green, the marks set
// aside (rules, underlines, frames, non-digits) dashed in red. Boxes are in the picture's
// own pixels (EXIF orientation applied, as the browser shows it).
function outline(data) {
  const { img, s, x, y } = picture;
  ctx.drawImage(img, x, y, img.width * s, img.height * s);
  const box = (b) => ctx.strokeRect(x + b[0] * s, y + b[1] * s, (b[2] - b[0]) * s, (b[3] - b[1]) * s);
  ctx.lineWidth = 2;
  ctx.setLineDash([]);
  ctx.strokeStyle = "#0a0";
  data.lines.forEach((l) => l.boxes.forEach(box));
  ctx.setLineDash([5, 4]);
  ctx.strokeStyle = "#c00";
  data.rejected.forEach((r) => box(r.box));
  ctx.setLineDash([]);
}

function describe(m) {
  const acc = m.metrics && m.metrics.test_accuracy;
  document.getElementById("model").textContent =
    "model: " + m.preset + (acc ? ", " + (100 * acc).toFixed(2) + "% on the MNIST test set" : "") +
    (inBrowser ? "; read in this browser, no server" : "");
}
if (inBrowser) {
  document.getElementById("links").innerHTML = '<a href="model.json">model</a>';
  readerReady.then((r) => describe(r.network.spec.about), (err) => {
    errorBox.textContent = "could not load the model: " + err.message;
    errorBox.hidden = false;
  });
} else {
  fetch("api/model").then((r) => r.json()).then(describe);
}
redraw();
