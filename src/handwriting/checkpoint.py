"""Checkpoints: everything needed to continue a training run exactly where it stopped.

After every epoch, one file ``checkpoint-EPOCH.npz`` holds the network's parameters and
buffers, the optimizer's memory, early stopping's state, the random generator's state, the
history and the run's settings. It is written to a temporary file, flushed to disk and then
renamed, so a crash at any moment leaves either the previous checkpoint or the new one,
never half of one. The two newest are kept.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write
from .errors import HandwritingError
from .nn import Callback, EarlyStopping, Network, Optimizer

FORMAT = "handwriting-checkpoint"
KEEP = 2


@dataclass
class Checkpoint:
    epoch: int  # epochs completed
    params: list[np.ndarray]
    optimizer: list[dict[str, Any]]
    stopper: dict[str, Any] | None
    rng_state: dict[str, Any]
    history: dict[str, Any]
    settings: dict[str, Any]
    path: Path


def _name(epoch: int) -> str:
    return f"checkpoint-{epoch:04d}.npz"


def save(
    folder: Path,
    epoch: int,
    network: Network,
    optimizer: Optimizer,
    stopper: EarlyStopping | None,
    history: dict[str, Any],
    settings: dict[str, Any],
) -> Path:
    """Write the checkpoint after ``epoch`` completed epochs, then drop all but the newest KEEP."""
    arrays: dict[str, np.ndarray] = {f"param_{i:03d}": p for i, p in enumerate(network.get_params())}
    opt_meta = []
    for i, st in enumerate(optimizer.state_dict()):
        scalars = {}
        for k, v in st.items():
            if isinstance(v, int):
                scalars[k] = v
            else:
                arrays[f"opt_{i:03d}_{k}"] = np.asarray(v)
        opt_meta.append(scalars)
    stop_meta = None
    if stopper is not None:
        state = stopper.state()
        best = state.pop("best_params")
        for i, p in enumerate(best or []):
            arrays[f"best_{i:03d}"] = p
        stop_meta = {
            **state,
            "best": state["best"] if np.isfinite(state["best"]) else None,
            "has_best": best is not None,
        }
    meta = {
        "format": FORMAT,
        "epoch": epoch,
        "optimizer": opt_meta,
        "stopper": stop_meta,
        "rng": network.rng.bit_generator.state,
        "history": history,
        "settings": settings,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _name(epoch)
    with atomic_write(path) as f:
        f.write(buffer.getvalue())
    _sync_dir(folder)
    for old in sorted(folder.glob("checkpoint-*.npz"))[:-KEEP]:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    return path


def _sync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX: fsync the directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def load(path: Path) -> Checkpoint:
    """Read one checkpoint, refusing anything incomplete or foreign."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(bytes(arrays.pop("meta")).decode())
        if meta.get("format") != FORMAT:
            raise ValueError("not a handwriting checkpoint")
        params = [arrays[f"param_{i:03d}"] for i in range(sum(k.startswith("param_") for k in arrays))]
        optimizer = []
        for i, scalars in enumerate(meta["optimizer"]):
            prefix = f"opt_{i:03d}_"
            optimizer.append(
                {**scalars, **{k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}}
            )
        stopper = meta["stopper"]
        if stopper is not None:
            best = [arrays[f"best_{i:03d}"] for i in range(len(params))] if stopper.pop("has_best") else None
            stopper = {
                **stopper,
                "best": stopper["best"] if stopper["best"] is not None else -np.inf,
                "best_params": best,
            }
        return Checkpoint(
            int(meta["epoch"]),
            params,
            optimizer,
            stopper,
            meta["rng"],
            meta["history"],
            meta["settings"],
            path,
        )
    except Exception as e:  # zip, npy, JSON and missing-key errors alike
        raise HandwritingError(f"{path}: damaged checkpoint ({type(e).__name__}: {e})") from None


def latest(folder: Path) -> Checkpoint | None:
    """The newest checkpoint in ``folder`` that reads back whole (older ones are tried if the
    newest is damaged), or None. Leftover temporary files of an interrupted write are removed."""
    for part in folder.glob(".checkpoint-*.part"):
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    for path in sorted(folder.glob("checkpoint-*.npz"), reverse=True):
        try:
            return load(path)
        except HandwritingError:
            continue
    return None


class Checkpointer(Callback):
    """Saves a checkpoint at the end of every epoch (after early stopping has looked at it)."""

    def __init__(
        self,
        folder: Path,
        optimizer: Optimizer,
        stopper: EarlyStopping | None,
        settings: dict[str, Any],
        history: dict[str, Any] | None = None,
    ) -> None:
        self.folder, self.optimizer, self.stopper, self.settings = folder, optimizer, stopper, settings
        self.previous = history or {}
        self.history: dict[str, list[Any]] = {}

    def on_train_begin(self, network: Network) -> None:
        self.network = network

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        keys = {*self.previous, *self.history} - {"stopped"}
        merged: dict[str, Any] = {k: list(self.previous.get(k, [])) + self.history.get(k, []) for k in keys}
        merged["stopped"] = self.network.stop_training  # early stopping's verdict on this epoch
        save(self.folder, epoch + 1, self.network, self.optimizer, self.stopper, merged, self.settings)
