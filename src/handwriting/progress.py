"""A progress bar per epoch (tqdm) and a summary line after each, for the command line."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm

from .nn import Callback


class ProgressBar(Callback):
    """Shows the running training cost (printed as "loss", the word most users know) during an
    epoch, then the epoch's validation accuracy."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def on_train_begin(self, network: Any, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_begin(self, epoch: int, n_batches: int) -> None:
        self.epoch, self.total, self.seen = epoch, 0.0, 0
        self.bar = tqdm(
            total=n_batches,
            desc=f"epoch {epoch + 1}/{self.epochs}",
            unit="batch",
            leave=False,
            file=sys.stderr,
            dynamic_ncols=True,
            disable=None,  # no bar when stderr is not a terminal (logs, CI)
        )

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        self.total += logs["cost"]
        self.seen += 1
        if self.seen % 20 == 0:  # formatting the text every batch would cost more than tiny batches
            self.bar.set_postfix(loss=f"{self.total / self.seen:.4f}", refresh=False)
        self.bar.update()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.bar.set_postfix(loss=f"{logs['cost']:.4f}")  # the final figure, however short the epoch
        self.bar.close()
        print(
            f"epoch {epoch + 1}/{self.epochs}  loss {logs['cost']:.4f}  "
            f"train {100 * logs['accuracy']:.2f}%  validation {100 * logs['val_accuracy']:.2f}%  "
            f"({logs['seconds']:.1f} s)",
            file=self.out,
            flush=True,
        )

    def on_train_end(self, logs: dict[str, Any]) -> None:
        best = logs.get("best_epoch")
        if best and best != len(logs["cost"]):
            print(f"kept the weights of epoch {best} (best validation accuracy)", file=self.out)
