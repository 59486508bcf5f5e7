"""The engine: layers, costs, optimizers, schedules and a sequential ``Network``, in NumPy.

It depends on nothing but NumPy (through the ``backend`` seam); it never imports the data,
CLI or web code.
"""

from .backend import set_backend, xp
from .callbacks import Callback, EarlyStopping
from .layers import LAYERS, Dense, Dropout, Flatten, Layer, LeakyReLU, ReLU, Sigmoid, Tanh
from .losses import LOSSES, Loss, QuadraticCost, SoftmaxCrossEntropy
from .network import Network
from .optim import OPTIMIZERS, SGD, Adam, Optimizer
from .schedules import SCHEDULES, Constant, Cosine, Schedule, Step

__all__ = [
    "LAYERS",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "Adam",
    "Callback",
    "Constant",
    "Cosine",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "Flatten",
    "Layer",
    "LeakyReLU",
    "Loss",
    "Network",
    "Optimizer",
    "QuadraticCost",
    "ReLU",
    "SGD",
    "Schedule",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Step",
    "Tanh",
    "set_backend",
    "xp",
]
