"""Property-based tests (Hypothesis): the readers of files from elsewhere (IDX, pictures,
models, checkpoints), fed random and mutated bytes, end in a clear error or a correct result,
never a crash, a hang or a memory blow-up. Each mutation test runs a few hundred examples by
default and again at SLOW (10,000) examples marked slow, which CI runs. The example counts
are recorded in RELIABILITY.md."""

import contextlib
import gzip
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import toy_dataset
from handwriting import checkpoint, training
from handwriting.data import DataError, parse_idx, read_idx, write_idx
from handwriting.errors import HandwritingError, ImageError, ModelFileError
from handwriting.imaging import load_gray
from handwriting.imaging.load import pages
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


SLOW = 10_000  # examples per reader in the slow runs


def twice(fast: int, *strategies):
    """The test at ``fast`` examples, and a copy at SLOW examples marked slow."""

    def make(body):
        return fuzz(fast)(given(*strategies)(body)), pytest.mark.slow(fuzz(SLOW)(given(*strategies)(body)))

    return make


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


def _idx_mutated(edits):
    _check_idx(mutate(VALID_IDX, edits))


test_idx_mutated, test_idx_mutated_slow = twice(500, ops)(_idx_mutated)


def _idx_files_plain_and_gzip(edits, compress):
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


test_idx_files_plain_and_gzip, test_idx_files_plain_and_gzip_slow = twice(200, ops, st.booleans())(
    _idx_files_plain_and_gzip
)


def _encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    render("4", height=40).convert("RGB" if fmt == "JPEG" else "L").save(buffer, format=fmt)
    return buffer.getvalue()


IMAGES = {fmt: _encoded(fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")}


def _images_mutated(fmt, edits):
    _images_read(mutate(IMAGES[fmt], edits))


test_images_mutated, test_images_mutated_slow = twice(300, st.sampled_from(sorted(IMAGES)), ops)(
    _images_mutated
)


def _document(fmt: str) -> bytes:
    buffer = io.BytesIO()
    render("4", height=40).save(buffer, format=fmt, save_all=True, append_images=[render("7", height=40)])
    return buffer.getvalue()


DOCUMENTS = {fmt: _document(fmt) for fmt in ("PDF", "TIFF")}  # two pages each


def _documents_mutated(fmt, edits):
    data = mutate(DOCUMENTS[fmt], edits)
    for page in pages(data):
        _images_read(page)


def _images_read(source):
    try:
        gray = load_gray(source)
    except ImageError as e:
        assert str(e).startswith("<bytes>")
        return
    assert gray.ndim == 2 and gray.dtype == np.float32 and gray.min() >= 0 and gray.max() <= 1


test_documents_mutated, test_documents_mutated_slow = twice(200, st.sampled_from(sorted(DOCUMENTS)), ops)(
    _documents_mutated
)


@fuzz(100)
@given(st.binary(max_size=2000).map(lambda b: b"%PDF-" + b))
def test_pdf_random_bytes(data):
    for page in pages(data):
        with contextlib.suppress(ImageError):
            load_gray(page)


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


_TRAINED: dict[str, bytes] = {}


def _trained_files() -> dict[str, bytes]:
    """A model file and a checkpoint of a tiny trained network, made once."""
    if not _TRAINED:
        with tempfile.TemporaryDirectory() as folder:
            model = training.train(toy_dataset(60, 20, 20), "seed", epochs=1, checkpoint_dir=folder)
            model.save(Path(folder) / "m.npz")
            for name in ("m.npz", "checkpoint-0001.npz"):
                _TRAINED[name] = (Path(folder) / name).read_bytes()
    return _TRAINED


def _read_mutated(name: str, edits, read, error: type[Exception], says: str):
    """``name`` mutated, written to disk and read: what ``read`` gives, or None when it raised
    ``error`` beginning with the path and ``says``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(mutate(_trained_files()[name], edits))
        try:
            return read(path)
        except error as e:
            assert str(e).startswith(f"{path}: {says}"), e
            return None


def _model_files_mutated(edits):
    model = _read_mutated("m.npz", edits, Model.load, ModelFileError, "")
    if model is not None:
        assert model.predict_proba(np.zeros((1, 6, 6), np.float32)).shape == (1, 10)


test_model_files_mutated, test_model_files_mutated_slow = twice(300, ops)(_model_files_mutated)


def _checkpoint_files_mutated(edits):
    found = _read_mutated(
        "checkpoint-0001.npz", edits, checkpoint.load, HandwritingError, "damaged checkpoint"
    )
    if found is not None:
        assert found.epoch >= 0 and all(isinstance(p, np.ndarray) for p in found.params)


test_checkpoint_files_mutated, test_checkpoint_files_mutated_slow = twice(300, ops)(_checkpoint_files_mutated)


def test_idx_writer_round_trips_what_the_fuzzer_accepts(tmp_path):
    write_idx(tmp_path / "a.idx.gz", np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    assert read_idx(tmp_path / "a.idx.gz").tolist() == parse_idx(VALID_IDX).tolist()
