"""Train a preset on a data set: fit on the training split, watch the validation split,
and only at the very end measure the test split once."""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable
from datetime import datetime, timezone

import numpy as np

from . import __version__
from .data import Dataset
from .metrics import confusion_matrix
from .model import Model
from .nn import Callback, EarlyStopping
from .presets import PRESETS


def train(
    dataset: Dataset,
    preset: str = "mlp",
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int = 0,
    callbacks: Iterable[Callback] = (),
    command: str | None = None,
) -> Model:
    """Build ``preset`` with weights drawn from ``seed``, fit it on ``dataset``'s training
    split (the validation split drives early stopping), then record the test accuracy."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    p = PRESETS[preset]
    epochs = p.epochs if epochs is None else epochs
    batch_size = p.batch_size if batch_size is None else batch_size
    lr = p.lr if lr is None else lr
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError("epochs and batch size must be >= 1 and the learning rate > 0")
    rng = np.random.default_rng(seed)
    network = p.build(int(np.prod(dataset.image_shape)), rng)
    optimizer = p.make_optimizer(lr)
    # Early stopping goes first, so the other callbacks see the weights it restores.
    stopper = [EarlyStopping("val_accuracy", p.patience)] if p.patience is not None else []
    callbacks = [*stopper, *callbacks]
    start = time.perf_counter()
    history = network.fit(
        dataset.x_train,
        dataset.y_train,
        optimizer=optimizer,
        epochs=epochs,
        batch_size=batch_size,
        schedule=p.make_schedule(lr, epochs),
        validation_data=(dataset.x_val, dataset.y_val),
        callbacks=callbacks,
    )
    seconds = time.perf_counter() - start
    val = network.evaluate(dataset.x_val, dataset.y_val)
    test = network.evaluate(dataset.x_test, dataset.y_test)
    meta = {
        "preset": preset,
        "image_shape": list(dataset.image_shape),
        "classes": list(range(dataset.n_classes)),
        "dataset": {
            "name": dataset.name,
            "files": dataset.files,
            "n_train": len(dataset.y_train),
            "n_val": len(dataset.y_val),
            "n_test": len(dataset.y_test),
        },
        "training": {
            "command": command,
            "seed": seed,
            "epochs": epochs,
            "epochs_run": len(history["loss"]),
            "best_epoch": history.get("best_epoch"),
            "batch_size": batch_size,
            "optimizer": {"type": type(optimizer).__name__, **optimizer.config(), "lr": lr},
            "schedule": p.schedule,
            "seconds": round(seconds, 2),
            "handwriting_version": __version__,
            "numpy_version": np.__version__,
            "machine": f"{platform.machine()} {platform.system()}",
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        "metrics": {
            "val_accuracy": val["accuracy"],
            "val_loss": val["loss"],
            "test_accuracy": test["accuracy"],
            "test_loss": test["loss"],
        },
        "history": {k: v for k, v in history.items() if isinstance(v, list)},
    }
    return Model(network, meta)


def evaluate(model: Model, images: np.ndarray, labels: np.ndarray) -> dict[str, object]:
    """Accuracy and the confusion matrix of ``model`` on (images, labels)."""
    predicted = model.predict(images)
    cm = confusion_matrix(labels, predicted, len(model.meta.get("classes", range(10))))
    return {"accuracy": float(np.trace(cm) / max(cm.sum(), 1)), "confusion": cm}
