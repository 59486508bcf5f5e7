"""Checks against the real MNIST files (skipped, with the reason, where they are absent)."""

import numpy as np

from handwriting.data import load_mnist

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_mnist_loads_with_published_figures(mnist_dir):
    ds = load_mnist(mnist_dir)
    y_all = np.concatenate([ds.y_train, ds.y_val])
    assert np.bincount(y_all, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(ds.y_test, minlength=10).tolist() == TEST_COUNTS
    assert (len(ds.y_train), len(ds.y_val)) == (50_000, 10_000)
    x_all = np.concatenate([ds.x_train, ds.x_val])
    assert abs(float(x_all.mean(dtype=np.float64)) * 255 - 33.318) < 0.001
    assert abs(float(ds.x_test.mean(dtype=np.float64)) * 255 - 33.791) < 0.001
