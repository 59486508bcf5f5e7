"""Hooks into ``Network.fit``: progress display, early stopping, anything that watches training."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .network import Network


class Callback:
    """Override any of these; ``fit`` calls them in order. Set ``network.stop_training`` to stop.
    ``on_train_begin`` is told the run's number of epochs (a resumed run counts them all)."""

    def on_train_begin(self, network: Network, epochs: int) -> None: ...

    def on_epoch_begin(self, epoch: int, n_batches: int) -> None: ...

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None: ...

    def on_train_end(self, logs: dict[str, Any]) -> None: ...


class EarlyStopping(Callback):
    """Stop when the validation metric ``monitor`` has not improved for ``patience`` epochs,
    and (by default) put back the weights of the best epoch."""

    def __init__(self, monitor: str = "val_accuracy", patience: int = 3, restore_best: bool = True) -> None:
        if not monitor.startswith("val_"):
            raise ValueError("early stopping watches the validation split: monitor a 'val_' metric")
        self.monitor, self.patience, self.restore_best = monitor, int(patience), restore_best
        self.sign = -1.0 if monitor.endswith("cost") else 1.0

    def on_train_begin(self, network: Network, epochs: int) -> None:
        self.network = network
        if getattr(self, "_resumed", False):
            self._resumed = False
            return
        self.best, self.best_epoch, self.best_params, self.wait = -math.inf, -1, None, 0

    def state(self) -> dict[str, Any]:
        """Everything needed to carry on watching after an interruption."""
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "best_params": self.best_params,
        }

    def resume(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state` (the next ``fit`` will not start afresh)."""
        self.best, self.best_epoch, self.wait = (
            float(state["best"]),
            int(state["best_epoch"]),
            int(state["wait"]),
        )
        self.best_params = state["best_params"]
        self._resumed = True

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ValueError(f"early stopping needs validation data to watch {self.monitor!r}")
        score = self.sign * logs[self.monitor]
        if score > self.best:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            if self.restore_best:
                self.best_params = self.network.get_params()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.network.stop_training = True

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self.restore_best and self.best_params is not None:
            self.network.set_params(self.best_params)
        logs["best_epoch"] = self.best_epoch + 1
