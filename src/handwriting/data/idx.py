"""The IDX file format of MNIST (LeCun et al.), plain or gzip-compressed.

Layout, all big-endian:  0x00 0x00 <type code> <ndim>,  then ndim uint32 sizes,  then the
values in C order.  Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import IO

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


MAX_BYTES = 1 << 30  # 1 GiB of values: far above MNIST's 47 MB, far below what a gzip bomb claims


def _header(data: bytes, name: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, shape, header length) from the start of IDX bytes, or a DataError."""
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
    declared = math.prod(shape) * TYPE_CODES[code].itemsize  # Python ints: no overflow
    if declared > MAX_BYTES:
        raise DataError(
            f"{name}: header declares {declared:,} bytes of data, more than the {MAX_BYTES:,} allowed"
        )
    return TYPE_CODES[code], shape, header


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes, checking the magic number, type code, dimensions and exact length."""
    dtype, shape, header = _header(data, name)
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "has trailing bytes"
        raise DataError(f"{name}: {what}: header {shape} needs {expected} bytes of data, found {actual}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not (told apart by the gzip magic bytes). Streamed:
    the header's claims are checked against the limits and the file's size before the values
    are read, so a huge or lying file costs no more memory than its header allows."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            compressed = f.read(2) == _GZIP_MAGIC
            f.seek(0)
            raw = _gunzip(f, path) if compressed else _read_plain(f, path)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    return parse_idx(raw, str(path))


def _read_start(f: IO[bytes], path: Path) -> tuple[bytes, int]:
    """The header's bytes, and how many bytes of values it declares."""
    start = f.read(4)
    if len(start) == 4:
        start += f.read(4 * start[3])
    dtype, shape, _ = _header(start, str(path))
    return start, math.prod(shape) * dtype.itemsize


def _read_plain(f: IO[bytes], path: Path) -> bytes:
    start, declared = _read_start(f, path)
    actual = os.fstat(f.fileno()).st_size - len(start)
    if actual != declared:
        what = "truncated" if actual < declared else "has trailing bytes"
        raise DataError(
            f"{path}: {what}: its header needs {declared:,} bytes of data, the file has {actual:,}"
        )
    return start + f.read(declared)


def _gunzip(f: IO[bytes], path: Path) -> bytes:
    """Decompress, but never more than the header declares (plus one byte, to notice extra
    data): memory stays bounded by the file's own claims, themselves capped by MAX_BYTES."""
    try:
        with gzip.GzipFile(fileobj=f) as z:
            start, declared = _read_start(z, path)
            return start + z.read(declared + 1)
    except (EOFError, zlib.error, struct.error, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: damaged gzip data ({e}); delete it and download it again") from None


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
