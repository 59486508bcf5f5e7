"""PDF pages as pictures, for scans filed as PDF: drawn by PDFium (Chrome's PDF engine,
through pypdfium2: the optional ``pdf`` extra, ``pip install "handwriting[pdf]"``).

A PDF page has no pixels of its own; its boxes are reported in pixels of the page drawn at
``DPI`` dots per inch (an A4 page: 1654 x 2339), fewer where that would pass the picture
size limit. Only what the recognizer reads is drawn: the longer side at ``longest`` pixels.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PIL import Image

from ..errors import ImageError

DPI = 200
POINTS_PER_INCH = 72
INSTALL = 'pip install "handwriting[pdf]"'

Source = str | os.PathLike | bytes


def is_pdf(head: bytes) -> bool:
    """Whether a file's first bytes are a PDF's."""
    return head.startswith(b"%PDF-")


def page_count(source: Source, name: str) -> int:
    """The number of pages of the PDF ``source``."""
    with _opened(source, name) as document:
        return len(document)


def render(
    source: Source, index: int, longest: int, max_pixels: int, name: str
) -> tuple[Image.Image, tuple[int, int]]:
    """Page ``index`` (0 = the first) drawn in gray, its longer side ``longest`` pixels, and its
    own (width, height): the page at DPI, scaled down to at most ``max_pixels``."""
    with _opened(source, name) as document:
        if not 0 <= index < len(document):
            raise ImageError(f"{name}: the PDF has {len(document)} pages, not {index + 1}")
        page = document[index]
        try:
            _refuse_huge_pictures(page, max_pixels, name)
            width, height = page.get_size()  # points, the page's rotation applied
            if not (width > 0 and height > 0):
                raise ImageError(f"{name}: a page of {width} x {height} points; nothing to draw")
            image = page.render(scale=longest / max(width, height), grayscale=True).to_pil()
        finally:
            page.close()
    own = DPI / POINTS_PER_INCH
    own = min(own, math.sqrt(max_pixels / (width * height)))
    return image.convert("L"), (max(1, round(width * own)), max(1, round(height * own)))


def _refuse_huge_pictures(page: Any, max_pixels: int, name: str) -> None:
    """The picture size limit, for the pictures a page holds: their declared sizes are read
    before PDFium decodes them (a PDF can hide a decompression bomb too)."""
    import pypdfium2.raw as pdfium_c

    for picture in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
        w, h = picture.get_px_size()
        if w * h > max_pixels:
            raise ImageError(
                f"{name}: holds a picture of {w}x{h} pixels, more than the {max_pixels:,} allowed; "
                "scan at a lower resolution"
            )


@contextmanager
def _opened(source: Source, name: str) -> Iterator[Any]:
    """The PDF ``source``, open for the ``with`` block; PDFium's own errors (damaged,
    encrypted) become one line naming the file."""
    try:
        import pypdfium2
    except ImportError:
        raise ImageError(f"{name}: a PDF; reading PDFs needs PDFium: {INSTALL}") from None
    try:
        document = pypdfium2.PdfDocument(source)
    except pypdfium2.PdfiumError as e:
        raise ImageError(
            f"{name}: a damaged or password-protected PDF ({e}); save it again without a password"
        ) from None
    try:
        yield document
    finally:
        document.close()
