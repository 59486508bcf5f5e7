import json
import zipfile

import numpy as np
import pytest

from conftest import toy_dataset
from handwriting import training
from handwriting.errors import ModelFileError
from handwriting.model import Model


@pytest.fixture(scope="module")
def trained():
    return training.train(toy_dataset(), "mlp", epochs=2, seed=1)


def test_round_trip_gives_identical_predictions(trained, tmp_path):
    path = tmp_path / "m.npz"
    trained.save(path)
    loaded = Model.load(path)
    x = toy_dataset().x_test
    assert np.array_equal(loaded.predict_proba(x), trained.predict_proba(x))
    assert loaded.meta["preset"] == "mlp"
    assert loaded.meta["dataset"]["files"] == {"toy": "0" * 64}
    assert set(loaded.meta["metrics"]) >= {"val_accuracy", "test_accuracy"}
    assert loaded.meta["format_version"] == 2
    assert len(loaded.meta["history"]["val_accuracy"]) == 2


def test_a_version_1_file_which_called_the_cost_loss_still_loads(trained, tmp_path):
    trained.save(tmp_path / "m.npz")

    def as_version_1(a):
        meta = json.loads(bytes(a["meta"]))
        meta["format_version"] = 1
        meta["architecture"]["loss"] = meta["architecture"].pop("cost")
        meta["metrics"] = {k.replace("cost", "loss"): v for k, v in meta["metrics"].items()}
        meta["history"] = {k.replace("cost", "loss"): v for k, v in meta["history"].items()}
        a["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)

    _rewrite(tmp_path / "m.npz", tmp_path / "old.npz", as_version_1)
    old = Model.load(tmp_path / "old.npz")
    x = toy_dataset().x_test
    assert np.array_equal(old.predict_proba(x), trained.predict_proba(x))
    assert old.meta["format_version"] == 2 and "val_cost" in old.meta["metrics"]
    assert old.meta["history"]["cost"] == trained.meta["history"]["cost"]


def test_wrong_image_size_is_refused(trained):
    with pytest.raises(ValueError, match="reads images of"):
        trained.predict(np.zeros((1, 28, 28)))


def _rewrite(src, dst, change):
    with np.load(src) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    np.savez(dst, **arrays)


def test_foreign_and_damaged_files_are_refused(trained, tmp_path):
    good = tmp_path / "good.npz"
    trained.save(good)

    cases = {}
    cases["not-a-zip.npz"] = b"hello"
    cases["truncated.npz"] = good.read_bytes()[:200]
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)

    np.savez(tmp_path / "foreign.npz", x=np.zeros(3))
    np.save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "pickle.npz", "w") as z:
        z.write(tmp_path / "pickled.npy", "meta.npy")

    def wrong_shape(a):
        a["param_000"] = a["param_000"].T

    def extra(a):
        a["param_999"] = np.zeros(2, np.float32)

    def missing(a):
        del a["param_001"]

    def nan(a):
        a["param_000"] = np.full_like(a["param_000"], np.nan)

    def unknown_layer(a):
        meta = json.loads(bytes(a["meta"]))
        meta["architecture"]["layers"][0]["type"] = "os.system"
        a["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)

    for change in (wrong_shape, extra, missing, nan, unknown_layer):
        _rewrite(good, tmp_path / f"{change.__name__}.npz", change)

    names = [
        *cases,
        "foreign.npz",
        "pickle.npz",
        "wrong_shape.npz",
        "extra.npz",
        "missing.npz",
        "nan.npz",
        "unknown_layer.npz",
    ]
    for name in names:
        with pytest.raises(ModelFileError) as e:
            Model.load(tmp_path / name)
        assert name in str(e.value)


def test_save_is_atomic(trained, tmp_path, monkeypatch):
    """A failure while writing leaves the previous file intact and no temporary file behind."""
    path = tmp_path / "m.npz"
    trained.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError):
        trained.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
