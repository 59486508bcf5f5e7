"""The IDX file format of MNIST (LeCun et al.), plain or gzip-compressed.

Layout, all big-endian:  0x00 0x00 <type code> <ndim>,  then ndim uint32 sizes,  then the
values in C order.  Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from ..errors import DataError

TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF = {dt.newbyteorder("="): c for c, dt in TYPE_CODES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes, checking the magic number, type code, dimensions and exact length."""
    if len(data) < 4:
        raise DataError(f"{name}: too short to be an IDX file ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{name}: not an IDX file (bad magic number {data[:4].hex()})")
    code, ndim = data[2], data[3]
    if code not in TYPE_CODES:
        raise DataError(f"{name}: unknown IDX type code 0x{code:02x}")
    if ndim == 0:
        raise DataError(f"{name}: IDX file declares no dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = TYPE_CODES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "has trailing bytes"
        raise DataError(f"{name}: {what}: header {shape} needs {expected} bytes of data, found {actual}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not (told apart by the gzip magic bytes)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: damaged gzip data ({e}); delete it and download it again") from None
    return parse_idx(raw, str(path))


def write_idx(path: str | os.PathLike[str], array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as IDX (gzip if ``compress``, or by default if the name ends in .gz)."""
    array = np.asarray(array)
    key = array.dtype.newbyteorder("=")
    if key not in _CODE_OF:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    code = _CODE_OF[key]
    body = (
        bytes([0, 0, code, array.ndim])
        + struct.pack(f">{array.ndim}I", *array.shape)
        + np.ascontiguousarray(array, dtype=TYPE_CODES[code]).tobytes()
    )
    if compress is None:
        compress = str(path).endswith(".gz")
    if compress:
        body = gzip.compress(body, mtime=0)
    with atomic_write(path) as f:
        f.write(body)
