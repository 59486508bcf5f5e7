"""A trained recognizer: a ``Network`` plus what is known about it (architecture, preset,
training settings, data checksums, metrics, history), stored as one ``.npz`` file.

File layout: arrays ``param_000``, ``param_001``, ... (the network's parameters in order)
and ``meta``, the UTF-8 JSON description as a uint8 array, so the file loads with
``allow_pickle=False``: nothing in it can run code.
"""

from __future__ import annotations

import io
import json
import os
import threading
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write
from .calibration import softmax_t
from .errors import ModelFileError
from .nn import LAYERS, LOSSES, Network

FORMAT = "handwriting-model"
FORMAT_VERSION = 1
MAX_PARAMS = 100_000_000  # refuse absurd architectures before allocating anything
MAX_BYTES = 1 << 30  # nor unpack more than this
NOT_A_DIGIT_LABEL = "not a digit"  # the last entry of ``classes`` in a model that rejects
REJECT_AT = 0.5  # a mark is not a digit when that is, calibrated, the more probable answer


def architecture(network: Network) -> dict[str, Any]:
    """The JSON-able description from which :func:`build` rebuilds the same network."""
    return {
        "layers": [{"type": type(layer).__name__, **layer.config()} for layer in network.layers],
        "loss": {"type": type(network.loss).__name__, "config": network.loss.config()},
        "dtype": network.dtype.name,
    }


def build(arch: dict[str, Any]) -> Network:
    """A network (with placeholder weights) from :func:`architecture`'s description."""
    layers = []
    for spec in arch["layers"]:
        spec = dict(spec)
        kind = spec.pop("type")
        if kind not in LAYERS:
            raise ValueError(f"unknown layer type {kind!r}")
        layers.append(LAYERS[kind](**spec))
    loss = arch["loss"]
    loss_type, loss_config = (loss, {}) if isinstance(loss, str) else (loss["type"], loss.get("config", {}))
    if loss_type not in LOSSES:
        raise ValueError(f"unknown cost {loss_type!r}")
    n = sum(layer.size() for layer in layers)
    if n > MAX_PARAMS:
        raise ValueError(f"architecture declares {n:,} weights, more than the {MAX_PARAMS:,} allowed")
    return Network(layers, LOSSES[loss_type](**loss_config), dtype=arch.get("dtype", "float32"))


def _check_meta(meta: object) -> None:
    """The JSON record's schema: what must be there, with which types and ranges."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError("not a handwriting model")
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

    def __init__(self, network: Network, meta: dict[str, Any]) -> None:
        self.network = network
        self.meta = meta
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
        with self._lock:
            if self.temperature == 1.0:
                return self.network.predict_proba(images)
            logits = self.network.decision_function(images)
        return softmax_t(logits, self.temperature).astype(np.float32)

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.decide(self.predict_proba(images))

    def score(self, images: np.ndarray, labels: np.ndarray) -> float:
        return float((self.predict(images) == np.asarray(labels)).mean())

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model atomically: a crash never leaves a half-written file at ``path``."""
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **self.meta}
        meta["architecture"] = architecture(self.network)
        arrays = {f"param_{i:03d}": p for i, p in enumerate(self.network.get_params())}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        with atomic_write(path) as f:
            f.write(buffer.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model file, refusing anything that is not a complete, consistent one of ours."""
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"{path}: no such model file")
        try:
            with zipfile.ZipFile(path) as z:  # sizes first: a zip bomb is refused unopened
                total = sum(info.file_size for info in z.infolist())
            if total > MAX_BYTES:
                raise ValueError(f"it would unpack to {total:,} bytes, more than the {MAX_BYTES:,} allowed")
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except Exception as e:  # zip, zlib, npy-header and pickle-refusal errors alike
            raise ModelFileError(f"{path}: not a readable model file ({type(e).__name__}: {e})") from None
        try:
            meta = json.loads(bytes(arrays.pop("meta")).decode())
            _check_meta(meta)
            network = build(meta["architecture"])
            names = [f"param_{i:03d}" for i in range(len(arrays))]
            if sorted(arrays) != names:
                raise ValueError(f"unexpected arrays {sorted(arrays)}")
            params = [arrays[n] for n in names]
            if not all(np.issubdtype(p.dtype, np.floating) and np.isfinite(p).all() for p in params):
                raise ValueError("parameters must be finite floating-point numbers")
            network.set_params(params)
            # The layers must also fit together: one blank image must come out as 10 scores.
            out = network.forward(np.zeros((1, *meta["image_shape"]), dtype=network.dtype))
            if tuple(out.shape) != (1, len(meta["classes"])):
                raise ValueError(f"the network maps one image to shape {tuple(out.shape)}")
        except (KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError, RecursionError) as e:
            raise ModelFileError(f"{path}: damaged or foreign model file ({type(e).__name__}: {e})") from None
        return cls(network, meta)
