"""The engine: layers, costs, optimizers, schedules and a sequential ``Network``, in NumPy.

It depends on nothing but NumPy (through the ``backend`` seam); it never imports the data,
CLI or web code. ``use_engine("reference")`` (or ``HANDWRITING_ENGINE=reference``) computes the
heavy layers with the plain math of ``reference.py`` instead of their fast paths.
"""

from .backend import set_backend, xp
from .callbacks import Callback, EarlyStopping
from .conv import AvgPool2D, Conv2D, GlobalAvgPool2D, MaxPool2D
from .costs import COSTS, Cost, QuadraticCost, SoftmaxCrossEntropy
from .layers import LAYERS, Dense, Dropout, Flatten, Layer, LeakyReLU, ReLU, Reshape, Sigmoid, Tanh
from .network import DivergenceError, Network, forward_cost
from .norm import BatchNorm
from .optim import SGD, Adam, AdamW, Optimizer
from .reference import use_engine
from .schedules import Constant, Cosine, OneCycle, Schedule, Step

__all__ = [
    "Adam",
    "AdamW",
    "AvgPool2D",
    "BatchNorm",
    "Callback",
    "Constant",
    "Conv2D",
    "Cosine",
    "Dense",
    "DivergenceError",
    "Dropout",
    "EarlyStopping",
    "Flatten",
    "GlobalAvgPool2D",
    "LAYERS",
    "COSTS",
    "Layer",
    "LeakyReLU",
    "Cost",
    "MaxPool2D",
    "Network",
    "OneCycle",
    "Optimizer",
    "QuadraticCost",
    "ReLU",
    "Reshape",
    "SGD",
    "Schedule",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Step",
    "Tanh",
    "forward_cost",
    "set_backend",
    "use_engine",
    "xp",
]
