"""Digits drawn as pen strokes, for examples, tests and benchmarks: the project makes its own
test images instead of copying any data set.

Each digit is a few polylines in a box 0.6 wide and 1 tall (x to the right, y downwards).
``render`` draws a string of them with a round pen, with a little random slant, size and
wobble from a seeded generator, on paper of any colour.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

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
WIDTH = {d: (0.4 if d == "1" else 0.6) for d in STROKES}


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
    """Draw the digits of ``text`` side by side: each ``height`` pixels tall, pen width
    ``pen * height``, ``gap * height`` between digits and ``margin * height`` around.
    ``wobble`` scales the random slant, size and jitter (0: perfectly regular)."""
    rng = rng or np.random.default_rng(0)
    placed: list[list[Stroke]] = []
    x = margin * height
    for ch in text:
        if ch not in STROKES:
            raise ValueError(f"can only draw digits, got {ch!r}")
        slant = wobble * rng.uniform(-0.15, 0.2)
        scale = 1.0 + wobble * rng.uniform(-0.08, 0.08)
        strokes = []
        for stroke in STROKES[ch]:
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
    if mode != "L":  # a grey level given for a colour image means that grey, not a red channel
        ink, paper = (_colour(c, mode) for c in (ink, paper))
    image = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(image)
    r = max(1.0, pen * height / 2)
    for strokes in placed:
        for pts in strokes:
            draw.line(pts, fill=ink, width=max(1, round(2 * r)), joint="curve")
            for px, py in (pts[0], pts[-1]):
                draw.ellipse((px - r, py - r, px + r, py + r), fill=ink)
    return image
