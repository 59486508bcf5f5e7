"""Named recipes: an architecture plus the training settings chosen for it on the
validation split (see BENCHMARKS.md for how each was measured)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .nn import (
    SGD,
    Adam,
    Constant,
    Cosine,
    Dense,
    Flatten,
    Layer,
    Network,
    Optimizer,
    QuadraticCost,
    ReLU,
    Schedule,
    Sigmoid,
    SoftmaxCrossEntropy,
)


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    layers: Callable[[int], list[Layer]]  # n_inputs -> layers
    loss: Callable[[], object]
    optimizer: str  # "sgd", "momentum", "nesterov" or "adam"
    lr: float
    epochs: int
    batch_size: int
    schedule: str = "constant"
    weight_decay: float = 0.0
    patience: int | None = None  # early stopping on validation accuracy

    def build(self, n_inputs: int, rng: np.random.Generator) -> Network:
        return Network(self.layers(n_inputs), self.loss(), rng)  # type: ignore[arg-type]

    def make_optimizer(self, lr: float) -> Optimizer:
        if self.optimizer == "adam":
            return Adam(lr, weight_decay=self.weight_decay)
        momentum = 0.0 if self.optimizer == "sgd" else 0.9
        return SGD(lr, momentum, self.optimizer == "nesterov", self.weight_decay)

    def make_schedule(self, lr: float, epochs: int) -> Schedule:
        return Cosine(lr, epochs) if self.schedule == "cosine" else Constant(lr)


def _seed_layers(n: int) -> list[Layer]:
    return [
        Flatten(),
        Dense(n, 16, "gaussian"),
        Sigmoid(),
        Dense(16, 16, "gaussian"),
        Sigmoid(),
        Dense(16, 10, "gaussian"),
        Sigmoid(),
    ]


def _mlp_layers(n: int) -> list[Layer]:
    return [Flatten(), Dense(n, 800, "he"), ReLU(), Dense(800, 10, "he")]


PRESETS: dict[str, Preset] = {
    "seed": Preset(
        "seed",
        "the original train.py network, made correct: 784-16-16-10 sigmoid (on MNIST), "
        "quadratic cost, plain SGD",
        _seed_layers,
        QuadraticCost,
        "sgd",
        lr=3.0,
        epochs=10,
        batch_size=10,
    ),
    "mlp": Preset(
        "mlp",
        "one hidden layer of 800 ReLU units (784-800-10 on MNIST), softmax cross-entropy, "
        "Nesterov momentum, cosine learning rate",
        _mlp_layers,
        SoftmaxCrossEntropy,
        "nesterov",
        lr=0.2,
        epochs=12,
        batch_size=128,
        schedule="cosine",
        weight_decay=1e-4,
        patience=4,
    ),
}
