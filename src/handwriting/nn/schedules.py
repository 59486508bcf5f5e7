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


class OneCycle(Schedule):
    """Warm up, then anneal (Smith & Topin 2019): over the first ``warmup`` fraction of the
    T epochs, eta rises from eta_0 / div to eta_0 along a half cosine; over the rest it falls
    to eta_0 / final_div along a half cosine."""

    def __init__(
        self, lr: float, total_epochs: float, warmup: float = 0.2, div: float = 25.0, final_div: float = 1e3
    ) -> None:
        super().__init__(lr)
        if total_epochs <= 0 or not 0 < warmup < 1:
            raise ValueError("need total_epochs > 0 and 0 < warmup < 1")
        self.total_epochs, self.warmup, self.div, self.final_div = float(total_epochs), warmup, div, final_div

    def __call__(self, t: float) -> float:
        frac = min(t / self.total_epochs, 1.0)
        if frac < self.warmup:
            start, end, u = self.lr / self.div, self.lr, frac / self.warmup
        else:
            start, end, u = self.lr, self.lr / self.final_div, (frac - self.warmup) / (1 - self.warmup)
        return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * u))

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "total_epochs": self.total_epochs,
            "warmup": self.warmup,
            "div": self.div,
            "final_div": self.final_div,
        }
