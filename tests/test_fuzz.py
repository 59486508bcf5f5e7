"""Property-based tests (Hypothesis): the readers of files from elsewhere, fed random and
mutated bytes, end in a clear error or a correct result, never a crash, a hang or a memory
blow-up. The example counts are recorded in RELIABILITY.md."""

import contextlib
import gzip
import io
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import toy_dataset
from handwriting import training
from handwriting.data import DataError, parse_idx, read_idx, write_idx
from handwriting.errors import ImageError, ModelFileError
from handwriting.imaging import load_gray
from handwriting.imaging.synthetic import render
from handwriting.model import Model


def fuzz(examples: int) -> settings:
    """Deterministic (the same examples on every run, so CI never flickers), no deadline
    flakiness on a busy machine, and the example count that RELIABILITY.md reports."""
    return settings(
        max_examples=examples,
        deadline=5000,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


VALID_IDX = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]) + bytes(range(24))


def mutate(data: bytes, draw_ops) -> bytes:
    """Apply drawn edits: flip a byte, cut the tail, insert bytes, or overwrite a slice."""
    b = bytearray(data)
    for kind, pos, value in draw_ops:
        if not b:
            break
        i = pos % len(b)
        if kind == 0:
            b[i] ^= value or 1
        elif kind == 1:
            del b[i:]
        elif kind == 2:
            b[i:i] = bytes([value]) * (value % 7 + 1)
        else:
            b[i : i + 4] = value.to_bytes(1, "big") * 4
    return bytes(b)


ops = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 1 << 30), st.integers(0, 255)), min_size=1, max_size=6
)


def _check_idx(data: bytes):
    try:
        array = parse_idx(data, "fuzz")
    except DataError as e:
        assert "fuzz" in str(e)
        return
    assert array.nbytes <= len(data)  # a result is made of the bytes that are there


@fuzz(500)
@given(st.binary(max_size=300))
def test_idx_random_bytes(data):
    _check_idx(data)


@fuzz(500)
@given(ops)
def test_idx_mutated(edits):
    _check_idx(mutate(VALID_IDX, edits))


@fuzz(200)
@given(ops, st.booleans())
def test_idx_files_plain_and_gzip(edits, compress):
    data = mutate(VALID_IDX, edits)
    raw = gzip.compress(data) if compress else data
    if compress and edits[0][0] == 1:  # also damage the compressed stream itself
        raw = raw[: max(2, len(raw) * (edits[0][1] % 100) // 100)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.idx"
        path.write_bytes(raw)
        try:
            array = read_idx(path)
        except DataError as e:
            assert str(path) in str(e)
            return
        assert array.nbytes <= len(data)


def _encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    render("4", height=40).convert("RGB" if fmt == "JPEG" else "L").save(buffer, format=fmt)
    return buffer.getvalue()


IMAGES = {fmt: _encoded(fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")}


@fuzz(300)
@given(st.sampled_from(sorted(IMAGES)), ops)
def test_images_mutated(fmt, edits):
    data = mutate(IMAGES[fmt], edits)
    try:
        gray = load_gray(data)
    except ImageError as e:
        assert str(e).startswith("<bytes>:")
        return
    assert gray.ndim == 2 and gray.dtype == np.float32 and gray.min() >= 0 and gray.max() <= 1


@fuzz(100)
@given(st.binary(max_size=2000))
def test_images_random_bytes(data):
    with contextlib.suppress(ImageError):
        load_gray(data)


def test_image_that_declares_a_huge_size_is_not_decoded():
    buffer = io.BytesIO()
    Image.new("L", (30000, 30000)).save(buffer, format="PNG")
    try:
        load_gray(buffer.getvalue())
    except ImageError as e:
        assert "pixels" in str(e)
    else:
        raise AssertionError("a 900-megapixel image was decoded")


_MODEL = io.BytesIO()


def _model_bytes() -> bytes:
    if not _MODEL.getvalue():
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "m.npz"
            training.train(toy_dataset(60, 20, 20), "seed", epochs=1).save(path)
            _MODEL.write(path.read_bytes())
    return _MODEL.getvalue()


@fuzz(300)
@given(ops)
def test_model_files_mutated(edits):
    data = mutate(_model_bytes(), edits)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.npz"
        path.write_bytes(data)
        try:
            model = Model.load(path)
        except ModelFileError as e:
            assert str(path) in str(e)
            return
        assert model.predict_proba(np.zeros((1, 6, 6), np.float32)).shape == (1, 10)


def test_idx_writer_round_trips_what_the_fuzzer_accepts(tmp_path):
    write_idx(tmp_path / "a.idx.gz", np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    assert read_idx(tmp_path / "a.idx.gz").tolist() == parse_idx(VALID_IDX).tolist()
