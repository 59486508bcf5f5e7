"""Nothing lost on disk, nothing trusted from files (issue #12): each case measured there is
one test here. Saving checks its destination first and never loses a trained model;
checkpoints are skipped and refused aloud, pruned by epoch number and never deleted when
damaged; model files are checked field by field and costed before anything is built; IDX
files are checked before training; pictures of every mode and size are read or refused."""

import errno
import gzip
import json
import struct
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli, toy_dataset
from handwriting import checkpoint, training
from handwriting.cli import main
from handwriting.data import DataError, load_mnist, read_idx, write_idx
from handwriting.errors import HandwritingError, ModelFileError, ModelOutputError
from handwriting.model import Model
from handwriting.nn import Dense, Flatten, Network, SoftmaxCrossEntropy


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.npz"
    training.train(toy_dataset(60, 20, 20), "seed", epochs=1).save(path)
    return path


def _changed(src, dst, arrays=None, meta=None):
    """A copy of model file ``src`` at ``dst`` with its arrays and record changed."""
    with np.load(src) as data:
        a = {k: data[k] for k in data.files}
    record = json.loads(bytes(a["meta"]))
    if arrays:
        arrays(a)
    if meta:
        meta(record)
    a["meta"] = np.frombuffer(json.dumps(record).encode(), np.uint8)
    np.savez(dst, **a)
    return dst


# ----- saving ------------------------------------------------------------------------


def test_train_out_naming_a_folder_saves_inside_it(tmp_path):
    (tmp_path / "models").mkdir()
    result = run_cli(
        "train", "--preset", "seed", "--dataset", "digits", "--epochs", "1", "--out", "models", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert Model.load(tmp_path / "models" / "seed-digits.npz").meta["preset"] == "seed"


def test_an_out_that_cannot_be_written_is_refused_before_training(tmp_path):
    (tmp_path / "file").write_text("x")
    result = run_cli("train", "--dataset", "digits", "--epochs", "1", "--out", "file/sub/m.npz", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "--out file/sub/m.npz: cannot write there" in result.stderr
    assert "Epoch" not in result.stdout + result.stderr  # refused before any training


@pytest.mark.parametrize("checkpoints", [False, True])
def test_a_failed_out_names_the_safe_copy_of_the_trained_model(tmp_path, monkeypatch, capsys, checkpoints):
    """A full disk at the very end: the model is not lost, and the error says where it is."""
    monkeypatch.chdir(tmp_path)
    real = Model.save

    def full_disk(self, path):
        if str(path) == "out.npz":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(self, path)

    monkeypatch.setattr(Model, "save", full_disk)
    args = ["train", "--preset", "seed", "--dataset", "digits", "--epochs", "1", "--out", "out.npz"]
    assert main(args + (["--checkpoint-dir", "ck"] if checkpoints else [])) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "could not write out.npz (No space left on device)" in err
    safe = err.split("the trained model is safe in ")[1].split(": copy it")[0]
    assert Model.load(safe).meta["preset"] == "seed"
    assert safe == "ck/final-out.npz" if checkpoints else "/trained/out-" in safe


def test_save_preprocessed_to_a_folder_that_cannot_be_made(tmp_path, model_file):
    (tmp_path / "file").write_text("x")
    Image.new("L", (40, 40), 255).save(tmp_path / "a.png")
    result = run_cli("recognize", "a.png", "--save-preprocessed", "file/out", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "--save-preprocessed file/out: cannot create that folder" in result.stderr


# ----- checkpoints ---------------------------------------------------------------------


def _run(folder, epochs, resume=False, notes=None):
    return training.train(
        toy_dataset(60, 20, 20),
        "seed",
        epochs=epochs,
        checkpoint_dir=folder,
        resume=resume,
        notify=(notes.append if notes is not None else None),
    )


def test_resume_with_every_checkpoint_damaged_refuses_and_deletes_nothing(tmp_path):
    _run(tmp_path, 3)
    files = sorted(tmp_path.glob("checkpoint-*.npz"))
    for f in files:
        f.write_bytes(b"damaged")
    with pytest.raises(HandwritingError, match=r"none of the checkpoints .* can be read") as e:
        _run(tmp_path, 5, resume=True)
    assert all(f.name in str(e.value) for f in files)
    assert sorted(tmp_path.glob("checkpoint-*.npz")) == files  # nothing deleted


def test_a_damaged_newest_checkpoint_is_named_when_skipped_and_kept(tmp_path):
    _run(tmp_path, 3)
    newest = tmp_path / "checkpoint-0003.npz"
    newest.write_bytes(newest.read_bytes()[:100])
    notes = []
    _run(tmp_path, 3, resume=True, notes=notes)
    assert len(notes) == 1 and notes[0].startswith(f"skipped {newest}: damaged checkpoint")
    assert notes[0].endswith("kept as checkpoint-0003.npz.damaged")
    assert len((tmp_path / "checkpoint-0003.npz.damaged").read_bytes()) == 100  # for the user to look at
    assert checkpoint.latest(tmp_path).epoch == 3  # the run made its own epoch 3 again


def test_resume_with_no_checkpoint_starts_and_says_so(tmp_path):
    notes = []
    _run(tmp_path / "new", 1, resume=True, notes=notes)
    assert notes == [f"no checkpoint in {tmp_path / 'new'} yet: starting from the beginning"]


def test_a_zip_bomb_named_like_a_checkpoint_is_refused_unopened(tmp_path):
    _run(tmp_path, 1)
    bomb = tmp_path / "checkpoint-0002.npz"
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z,
        z.open("param_000.npy", "w", force_zip64=True) as f,
    ):
        block = bytes(1 << 20)
        for _ in range(1100):  # 1.1 GB of zeros, about 1 MB on disk
            f.write(block)
    start = time.perf_counter()
    found, skipped = checkpoint.scan(tmp_path)
    assert time.perf_counter() - start < 2.0
    assert found.epoch == 1 and "more than the" in skipped[0][1]


def test_pruning_goes_by_epoch_number_past_9999(tmp_path):
    for epoch in (9998, 9999, 10000, 10001):
        (tmp_path / f"checkpoint-{epoch:04d}.npz").write_bytes(b"")
    assert [e for e, _ in checkpoint.listed(tmp_path)] == [9998, 9999, 10000, 10001]
    assert sorted(p.name for p in tmp_path.iterdir())[-1] == "checkpoint-9999.npz"  # what name order said


# ----- model files ---------------------------------------------------------------------


def _cnn_meta(layers):
    def change(meta):
        meta["architecture"]["layers"] = layers
        meta["image_shape"] = [28, 28]

    return change


@pytest.mark.parametrize(
    ("name", "layers", "message"),
    [
        (
            "huge pool",
            [{"type": "Reshape", "shape": [1, 28, 28]}, {"type": "MaxPool2D", "size": 10**9}],
            "cannot take inputs",
        ),
        (
            "huge padding",
            [
                {"type": "Reshape", "shape": [1, 28, 28]},
                {"type": "Conv2D", "in_channels": 1, "out_channels": 1, "kernel_size": 1, "padding": 10**6},
                {"type": "GlobalAvgPool2D"},
            ],
            "more than the",
        ),
        (
            "300 conv layers",
            [{"type": "Reshape", "shape": [1, 28, 28]}]
            + [
                {"type": "Conv2D", "in_channels": c, "out_channels": 32, "kernel_size": 3, "padding": 1}
                for c in [1] + [32] * 299
            ],
            "operations per image",
        ),
        ("Dense from nothing", [{"type": "Dense", "n_in": 0, "n_out": 10, "init": "he"}], "n_in and n_out"),
    ],
)
def test_costly_or_impossible_architectures_are_refused_before_building(
    model_file, tmp_path, name, layers, message
):
    bad = _changed(model_file, tmp_path / "bad.npz", meta=_cnn_meta(layers))
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match=message):
        Model.load(bad)
    assert time.perf_counter() - start < 2.0


def test_the_limits_can_be_raised(model_file, tmp_path, monkeypatch):
    layers = (
        [{"type": "Reshape", "shape": [1, 28, 28]}]
        + [
            {"type": "Conv2D", "in_channels": c, "out_channels": 64, "kernel_size": 3, "padding": 1}
            for c in [1] + [64] * 7
        ]
        + [{"type": "GlobalAvgPool2D"}, {"type": "Dense", "n_in": 64, "n_out": 10, "init": "xavier"}]
    )
    bad = _changed(model_file, tmp_path / "big.npz", meta=_cnn_meta(layers))
    with pytest.raises(ModelFileError, match="HANDWRITING_MODEL_LIMIT"):
        Model.load(bad)
    monkeypatch.setenv("HANDWRITING_MODEL_LIMIT", "100")
    with pytest.raises(ModelFileError, match="parameter arrays"):  # past the limits, on to the weights
        Model.load(bad)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("training", "yesterday"),
        ("dataset", {"name": 3}),
        ("metrics", {"test_accuracy": "high"}),
        ("history", [1]),
    ],
)
def test_every_record_field_is_checked(model_file, tmp_path, field, value):
    def change(meta):
        meta[field] = value

    bad = _changed(model_file, tmp_path / "bad.npz", meta=change)
    with pytest.raises(ModelFileError, match=f"record.{field}"):
        Model.load(bad)
    result = run_cli("info", str(bad))
    assert result.returncode == 1 and "Traceback" not in result.stderr and str(bad) in result.stderr


def test_a_huge_record_is_refused_before_it_is_read(model_file, tmp_path):
    with np.load(model_file) as data:
        a = {k: data[k] for k in data.files}
    a["meta"] = np.concatenate([a["meta"], np.frombuffer(b" " * (17 << 20), np.uint8)])
    np.savez(tmp_path / "fat.npz", **a)
    with pytest.raises(ModelFileError, match=r"record is .* more than the"):
        Model.load(tmp_path / "fat.npz")


def overflowing_model(path):
    """A model file the recognizer takes (28x28 in, 10 out) whose weights, finite, overflow."""
    net = Network([Flatten(), Dense(784, 10)], SoftmaxCrossEntropy())
    net.set_params([np.full((784, 10), 3e38, np.float32), np.zeros(10, np.float32)])
    Model(net, {"image_shape": [28, 28], "classes": list(range(10))}).save(path)
    return path


def test_outputs_that_overflow_are_one_clear_error_never_nan_in_json(tmp_path):
    bad = overflowing_model(tmp_path / "overflow.npz")
    model = Model.load(bad)
    with pytest.raises(ModelOutputError, match="not finite"):
        model.predict_proba(np.ones((1, 28, 28), np.float32))
    img = tmp_path / "d.png"
    page = np.full((60, 60), 255, np.uint8)
    page[15:45, 27:33] = 0
    Image.fromarray(page).save(img)
    result = run_cli("recognize", str(img), "--model", str(bad), "--json")
    assert result.returncode == 1 and "NaN" not in result.stdout and "Traceback" not in result.stderr
    assert "not finite" in result.stderr and result.stderr.strip().count("\n") == 0
    json.loads(result.stdout)  # valid JSON


# ----- IDX files -----------------------------------------------------------------------


def _mnist(folder, train_labels=None, test_images=None):
    """A tiny MNIST-like folder (uncompressed: the official .gz files are checksummed);
    labels and test images can be replaced."""
    rng = np.random.default_rng(0)
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (30, 28, 28), dtype=np.uint8))
    write_idx(
        folder / "train-labels-idx1-ubyte",
        train_labels if train_labels is not None else np.arange(30, dtype=np.uint8) % 10,
    )
    write_idx(
        folder / "t10k-images-idx3-ubyte",
        test_images if test_images is not None else rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
    )
    n_test = 10 if test_images is None else len(test_images)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.arange(n_test, dtype=np.uint8) % 10)
    return folder


@pytest.mark.parametrize(
    ("labels", "images", "message"),
    [
        (np.full(30, -1, np.int8), None, "labels must be digits 0-9, found -1"),
        (np.full(30, np.nan, np.float32), None, "labels must be whole numbers"),
        (None, np.zeros((10, 32, 32), np.uint8), "expected 28x28 MNIST images, got 10 of (32, 32)"),
        (None, np.zeros((0, 28, 28), np.uint8), "expected 28x28 MNIST images, got 0"),
    ],
)
def test_idx_labels_and_images_are_checked_before_training(tmp_path, labels, images, message):
    _mnist(tmp_path, labels, images)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_mnist(tmp_path, val_size=10)


def test_an_uncompressed_idx_file_is_size_checked_before_it_is_read(tmp_path):
    path = tmp_path / "labels.idx"
    with open(path, "wb") as f:  # declares 3 GB; 100 MB sparse on disk
        f.write(bytes([0, 0, 8, 1]) + struct.pack(">I", 3_000_000_000))
        f.truncate(100 << 20)
    with pytest.raises(DataError, match="more than the"):
        read_idx(path)
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + struct.pack(">I", 50_000_000))
        f.truncate(8 + 40_000_000)
    with pytest.raises(
        DataError, match="truncated: its header needs 50,000,000 bytes of data, the file has 40,000,000"
    ):
        read_idx(path)


def test_gzip_and_plain_idx_read_alike(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx", a)
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress((tmp_path / "a.idx").read_bytes()))
    assert np.array_equal(read_idx(tmp_path / "a.idx"), read_idx(tmp_path / "a.idx.gz"))


# ----- pictures ------------------------------------------------------------------------


def test_a_wide_16_bit_picture_is_read_and_the_next_ones_too(tmp_path):
    wide = np.full((300, 5000), 60000, np.uint16)
    wide[100:220, 2500:2512] = 0  # a 1
    Image.fromarray(wide).save(tmp_path / "wide16.png")
    assert Image.open(tmp_path / "wide16.png").mode == "I;16"
    Image.new("L", (40, 40), 255).save(tmp_path / "blank.png")
    result = run_cli("recognize", "wide16.png", "blank.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wide16.png: 1" in result.stdout and "blank.png: no digits found" in result.stdout


def test_evaluating_a_model_that_records_no_data_set_is_one_line(tmp_path):
    bad = overflowing_model(tmp_path / "bare.npz")  # its record has no "dataset"
    result = run_cli("evaluate", str(bad))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{bad}: records no data set" in result.stderr
