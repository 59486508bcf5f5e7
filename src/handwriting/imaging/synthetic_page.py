"""Pages drawn by the project, for tests and benchmarks: lines of numbers made from given
digit images, on plain, ruled or squared paper, underlined, framed, circled or in a form's
boxes, with separators, touching pairs, the conditions of a phone photo, or turned the wrong
way up with no EXIF tag to say so.

``draw_page(kind, glyph, rng)`` returns the picture (JPEG bytes) and the true text, one
string per line. ``glyph(c)`` gives a 28x28 ink image (ink = 1) of digit ``c``, drawn
MNIST-style (the digit in the middle 20x20): MNIST test digits in the benchmark, digits
drawn by ``synthetic.render`` in the tests.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

KINDS = (
    "plain",
    "ruled",
    "underlined",
    "framed",
    "circled",
    "boxes",
    "separators",
    "touching",
    "turned",
    "squared",
)
Glyph = Callable[[str], np.ndarray]


def draw_page(
    kind: str, glyph: Glyph, rng: np.random.Generator, photo: bool = True, size: int = 20
) -> tuple[bytes, list[str]]:
    """A page of ``kind`` (one of KINDS) and its lines' true text. ``size``: the digits'
    height in pixels before the photo's random enlargement."""
    if kind not in KINDS:
        raise ValueError(f"unknown page kind {kind!r}; choose from {', '.join(KINDS)}")
    s = size / 20  # pixels per MNIST pixel
    texts = _texts(kind, rng)
    pitch = int(rng.uniform(2.0, 2.8) * size)  # distance between lines
    margin = int(rng.uniform(1.5, 3.0) * size)
    width = int(margin * 2 + max(_advance(t, s) for t in texts) + 4 * size)
    height = int(margin * 2 + pitch * len(texts))
    canvas = np.zeros((height, width), np.float32)
    pen = max(1, round(size / 12))
    if kind == "ruled":
        for k in range(len(texts) + 2):
            y = margin + k * pitch + int(0.05 * size)
            cv2.line(canvas, (0, y), (width - 1, y), 0.8, pen)
        x = margin // 2
        cv2.line(canvas, (x, 0), (x, height - 1), 0.8, pen)
    elif kind == "squared":  # a printed grid, finer than the pen, that the writing ignores
        cell, shade = int(rng.uniform(0.6, 1.2) * size), float(rng.uniform(0.2, 0.6))
        for x in range(int(rng.integers(cell)), width, cell):
            cv2.line(canvas, (x, 0), (x, height - 1), shade, 1)
        for y in range(int(rng.integers(cell)), height, cell):
            cv2.line(canvas, (0, y), (width - 1, y), shade, 1)
    for k, text in enumerate(texts):
        base = margin + k * pitch  # the digits' baseline
        x = margin + int(rng.uniform(0, 2) * size)
        left, right = x, _place(canvas, text, x, base, s, glyph, rng, kind == "touching", kind == "boxes")
        top = base - size
        if kind == "underlined":
            y = base + int(rng.uniform(0.1, 0.4) * size)
            cv2.line(canvas, (left - size // 3, y), (right + size // 3, y), 1.0, pen)
        elif kind == "framed":
            cv2.rectangle(
                canvas, (left - size // 2, top - size // 3), (right + size // 2, base + size // 3), 1.0, pen
            )
        elif kind == "circled":
            centre = ((left + right) // 2, (top + base) // 2)
            # wide enough to clear the end digits' corners, as people draw them
            axes = (int(1.25 * (right - left) / 2 + 0.3 * size), int(0.8 * size))
            cv2.ellipse(canvas, centre, axes, 0, 0, 360, 1.0, pen)
    if not photo:
        return _jpeg(_paper(canvas, 245, 20, rng, lighting=False), 95), texts
    return _as_photo(canvas, rng, tagged=kind != "turned"), texts


def _texts(kind: str, rng: np.random.Generator) -> list[str]:
    """The true lines of a page of ``kind``."""
    digits = lambda n: "".join(str(d) for d in rng.integers(0, 10, n))  # noqa: E731
    if kind in ("plain", "ruled", "turned", "squared"):
        return [digits(int(rng.integers(1, 9))) for _ in range(int(rng.integers(1, 13)))]
    if kind == "separators":
        forms = [
            lambda: f"{digits(2)}.{digits(2)}.{digits(4)}",  # a date
            lambda: f"{digits(1)}.{digits(2)}",  # a decimal
            lambda: f"{digits(2)}:{digits(2)}",  # a time
            lambda: f"{digits(2)}-{digits(2)}-{digits(2)}",  # a phone number
            lambda: f"{digits(4)} {digits(3)} {digits(3)}",  # groups
            lambda: f"{digits(3)},{digits(2)}",  # a decimal comma
        ]
        return [forms[int(rng.integers(len(forms)))]() for _ in range(int(rng.integers(1, 4)))]
    if kind == "touching":
        return [digits(2) for _ in range(int(rng.integers(1, 4)))]
    return [digits(int(rng.integers(2, 9))) for _ in range(int(rng.integers(1, 4)))]


def _advance(text: str, s: float) -> float:
    return len(text) * 26 * s


def _place(
    canvas: np.ndarray,
    text: str,
    x: int,
    base: int,
    s: float,
    glyph: Glyph,
    rng: np.random.Generator,
    touching: bool,
    boxed: bool,
) -> int:
    """Draw ``text`` with its baseline at ``base`` from ``x``; returns the right end."""
    cell = round(28 * s)
    box = round(30 * s)
    for ch in text:
        if ch == " ":
            x += round(16 * s)
            continue
        if not ch.isdigit():
            x = _separator(canvas, ch, x, base, s)
            continue
        image = cv2.resize(glyph(ch), (cell, cell), interpolation=cv2.INTER_LINEAR)
        y = base - round(24 * s) + round(rng.uniform(-1.5, 1.5) * s)
        if boxed:
            top = base - round(26 * s)
            cv2.rectangle(canvas, (x, top), (x + box, top + box), 0.9, max(1, round(s)))
            _blend(canvas, image, x + (box - cell) // 2, top + (box - cell) // 2)
            x += box
            continue
        _blend(canvas, image, x, y)
        step = rng.uniform(15, 19) if touching else rng.uniform(22, 27)
        x += round(step * s)
    return x + round(4 * s)


def _separator(canvas: np.ndarray, ch: str, x: int, base: int, s: float) -> int:
    """Draw a separator clear of the digit before ``x`` (whose ink may reach x + 3 MNIST
    pixels); returns where the next digit's 28-pixel cell starts."""
    r = max(1, round(1.6 * s))
    cx = x + round(5 * s) + r
    if ch == ".":
        cv2.circle(canvas, (cx, base - r), r, 1.0, -1)
    elif ch == ",":
        cv2.circle(canvas, (cx, base - r), r, 1.0, -1)
        cv2.line(canvas, (cx + r // 2, base - r), (cx - r, base + 3 * r), 1.0, max(1, r))
    elif ch == ":":
        cv2.circle(canvas, (cx, base - r), r, 1.0, -1)
        cv2.circle(canvas, (cx, base - round(12 * s)), r, 1.0, -1)
    elif ch == "-":
        y = base - round(10 * s)
        cv2.line(canvas, (cx - r, y), (cx + round(8 * s), y), 1.0, max(1, r))
        cx += round(8 * s)
    return cx + r + round(3 * s) - round(4 * s)


def _blend(canvas: np.ndarray, image: np.ndarray, x: int, y: int) -> None:
    h, w = image.shape
    y0, x0 = max(y, 0), max(x, 0)
    y1, x1 = min(y + h, canvas.shape[0]), min(x + w, canvas.shape[1])
    region = canvas[y0:y1, x0:x1]
    np.maximum(region, image[y0 - y : y1 - y, x0 - x : x1 - x], out=region)


def _paper(
    canvas: np.ndarray, paper: float, pen: float, rng: np.random.Generator, lighting: bool
) -> np.ndarray:
    """Ink (0-1) to grey levels, with uneven lighting (a gradient across the page) if asked."""
    h, w = canvas.shape
    light = np.ones((h, w), np.float32)
    if lighting:
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        angle = rng.uniform(0, 2 * math.pi)
        ramp = (gx * math.cos(angle) + gy * math.sin(angle)) / max(h, w)
        light = 1.0 - rng.uniform(0.1, 0.35) * (ramp - ramp.min())
    return (paper * light + (pen - paper * light) * canvas).astype(np.float32)


def _as_photo(canvas: np.ndarray, rng: np.random.Generator, tagged: bool = True) -> bytes:
    """The page as a phone would see it: enlarged, slightly rotated and in perspective, uneven
    light, noise, blur, JPEG, and sometimes an EXIF orientation tag to be honoured; not
    ``tagged``, always stored turned (a quarter either way, or upside down) with no tag to
    say so, as a scan fed the wrong way up."""
    zoom = rng.uniform(1.0, 2.5)
    h, w = canvas.shape
    big = cv2.resize(canvas, (int(w * zoom), int(h * zoom)), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    h, w = big.shape
    angle = rng.uniform(-2.0, 2.0)
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = corners + rng.uniform(-0.02, 0.02, (4, 2)).astype(np.float32) * np.float32([w, h])
    warp = cv2.getPerspectiveTransform(corners, jitter)
    rotate = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0, 0, 1]])
    big = cv2.warpPerspective(big, (rotate @ warp).astype(np.float64), (w, h), borderValue=0)
    paper, pen = rng.uniform(180, 250), rng.uniform(10, 80)
    grey = _paper(big, paper, pen, rng, lighting=True)
    grey += rng.normal(0, rng.uniform(0, 8), grey.shape).astype(np.float32)
    grey = cv2.GaussianBlur(grey, (0, 0), rng.uniform(0.3, 1.0) * zoom)
    image = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8))
    orientation = int(rng.choice([1, 1, 3, 6, 8] if tagged else [3, 6, 8]))
    if orientation != 1:  # stored turned, with the tag that says how to turn it back
        image = image.transpose(
            {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}[
                orientation
            ]
        )
    return _jpeg(image, int(rng.integers(50, 95)), orientation if tagged else 1)


def _jpeg(image: Image.Image | np.ndarray, quality: int, orientation: int = 1) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, exif=exif.tobytes())
    return buffer.getvalue()
