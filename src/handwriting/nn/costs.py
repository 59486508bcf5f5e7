"""Costs. ``forward(output, y)`` returns the mean cost over the batch; ``backward()``
returns delta^L = dC/d(output), the first backprop equation, already divided by N.

Labels ``y`` are integer classes; ``e_y`` below is the one-hot vector of class y.
"""

from __future__ import annotations

from typing import Any

from .backend import xp


def one_hot(y: Any, n_classes: int, dtype: Any) -> Any:
    """Rows e_y: 1 at column y, 0 elsewhere."""
    e = xp.zeros((y.shape[0], n_classes), dtype=dtype)
    e[xp.arange(y.shape[0]), y] = 1
    return e


def softmax(z: Any) -> Any:
    """p_j = e^{z_j} / sum_k e^{z_k}, computed after subtracting max_k z_k so exp never overflows."""
    e = xp.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


class Cost:
    def forward(self, output: Any, y: Any) -> float:
        raise NotImplementedError

    def backward(self) -> Any:
        raise NotImplementedError

    def probabilities(self, output: Any) -> Any:
        """Class probabilities for the network's raw output."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        return {}


class QuadraticCost(Cost):
    """The original ``train.py`` cost on sigmoid outputs a:

    C = 1/(2N) sum_x ||a_x - e_y||^2,     delta^L = dC/da = (a - e_y) / N.
    """

    def forward(self, output: Any, y: Any) -> float:
        self.diff = output - one_hot(y, output.shape[1], output.dtype)
        self.n = output.shape[0]
        return float(0.5 * (self.diff * self.diff).sum() / self.n)

    def backward(self) -> Any:
        return self.diff / self.n

    def probabilities(self, output: Any) -> Any:
        # Sigmoid outputs are independent scores; normalize them so a row sums to 1.
        return output / xp.maximum(output.sum(axis=1, keepdims=True), 1e-12)


class SoftmaxCrossEntropy(Cost):
    """Softmax fused with cross-entropy on the logits z of the last layer:

    p = softmax(z),  C = -1/N sum_x sum_j t_j log p_j,   delta^L = dC/dz = (p - t) / N,

    with target t = e_y, or with label smoothing eps: t = (1 - eps) e_y + eps / K for K
    classes (the network is never pushed to be infinitely sure). Fusing softmax with the
    cost gives this simple delta and avoids log(0).
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label smoothing must be in [0, 1), got {label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def _target(self, y: Any, k: int, dtype: Any) -> Any:
        t = one_hot(y, k, dtype)
        if self.label_smoothing:
            t *= dtype.type(1 - self.label_smoothing)
            t += dtype.type(self.label_smoothing / k)
        return t

    def forward(self, output: Any, y: Any) -> float:
        self.p = softmax(output)
        self.t = self._target(y, output.shape[1], output.dtype)
        log_p = xp.log(xp.maximum(self.p, output.dtype.type(1e-30)))
        return float(-(self.t * log_p).sum() / output.shape[0])

    def backward(self) -> Any:
        delta = self.p - self.t
        delta /= delta.dtype.type(self.p.shape[0])
        return delta

    def probabilities(self, output: Any) -> Any:
        return softmax(output)

    def config(self) -> dict[str, Any]:
        return {"label_smoothing": self.label_smoothing}


COSTS: dict[str, type[Cost]] = {cls.__name__: cls for cls in (QuadraticCost, SoftmaxCrossEntropy)}
