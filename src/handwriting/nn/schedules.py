"""Learning-rate schedules: eta(t) for training progress t measured in epochs (fractional,
so the rate can change every mini-batch)."""

from __future__ import annotations

import math
from typing import Any


class Schedule:
    def __init__(self, lr: float) -> None:
        self.lr = float(lr)

    def __call__(self, t: float) -> float:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        return {"lr": self.lr}


class Constant(Schedule):
    """eta(t) = eta_0."""

    def __call__(self, t: float) -> float:
        return self.lr


class Step(Schedule):
    """eta(t) = eta_0 * gamma^floor(t / step_epochs)."""

    def __init__(self, lr: float, step_epochs: int, gamma: float = 0.1) -> None:
        super().__init__(lr)
        if step_epochs < 1:
            raise ValueError(f"step_epochs must be >= 1, got {step_epochs}")
        self.step_epochs, self.gamma = int(step_epochs), float(gamma)

    def __call__(self, t: float) -> float:
        return self.lr * self.gamma ** math.floor(t / self.step_epochs)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "step_epochs": self.step_epochs, "gamma": self.gamma}


class Cosine(Schedule):
    """eta(t) = eta_min + (eta_0 - eta_min) (1 + cos(pi t / T)) / 2, for T total epochs."""

    def __init__(self, lr: float, total_epochs: float, min_lr: float = 0.0) -> None:
        super().__init__(lr)
        if total_epochs <= 0:
            raise ValueError(f"total_epochs must be positive, got {total_epochs}")
        self.total_epochs, self.min_lr = float(total_epochs), float(min_lr)

    def __call__(self, t: float) -> float:
        frac = min(t / self.total_epochs, 1.0)
        return self.min_lr + (self.lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * frac))

    def config(self) -> dict[str, Any]:
        return {**super().config(), "total_epochs": self.total_epochs, "min_lr": self.min_lr}


SCHEDULES: dict[str, type[Schedule]] = {"constant": Constant, "step": Step, "cosine": Cosine}
