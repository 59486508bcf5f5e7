"""The reference engine (nn/reference.py, the math line by line) and the fast paths of Dense
and Conv2D compute the same numbers; finite differences prove the reference's gradients; and a
network trains with it, through the setting a learner uses."""

import numpy as np
import pytest

from conftest import run_cli
from handwriting.nn import (
    SGD,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    Network,
    ReLU,
    Reshape,
    SoftmaxCrossEntropy,
    use_engine,
)
from test_gradients import assert_close, away_from_zero, numeric_grad

LAYERS = {
    "dense": (lambda: Dense(30, 20, "he"), (16, 30)),
    "conv-same-5x5": (lambda: Conv2D(3, 8, 5, padding=2), (6, 3, 12, 12)),
    "conv-valid-3x3": (lambda: Conv2D(2, 4, 3), (5, 2, 9, 7)),
    "conv-strided": (lambda: Conv2D(2, 4, 3, stride=2, padding=1), (5, 2, 9, 8)),
    "conv-strided-no-overlap": (lambda: Conv2D(1, 3, 2, stride=3), (4, 1, 8, 8)),
}


@pytest.fixture
def engine():
    yield use_engine
    use_engine("fast")


def _run(layer, x, delta, name):
    use_engine(name)
    z = layer.forward(x, training=True)
    dx = layer.backward(delta)
    return z, dx, {k: g.copy() for k, g in layer.grads.items()}


@pytest.mark.parametrize("name", LAYERS)
def test_fast_and_reference_paths_are_equal_in_float32(name, engine):
    rng = np.random.default_rng(0)
    make, shape = LAYERS[name]
    layer = make()
    layer.initialize(np.random.default_rng(1), np.float32)
    layer.params["b"] += rng.standard_normal(layer.params["b"].shape).astype(np.float32)
    x = rng.standard_normal(shape).astype(np.float32)
    delta = rng.standard_normal(layer.forward(x).shape).astype(np.float32)
    fast, reference = _run(layer, x, delta, "fast"), _run(layer, x, delta, "reference")
    for a, b in zip(fast[:2], reference[:2], strict=True):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max())
    for k in layer.params:
        g = reference[2][k]
        np.testing.assert_allclose(fast[2][k], g, rtol=1e-5, atol=1e-5 * np.abs(g).max())


@pytest.mark.parametrize("name", LAYERS)
def test_the_reference_gradients_are_the_finite_differences(name, engine):
    engine("reference")
    rng = np.random.default_rng(2)
    make, shape = LAYERS[name]
    layer = make()
    layer.initialize(np.random.default_rng(3), np.float64)
    shape = (2, *shape[1:])  # a small batch: every input and weight is perturbed in turn
    x = away_from_zero(rng, shape)
    R = rng.standard_normal(layer.forward(x).shape)

    def cost():
        return float((layer.forward(x, training=True) * R).sum())

    cost()
    assert_close(layer.backward(R), numeric_grad(cost, x))
    for k, w in layer.params.items():
        assert_close(layer.grads[k], numeric_grad(cost, w))


def test_a_cnn_takes_the_same_steps_on_either_engine(engine):
    rng = np.random.default_rng(4)
    x = rng.random((32, 784), dtype=np.float32)
    y = rng.integers(0, 10, 32)

    def trained(name):
        engine(name)
        net = Network(
            [
                Reshape((1, 28, 28)),
                Conv2D(1, 4, 5, padding=2),
                MaxPool2D(2),
                ReLU(),
                Flatten(),
                Dense(784, 10),
            ],
            SoftmaxCrossEntropy(),
            rng=np.random.default_rng(0),
        )
        for _ in range(3):
            net.train_step(x, y, SGD(lr=0.1))
        return net.get_params()

    for a, b in zip(trained("fast"), trained("reference"), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_a_learner_trains_with_the_reference_engine_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDWRITING_ENGINE", "reference")
    out = run_cli(
        "train", "--dataset", "digits", "--preset", "cnn", "--epochs", "1", "--out", str(tmp_path / "m.npz")
    )
    assert out.returncode == 0, out.stderr
    monkeypatch.setenv("HANDWRITING_ENGINE", "refrence")
    out = run_cli("train", "--epochs", "1", "--out", str(tmp_path / "n.npz"))
    assert out.returncode != 0 and "HANDWRITING_ENGINE must be one of fast, reference" in out.stderr
    assert "Traceback" not in out.stderr


def test_an_unknown_engine_is_refused_and_the_engine_stays_as_it_was(engine):
    from handwriting.nn.reference import reference

    with pytest.raises(ValueError, match="must be one of fast, reference"):
        engine("refrence")
    assert not reference()
