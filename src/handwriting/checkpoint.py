"""Checkpoints: everything needed to continue a training run exactly where it stopped.

After every epoch, one file ``checkpoint-EPOCH.npz`` holds the network's parameters and
buffers, the optimizer's memory, early stopping's state, the random generator's state, the
history and the run's settings. It is written to a temporary file, flushed to disk and then
renamed, so a crash at any moment leaves either the previous checkpoint or the new one,
never half of one. The file is the container models use too (``store.py``), with its caps.

The two newest checkpoints a run has written (or resumed from) are kept; older ones it wrote
are removed, by epoch number. A file the run did not write, a damaged one above all, is
never removed: it is reported, and left for the user to look at.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import store
from .errors import HandwritingError
from .nn import Callback, EarlyStopping, Network, Optimizer

FORMAT = "handwriting-checkpoint"
KEEP = 2
PATTERN = re.compile(r"checkpoint-(\d+)\.npz")


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


def listed(folder: Path) -> list[tuple[int, Path]]:
    """The checkpoint files in ``folder`` with their epoch numbers, oldest first (by number,
    not by name: epoch 10,000 comes after 9,999)."""
    if not folder.is_dir():
        return []
    found = [(PATTERN.fullmatch(p.name), p) for p in folder.iterdir()]
    return sorted((int(m.group(1)), p) for m, p in found if m)


def save(
    folder: Path,
    epoch: int,
    network: Network,
    optimizer: Optimizer,
    stopper: EarlyStopping | None,
    history: dict[str, Any],
    settings: dict[str, Any],
) -> Path:
    """Write the checkpoint after ``epoch`` completed epochs; returns its path."""
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
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _name(epoch)
    store.write(path, arrays, meta, compress=False)
    _sync_dir(folder)
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
        arrays, meta = store.read(path)
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
            {k.replace("loss", "cost"): v for k, v in meta["history"].items()},  # older runs said "loss"
            meta["settings"],
            path,
        )
    except Exception as e:  # zip, npy, JSON and missing-key errors alike
        raise HandwritingError(f"{path}: damaged checkpoint ({type(e).__name__}: {e})") from None


def restore(found: Checkpoint, network: Network, optimizer: Optimizer, stopper: EarlyStopping | None) -> None:
    """Put back what :func:`save` wrote: the parameters, the optimizer's memory, the random
    generator's state and early stopping's state (the history and settings are the caller's)."""
    network.set_params(found.params)
    optimizer.load_state_dict(found.optimizer)
    network.rng.bit_generator.state = found.rng_state
    if stopper is not None and found.stopper is not None:
        stopper.resume(found.stopper)


def readable(path: Path) -> bool:
    try:
        load(path)
    except HandwritingError:
        return False
    return True


def latest(folder: Path) -> Checkpoint | None:
    """The newest checkpoint in ``folder`` that reads back whole, or None; see :func:`scan`."""
    return scan(folder)[0]


def scan(folder: Path) -> tuple[Checkpoint | None, list[tuple[Path, str]]]:
    """The newest checkpoint in ``folder`` that reads back whole (older ones are tried if the
    newest is damaged), and each newer one skipped with the reason. Leftover temporary files of
    an interrupted write are removed."""
    for part in folder.glob(".checkpoint-*.part") if folder.is_dir() else ():
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    skipped = []
    for _, path in reversed(listed(folder)):
        try:
            return load(path), skipped
        except HandwritingError as e:
            skipped.append((path, str(e).removeprefix(f"{path}: ")))
    return None, skipped


class Checkpointer(Callback):
    """Saves a checkpoint at the end of every epoch (after early stopping has looked at it)."""

    def __init__(
        self,
        folder: Path,
        optimizer: Optimizer,
        stopper: EarlyStopping | None,
        settings: dict[str, Any],
        history: dict[str, Any] | None = None,
        kept: list[Path] | None = None,
    ) -> None:
        self.folder, self.optimizer, self.stopper, self.settings = folder, optimizer, stopper, settings
        self.previous = history or {}
        self.history: dict[str, list[Any]] = {}
        self.written = list(kept or [])  # checkpoints known good, oldest first: pruned as it goes

    def on_train_begin(self, network: Network, epochs: int) -> None:
        self.network = network

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        keys = {*self.previous, *self.history} - {"stopped"}
        merged: dict[str, Any] = {k: list(self.previous.get(k, [])) + self.history.get(k, []) for k in keys}
        merged["stopped"] = self.network.stop_training  # early stopping's verdict on this epoch
        path = save(self.folder, epoch + 1, self.network, self.optimizer, self.stopper, merged, self.settings)
        self.written.append(path)
        for old in self.written[:-KEEP]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
        self.written = self.written[-KEEP:]
