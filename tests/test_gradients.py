"""Every layer and every cost is checked against central finite differences in float64:
dC/dtheta ~ (C(theta + h) - C(theta - h)) / 2h. A wrong gradient anywhere fails here."""

import numpy as np
import pytest

from handwriting.nn import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    LeakyReLU,
    MaxPool2D,
    Network,
    QuadraticCost,
    ReLU,
    Reshape,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
)

H = 1e-6
TOL = 1e-6


def numeric_grad(f, x: np.ndarray) -> np.ndarray:
    """Central differences of the scalar f() with respect to every element of x (in place)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + H
        plus = f()
        x[i] = old - H
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * H)
    return grad


def assert_close(analytic, numeric):
    err = np.abs(analytic - numeric).max() / max(1.0, np.abs(numeric).max())
    assert err < TOL, f"relative gradient error {err:.2e}"


def away_from_zero(rng, shape):
    """Inputs kept 0.1 away from 0 so ReLU's kink is never inside a finite difference."""
    x = rng.standard_normal(shape)
    return x + 0.1 * np.sign(x)


LAYERS = {  # name: (make the layer, input shape)
    "dense-gaussian": (lambda: Dense(5, 4, "gaussian"), (3, 5)),
    "dense-xavier": (lambda: Dense(5, 4, "xavier"), (3, 5)),
    "dense-he": (lambda: Dense(5, 4, "he"), (3, 5)),
    "sigmoid": (Sigmoid, (3, 5)),
    "tanh": (Tanh, (3, 5)),
    "relu": (ReLU, (3, 5)),
    "leaky-relu": (lambda: LeakyReLU(0.1), (3, 5)),
    "dropout": (lambda: Dropout(0.4), (3, 5)),
    "flatten": (Flatten, (3, 2, 3)),
    "reshape": (lambda: Reshape((1, 2, 3)), (3, 6)),
    "conv-same": (lambda: Conv2D(2, 3, 3, stride=1, padding=1), (2, 2, 5, 5)),
    "conv-strided": (lambda: Conv2D(2, 3, 3, stride=2), (2, 2, 7, 6)),
    "conv-5x5-xavier": (lambda: Conv2D(1, 2, 5, padding=2, init="xavier"), (2, 1, 6, 6)),
    "maxpool": (lambda: MaxPool2D(2), (2, 3, 5, 4)),
    "avgpool": (lambda: AvgPool2D(2), (2, 3, 4, 5)),
    "global-avgpool": (GlobalAvgPool2D, (2, 3, 4, 4)),
    "batchnorm-conv": (lambda: BatchNorm(3), (4, 3, 3, 3)),
    "batchnorm-dense": (lambda: BatchNorm(5), (6, 5)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer_gradients(name):
    """For C = sum(layer(x) * R): dC/d(output) = R, so backward(R) must give dC/dx and dC/dw."""
    rng = np.random.default_rng(1)
    make, shape = LAYERS[name]
    layer = make()
    x = away_from_zero(rng, shape)
    layer.initialize(np.random.default_rng(2), np.float64)
    for k in layer.params:  # move gamma/beta and biases off their special starting values
        layer.params[k] = layer.params[k] + 0.1 * rng.standard_normal(layer.params[k].shape)

    def cost():
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(7)  # the same mask for every evaluation
        return float((layer.forward(x, training=True) * R).sum())

    out_shape = layer.forward(x, training=True).shape
    R = rng.standard_normal(out_shape)
    cost()
    dx = layer.backward(R)
    assert dx.shape == x.shape
    assert_close(dx, numeric_grad(cost, x))
    for k, w in layer.params.items():
        assert layer.grads[k].shape == w.shape
        assert_close(layer.grads[k], numeric_grad(cost, w))


def test_dropout_is_identity_when_evaluating():
    layer = Dropout(0.5)
    layer.initialize(np.random.default_rng(0), np.float64)
    x = np.ones((4, 6))
    assert np.array_equal(layer.forward(x, training=False), x)
    kept = layer.forward(x, training=True)
    assert set(np.unique(kept)) <= {0.0, 2.0}  # dropped, or kept and scaled by 1/(1-p)


@pytest.mark.parametrize(
    "cost_cls", [QuadraticCost, SoftmaxCrossEntropy, lambda: SoftmaxCrossEntropy(label_smoothing=0.1)]
)
def test_cost_gradients(cost_cls):
    rng = np.random.default_rng(3)
    output = rng.random((4, 10)) if cost_cls is QuadraticCost else rng.standard_normal((4, 10))
    y = np.array([0, 3, 9, 3])
    cost = cost_cls()
    cost.forward(output, y)
    delta = cost.backward()
    assert_close(delta, numeric_grad(lambda: cost.forward(output, y), output))


def test_convolutional_network_gradients():
    """Conv -> BatchNorm -> ReLU -> MaxPool -> Conv -> GlobalAvgPool -> Dense, end to end."""
    rng = np.random.default_rng(6)
    layers = [
        Conv2D(1, 3, 3, padding=1),
        BatchNorm(3),
        ReLU(),
        MaxPool2D(2),
        Conv2D(3, 4, 3, padding=1),
        Tanh(),
        GlobalAvgPool2D(),
        Dense(4, 10),
    ]
    net = Network(layers, SoftmaxCrossEntropy(0.05), np.random.default_rng(7), dtype=np.float64)
    x = rng.random((3, 1, 6, 6))
    y = np.array([4, 0, 9])

    def cost():
        return net.cost.forward(net.forward(x, training=True), y)

    cost()
    net.backward(net.cost.backward())
    for w, g, _ in net.parameters():
        assert_close(g, numeric_grad(cost, w))


@pytest.mark.parametrize(
    "hidden, cost_cls",
    [
        ([Sigmoid()], QuadraticCost),
        ([Tanh()], SoftmaxCrossEntropy),
        ([ReLU(), Dropout(0.3)], SoftmaxCrossEntropy),
        ([LeakyReLU(0.05)], SoftmaxCrossEntropy),
        ([BatchNorm(5), ReLU()], SoftmaxCrossEntropy),
    ],
)
def test_whole_network_gradients(hidden, cost_cls):
    """Network.backward wires the layers together correctly: every parameter of a 3-layer
    net matches finite differences of the cost of the whole forward pass."""
    rng = np.random.default_rng(4)
    layers = [Flatten(), Dense(6, 5, "xavier"), *hidden, Dense(5, 4, "xavier"), Tanh(), Dense(4, 10)]
    if cost_cls is QuadraticCost:
        layers.append(Sigmoid())
    net = Network(layers, cost_cls(), np.random.default_rng(5), dtype=np.float64)
    x = rng.random((3, 2, 3))
    y = np.array([1, 7, 2])

    def cost():
        for layer in net.layers:
            if isinstance(layer, Dropout):
                layer.rng = np.random.default_rng(9)
        return net.cost.forward(net.forward(x, training=True), y)

    cost()
    net.backward(net.cost.backward())
    for w, g, _ in net.parameters():
        assert_close(g, numeric_grad(cost, w))
