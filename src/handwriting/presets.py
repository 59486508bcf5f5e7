"""Named recipes: an architecture plus the training settings chosen for it on the
validation split (see BENCHMARKS.md for how each was measured)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .data.augment import Augment
from .nn import (
    SGD,
    Adam,
    AdamW,
    BatchNorm,
    Constant,
    Conv2D,
    Cosine,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPool2D,
    Network,
    OneCycle,
    Optimizer,
    QuadraticCost,
    ReLU,
    Reshape,
    Schedule,
    Sigmoid,
    SoftmaxCrossEntropy,
)


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    layers: Callable[[tuple[int, ...], int], list[Layer]]  # image shape (H, W), classes -> layers
    cost: Callable[[], object]
    optimizer: str  # "sgd", "momentum", "nesterov", "adam" or "adamw"
    lr: float
    epochs: int
    batch_size: int
    schedule: str = "constant"
    weight_decay: float = 0.0
    patience: int | None = None  # early stopping on validation accuracy
    augment: Augment | None = None  # random distortions of each training batch
    open_set: bool = False  # add style variants and "not a digit" examples (data.openset)

    def describe(self, image_shape: tuple[int, ...]) -> str:
        """The description, with the network's real input size for images of ``image_shape``."""
        return self.description.replace("{inputs}", str(math.prod(image_shape)))

    def build(self, image_shape: tuple[int, ...], rng: np.random.Generator, classes: int = 10) -> Network:
        return Network(self.layers(tuple(image_shape), classes), self.cost(), rng)  # type: ignore[arg-type]

    def make_optimizer(self, lr: float) -> Optimizer:
        if self.optimizer in ("adam", "adamw"):
            return (AdamW if self.optimizer == "adamw" else Adam)(lr, weight_decay=self.weight_decay)
        momentum = 0.0 if self.optimizer == "sgd" else 0.9
        return SGD(lr, momentum, self.optimizer == "nesterov", self.weight_decay)

    def make_schedule(self, lr: float, epochs: int) -> Schedule:
        if self.schedule == "onecycle":
            return OneCycle(lr, epochs)
        return Cosine(lr, epochs) if self.schedule == "cosine" else Constant(lr)


def _seed_layers(shape: tuple[int, ...], classes: int) -> list[Layer]:
    n = int(np.prod(shape))
    return [
        Flatten(),
        Dense(n, 16, "gaussian"),
        Sigmoid(),
        Dense(16, 16, "gaussian"),
        Sigmoid(),
        Dense(16, classes, "gaussian"),
        Sigmoid(),
    ]


def _mlp_layers(shape: tuple[int, ...], classes: int) -> list[Layer]:
    n = int(np.prod(shape))
    return [Flatten(), Dense(n, 800, "he"), ReLU(), Dense(800, classes, "he")]


def _cnn_layers(shape: tuple[int, ...], classes: int) -> list[Layer]:
    """Two 5x5 convolutions (32 and 64 channels), each max-pooled then batch-normalized
    (pooling first: the same result for a positive scale, on a quarter of the values), then
    256 hidden units with dropout."""
    h, w = shape
    return [
        Reshape((1, h, w)),
        Conv2D(1, 32, 5, padding=2),
        MaxPool2D(2),
        BatchNorm(32),
        ReLU(),
        Conv2D(32, 64, 5, padding=2),
        MaxPool2D(2),
        BatchNorm(64),
        ReLU(),
        Flatten(),
        Dense(64 * (h // 4) * (w // 4), 256, "he"),
        BatchNorm(256),
        ReLU(),
        Dropout(0.3),
        Dense(256, classes, "he"),
    ]


def _cnn3_layers(shape: tuple[int, ...], classes: int) -> list[Layer]:
    """Three 3x3 convolutions (32, 64 and 128 channels), each max-pooled then batch-normalized,
    then 256 hidden units with dropout: a second recipe, for ensembles with ``cnn``."""
    h, w = shape
    blocks: list[Layer] = []
    for c_in, c_out in ((1, 32), (32, 64), (64, 128)):
        blocks += [Conv2D(c_in, c_out, 3, padding=1), MaxPool2D(2), BatchNorm(c_out), ReLU()]
        h, w = h // 2, w // 2
    return [
        Reshape((1, *shape)),
        *blocks,
        Flatten(),
        Dense(128 * h * w, 256, "he"),
        BatchNorm(256),
        ReLU(),
        Dropout(0.3),
        Dense(256, classes, "he"),
    ]


PRESETS: dict[str, Preset] = {
    "seed": Preset(
        "seed",
        "the original train.py network, made correct: {inputs}-16-16-10 sigmoid, quadratic cost, plain SGD",
        _seed_layers,
        QuadraticCost,
        "sgd",
        lr=3.0,
        epochs=10,
        batch_size=10,
    ),
    "mlp": Preset(
        "mlp",
        "one hidden layer of 800 ReLU units ({inputs}-800-10), softmax cross-entropy, "
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
    "cnn": Preset(
        "cnn",
        "two 5x5 convolutional layers with max-pooling and batch normalization, 256 hidden "
        "units, dropout; AdamW with a one-cycle schedule, label smoothing, random affine and "
        "elastic distortions of the training images",
        _cnn_layers,
        lambda: SoftmaxCrossEntropy(label_smoothing=0.1),
        "adamw",
        lr=3e-3,
        epochs=20,
        batch_size=128,
        schedule="onecycle",
        weight_decay=1e-4,
        augment=Augment(rotate=10, scale=0.1, shear=0.15, shift=2.0, elastic_alpha=16, elastic_sigma=4),
    ),
}
# The same training, another architecture: members that differ more make better ensembles.
PRESETS["cnn3"] = replace(
    PRESETS["cnn"],
    name="cnn3",
    description="three 3x3 convolutional layers (32, 64, 128 channels) with max-pooling and batch "
    "normalization, 256 hidden units, dropout; trained like cnn (a second recipe for ensembles)",
    layers=_cnn3_layers,
)
# The shipped model: cnn trained to read people's pictures, not only MNIST. Its training
# data add MNIST digits altered like other people's writing and marks that are not digits
# (an 11th class), all taken through the recognizer's own segmentation (see data.openset).
PRESETS["reader"] = replace(
    PRESETS["cnn"],
    name="reader",
    description="cnn's network and training, with an 11th class 'not a digit' and extra training "
    "examples: MNIST digits in other styles (low resolution, blocky, thick, broken, crossed 7s, "
    "1s with a base) and non-digits (Fashion-MNIST training items, drawn shapes)",
    open_set=True,
)
