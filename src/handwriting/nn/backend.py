"""The one seam between the engine and its array library.

Every layer, cost and optimizer reaches array functions through ``xp`` (``xp.exp``,
``xp.zeros``, ...) instead of importing NumPy directly, so a NumPy-compatible module
such as CuPy can be dropped in with :func:`set_backend` without touching any math.
Random numbers always come from a ``numpy.random.Generator`` the caller passes in.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy

_current: ModuleType = numpy


class _ArrayModule:
    """Forwards attribute access to the array module in use (NumPy by default)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_current, name)

    def __repr__(self) -> str:
        return f"<array module {_current.__name__}>"


xp = _ArrayModule()


def set_backend(name: str) -> None:
    """Use the array module ``name`` (``"numpy"``, or e.g. ``"cupy"``) from now on."""
    global _current
    _current = importlib.import_module(name)


def to_numpy(a: Any) -> numpy.ndarray:
    """Copy an array of the current backend back to host memory as a NumPy array."""
    if isinstance(a, numpy.ndarray):
        return a
    return numpy.asarray(a.get() if hasattr(a, "get") else a)
