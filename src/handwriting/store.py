"""The one file container of models and checkpoints: named arrays plus a JSON record, in an
``.npz`` file (a zip of ``.npy`` files; the record is the array ``meta``, UTF-8 bytes).

Reading trusts nothing: it refuses before unpacking anything a file whose members would
unpack to more than ``max_bytes`` (a zip bomb), whose record is over MAX_META bytes, or that
holds anything but plain numeric arrays (``allow_pickle=False``: nothing in it can run code).
Writing is atomic: a crash leaves the old file or the complete new one.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write

MAX_BYTES = 1 << 30  # what one file may unpack to
MAX_META = 16 << 20  # the JSON record's size
META = "meta"


def write(
    path: str | os.PathLike[str], arrays: dict[str, np.ndarray], meta: dict[str, Any], compress: bool
) -> None:
    """Write ``arrays`` and the JSON ``meta`` to ``path`` atomically (``compress``: deflate)."""
    record = json.dumps(meta).encode()
    if len(record) > MAX_META:
        raise ValueError(f"the record is {len(record):,} bytes, more than the {MAX_META:,} a file may hold")
    buffer = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(
        buffer, **arrays, **{META: np.frombuffer(record, dtype=np.uint8)}
    )
    with atomic_write(path) as f:
        f.write(buffer.getvalue())


def read(
    path: str | os.PathLike[str], max_bytes: int = MAX_BYTES
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the record of a container file. Raises ValueError (or an OSError or
    zip error) naming what is wrong; callers turn it into one line for the user."""
    with zipfile.ZipFile(Path(path)) as z:  # the sizes first: nothing is unpacked yet
        sizes = {info.filename: info.file_size for info in z.infolist()}
    total = sum(sizes.values())
    if total > max_bytes:
        raise ValueError(f"it would unpack to {total:,} bytes, more than the {max_bytes:,} allowed")
    if sizes.get(f"{META}.npy", 0) > MAX_META + 128:  # + the .npy header
        raise ValueError(f"its record is {sizes[f'{META}.npy']:,} bytes, more than the {MAX_META:,} allowed")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    if META not in arrays:
        raise ValueError("it has no record (meta)")
    raw = arrays.pop(META)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError("its record is not a byte string")
    meta = json.loads(raw.tobytes().decode())
    if not isinstance(meta, dict):
        raise ValueError("its record is not a JSON object")
    for name, array in arrays.items():
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise ValueError(f"array {name!r} holds {array.dtype}, not numbers")
    return arrays, meta
