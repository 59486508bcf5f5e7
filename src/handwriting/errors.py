"""Errors a user can act on. The CLI prints ``str(error)`` on one line and exits non-zero."""


class HandwritingError(Exception):
    """Base class: its message names what went wrong and how to fix it."""


class DataError(HandwritingError):
    """A data file is missing, damaged, foreign, or could not be fetched."""


class ModelFileError(HandwritingError):
    """A model file is missing, damaged, or not a handwriting model."""


class ImageError(HandwritingError):
    """An input is not an image we can read (missing, damaged, not an image, too large)."""


class ModelOutputError(HandwritingError):
    """A model gave outputs that are not finite numbers: its weights overflow on this input."""
