"""A trained recognizer: a ``Network`` plus what is known about it (architecture, preset,
training settings, data checksums, metrics, history), stored as one ``.npz`` file.

File layout (``store.py``, shared with checkpoints): arrays ``param_000``, ``param_001``, ...
(the network's parameters in order) and ``meta``, the JSON record (``record.py`` has its
schema), so the file loads with ``allow_pickle=False``: nothing in it can run code.

Loading trusts nothing: the container's sizes are capped before anything is unpacked, every
field of the record is checked, and what the network would cost to run (operations and
memory per image, walked from the architecture without running it) is capped at LIMIT times
the largest preset's, before a single weight is allocated.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from . import store
from .calibration import softmax_t
from .errors import ModelFileError, ModelOutputError
from .nn import COSTS, LAYERS, Network, forward_cost
from .record import check

FORMAT = "handwriting-model"
FORMAT_VERSION = 2  # 1 called the cost "loss"; read as 2 by _upgrade
MAX_PARAMS = 100_000_000  # refuse absurd architectures before allocating anything
# Per image, 10x what the largest preset (cnn) needs: 23.0 M operations, 239 k numbers held.
MAX_OPERATIONS = 230_000_000
MAX_NUMBERS = 2_400_000
LIMIT_ENV = "HANDWRITING_MODEL_LIMIT"  # a factor that raises the limits above, for bigger models
NOT_A_DIGIT_LABEL = "not a digit"  # the last entry of ``classes`` in a model that rejects
REJECT_AT = 0.5  # a mark is not a digit when that is, calibrated, the more probable answer


def architecture(network: Network) -> dict[str, Any]:
    """The JSON-able description from which :func:`build` rebuilds the same network."""
    return {
        "layers": [{"type": type(layer).__name__, **layer.config()} for layer in network.layers],
        "cost": {"type": type(network.cost).__name__, "config": network.cost.config()},
        "dtype": network.dtype.name,
    }


def limit() -> float:
    """The factor on MAX_PARAMS, MAX_OPERATIONS and MAX_NUMBERS: $HANDWRITING_MODEL_LIMIT or 1."""
    text = os.environ.get(LIMIT_ENV, "1")
    try:
        factor = float(text)
    except ValueError:
        factor = 0.0
    if not 1.0 <= factor <= 1e6:
        raise ModelFileError(
            f"{LIMIT_ENV}={text!r}: give a factor from 1 to 1000000 by which to raise the limits"
        )
    return factor


def build(arch: dict[str, Any], image_shape: tuple[int, ...], n_classes: int) -> Network:
    """A network (with placeholder weights) from :func:`architecture`'s description, once its
    layers are known to fit together, from ``image_shape`` to ``n_classes`` scores, at a cost
    within the limits."""
    layers = []
    for spec in arch["layers"]:
        spec = dict(spec)
        kind = spec.pop("type")
        if kind not in LAYERS:
            raise ValueError(f"unknown layer type {kind!r}")
        layers.append(LAYERS[kind](**spec))
    cost = arch["cost"]
    cost_type, cost_config = (cost, {}) if isinstance(cost, str) else (cost["type"], cost.get("config", {}))
    if cost_type not in COSTS:
        raise ValueError(f"unknown cost {cost_type!r}")
    factor = limit()
    shape, operations, numbers = forward_cost(layers, tuple(image_shape))  # nothing allocated
    n = sum(layer.size() for layer in layers)
    costs = (
        (n, MAX_PARAMS, "weights"),
        (operations, MAX_OPERATIONS, "operations per image"),
        (numbers, MAX_NUMBERS, "numbers held per image"),
    )
    for value, cap, what in costs:
        if value > cap * factor:
            raise ValueError(
                f"the network needs {value:,} {what}, more than the {cap * factor:,.0f} allowed "
                f"(set {LIMIT_ENV} to a factor to raise the limit)"
            )
    if shape != (n_classes,):
        raise ValueError(f"the network maps one image to shape {shape}, not {n_classes} scores")
    return Network(layers, COSTS[cost_type](**cost_config), dtype=arch.get("dtype", "float32"))


def _upgrade(meta: Any) -> Any:
    """A record of format version 1, which named the cost "loss" (``loss``, ``val_loss``,
    ``test_loss``, the architecture's ``loss``), as version 2; any other record unchanged."""
    if not (isinstance(meta, dict) and meta.get("format") == FORMAT and meta.get("format_version") == 1):
        return meta
    meta = {**meta, "format_version": 2}
    for part in ("architecture", "metrics", "history"):
        if isinstance(meta.get(part), dict):
            meta[part] = {key.replace("loss", "cost"): value for key, value in meta[part].items()}
    return meta


def _check_meta(meta: object) -> None:
    """The JSON record: every field's kind (``record.SCHEMA``), then the ranges that matter."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError("not a handwriting model")
    check(meta)
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"format version {meta.get('format_version')!r} is not supported")
    shape, classes, arch = meta.get("image_shape"), meta.get("classes"), meta.get("architecture")
    if not (
        isinstance(shape, list)
        and len(shape) == 2
        and all(isinstance(d, int) and 0 < d <= 4096 for d in shape)
    ):
        raise ValueError(f"image_shape must be two sizes from 1 to 4096, got {shape!r}")
    if not (isinstance(classes, list) and 2 <= len(classes) <= 1000):
        raise ValueError("classes must be a list of 2 to 1000 labels")
    calibration = meta.get("calibration", {"temperature": 1.0})
    t = calibration.get("temperature") if isinstance(calibration, dict) else None
    if not (isinstance(t, (int, float)) and not isinstance(t, bool) and 0.01 <= t <= 100):
        raise ValueError(f"calibration must hold a temperature from 0.01 to 100, got {calibration!r}")
    if not (isinstance(arch, dict) and isinstance(arch.get("layers"), list) and len(arch["layers"]) <= 1000):
        raise ValueError("architecture must hold a list of layers")
    if arch.get("dtype", "float32") not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {arch.get('dtype')!r}")
    for spec in arch["layers"]:
        if not (isinstance(spec, dict) and isinstance(spec.get("type"), str)):
            raise ValueError(f"each layer must be an object with a type, got {spec!r}")
        for key, value in spec.items():
            if key != "type" and not isinstance(value, (int, float, str, bool, list)):
                raise ValueError(f"{spec['type']}.{key} has a value of unexpected kind")
            if isinstance(value, float) and not np.isfinite(value):
                raise ValueError(f"{spec['type']}.{key} is not finite")


class Model:
    """A network and its record. ``predict``/``predict_proba``/``score`` take images
    shaped like the training data: (N, H, W) floats in [0, 1]."""

    def __init__(self, network: Network, meta: dict[str, Any], source: str | None = None) -> None:
        self.network = network
        self.meta = meta
        self.source = source  # the file it was loaded from, to name in errors
        # Layers keep what they saw in a forward pass (for backprop), so two threads must not
        # run the same network at once: a web server answering requests in parallel takes turns here.
        self._lock = threading.Lock()

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.meta["image_shape"])

    def _check(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        if images.shape[1:] != self.image_shape:
            raise ValueError(
                f"this model reads images of {self.image_shape}, got a batch of {images.shape[1:]}"
            )
        return images

    @property
    def temperature(self) -> float:
        """The calibration temperature T fitted after training (1.0: none)."""
        return float(self.meta.get("calibration", {}).get("temperature", 1.0))

    @property
    def reject_class(self) -> int | None:
        """The class meaning "not a digit", for models trained to reject (else None)."""
        classes = self.meta.get("classes", [])
        return len(classes) - 1 if classes and classes[-1] == NOT_A_DIGIT_LABEL else None

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """The class of each row of probabilities: the most probable digit, or "not a digit"
        (models that have it) where that is the more probable answer, P >= REJECT_AT."""
        proba = np.asarray(proba)
        if self.reject_class is None:
            return proba.argmax(axis=1)
        out = proba[:, : self.reject_class].argmax(axis=1)
        out[proba[:, self.reject_class] >= REJECT_AT] = self.reject_class
        return out

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities, calibrated: softmax(z / T) where the model has a temperature."""
        images = self._check(images)
        with self._lock, np.errstate(over="ignore", invalid="ignore"):
            if self.temperature == 1.0:
                proba = self.network.predict_proba(images)
            else:
                proba = softmax_t(self.network.decision_function(images), self.temperature).astype(np.float32)
        if not np.isfinite(proba).all():
            raise ModelOutputError(
                f"{self.source or 'the model'}: its outputs are not finite numbers (the weights "
                "overflow on this input); use another model file, or retrain this one"
            )
        return proba

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.decide(self.predict_proba(images))

    def score(self, images: np.ndarray, labels: np.ndarray) -> float:
        return float((self.predict(images) == np.asarray(labels)).mean())

    def describe(self) -> dict[str, Any]:
        """What a model is, in plain JSON: preset, layers, size, input, metrics, data, command."""
        meta, net = self.meta, self.network
        return {
            "preset": meta.get("preset"),
            "layers": [repr(layer) for layer in net.layers],
            "parameters": net.n_params(),
            "image_shape": list(self.image_shape),
            "metrics": meta.get("metrics", {}),
            "dataset": meta.get("dataset", {}).get("name"),
            "trained_with": meta.get("training", {}).get("command"),
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model atomically: a crash never leaves a half-written file at ``path``."""
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **self.meta}
        meta["architecture"] = architecture(self.network)
        arrays = {f"param_{i:03d}": p for i, p in enumerate(self.network.get_params())}
        store.write(path, arrays, meta, compress=True)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model file, refusing anything that is not a complete, consistent one of ours."""
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"{path}: no such model file")
        try:
            arrays, meta = store.read(path)
        except Exception as e:  # zip, zlib, npy-header, JSON and size refusals alike
            raise ModelFileError(f"{path}: not a readable model file ({type(e).__name__}: {e})") from None
        try:
            meta = _upgrade(meta)
            _check_meta(meta)
            network = build(meta["architecture"], tuple(meta["image_shape"]), len(meta["classes"]))
            names = [f"param_{i:03d}" for i in range(len(arrays))]
            if sorted(arrays) != names:
                raise ValueError(f"unexpected arrays {sorted(arrays)}")
            params = [arrays[n] for n in names]
            if not all(np.issubdtype(p.dtype, np.floating) and np.isfinite(p).all() for p in params):
                raise ValueError("parameters must be finite floating-point numbers")
            network.set_params(params)
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
            raise ModelFileError(f"{path}: damaged or foreign model file ({type(e).__name__}: {e})") from None
        return cls(network, meta, source=str(path))
