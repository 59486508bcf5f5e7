import numpy as np
import pytest

from conftest import toy_dataset
from handwriting.data.augment import Augment, _bilinear, _smooth, shifted


def test_identity_transform_changes_nothing():
    x = np.random.default_rng(0).random((5, 12, 12)).astype(np.float32)
    none = Augment(rotate=0, scale=0, shear=0, shift=0, elastic_alpha=0)
    assert np.allclose(none(x, np.random.default_rng(1)), x, atol=1e-5)


def test_shapes_dtype_and_range_are_kept():
    x = np.random.default_rng(0).random((7, 1, 28, 28)).astype(np.float32)
    out = Augment(elastic_alpha=20)(x, np.random.default_rng(2))
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1


def test_seeded_and_varied():
    x = np.random.default_rng(0).random((4, 28, 28)).astype(np.float32)
    aug = Augment(elastic_alpha=20)
    a, b = aug(x, np.random.default_rng(3)), aug(x, np.random.default_rng(3))
    c = aug(x, np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.allclose(a, c)
    assert not np.allclose(a[0], a[1])  # each image gets its own transform


def test_shift_moves_the_image():
    x = np.zeros((1, 10, 10), np.float32)
    x[0, 4, 4] = 1
    rows, cols = np.mgrid[0:10, 0:10].astype(np.float64)
    moved = _bilinear(x, rows[None] - 2, cols[None] + 1)  # read 2 rows up, 1 column right
    assert moved[0, 6, 3] == pytest.approx(1.0)
    half = _bilinear(x, rows[None], cols[None] + 0.5)
    assert half[0, 4, 3] == pytest.approx(0.5) and half[0, 4, 4] == pytest.approx(0.5)


def test_smoothing_keeps_constants():
    assert np.allclose(_smooth(np.ones((2, 9, 7)), 3.0), 1.0)


def test_fit_uses_the_augmentation_and_stays_deterministic():
    from handwriting import training
    from handwriting.presets import PRESETS

    assert PRESETS["cnn"].augment is not None
    ds = toy_dataset()
    a = training.train(ds, "cnn", epochs=1, seed=3)
    b = training.train(ds, "cnn", epochs=1, seed=3)
    assert all(
        np.array_equal(p, q) for p, q in zip(a.network.get_params(), b.network.get_params(), strict=True)
    )
    assert a.meta["training"]["augment"]["elastic_alpha"] > 0


def test_shifted_moves_pixels_and_lets_zeros_in():
    x = np.arange(1, 13, dtype=np.float32).reshape(1, 3, 4)
    assert np.array_equal(shifted(x, 0, 0), x)
    down = shifted(x, 1, 0)
    assert np.array_equal(down[0, 0], np.zeros(4)) and np.array_equal(down[0, 1:], x[0, :2])
    left = shifted(x, 0, -1)
    assert np.array_equal(left[0, :, :3], x[0, :, 1:]) and np.array_equal(left[0, :, 3], np.zeros(3))
