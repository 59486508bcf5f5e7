"""Where the project keeps files of its own: the user's cache folder."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache(*parts: str) -> Path:
    """``$XDG_CACHE_HOME/handwriting/...``, or ``~/.cache/handwriting/...``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "handwriting", *parts)
