"""Train a preset on a data set: fit on the training split, watch the validation split,
and only at the very end measure the test split once."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, checkpoint
from .calibration import expected_calibration_error, fit_temperature, softmax_t
from .data import Dataset
from .data.openset import NOT_A_DIGIT, with_open_set
from .errors import HandwritingError
from .model import NOT_A_DIGIT_LABEL, Model
from .nn import Callback, EarlyStopping, Network, Optimizer, SoftmaxCrossEntropy
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
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Model:
    """Build ``preset`` with weights drawn from ``seed``, fit it on ``dataset``'s training
    split (the validation split drives early stopping), then record the test accuracy.

    With ``checkpoint_dir``, a checkpoint is saved after every epoch; with ``resume`` too,
    training continues from the newest one and ends with exactly the weights an
    uninterrupted run would have had. ``notify`` hears what the user should know of the
    checkpoints (one line each): a damaged one skipped, a resume with none to resume from.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    p = PRESETS[preset]
    epochs = p.epochs if epochs is None else epochs
    batch_size = p.batch_size if batch_size is None else batch_size
    lr = p.lr if lr is None else lr
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError("epochs and batch size must be >= 1 and the learning rate > 0")
    # The checkpoints are looked at first: a refusal should not wait for the data to be made.
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    found = _checkpoint_to_resume(folder, resume, notify or (lambda line: None)) if folder else None
    if p.open_set:
        dataset = with_open_set(dataset, seed)
    rng = np.random.default_rng(seed)
    network = p.build(dataset.image_shape, rng, dataset.n_classes)
    optimizer = p.make_optimizer(lr)
    stopper = EarlyStopping("val_accuracy", p.patience) if p.patience is not None else None
    settings = {
        "preset": preset,
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "dataset": dataset.name,
        "files": dataset.files,
    }
    start_epoch, previous, stopped, kept = 0, {}, False, []
    if found is not None:
        if found.settings != settings:
            raise HandwritingError(
                f"{found.path} was made by a different run ({_differences(found.settings, settings)}); "
                "resume with the same options, or choose another folder"
            )
        checkpoint.restore(found, network, optimizer, stopper)
        start_epoch, previous, stopped = found.epoch, found.history, bool(found.history.get("stopped"))
        older = [p for e, p in checkpoint.listed(found.path.parent) if e < found.epoch]
        kept = [p for p in older if checkpoint.readable(p)] + [found.path]
    # Early stopping goes first, so the other callbacks see the weights it restores; the
    # checkpointer next, so that what it saves includes early stopping's verdict.
    saver = (
        []
        if folder is None
        else [checkpoint.Checkpointer(folder, optimizer, stopper, settings, previous, kept)]
    )
    callbacks = [*([stopper] if stopper else []), *saver, *callbacks]
    history: dict[str, Any] = {}
    if start_epoch < epochs and not stopped:
        history = network.fit(
            dataset.x_train,
            dataset.y_train,
            optimizer=optimizer,
            epochs=epochs,
            batch_size=batch_size,
            schedule=p.make_schedule(lr, epochs),
            validation_data=(dataset.x_val, dataset.y_val),
            callbacks=callbacks,
            augment=p.augment,
            initial_epoch=start_epoch,
        )
    elif stopper is not None:
        stopper.network = network
        stopper.on_train_end(history)  # put back the best epoch's weights, as the first run would have
    history = {
        k: list(previous.get(k, [])) + list(history.get(k, []))
        for k in ("cost", "accuracy", "lr", "seconds", "val_cost", "val_accuracy")
        if k in previous or k in history
    }
    if stopper is not None:
        history["best_epoch"] = stopper.best_epoch + 1
    run = {"command": command, "seed": seed, "epochs": epochs, "batch_size": batch_size, "lr": lr}
    return _trained_model(network, dataset, preset, run, optimizer, history, start_epoch)


def _trained_model(
    network: Network,
    dataset: Dataset,
    preset: str,
    run: dict[str, Any],
    optimizer: Optimizer,
    history: dict[str, Any],
    start_epoch: int,
) -> Model:
    """The trained network and its record, built in one place: what was trained on what, how,
    and how well (validation and test measured once, here, at the very end); calibrated."""
    p = PRESETS[preset]
    seconds = float(sum(history.get("seconds", [])))
    val = network.evaluate(dataset.x_val, dataset.y_val)
    test = network.evaluate(dataset.x_test, dataset.y_test)
    calibration = _calibrate(network, dataset)
    meta = {
        "preset": preset,
        "image_shape": list(dataset.image_shape),
        "classes": [
            *range(min(dataset.n_classes, NOT_A_DIGIT)),
            *[NOT_A_DIGIT_LABEL][: dataset.n_classes - NOT_A_DIGIT],
        ],
        "dataset": {
            "name": dataset.name,
            "files": dataset.files,
            "n_train": len(dataset.y_train),
            "n_val": len(dataset.y_val),
            "n_test": len(dataset.y_test),
        },
        "training": {
            "command": run["command"],
            "seed": run["seed"],
            "epochs": run["epochs"],
            "epochs_run": len(history["cost"]),
            "resumed_from_epoch": start_epoch or None,
            "best_epoch": history.get("best_epoch"),
            "batch_size": run["batch_size"],
            "optimizer": {"type": type(optimizer).__name__, **optimizer.config(), "lr": run["lr"]},
            "schedule": p.schedule,
            "augment": p.augment.config() if p.augment else None,
            "seconds": round(seconds, 2),
            "handwriting_version": __version__,
            "numpy_version": np.__version__,
            "machine": f"{platform.machine()} {platform.system()}",
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        "metrics": {
            "val_accuracy": val["accuracy"],
            "val_cost": val["cost"],
            "test_accuracy": test["accuracy"],
            "test_cost": test["cost"],
            **{k: v for k, v in calibration.items() if k.startswith(("val_", "test_"))},
        },
        "calibration": {
            "temperature": calibration["temperature"],
            "fitted_on": "validation split",
        },
        "history": {k: v for k, v in history.items() if isinstance(v, list)},
    }
    model = Model(network, meta)
    # accuracy as the model decides (a reader: "not a digit" only at its threshold)
    meta["metrics"]["val_accuracy"] = model.score(dataset.x_val, dataset.y_val)
    meta["metrics"]["test_accuracy"] = model.score(dataset.x_test, dataset.y_test)
    return model


def _checkpoint_to_resume(
    folder: Path, resume: bool, notify: Callable[[str], None]
) -> checkpoint.Checkpoint | None:
    """The checkpoint to continue from: None to start afresh. Without ``resume`` a folder that
    holds checkpoints is refused (their run would be mixed with this one); with it, damaged
    ones are skipped and named, and a folder of nothing but damaged ones is refused."""
    names = [p for _, p in checkpoint.listed(folder)]
    if not resume:
        if names:
            raise HandwritingError(
                f"{folder} already holds checkpoints ({names[-1].name} the newest): add --resume to "
                "continue that run, or choose an empty folder"
            )
        return None
    found, skipped = checkpoint.scan(folder)
    if found is None and names:
        raise HandwritingError(
            f"none of the checkpoints in {folder} can be read ({', '.join(p.name for p in names)}): "
            "nothing was removed; move them away to start afresh, or restore one from a backup"
        )
    for path, why in skipped:  # renamed, so that this run's own checkpoint of that epoch cannot replace it
        kept = path.rename(path.with_name(path.name + ".damaged"))
        notify(f"skipped {path}: {why}; kept as {kept.name}")
    if found is None:
        notify(f"no checkpoint in {folder} yet: starting from the beginning")
    return found


def _calibrate(network: Network, dataset: Dataset) -> dict[str, float]:
    """Temperature scaling fitted on the validation split (1.0 for a network whose outputs are
    not softmax logits), with the expected calibration error before and after, on validation
    and (measured once, like the accuracy) on test."""
    if not isinstance(network.cost, SoftmaxCrossEntropy):
        return {"temperature": 1.0}
    val_logits = network.decision_function(dataset.x_val)
    test_logits = network.decision_function(dataset.x_test)
    t = fit_temperature(val_logits, dataset.y_val)
    out = {
        "temperature": round(t, 4),
        "val_ece_uncalibrated": expected_calibration_error(softmax_t(val_logits), dataset.y_val),
        "val_ece": expected_calibration_error(softmax_t(val_logits, t), dataset.y_val),
        "test_ece": expected_calibration_error(softmax_t(test_logits, t), dataset.y_test),
    }
    return out


def _differences(a: dict[str, Any], b: dict[str, Any]) -> str:
    keys = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
    return (
        ", ".join(f"{k}: {a.get(k)!r} there, {b.get(k)!r} now" for k in keys if k != "files") or "data files"
    )
