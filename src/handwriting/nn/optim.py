"""Optimizers: given each parameter w and its gradient g = dC/dw, take one step *down* the
gradient. Weight decay adds the L2 term (lambda/2)||w||^2 to the cost, i.e. lambda w to g,
for the parameters each layer names in ``Layer.decay``: weights, never biases nor batch norm's
scale and shift.

Updates run in place, with per-parameter scratch arrays kept between steps, because on
a small network allocating fresh arrays for every step costs as much as the step itself.
"""

from __future__ import annotations

from typing import Any

from .backend import xp


class Optimizer:
    """Base: holds the learning rate (set each step by the schedule) and per-parameter state."""

    def __init__(self, lr: float, weight_decay: float = 0.0) -> None:
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        if not weight_decay >= 0:
            raise ValueError(f"weight decay must be >= 0, got {weight_decay}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.state: list[dict[str, Any]] = []

    def step(self, params: list[tuple[Any, Any, bool]]) -> None:
        """Update every (w, g, decay) triple in place; g itself is left untouched."""
        if not self.state:
            self.state = [{} for _ in params]
        for (w, g, decay), state in zip(params, self.state, strict=True):
            if "d" not in state:
                state["d"] = xp.empty_like(w)
            d = state["d"]
            if decay and self.weight_decay:  # d = g + lambda w
                xp.multiply(w, w.dtype.type(self.weight_decay), out=d)
                d += g
            else:
                d[...] = g
            self._update(w, d, state)

    def _update(self, w: Any, d: Any, state: dict[str, Any]) -> None:
        """Step w using d = dC/dw (+ lambda w); d is scratch space and may be overwritten."""
        raise NotImplementedError

    def state_dict(self) -> list[dict[str, Any]]:
        """What the optimizer remembers between steps (momenta, step counts), per parameter,
        so that training can be resumed exactly; scratch space is left out."""
        return [{k: v for k, v in st.items() if k != "d"} for st in self.state]

    def load_state_dict(self, state: list[dict[str, Any]]) -> None:
        self.state = [
            {k: (v if isinstance(v, int) else xp.asarray(v).copy()) for k, v in st.items()} for st in state
        ]

    def config(self) -> dict[str, Any]:
        return {"lr": self.lr, "weight_decay": self.weight_decay}


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum mu:

    plain:     w <- w - eta g
    momentum:  v <- mu v + g;  w <- w - eta v
    Nesterov:  v <- mu v + g;  w <- w - eta (g + mu v)    (the look-ahead form)

    (v here is the velocity divided by -eta, as in PyTorch, so a changing eta is applied
    to the whole step.)
    """

    def __init__(
        self, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0
    ) -> None:
        super().__init__(lr, weight_decay)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0.0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _update(self, w: Any, d: Any, state: dict[str, Any]) -> None:
        lr, mu = w.dtype.type(self.lr), w.dtype.type(self.momentum)
        if self.momentum:
            v = state.get("v")
            if v is None:
                v = state["v"] = d.copy()  # v starts at the first gradient, as mu*0 + g
            else:
                v *= mu
                v += d
            if self.nesterov:  # w -= eta g, then w -= eta mu v
                d *= lr
                w -= d
                xp.multiply(v, lr * mu, out=d)
            else:
                xp.multiply(v, lr, out=d)
            w -= d
            return
        d *= lr
        w -= d

    def config(self) -> dict[str, Any]:
        return {**super().config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), with bias-corrected moment estimates:

    m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
    w <- w - eta * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)
    """

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr, weight_decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _update(self, w: Any, d: Any, state: dict[str, Any]) -> None:
        t = state["t"] = state.get("t", 0) + 1
        f = w.dtype.type
        if "m" not in state:
            state["m"], state["v"] = xp.zeros_like(w), xp.zeros_like(w)
        m, v = state["m"], state["v"]
        m *= f(self.beta1)
        m += f(1 - self.beta1) * d
        v *= f(self.beta2)
        d *= d
        d *= f(1 - self.beta2)
        v += d
        xp.sqrt(v, out=d)
        # eps is added to sqrt(v_hat) = sqrt(v) / sqrt(1 - b2^t): scale it to sqrt(v)'s units.
        d += f(self.eps * (1 - self.beta2**t) ** 0.5)
        xp.divide(m, d, out=d)
        # Both bias corrections folded into one scalar step size.
        d *= f(self.lr * (1 - self.beta2**t) ** 0.5 / (1 - self.beta1**t))
        w -= d

    def config(self) -> dict[str, Any]:
        return {**super().config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): the decay shrinks the
    weights directly, w <- w - eta lambda w, instead of entering g and Adam's moments."""

    def step(self, params: list[tuple[Any, Any, bool]]) -> None:
        decay, self.weight_decay = self.weight_decay, 0.0
        try:
            for w, _, decays in params:
                if decays and decay:
                    w *= w.dtype.type(1.0 - self.lr * decay)
            super().step(params)
        finally:
            self.weight_decay = decay
