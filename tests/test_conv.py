"""Convolution and pooling against their definitions, and the engine's splitting of a batch
into chunks and threads: however the work is split, the numbers must not change."""

import numpy as np
import pytest

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
    conv,
    parallel,
)
from test_gradients import assert_close, numeric_grad

CONFIGS = {  # name: (in channels, out channels, kernel, stride, padding, input height and width)
    "valid": (3, 4, 3, 1, 0, (7, 6)),
    "same-5x5": (2, 3, 5, 1, 2, (6, 6)),
    "strided": (2, 3, 3, 2, 1, (7, 8)),
    "wide-padding": (1, 2, 2, 1, 2, (4, 5)),
}


def direct_conv(x, W, b, s, p):
    """z[n, f, y, x] = b[f] + sum_{c, i, j} W[f, c, i, j] x_pad[n, c, s y + i, s x + j], term by term."""
    n, _, h, w = x.shape
    f, _, k, _ = W.shape
    xp_ = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    z = np.empty((n, f, oh, ow))
    for y in range(oh):
        for x_ in range(ow):
            window = xp_[:, :, s * y : s * y + k, s * x_ : s * x_ + k]
            z[:, :, y, x_] = np.einsum("ncij,fcij->nf", window, W) + b
    return z


@pytest.fixture(params=["one chunk", "one image per chunk"])
def chunking(request, monkeypatch):
    if request.param == "one image per chunk":
        monkeypatch.setattr(conv, "CHUNK_BYTES", 1)  # many chunks, shared between threads


@pytest.mark.parametrize("name", CONFIGS)
def test_conv_forward_is_the_definition(name, chunking):
    c, f, k, s, p, hw = CONFIGS[name]
    rng = np.random.default_rng(0)
    layer = Conv2D(c, f, k, stride=s, padding=p)
    layer.initialize(rng, np.float64)
    layer.params["b"] = rng.standard_normal(f)
    x = rng.standard_normal((5, c, *hw))
    expected = direct_conv(x, layer.params["W"], layer.params["b"], s, p)
    assert np.allclose(layer.forward(x), expected, atol=1e-12)


@pytest.mark.parametrize("name", CONFIGS)
def test_conv_gradients_when_split_into_chunks(name, monkeypatch):
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)
    c, f, k, s, p, hw = CONFIGS[name]
    rng = np.random.default_rng(1)
    layer = Conv2D(c, f, k, stride=s, padding=p)
    layer.initialize(rng, np.float64)
    x = rng.standard_normal((3, c, *hw))
    R = rng.standard_normal(layer.forward(x).shape)

    def cost():
        return float((layer.forward(x, training=True) * R).sum())

    cost()
    dx = layer.backward(R)
    assert_close(dx, numeric_grad(cost, x))
    for key in ("W", "b"):
        assert_close(layer.grads[key], numeric_grad(cost, layer.params[key]))


def test_max_pool_gives_a_tied_window_gradient_to_its_first_position():
    layer = MaxPool2D(2)
    x = np.array([[[[1.0, 5.0], [5.0, 5.0]], [[2.0, 2.0], [2.0, 2.0]], [[0.0, 1.0], [3.0, 3.0]]]])
    assert layer.forward(x, training=True).ravel().tolist() == [5.0, 2.0, 3.0]
    dx = layer.backward(np.array([[[[10.0]], [[20.0]], [[30.0]]]]))
    assert dx.tolist() == [[[[0, 10], [0, 0]], [[20, 0], [0, 0]], [[0, 0], [30, 0]]]]


def small_cnn(seed: int) -> Network:
    layers = [
        Reshape((1, 12, 12)),
        Conv2D(1, 4, 3, padding=1),
        ReLU(),
        MaxPool2D(2),
        Conv2D(4, 6, 3),
        ReLU(),
        Flatten(),
        Dense(6 * 4 * 4, 10, "he"),
    ]
    return Network(layers, SoftmaxCrossEntropy(), np.random.default_rng(seed))


def test_training_does_not_depend_on_the_number_of_cores(monkeypatch):
    """Sums over chunks are added in a fixed order, so one core and two give the same bits."""
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)
    monkeypatch.setattr(parallel, "MIN_SIZE", 0)  # split even these small arrays
    rng = np.random.default_rng(5)
    X, y = rng.random((40, 144), dtype=np.float32), rng.integers(0, 10, 40)
    params = []
    for workers in (1, 2):
        monkeypatch.setattr(parallel, "_cores", workers)
        net = small_cnn(0)
        net.fit(X, y, optimizer=SGD(0.1, momentum=0.9), epochs=2, batch_size=16)
        params.append(net.get_params())
    for a, b in zip(*params, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("name", ["cnn", "cnn3"])
@pytest.mark.parametrize("shape", [(28, 28), (8, 8)])
def test_convolutional_presets_fit_both_data_sets(name, shape):
    """MNIST's 28x28 images and the built-in digits' 8x8: one training step each."""
    from handwriting.presets import PRESETS

    preset = PRESETS[name]
    net = preset.build(shape, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    X, y = rng.random((4, *shape), dtype=np.float32), np.arange(4)
    history = net.fit(X, y, optimizer=preset.make_optimizer(preset.lr), epochs=1, batch_size=4)
    assert np.isfinite(history["cost"][0]) and net.predict_proba(X).shape == (4, 10)
