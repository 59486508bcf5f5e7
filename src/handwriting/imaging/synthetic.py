"""Digits, letters and shapes drawn as pen strokes, for examples, tests, benchmarks and the
"not a digit" training examples: the project makes its own images instead of copying any
data set.

Each glyph is a few polylines in a box about 0.6 wide and 1 tall (x to the right, y
downwards). ``render`` draws a string of them with a round pen, with a little random slant,
size and wobble from a seeded generator, on paper of any colour. ``shape`` draws a random
mark that is not a digit (a zigzag, a star, a spiral, a scribble, ...).

Letters are used only to *measure* how well non-digits are rejected, never to train.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Stroke = list[tuple[float, float]]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 24) -> Stroke:
    """Points on an ellipse from angle a0 to a1 (degrees, counter-clockwise as seen, y down)."""
    angles = np.radians(np.linspace(a0, a1, n))
    return [(cx + rx * math.cos(a), cy - ry * math.sin(a)) for a in angles]


STROKES: dict[str, list[Stroke]] = {
    "0": [_arc(0.3, 0.5, 0.26, 0.47, 90, 450, 40)],
    "1": [[(0.22, 0.1), (0.34, 0.0), (0.34, 1.0)]],
    "2": [[*_arc(0.3, 0.28, 0.26, 0.25, 160, -30), (0.03, 0.98), (0.6, 0.98)]],
    "3": [_arc(0.28, 0.26, 0.25, 0.23, 150, -90) + _arc(0.28, 0.73, 0.29, 0.25, 90, -150)],
    "4": [[(0.45, 1.0), (0.45, 0.0), (0.0, 0.68), (0.6, 0.68)]],
    "5": [[(0.56, 0.03), (0.13, 0.03), (0.09, 0.47), *_arc(0.3, 0.7, 0.27, 0.27, 125, -145)]],
    "6": [[(0.5, 0.03), (0.3, 0.2), (0.14, 0.42), *_arc(0.3, 0.73, 0.23, 0.25, 150, 540, 36)]],
    "7": [[(0.02, 0.03), (0.58, 0.03), (0.2, 1.0)]],
    "8": [_arc(0.3, 0.25, 0.21, 0.22, -90, 270, 32), _arc(0.3, 0.72, 0.26, 0.26, 90, 450, 32)],
    "9": [[*_arc(0.3, 0.28, 0.25, 0.26, -10, 350, 32), (0.54, 0.3), (0.5, 1.0)]],
}
# Letters (capitals and a few small letters), left out where they look like a digit
# (O o I l i S s Z z B b g q G T): for measuring rejection only.
LETTERS: dict[str, list[Stroke]] = {
    "A": [[(0.0, 1.0), (0.3, 0.0), (0.6, 1.0)], [(0.1, 0.62), (0.5, 0.62)]],
    "C": [_arc(0.32, 0.5, 0.3, 0.48, 50, 310, 30)],
    "D": [[(0.05, 0.0), (0.05, 1.0)], [(0.05, 0.0), *_arc(0.1, 0.5, 0.48, 0.5, 90, -90), (0.05, 1.0)]],
    "E": [[(0.58, 0.0), (0.05, 0.0), (0.05, 1.0), (0.58, 1.0)], [(0.05, 0.5), (0.45, 0.5)]],
    "F": [[(0.58, 0.0), (0.05, 0.0), (0.05, 1.0)], [(0.05, 0.5), (0.45, 0.5)]],
    "H": [[(0.05, 0.0), (0.05, 1.0)], [(0.55, 0.0), (0.55, 1.0)], [(0.05, 0.5), (0.55, 0.5)]],
    "J": [[(0.2, 0.0), (0.6, 0.0)], [(0.45, 0.0), *_arc(0.25, 0.78, 0.2, 0.22, 0, -180, 16)]],
    "K": [[(0.05, 0.0), (0.05, 1.0)], [(0.58, 0.0), (0.05, 0.58)], [(0.22, 0.45), (0.6, 1.0)]],
    "L": [[(0.05, 0.0), (0.05, 1.0), (0.58, 1.0)]],
    "M": [[(0.0, 1.0), (0.05, 0.0), (0.3, 0.7), (0.55, 0.0), (0.6, 1.0)]],
    "N": [[(0.05, 1.0), (0.05, 0.0), (0.55, 1.0), (0.55, 0.0)]],
    "P": [[(0.05, 1.0), (0.05, 0.0), *_arc(0.1, 0.27, 0.45, 0.27, 90, -90, 16), (0.05, 0.54)]],
    "R": [[(0.05, 1.0), (0.05, 0.0), *_arc(0.1, 0.27, 0.45, 0.27, 90, -90, 16), (0.05, 0.54), (0.6, 1.0)]],
    "U": [[(0.02, 0.0), (0.02, 0.7), *_arc(0.3, 0.7, 0.28, 0.3, 180, 360, 16), (0.58, 0.0)]],
    "V": [[(0.0, 0.0), (0.3, 1.0), (0.6, 0.0)]],
    "W": [[(0.0, 0.0), (0.15, 1.0), (0.3, 0.35), (0.45, 1.0), (0.6, 0.0)]],
    "X": [[(0.0, 0.0), (0.6, 1.0)], [(0.6, 0.0), (0.0, 1.0)]],
    "Y": [[(0.0, 0.0), (0.3, 0.5), (0.6, 0.0)], [(0.3, 0.5), (0.3, 1.0)]],
    "a": [_arc(0.28, 0.72, 0.24, 0.27, 0, 360, 24), [(0.53, 0.45), (0.53, 1.0)]],
    "e": [[(0.05, 0.72), (0.55, 0.72), *_arc(0.3, 0.72, 0.26, 0.27, 10, 320, 24)]],
    "h": [[(0.05, 0.0), (0.05, 1.0)], [(0.05, 0.72), *_arc(0.3, 0.72, 0.25, 0.26, 170, 0, 12), (0.55, 1.0)]],
    "k": [[(0.05, 0.0), (0.05, 1.0)], [(0.5, 0.45), (0.05, 0.8)], [(0.2, 0.7), (0.55, 1.0)]],
    "m": [
        [(0.02, 1.0), (0.02, 0.5)],
        [(0.02, 0.65), *_arc(0.16, 0.65, 0.14, 0.15, 180, 0, 10), (0.3, 1.0)],
        [(0.3, 0.65), *_arc(0.44, 0.65, 0.14, 0.15, 180, 0, 10), (0.58, 1.0)],
    ],
    "n": [[(0.05, 1.0), (0.05, 0.45)], [(0.05, 0.7), *_arc(0.3, 0.7, 0.25, 0.25, 170, 0, 12), (0.55, 1.0)]],
    "r": [[(0.08, 1.0), (0.08, 0.45)], [(0.08, 0.7), *_arc(0.3, 0.7, 0.22, 0.22, 170, 60, 10)]],
    "t": [[(0.3, 0.1), (0.3, 0.85), *_arc(0.42, 0.85, 0.12, 0.15, 180, 300, 8)], [(0.08, 0.4), (0.55, 0.4)]],
    "u": [
        [(0.05, 0.45), (0.05, 0.75), *_arc(0.3, 0.75, 0.25, 0.25, 180, 360, 12), (0.55, 0.45), (0.55, 1.0)]
    ],
    "v": [[(0.0, 0.45), (0.3, 1.0), (0.6, 0.45)]],
    "w": [[(0.0, 0.45), (0.15, 1.0), (0.3, 0.6), (0.45, 1.0), (0.6, 0.45)]],
    "x": [[(0.05, 0.45), (0.55, 1.0)], [(0.55, 0.45), (0.05, 1.0)]],
    "y": [[(0.05, 0.45), (0.3, 0.85)], [(0.55, 0.45), (0.3, 0.85), (0.15, 1.3)]],
}
GLYPHS: dict[str, list[Stroke]] = {**STROKES, **LETTERS}
WIDTH = {d: (0.4 if d == "1" else 0.6) for d in GLYPHS}


def _colour(c: int | tuple[int, ...], mode: str) -> tuple[int, ...]:
    if isinstance(c, tuple):
        return c
    return (c, c, c, 255) if mode == "RGBA" else (c, c, c)


def render(
    text: str,
    height: int = 120,
    pen: float = 0.09,
    gap: float = 0.25,
    margin: float = 0.5,
    ink: int | tuple[int, ...] = 20,
    paper: int | tuple[int, ...] = 245,
    mode: str = "L",
    rng: np.random.Generator | None = None,
    wobble: float = 1.0,
) -> Image.Image:
    """Draw the digits (or letters) of ``text`` side by side: each ``height`` pixels tall, pen width
    ``pen * height``, ``gap * height`` between digits and ``margin * height`` around.
    ``wobble`` scales the random slant, size and jitter (0: perfectly regular)."""
    rng = rng or np.random.default_rng(0)
    placed: list[list[Stroke]] = []
    x = margin * height
    for ch in text:
        if ch not in GLYPHS:
            raise ValueError(f"can only draw digits and the letters {''.join(LETTERS)}, got {ch!r}")
        slant = wobble * rng.uniform(-0.15, 0.2)
        scale = 1.0 + wobble * rng.uniform(-0.08, 0.08)
        strokes = []
        for stroke in GLYPHS[ch]:
            pts = []
            for px, py in stroke:
                jx, jy = wobble * rng.normal(0, 0.008, 2)
                sx = (px + slant * (1.0 - py) + jx) * scale
                sy = (py + jy) * scale
                pts.append((x + sx * height, margin * height + sy * height))
            strokes.append(pts)
        placed.append(strokes)
        x += (WIDTH[ch] + gap) * height
    size = (int(x - gap * height + margin * height + 0.2 * height), int((1 + 2 * margin) * height))
    return _draw(placed, size, pen * height, ink, paper, mode)


def _draw(
    placed: list[list[Stroke]],
    size: tuple[int, int],
    width: float,
    ink: int | tuple[int, ...],
    paper: int | tuple[int, ...],
    mode: str,
) -> Image.Image:
    """Strokes (pixel coordinates) drawn with a round pen ``width`` pixels wide."""
    if mode != "L":  # a grey level given for a colour image means that grey, not a red channel
        ink, paper = (_colour(c, mode) for c in (ink, paper))
    image = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(image)
    r = max(1.0, width / 2)
    for strokes in placed:
        for pts in strokes:
            draw.line(pts, fill=ink, width=max(1, round(2 * r)), joint="curve")
            for px, py in (pts[0], pts[-1]):
                draw.ellipse((px - r, py - r, px + r, py + r), fill=ink)
    return image


SHAPES = ("zigzag", "wave", "spiral", "star", "triangle", "square", "cross", "asterisk", "hash", "scribble")


def _shape_strokes(kind: str, rng: np.random.Generator) -> list[Stroke]:
    """The strokes of one random non-digit mark in the unit box. No lone straight line, circle
    or oval: those are how people write 1 and 0."""
    u = rng.uniform
    if kind == "zigzag":
        k = int(rng.integers(5, 9))  # fewer turns would draw N, M or W: letters are never trained on
        return [[(i / k, float(i % 2) * u(0.6, 1.0)) for i in range(k + 1)]]
    if kind == "wave":
        t = np.linspace(0, 1, 40)
        f, a = u(1.5, 3.5), u(0.15, 0.4)
        return [[(float(x), 0.5 + a * math.sin(2 * math.pi * f * x)) for x in t]]
    if kind == "spiral":
        t = np.linspace(0, u(2.5, 4.0) * 2 * math.pi, 80)
        r = 0.5 * t / t[-1]
        return [
            [
                (0.5 + float(ri * math.cos(ti)), 0.5 + float(ri * math.sin(ti)))
                for ri, ti in zip(r, t, strict=True)
            ]
        ]
    if kind == "star":
        k = int(rng.choice([5, 7]))
        step = 2 if k == 5 else 3
        pts = [
            (
                0.5 + 0.5 * math.sin(2 * math.pi * i * step / k),
                0.5 - 0.5 * math.cos(2 * math.pi * i * step / k),
            )
            for i in range(k + 1)
        ]
        return [pts]
    if kind == "triangle":
        p = [(u(0.0, 1.0), u(0.0, 0.2)), (u(0.0, 0.2), u(0.8, 1.0)), (u(0.8, 1.0), u(0.8, 1.0))]
        return [[*p, p[0]]]
    if kind == "square":
        w, h = u(0.5, 1.0), u(0.5, 1.0)
        return [[(0, 0), (w, 0), (w, h), (0, h), (0, 0)]]
    if kind == "cross":
        return [[(0.5, 0.0), (0.5, 1.0)], [(0.0, 0.5), (1.0, 0.5)]]
    if kind == "asterisk":
        return [[(0.5, 0.0), (0.5, 1.0)], [(0.07, 0.25), (0.93, 0.75)], [(0.07, 0.75), (0.93, 0.25)]]
    if kind == "hash":
        return [
            [(0.35, 0.0), (0.25, 1.0)],
            [(0.75, 0.0), (0.65, 1.0)],
            [(0.0, 0.33), (1.0, 0.33)],
            [(0.0, 0.67), (1.0, 0.67)],
        ]
    if kind == "scribble":  # a smoothed random walk
        steps = rng.normal(0, 1, (int(rng.integers(8, 20)), 2)).cumsum(axis=0)
        steps -= steps.min(axis=0)
        steps /= max(float(steps.max()), 1e-6)
        return [[(float(x), float(y)) for x, y in steps]]
    raise ValueError(f"unknown shape {kind!r}; choose from {', '.join(SHAPES)}")


def shape(
    kind: str | None = None,
    height: int = 120,
    pen: float = 0.09,
    ink: int | tuple[int, ...] = 20,
    paper: int | tuple[int, ...] = 245,
    mode: str = "L",
    rng: np.random.Generator | None = None,
) -> Image.Image:
    """A random mark that is not a digit (``kind`` from SHAPES, or drawn at random), scaled,
    stretched and rotated at random, ``height`` pixels tall, with a margin of half that."""
    rng = rng or np.random.default_rng(0)
    kind = kind or str(rng.choice(SHAPES))
    angle, aspect = rng.uniform(-0.5, 0.5), rng.uniform(0.5, 1.3)
    c, s = math.cos(angle), math.sin(angle)
    pts_all = []
    for stroke in _shape_strokes(kind, rng):
        pts = np.array(stroke, dtype=np.float64) - 0.5
        pts[:, 0] *= aspect
        pts = pts @ np.array([[c, s], [-s, c]]) + rng.normal(0, 0.01, pts.shape)
        pts_all.append(pts)
    lo = np.min([p.min(axis=0) for p in pts_all], axis=0)
    hi = np.max([p.max(axis=0) for p in pts_all], axis=0)
    scale = height / max(float((hi - lo).max()), 1e-6)
    m = height / 2
    placed = [[[(m + float(x), m + float(y)) for x, y in (p - lo) * scale] for p in pts_all]]
    size = tuple(int(v) for v in (hi - lo) * scale + 2 * m)
    return _draw(placed, (max(size[0], 1), max(size[1], 1)), pen * height, ink, paper, mode)


def photo(ink: np.ndarray, rng: np.random.Generator, resample: str = "bicubic") -> bytes:
    """An ink image (H, W), ink = 1, made to look like a user's picture; JPEG bytes.

    Enlarged 1.5-8 times (``resample``: "bicubic" or "nearest", the blocky look of a small
    image blown up), placed at random on a larger canvas, pen and paper of random grey levels,
    light on dark half the time, then noise, a slight blur and JPEG compression.
    """
    h, w = ink.shape
    scale = rng.uniform(1.5, 8.0)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    method = Image.Resampling.NEAREST if resample == "nearest" else Image.Resampling.BICUBIC
    big = np.asarray(Image.fromarray(ink.astype(np.float32)).resize(size, method), np.float32).clip(0, 1)
    canvas_w = int(size[0] * rng.uniform(1.2, 2.5)) + 10
    canvas_h = int(size[1] * rng.uniform(1.2, 2.5)) + 10
    canvas = np.zeros((canvas_h, canvas_w), np.float32)
    top, left = rng.integers(0, canvas_h - size[1] + 1), rng.integers(0, canvas_w - size[0] + 1)
    canvas[top : top + size[1], left : left + size[0]] = big
    paper, pen = rng.uniform(170, 255), rng.uniform(0, 70)
    if rng.random() < 0.5:  # light ink on dark paper
        paper, pen = 255 - paper, 255 - pen
    pixels = paper + (pen - paper) * canvas + rng.normal(0, rng.uniform(0, 12), canvas.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2) * scale / 3))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(40, 95)))
    return buffer.getvalue()
