"""Confidences that are probabilities (temperature scaling, calibration error), and the
open-set training data (style variants, "not a digit") a reader model learns from."""

import numpy as np
import pytest

from conftest import toy_dataset
from handwriting import training
from handwriting.calibration import (
    calibration_error,
    expected_calibration_error,
    fit_temperature,
    nll,
    reliability,
    softmax_t,
)
from handwriting.data import Dataset, openset, write_idx
from handwriting.imaging.normalize import looks_like_a_one
from handwriting.model import Model
from handwriting.presets import PRESETS


def _sampled(true_t: float, n: int = 20_000, k: int = 10, seed: int = 0):
    """Logits z and labels drawn from softmax(z / true_t): a model whose right temperature is known."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 4, (n, k))
    p = softmax_t(z, true_t)
    y = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return z, y


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_fitted_temperature_recovers_the_true_one(true_t):
    z, y = _sampled(true_t)
    t = fit_temperature(z, y)
    assert abs(t - true_t) / true_t < 0.08
    assert nll(z, y, t) <= min(nll(z, y, 0.9 * t), nll(z, y, 1.1 * t))
    # and calibrated, the error is small where the raw one is not
    assert expected_calibration_error(softmax_t(z, t), y) < 0.02
    if true_t != 1.0:
        assert expected_calibration_error(softmax_t(z, 1.0), y) > 0.03


def test_temperature_never_changes_the_answer():
    z, _ = _sampled(1.0, n=500)
    assert np.array_equal(softmax_t(z, 0.3).argmax(axis=1), softmax_t(z, 7.0).argmax(axis=1))
    np.testing.assert_allclose(softmax_t(z, 2.0).sum(axis=1), 1.0, rtol=1e-12)


def test_calibration_error_by_hand():
    # two bins used: 0.95 (right, right, wrong, right) and 0.55 (right, wrong)
    confidence = np.array([0.95, 0.95, 0.95, 0.95, 0.55, 0.55])
    correct = np.array([1, 1, 0, 1, 1, 0])
    expected = (4 / 6) * abs(0.75 - 0.95) + (2 / 6) * abs(0.5 - 0.55)
    assert calibration_error(confidence, correct) == pytest.approx(expected)
    r = reliability(confidence, correct)
    assert r["count"].sum() == 6 and np.nansum(r["count"] > 0) == 2
    perfect = np.repeat([0.2, 0.8], 1000)
    right = np.concatenate([np.arange(1000) < 200, np.arange(1000) < 800])
    assert calibration_error(perfect, right) == pytest.approx(0.0, abs=1e-12)


def test_training_fits_the_temperature_and_the_model_applies_it(tmp_path):
    model = training.train(toy_dataset(), "mlp", epochs=3)
    t = model.temperature
    assert model.meta["calibration"]["temperature"] == t and 0.05 <= t <= 20
    assert 0.0 <= model.meta["metrics"]["test_ece"] <= 1.0
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = Model.load(path)
    x = toy_dataset().x_test
    logits = loaded.network.decision_function(x)
    np.testing.assert_allclose(loaded.predict_proba(x), softmax_t(logits, t), rtol=1e-5, atol=1e-6)


def test_a_model_file_with_an_absurd_temperature_is_refused(tmp_path):
    model = training.train(toy_dataset(), "seed", epochs=1)
    model.meta["calibration"] = {"temperature": -3}
    path = tmp_path / "bad.npz"
    model.save(path)
    with pytest.raises(Exception, match="temperature"):
        Model.load(path)


def _fake_fashion(folder, n=120):
    """Fashion-MNIST's training file's stand-in: filled blobs, written as IDX."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:28, 0:28]
    items = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        cy, cx, ry, rx = rng.uniform(10, 18), rng.uniform(10, 18), rng.uniform(5, 11), rng.uniform(4, 11)
        items[i] = 200 * (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1)
    write_idx(folder / openset.FASHION_TRAIN, items)


def _digit_dataset():
    """28x28 stand-ins for MNIST: the project's own drawn digits."""
    from handwriting.imaging import to_mnist
    from handwriting.imaging.synthetic import render

    rng = np.random.default_rng(0)
    xs, ys = [], []
    for i in range(60):
        d = i % 10
        ink = 1 - np.asarray(render(str(d), height=50, margin=0.05, rng=rng), np.float32) / 255
        ys_, xs_ = np.nonzero(ink > 0.2)
        xs.append(to_mnist(ink[ys_.min() : ys_.max() + 1, xs_.min() : xs_.max() + 1]))
        ys.append(d)
    x, y = np.stack(xs), np.array(ys)
    return Dataset("toy28", x[:40], y[:40], x[40:50], y[40:50], x[50:], y[50:], {"toy": "0" * 64})


def test_open_set_adds_styles_and_non_digits_to_train_and_validation_only(tmp_path, monkeypatch):
    _fake_fashion(tmp_path)
    monkeypatch.setattr(openset, "N_STYLES", (20, 5))
    monkeypatch.setattr(openset, "N_FASHION", (30, 10))
    monkeypatch.setattr(openset, "N_SHAPES", (15, 5))
    base = _digit_dataset()
    data = openset.with_open_set(base, seed=0, fashion_dir=str(tmp_path))
    assert data.n_classes == 11 and data.name == "toy28+open-set"
    assert np.array_equal(data.x_test, base.x_test) and np.array_equal(data.y_test, base.y_test)
    for y, n in ((data.y_train, len(base.y_train)), (data.y_val, len(base.y_val))):
        assert len(y) > n and (y == openset.NOT_A_DIGIT).sum() >= 10
        assert set(np.unique(y)) <= set(range(11))
    assert data.x_train.shape[1:] == (28, 28) and data.x_train.dtype == np.float32
    assert any(k.startswith("fashion-mnist/") for k in data.files)
    again = openset.with_open_set(base, seed=0, fashion_dir=str(tmp_path))
    assert np.array_equal(again.x_train, data.x_train) and np.array_equal(again.y_train, data.y_train)


def test_no_example_of_not_a_digit_is_written_like_a_1(tmp_path, monkeypatch):
    """A strap or seam cut out of a garment can be one thin straight stroke: labelled "not a
    digit", such pieces taught the network to reject thin 1s on pages."""
    items = np.zeros((40, 28, 28), np.uint8)
    items[:20, 4:24, 13:15] = 220  # straps: a 1 as far as anyone can tell
    yy, xx = np.mgrid[0:28, 0:28]
    items[20:] = 200 * (((yy - 14) / 9) ** 2 + ((xx - 14) / 7) ** 2 < 1)  # blobs
    write_idx(tmp_path / openset.FASHION_TRAIN, items)
    monkeypatch.setattr(openset, "N_STYLES", (10, 5))
    monkeypatch.setattr(openset, "N_FASHION", (36, 4))
    monkeypatch.setattr(openset, "N_SHAPES", (1, 1))
    base = _digit_dataset()
    data = openset.with_open_set(base, seed=0, fashion_dir=str(tmp_path))
    negatives = data.x_train[data.y_train == openset.NOT_A_DIGIT]
    assert 16 <= len(negatives) <= 20  # the blobs (and a shape), not the straps
    assert not any(looks_like_a_one(x) for x in negatives)
    ones = [looks_like_a_one(x) for x, y in zip(base.x_train, base.y_train, strict=True) if y == 1]
    others = [looks_like_a_one(x) for x, y in zip(base.x_train, base.y_train, strict=True) if y != 1]
    assert all(ones) and not any(others)


def test_open_set_without_fashion_mnist_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(openset, "FASHION_DIRS", ())
    monkeypatch.delenv(openset.FASHION_ENV, raising=False)
    with pytest.raises(Exception, match="dataset-fashion-mnist"):
        openset.with_open_set(_digit_dataset(), fashion_dir=str(tmp_path))


def test_the_reader_preset_is_cnn_with_an_eleventh_class():
    reader = PRESETS["reader"]
    assert reader.open_set and not PRESETS["cnn"].open_set
    net = reader.build((28, 28), np.random.default_rng(0), classes=11)
    assert net.forward(np.zeros((2, 28, 28), np.float32)).shape == (2, 11)
