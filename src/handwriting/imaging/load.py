"""Any image in, one grayscale array out: float32 (H, W), 0 = black, 1 = white."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError

ImageSource = str | os.PathLike | bytes | Image.Image | np.ndarray

MAX_PIXELS = 40_000_000  # a larger declared size is refused before decoding (decompression bombs)
WORK_SIZE = 1024  # longer side the image is reduced to before any processing


def describe(source: Any) -> str:
    """How to name ``source`` in a message."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return f"<{type(source).__name__}>"


def load_gray(source: ImageSource, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode ``source`` (a path, encoded bytes, a PIL image or an array) to grayscale in [0, 1],
    reduced so that its longer side is at most ``WORK_SIZE`` pixels.

    Transparency: where an image has a transparent background (a drawing exported from a
    canvas, say), the transparent part becomes paper of the opposite brightness to the ink.
    """
    return load_picture(source, max_pixels)[0]


def load_picture(source: ImageSource, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, tuple[int, int]]:
    """:func:`load_gray`'s array, and the picture's own (width, height) after EXIF orientation,
    to which positions in the array scale."""
    if isinstance(source, np.ndarray):
        a = np.asarray(source)
        return _from_array(a), (int(a.shape[1]), int(a.shape[0])) if a.ndim >= 2 else (0, 0)
    name = describe(source)
    try:
        if isinstance(source, Image.Image):
            image = source
        elif isinstance(source, (bytes, bytearray, memoryview)):
            if not source:
                raise ImageError(f"{name}: empty data, not an image")
            image = Image.open(io.BytesIO(bytes(source)))
        else:
            path = Path(source)
            if not path.is_file():
                raise ImageError(f"{path}: no such file")
            image = Image.open(path)
        w, h = image.size
        if w * h > max_pixels:
            raise ImageError(
                f"{name}: {w}x{h} pixels is more than the {max_pixels:,} allowed; scale it down first"
            )
        # the picture's own size as seen, EXIF orientation applied (5-8 turn it a quarter)
        orientation = image.getexif().get(0x0112, 1)
        size = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
        if image.format == "JPEG":  # let the decoder skip detail we would drop, and colour we never use
            r = 0.75 * WORK_SIZE / max(w, h)  # a reduced decode may land between 3/4 and all of WORK_SIZE
            image.draft("L", (max(1, int(w * r)), max(1, int(h * r))))
        if orientation != 1:  # phone photos: honour the orientation tag (else no copy is needed)
            image = ImageOps.exif_transpose(image)
        image.load()
        return _reduced(image), size
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"{name}: declares far too many pixels (a decompression bomb?); refused") from None
    except UnidentifiedImageError as e:
        raise ImageError(
            f"{name}: not an image we can read ({e.__class__.__name__}); use PNG or JPEG"
        ) from None
    except Exception as e:  # a damaged file can trip any of Pillow's decoders in its own way
        raise ImageError(f"{name}: damaged or unreadable image ({type(e).__name__}: {e})") from None


def _reduced(image: Image.Image) -> np.ndarray:
    """The picture as gray levels, at most WORK_SIZE pixels across. Pillow shrinks 8-bit
    pictures before they become floats (less memory); 16-bit and float ones, which its
    resampling does not take, are shrunk as floats."""
    if image.mode in WIDE_MODES:
        return _from_array(_flatten(image))
    if max(image.size) > WORK_SIZE:  # (a JPEG decoded at a reduced scale may stay a little under)
        image = image.copy()
        image.thumbnail((WORK_SIZE, WORK_SIZE), Image.Resampling.BOX)
    return _flatten(image)


WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")  # more than 8 bits a pixel


def _flatten(image: Image.Image) -> np.ndarray:
    if image.mode in WIDE_MODES:
        a = np.asarray(image, dtype=np.float32)
        lo, hi = float(a.min()), float(a.max())
        return (a - lo) / (hi - lo) if hi > lo else np.ones_like(a)
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        gray = _luminance(rgba[..., :3])
        if alpha.min() < 0.98:
            opaque = alpha > 0.5
            dark_ink = not opaque.any() or float(gray[opaque].mean()) < 0.5
            paper = 1.0 if dark_ink else 0.0
            return (alpha * gray + (1.0 - alpha) * paper).astype(np.float32)
        return gray
    return np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255.0)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.float32)


def _from_array(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = _luminance(a[..., :3].astype(np.float32) / (255.0 if a.dtype == np.uint8 else 1.0))
    elif a.ndim != 2:
        raise ImageError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    if a.size == 0:
        raise ImageError("an empty image array")
    if a.dtype == np.uint8:
        return a.astype(np.float32) / np.float32(255.0)
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise ImageError("an image array with NaN or infinite values")
    if a.min() < 0 or a.max() > 1:
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) if hi > lo else np.ones_like(a)
    if max(a.shape) > WORK_SIZE:
        f = max(a.shape) / WORK_SIZE
        size = (max(1, round(a.shape[1] / f)), max(1, round(a.shape[0] / f)))
        return np.asarray(Image.fromarray(a).resize(size, Image.Resampling.BOX), dtype=np.float32)
    return a
