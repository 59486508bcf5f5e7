"""A sequential network: layers applied in order, a cost on top, trained by mini-batch
gradient descent with backpropagation.

For a batch X (one example per row) and integer labels y:
  forward:   a^0 = X,  a^l = layer_l(a^{l-1}),  C = cost(a^L, y)
  backward:  delta^L = dC/da^L,  delta^{l-1} = layer_l.backward(delta^l)   (each layer stores dC/dw)
  update:    w <- w - eta dC/dw   (or the optimizer's variant of that step *down* the gradient)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from .backend import to_numpy, xp
from .callbacks import Callback
from .costs import Cost
from .layers import Layer
from .optim import Optimizer
from .parallel import engine_threads
from .reference import reference
from .schedules import Constant, Schedule


class DivergenceError(ArithmeticError):
    """The cost became NaN or infinite: the weights are ruined, usually by too large a step."""

    def __init__(self, epoch: int, batch: int, cost: float, lr: float) -> None:
        super().__init__(
            f"training diverged at epoch {epoch}, batch {batch} (cost {cost}) with learning rate "
            f"{lr:.3g}; try a smaller learning rate (--lr)"
        )
        self.epoch, self.batch, self.cost, self.lr = epoch, batch, cost, lr


def forward_cost(layers: Sequence[Layer], shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int]:
    """Walk one example of ``shape`` through ``layers`` without running them: (output shape,
    arithmetic operations, numbers held at once: the activations kept for backprop plus the
    largest layer's scratch). Raises ValueError where the layers do not fit together."""
    operations, held, scratch = 0, math.prod(shape), 0
    for layer in layers:
        ops, extra = layer.cost(shape)
        shape = layer.output_shape(shape)
        operations, held, scratch = operations + ops, held + math.prod(shape), max(scratch, extra)
    return shape, operations, held + scratch


class Network:
    """Layers plus a cost. ``rng`` (a ``numpy.random.Generator``) draws the initial weights,
    the dropout masks and the shuffling order: the same seed gives the same model."""

    def __init__(
        self,
        layers: Sequence[Layer],
        cost: Cost,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float32,
    ) -> None:
        self.layers = list(layers)
        self.cost = cost
        self.dtype = np.dtype(dtype)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.stop_training = False
        for layer in self.layers:
            layer.initialize(self.rng, self.dtype)
        trainable = [i for i, layer in enumerate(self.layers) if layer.params]
        # Layers at or below the first one with weights never need their input's gradient.
        self._first_trainable = trainable[0] if trainable else len(self.layers)

    # ----- parameters ---------------------------------------------------------------
    def parameters(self) -> list[tuple[Any, Any, bool]]:
        """(w, dC/dw, decay?) for every parameter; each layer says which of its parameters
        decay (``Layer.decay``: the weights of Dense and Conv2D; never biases, nor batch norm's
        scale and shift)."""
        return [
            (layer.params[k], layer.grads[k], k in layer.decay) for layer in self.layers for k in layer.params
        ]

    def _slots(self) -> list[tuple[dict[str, Any], str, str]]:
        return [
            (store, k, type(layer).__name__)
            for layer in self.layers
            for store in (layer.params, layer.buffers)
            for k in store
        ]

    def get_params(self) -> list[np.ndarray]:
        """Copies of every parameter and buffer, in a fixed order (layer by layer, then by name)."""
        return [to_numpy(store[k]).copy() for store, k, _ in self._slots()]

    def set_params(self, values: Sequence[np.ndarray]) -> None:
        """Load parameters and buffers in the order of :meth:`get_params`, checking every shape."""
        slots = self._slots()
        if len(values) != len(slots):
            raise ValueError(f"expected {len(slots)} parameter arrays, got {len(values)}")
        for (store, k, name), v in zip(slots, values, strict=True):
            if tuple(v.shape) != tuple(store[k].shape):
                raise ValueError(f"{name}.{k}: shape {tuple(v.shape)}, expected {tuple(store[k].shape)}")
            store[k] = xp.asarray(v, dtype=self.dtype).copy()

    def _threads(self) -> AbstractContextManager:
        """engine_threads() (see parallel.py); the reference engine's plain products leave the
        cores to BLAS."""
        return nullcontext() if reference() else engine_threads()

    def n_params(self) -> int:
        return sum(int(np.prod(p.shape)) for layer in self.layers for p in layer.params.values())

    # ----- forward and backward -------------------------------------------------------
    def forward(self, x: Any, training: bool = False) -> Any:
        """a^L: the batch pushed through every layer."""
        a = x
        for layer in self.layers:
            a = layer.forward(a, training)
        return a

    def backward(self, delta: Any) -> None:
        """From delta^L, let each layer, top to bottom, store its gradients and hand down its delta."""
        for i in range(len(self.layers) - 1, self._first_trainable - 1, -1):
            delta = self.layers[i].backward(delta, need_input_grad=i > self._first_trainable)

    def train_step(self, x: Any, y: Any, optimizer: Optimizer) -> tuple[float, Any]:
        """One step of gradient descent on the batch (x, y); returns the batch cost and output."""
        output = self.forward(x, training=True)
        cost = self.cost.forward(output, y)
        self.backward(self.cost.backward())
        optimizer.step(self.parameters())
        return cost, output

    # ----- training ---------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        optimizer: Optimizer,
        epochs: int = 10,
        batch_size: int = 32,
        schedule: Schedule | None = None,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        callbacks: Iterable[Callback] = (),
        initial_epoch: int = 0,
        augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    ) -> dict[str, Any]:
        """Mini-batch SGD: each epoch, shuffle (X, y) with ``self.rng``, and for each batch take
        one optimizer step with the learning rate ``schedule(epoch + batch / n_batches)``.

        ``augment(batch, rng)``, if given, transforms each training batch (with this network's
        generator, so it is seeded too). Epochs are numbered from ``initial_epoch`` (to
        continue an earlier call) up to ``epochs``. The validation split is only *evaluated*
        (for progress and early stopping), never trained on. Returns the history: per-epoch
        lists of ``cost`` and ``accuracy`` (running, on the training batches), ``val_cost``,
        ``val_accuracy``, ``lr`` and ``seconds`` (time spent training, without the validation).
        """
        X, y = self._check_xy(X, y)
        if not 0 <= initial_epoch < epochs or batch_size < 1:
            raise ValueError("need 0 <= initial_epoch < epochs and batch_size >= 1")
        schedule = schedule or Constant(optimizer.lr)
        callbacks = list(callbacks)
        history: dict[str, Any] = {"cost": [], "accuracy": [], "lr": [], "seconds": []}
        if validation_data is not None:
            history.update(val_cost=[], val_accuracy=[])
        n = X.shape[0]
        n_batches = -(-n // batch_size)
        self.stop_training = False
        for cb in callbacks:
            cb.on_train_begin(self, epochs)
        with self._threads():
            for epoch in range(initial_epoch, epochs):
                for cb in callbacks:
                    cb.on_epoch_begin(epoch, n_batches)
                logs = self._train_epoch(X, y, epoch, optimizer, schedule, batch_size, augment, callbacks)
                if validation_data is not None:
                    val = self.evaluate(*validation_data)
                    logs.update(val_cost=val["cost"], val_accuracy=val["accuracy"])
                for key, value in logs.items():
                    history[key].append(value)
                for cb in callbacks:
                    cb.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        for cb in callbacks:
            cb.on_train_end(history)
        return history

    def _train_epoch(
        self,
        X: np.ndarray,
        y: np.ndarray,
        epoch: int,
        optimizer: Optimizer,
        schedule: Schedule,
        batch_size: int,
        augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None,
        callbacks: list[Callback],
    ) -> dict[str, float]:
        """One pass over (X, y) in a fresh random order; returns the epoch's running cost and
        accuracy, its last learning rate, and the seconds it took."""
        start = time.perf_counter()
        n = X.shape[0]
        n_batches = -(-n // batch_size)
        order = self.rng.permutation(n)
        total_cost, n_correct = 0.0, 0
        for b in range(n_batches):
            idx = order[b * batch_size : (b + 1) * batch_size]
            xb = X[idx] if augment is None else augment(X[idx], self.rng)
            xb, yb = xp.asarray(xb), xp.asarray(y[idx])
            optimizer.lr = schedule(epoch + b / n_batches)
            cost, output = self.train_step(xb, yb, optimizer)
            if not math.isfinite(cost):
                raise DivergenceError(epoch + 1, b + 1, cost, optimizer.lr)
            total_cost += cost * len(idx)
            n_correct += int((output.argmax(axis=1) == yb).sum())
            for cb in callbacks:
                cb.on_batch_end(b, {"cost": cost})
        return {
            "cost": total_cost / n,
            "accuracy": n_correct / n,
            "lr": optimizer.lr,
            "seconds": time.perf_counter() - start,  # the training passes alone
        }

    # ----- inference ----------------------------------------------------------------
    def decision_function(self, X: np.ndarray, batch_size: int = 250) -> np.ndarray:
        """The last layer's outputs z^L, one row per example (evaluation mode: no dropout);
        for a softmax network these are the logits."""
        X = self._check_x(X)
        with self._threads():
            out = [
                to_numpy(self.forward(xp.asarray(X[i : i + batch_size])))
                for i in range(0, X.shape[0], batch_size)
            ]
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=self.dtype)

    def predict_proba(self, X: np.ndarray, batch_size: int = 250) -> np.ndarray:
        """Class probabilities, one row per example (evaluation mode: no dropout)."""
        X = self._check_x(X)
        with self._threads():
            out = [
                to_numpy(self.cost.probabilities(self.forward(xp.asarray(X[i : i + batch_size]))))
                for i in range(0, X.shape[0], batch_size)
            ]
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=self.dtype)

    def predict(self, X: np.ndarray, batch_size: int = 250) -> np.ndarray:
        """The most probable class of each example."""
        return self.predict_proba(X, batch_size).argmax(axis=1)

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 250) -> dict[str, float]:
        """Mean cost and accuracy (the fraction classified right) on (X, y)."""
        X, y = self._check_xy(X, y)
        total_cost, n_correct = 0.0, 0
        with self._threads():
            for i in range(0, X.shape[0], batch_size):
                xb, yb = xp.asarray(X[i : i + batch_size]), xp.asarray(y[i : i + batch_size])
                output = self.forward(xb)
                total_cost += self.cost.forward(output, yb) * xb.shape[0]
                n_correct += int((output.argmax(axis=1) == yb).sum())
        return {"cost": total_cost / X.shape[0], "accuracy": n_correct / X.shape[0]}

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy on (X, y), as in scikit-learn."""
        return self.evaluate(X, y)["accuracy"]

    # ----- validation at the boundary -----------------------------------------------
    def _check_x(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim < 2:
            raise ValueError(f"X must hold one example per row (2 or more dimensions), got shape {X.shape}")
        if X.dtype != self.dtype:
            X = X.astype(self.dtype)
        return X

    def _check_xy(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X, y = self._check_x(X), np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must be one label per row of X: X has {X.shape[0]} rows, y shape {y.shape}")
        if X.shape[0] == 0:
            raise ValueError("no examples")
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"labels must be integers, got {y.dtype}")
        return X, y.astype(np.intp, copy=False)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Network([{inner}], cost={type(self.cost).__name__}())"
