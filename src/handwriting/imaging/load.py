"""Any image in, one grayscale array out: float32 (H, W), 0 = black, 1 = white.

A document of several pages (a multi-page TIFF from a scanner, a PDF) holds several
pictures: :func:`pages` names each as a :class:`PageOf`, and reading the document itself,
which would drop all pages but one, is refused with a message that says so.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError
from . import pdf


@dataclass(frozen=True)
class PageOf:
    """Page ``index`` (0 = the first) of a document of several pages."""

    source: str | os.PathLike | bytes
    index: int

    def __str__(self) -> str:
        return f"{describe(self.source)} page {self.index + 1}"


ImageSource = str | os.PathLike | bytes | Image.Image | np.ndarray | PageOf
TIFF_HEADS = (b"II*\x00", b"MM\x00*")

MAX_PIXELS = 40_000_000  # a larger declared size is refused before decoding (decompression bombs)
WORK_SIZE = 1024  # longer side the image is reduced to before any processing


def describe(source: Any) -> str:
    """How to name ``source`` in a message."""
    if isinstance(source, (str, os.PathLike, PageOf)):
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
    document, index = (source.source, source.index) if isinstance(source, PageOf) else (source, None)
    try:
        if isinstance(document, Image.Image):
            image = document
        else:
            data = _readable(document, name)
            if pdf.is_pdf(_head(data)):
                return _pdf_page(data, index, max_pixels, name)
            image = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
            _seek(image, index, name)
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


def pages(source: ImageSource) -> list[ImageSource]:
    """The pictures in ``source``: each page of a multi-page TIFF or of a PDF (as PageOf),
    else ``source`` itself. A source that cannot be opened is returned as it is: reading it
    says what is wrong."""
    if not isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)):
        return [source]
    if not isinstance(source, (str, os.PathLike)):
        source = bytes(source)
    name = describe(source)
    try:
        data = _readable(source, name)
        head = _head(data)
        if pdf.is_pdf(head):
            n = pdf.page_count(data, name)
        elif head[:4] in TIFF_HEADS:
            with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
                n = getattr(image, "n_frames", 1)
        else:
            n = 1
    except Exception:  # damaged, missing, ...: its own reading reports it
        return [source]
    return [source] if n <= 1 else [PageOf(source, i) for i in range(n)]


def _readable(source: str | os.PathLike | bytes, name: str) -> bytes | Path:
    """Encoded bytes, or the path of a file that exists."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not source:
            raise ImageError(f"{name}: empty data, not an image")
        return bytes(source)
    path = Path(source)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    return path


def _head(data: bytes | Path) -> bytes:
    """The first bytes, which say what kind of file it is."""
    if isinstance(data, bytes):
        return data[:8]
    with open(data, "rb") as f:
        return f.read(8)


def _one_page(n: int, name: str) -> None:
    """Refuse a document of several pages read as one picture: all but one would be lost."""
    if n > 1:
        raise ImageError(
            f"{name}: a document of {n} pages; `handwriting recognize` reads every page, "
            "as does handwriting.recognize_pages()"
        )
    if n < 1:
        raise ImageError(f"{name}: a document without pages")


def _seek(image: Image.Image, index: int | None, name: str) -> None:
    """Turn a multi-page TIFF to page ``index``; with no index, make sure it has one page."""
    n = getattr(image, "n_frames", 1)
    if index is None:
        if image.format == "TIFF":  # (a GIF's or an MPO's frames are not pages: the first is read)
            _one_page(n, name)
        return
    if not 0 <= index < n:
        raise ImageError(f"{name}: the file has {n} pages")
    image.seek(index)


def _pdf_page(
    data: bytes | Path, index: int | None, max_pixels: int, name: str
) -> tuple[np.ndarray, tuple[int, int]]:
    if index is None:
        _one_page(pdf.page_count(data, name), name)
    image, size = pdf.render(data, index or 0, 2 * WORK_SIZE, max_pixels, name)  # then reduced by BOX
    return _reduced(image), size


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
