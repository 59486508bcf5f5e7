import gzip

import numpy as np
import pytest

from handwriting.data import DataError, parse_idx, read_idx, write_idx


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype).newbyteorder("=")
    assert np.array_equal(back, array)


def test_writes_the_official_layout(tmp_path):
    write_idx(tmp_path / "l.idx", np.array([7, 2, 1], np.uint8))
    assert (tmp_path / "l.idx").read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x00", "too short"),
        (b"\x00\x01\x08\x01\x00\x00\x00\x01\x05", "bad magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "type code"),
        (b"\x00\x00\x08\x00", "no dimensions"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x01", "truncated IDX header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x06", "trailing bytes"),
    ],
)
def test_bad_files_name_the_file(tmp_path, data, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(data)
    with pytest.raises(DataError, match=message) as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_damaged_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x05")[:-6])
    with pytest.raises(DataError, match="damaged gzip"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path / "nope.idx")


def test_huge_declared_size_is_refused_without_allocating():
    header = b"\x00\x00\x08\x03" + b"\xff\xff\xff\xff" * 3
    with pytest.raises(DataError, match="more than the"):
        parse_idx(header + b"\x00" * 10)
    header = b"\x00\x00\x08\x02" + b"\x00\x00\x10\x00" * 2  # 16 MB declared, 10 bytes there
    with pytest.raises(DataError, match="truncated"):
        parse_idx(header + b"\x00" * 10)


def test_gzip_bomb_is_read_no_further_than_the_header_declares(tmp_path):
    """2 declared bytes followed by 100 MB of zeros in 100 kB of gzip: refused after reading 3."""
    body = b"\x00\x00\x08\x01\x00\x00\x00\x02" + bytes(100_000_000)
    path = tmp_path / "bomb.idx.gz"
    path.write_bytes(gzip.compress(body, compresslevel=9))
    assert path.stat().st_size < 200_000
    with pytest.raises(DataError, match="trailing bytes"):
        read_idx(path)
