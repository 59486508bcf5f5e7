"""Read the digits in a person's image with a trained model: image -> ink -> 28x28 digits
-> network -> a string, with a confidence per digit and '?' where the network is unsure."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import ModelFileError
from .imaging.load import MAX_PIXELS, ImageSource, load_gray
from .imaging.normalize import FIELD, find_digits
from .model import Model

DEFAULT_THRESHOLD = 0.5
UNKNOWN = "?"
PRETRAINED = "mnist.npz"


@dataclass
class Recognition:
    """What was read in one image. ``digits`` has one character per digit found, left to
    right ('?' where the best class's probability is below the threshold)."""

    digits: str
    confidences: list[float]
    top_k: list[list[tuple[int, float]]] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    images: np.ndarray = field(default_factory=lambda: np.zeros((0, FIELD, FIELD), np.float32))

    def as_dict(self) -> dict[str, object]:
        return {
            "digits": self.digits,
            "confidences": [round(c, 4) for c in self.confidences],
            "top_k": [[{"digit": d, "probability": round(p, 4)} for d, p in row] for row in self.top_k],
            "boxes": [list(b) for b in self.boxes],
        }


def pretrained_path() -> Path:
    """The model file that ships inside the package."""
    return Path(str(resources.files("handwriting") / "models" / PRETRAINED))


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> Model:
    """A model for recognition (default: the pretrained one), loaded once and cached."""
    model = Model.load(path or pretrained_path())
    if model.image_shape != (FIELD, FIELD):
        raise ModelFileError(
            f"{path}: trained on {'x'.join(map(str, model.image_shape))} images; recognizing needs a "
            f"model trained on 28x28 MNIST (handwriting train --dataset mnist)"
        )
    return model


def recognize(
    image: ImageSource,
    model: Model | str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    top_k: int = 3,
    max_pixels: int = MAX_PIXELS,
) -> Recognition:
    """Read the digits in ``image`` (a path, encoded bytes, a PIL image or an array).

    Each digit is found and normalized as MNIST's were (see ``imaging.normalize``), then
    classified; a digit whose best probability is below ``threshold`` is reported as '?'.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    if not isinstance(model, Model):
        model = load_model(None if model is None else str(model))
    found = find_digits(load_gray(image, max_pixels), model.predict_proba)
    if not found:
        return Recognition("", [])
    images = np.stack([d.pixels for d in found])
    proba = model.predict_proba(images)
    best = proba.argmax(axis=1)
    confidence = proba[np.arange(len(best)), best]
    order = np.argsort(-proba, axis=1)[:, : max(1, top_k)]
    text = "".join(str(b) if c >= threshold else UNKNOWN for b, c in zip(best, confidence, strict=True))
    return Recognition(
        digits=text,
        confidences=[float(c) for c in confidence],
        top_k=[[(int(k), float(proba[i, k])) for k in row] for i, row in enumerate(order)],
        boxes=[d.box for d in found],
        images=images,
    )
