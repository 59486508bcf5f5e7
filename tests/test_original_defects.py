"""The three defects of the original train.py, each pinned by a test that fails if it returns:
1. stepping *up* the gradient (w + eta dw),
2. building dC/dW from the wrong activation instead of the layer's input,
3. training on the test set."""

import numpy as np
import pytest

from conftest import toy_dataset
from handwriting import training
from handwriting.data import Dataset
from handwriting.nn import SGD, Adam, AdamW, Dense, Network, Sigmoid, SoftmaxCrossEntropy


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: SGD(0.01),
        lambda: SGD(0.01, 0.9),
        lambda: SGD(0.01, 0.9, nesterov=True),
        lambda: Adam(0.001),
        lambda: AdamW(0.001, weight_decay=0.01),
    ],
)
def test_a_step_goes_down_the_gradient(make_optimizer):
    rng = np.random.default_rng(0)
    net = Network([Dense(8, 6), Sigmoid(), Dense(6, 10)], SoftmaxCrossEntropy(), rng, dtype=np.float64)
    x, y = rng.random((16, 8)), rng.integers(0, 10, 16)
    before = net.cost.forward(net.forward(x), y)
    net.train_step(x, y, make_optimizer())
    after = net.cost.forward(net.forward(x), y)
    assert after < before


def test_plain_sgd_is_w_minus_eta_times_gradient():
    w, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    SGD(0.1).step([(w, g, True)])
    assert np.allclose(w, [1.0 - 0.05, -2.0 - 0.025])


def test_weight_gradient_uses_the_layers_input():
    """dC/dW = a_in^T delta: the sum over the batch of outer products of each example's input
    with its delta, not anything built from the layer's output."""
    rng = np.random.default_rng(1)
    layer = Dense(4, 3)
    layer.initialize(rng, np.float64)
    a_in, delta = rng.random((5, 4)), rng.random((5, 3))
    layer.forward(a_in)
    layer.backward(delta)
    expected = sum(np.outer(a_in[n], delta[n]) for n in range(5))
    assert np.allclose(layer.grads["W"], expected)


def _with_test_split(ds: Dataset, x_test: np.ndarray, y_test: np.ndarray) -> Dataset:
    return Dataset(ds.name, ds.x_train, ds.y_train, ds.x_val, ds.y_val, x_test, y_test, ds.files)


def test_training_never_reads_the_test_split():
    """Replacing the test images and labels with noise must not change a single trained weight."""
    ds = toy_dataset()
    rng = np.random.default_rng(123)
    noisy = _with_test_split(
        ds, rng.random(ds.x_test.shape, dtype=np.float32), rng.integers(0, 10, len(ds.y_test))
    )
    a = training.train(ds, "mlp", epochs=3, seed=5)
    b = training.train(noisy, "mlp", epochs=3, seed=5)
    for pa, pb in zip(a.network.get_params(), b.network.get_params(), strict=True):
        assert np.array_equal(pa, pb)
    assert a.meta["metrics"]["test_accuracy"] != b.meta["metrics"]["test_accuracy"]


def test_fit_sees_only_the_training_split(monkeypatch):
    ds = toy_dataset()
    seen = {}
    original = Network.fit

    def spy(self, X, y, **kwargs):
        seen["X"], seen["val"] = X, kwargs["validation_data"]
        return original(self, X, y, **kwargs)

    monkeypatch.setattr(Network, "fit", spy)
    training.train(ds, "seed", epochs=1)
    assert seen["X"] is ds.x_train
    assert seen["val"][0] is ds.x_val


def _reference_steps(kind, w, grads, lr=0.1, mu=0.9, wd=0.01, b1=0.9, b2=0.999, eps=1e-8):
    """The textbook formulas, written out plainly, to check the in-place implementations."""
    w, v, m, s = w.copy(), np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        g = g + wd * w
        if kind == "momentum":
            v = mu * v + g
            w = w - lr * v
        elif kind == "nesterov":
            v = mu * v + g
            w = w - lr * (g + mu * v)
        elif kind == "adamw":
            g = g - wd * w  # decoupled: the decay is not part of the gradient...
            w = w * (1 - lr * wd)  # ...it shrinks the weights directly
            m = b1 * m + (1 - b1) * g
            s = b2 * s + (1 - b2) * g * g
            w = w - lr * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t)) + eps)
        else:
            m = b1 * m + (1 - b1) * g
            s = b2 * s + (1 - b2) * g * g
            w = w - lr * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t)) + eps)
    return w


@pytest.mark.parametrize("kind", ["momentum", "nesterov", "adam", "adamw"])
def test_optimizers_follow_their_formulas(kind):
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(4)]
    if kind.startswith("adam"):
        opt = (AdamW if kind == "adamw" else Adam)(0.1, weight_decay=0.01)
    else:
        opt = SGD(0.1, 0.9, kind == "nesterov", 0.01)
    w = w0.copy()
    for g in grads:
        g_before = g.copy()
        opt.step([(w, g, True)])
        assert np.array_equal(g, g_before)  # the gradient is read, never overwritten
    assert np.allclose(w, _reference_steps(kind, w0, grads))
