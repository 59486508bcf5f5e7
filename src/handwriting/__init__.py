"""handwriting: a neural network written from scratch in NumPy that learns to read digits.

``handwriting.recognize(image)`` reads the digits in a picture with the pretrained model;
``handwriting.recognize_pages(document)`` those of each page of a multi-page TIFF or a PDF.
The recognizer (and with it Pillow and OpenCV) is imported when first used, so the engine,
``handwriting.nn``, imports with NumPy alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

if TYPE_CHECKING:
    from .recognizer import Recognition, recognize, recognize_pages

__all__ = ["Recognition", "__version__", "recognize", "recognize_pages"]


def __getattr__(name: str) -> Any:
    if name in ("Recognition", "recognize", "recognize_pages"):
        from . import recognizer

        return getattr(recognizer, name)
    raise AttributeError(f"module 'handwriting' has no attribute {name!r}")
