"""Layers. Each maps a mini-batch (one example per row) forward and its gradient back.

Notation, per layer, for a batch of N examples:
  a_in   the layer's input  (N, n_in)       z   = the layer's output
  delta  = dC/d(output), handed down by the layer above (the cost already holds the 1/N)

``forward(a_in, training)`` returns the output and remembers what ``backward`` needs.
``backward(delta)`` stores dC/d(param) in ``self.grads`` and returns dC/d(a_in), the
delta for the layer below. This is the chain rule applied one layer at a time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .backend import xp
from .init import INITIALIZERS, draw
from .parallel import matmul
from .reference import dense_backward, dense_forward, reference


class Layer:
    """Base class: a layer with no parameters unless a subclass adds them."""

    decay: tuple[str, ...] = ()  # the parameters weight decay shrinks (weights, not biases)

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}  # trained by the optimizer
        self.grads: dict[str, Any] = {}  # dC/d(param), filled by backward
        self.buffers: dict[str, Any] = {}  # state that is saved but not trained (running means)

    def size(self) -> int:
        """How many numbers the layer stores, known from its configuration alone (so an
        absurd architecture can be refused before anything is allocated)."""
        return 0

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """One example's output shape for one example's input ``shape`` (ValueError where the
        layer cannot take it), known without running it. Elementwise layers keep the shape."""
        return shape

    def cost(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(arithmetic operations, numbers of scratch memory) of one example's forward pass,
        roughly: an elementwise layer does one operation per number and needs no scratch."""
        return math.prod(shape), 0

    def initialize(self, rng: np.random.Generator, dtype: Any) -> None:
        """Draw the initial parameters (if any) from ``rng``; keep ``rng`` if the layer is random."""

    def forward(self, a_in: Any, training: bool = False) -> Any:
        raise NotImplementedError

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The constructor arguments, so the layer can be rebuilt from a model file."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected: z = a_in W + b, with W of shape (n_in, n_out).

    Backward (the second to fourth backprop equations, batched; reference.dense_backward is
    these three lines, the fast path below the same products written in place):
      dC/dW    = a_in^T delta        -- the outer products of each example's *input* with its delta
      dC/db    = sum over rows of delta
      dC/da_in = delta W^T           -- the delta for the layer below

    (``matmul`` is ``@``, with the rows of a large product shared among the CPU cores: see
    parallel.py.)
    """

    decay = ("W",)

    def __init__(self, n_in: int, n_out: int, init: str = "xavier") -> None:
        super().__init__()
        if init not in INITIALIZERS:
            raise ValueError(f"unknown initializer {init!r}; choose from {sorted(INITIALIZERS)}")
        if min(n_in, n_out) < 1:
            raise ValueError(f"Dense needs n_in and n_out >= 1, got {n_in} and {n_out}")
        self.n_in, self.n_out, self.init = int(n_in), int(n_out), init

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if shape != (self.n_in,):
            raise ValueError(f"Dense({self.n_in}, {self.n_out}) cannot take inputs of shape {shape}")
        return (self.n_out,)

    def cost(self, shape: tuple[int, ...]) -> tuple[int, int]:
        return 2 * self.n_in * self.n_out, 0

    def initialize(self, rng: np.random.Generator, dtype: Any) -> None:
        w = draw(self.init, rng, (self.n_in, self.n_out), self.n_in, self.n_out)
        self.params = {"W": xp.asarray(w, dtype=dtype), "b": xp.zeros(self.n_out, dtype=dtype)}

    def forward(self, a_in: Any, training: bool = False) -> Any:
        self.a_in = a_in
        if reference():
            return dense_forward(a_in, self.params["W"], self.params["b"])
        z = matmul(a_in, self.params["W"])
        z += self.params["b"]
        return z

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        if reference():
            self.grads["W"], self.grads["b"], da_in = dense_backward(delta, self.a_in, self.params["W"])
            return da_in
        # The fast path: the same products, written into the arrays of the first step (no
        # fresh allocation per batch); the first layer skips dC/da_in, the data's gradient.
        if "W" not in self.grads:
            self.grads = {k: xp.empty_like(v) for k, v in self.params.items()}
        matmul(self.a_in.T, delta, out=self.grads["W"])
        xp.sum(delta, axis=0, out=self.grads["b"])
        return matmul(delta, self.params["W"].T) if need_input_grad else None

    def size(self) -> int:
        return (self.n_in + 1) * self.n_out

    def config(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "n_out": self.n_out, "init": self.init}


class Sigmoid(Layer):
    """a = sigma(z) = 1 / (1 + e^-z);  dC/dz = delta * a * (1 - a)."""

    def forward(self, z: Any, training: bool = False) -> Any:
        # 0.5 * (1 + tanh(z/2)) equals the logistic function and never overflows exp().
        self.a = 0.5 * (1.0 + xp.tanh(0.5 * z))
        return self.a

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        return delta * self.a * (1.0 - self.a)


class Tanh(Layer):
    """a = tanh(z);  dC/dz = delta * (1 - a^2)."""

    def forward(self, z: Any, training: bool = False) -> Any:
        self.a = xp.tanh(z)
        return self.a

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        return delta * (1.0 - self.a * self.a)


class ReLU(Layer):
    """a = max(z, 0);  dC/dz = delta * [z > 0]."""

    def forward(self, z: Any, training: bool = False) -> Any:
        self.positive = z > 0
        return xp.maximum(z, 0)

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        return delta * self.positive


class LeakyReLU(Layer):
    """a = z if z > 0 else alpha z;  dC/dz = delta * (1 if z > 0 else alpha)."""

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, z: Any, training: bool = False) -> Any:
        self.slope = xp.where(z > 0, 1.0, self.alpha).astype(z.dtype)
        return z * self.slope

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        return delta * self.slope

    def config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


class Dropout(Layer):
    """Inverted dropout with drop probability p.

    Training: a = z * m, with m_i = [u_i >= p] / (1 - p), u_i ~ U(0, 1), so E[a] = z and
    nothing needs rescaling at test time.  Evaluation: a = z.  dC/dz = delta * m.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = float(p)

    def initialize(self, rng: np.random.Generator, dtype: Any) -> None:
        self.rng = rng

    def forward(self, z: Any, training: bool = False) -> Any:
        if not training or self.p == 0.0:
            self.mask = None
            return z
        keep = self.rng.random(z.shape, dtype=np.float32) >= self.p
        self.mask = xp.asarray(keep, dtype=z.dtype) / z.dtype.type(1.0 - self.p)
        return z * self.mask

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        return delta if self.mask is None else delta * self.mask

    def config(self) -> dict[str, Any]:
        return {"p": self.p}


class Flatten(Layer):
    """Reshape (N, d1, d2, ...) to (N, d1*d2*...); the gradient is reshaped back."""

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(shape),)

    def cost(self, shape: tuple[int, ...]) -> tuple[int, int]:
        return 0, 0  # a view

    def forward(self, a_in: Any, training: bool = False) -> Any:
        self.in_shape = a_in.shape
        return a_in.reshape(a_in.shape[0], -1)

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        return delta.reshape(self.in_shape)


class Reshape(Layer):
    """Reshape (N, ...) to (N, *shape), e.g. flat images to (N, 1, 28, 28) channels-first;
    the gradient is reshaped back."""

    def __init__(self, shape: list[int] | tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(int(d) for d in shape)
        if not self.shape or min(self.shape) < 1:
            raise ValueError(f"Reshape needs sizes >= 1, got {list(shape)}")

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if math.prod(shape) != math.prod(self.shape):
            raise ValueError(f"Reshape{self.shape} cannot take inputs of shape {shape}")
        return self.shape

    def cost(self, shape: tuple[int, ...]) -> tuple[int, int]:
        return 0, 0  # a view

    def forward(self, a_in: Any, training: bool = False) -> Any:
        self.in_shape = a_in.shape
        return a_in.reshape(a_in.shape[0], *self.shape)

    def backward(self, delta: Any, need_input_grad: bool = True) -> Any:
        return delta.reshape(self.in_shape)

    def config(self) -> dict[str, Any]:
        return {"shape": list(self.shape)}


LAYERS: dict[str, type[Layer]] = {
    cls.__name__: cls for cls in (Dense, Sigmoid, Tanh, ReLU, LeakyReLU, Dropout, Flatten, Reshape)
}  # conv.py and norm.py add theirs
