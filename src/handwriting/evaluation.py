"""Scoring models on labelled images: one model or an ensemble (class probabilities averaged),
with or without test-time augmentation; accuracy as the models decide (a reader's "not a
digit" at its threshold), the confusion matrix, the calibration error. Used by the
``evaluate`` command and by reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .calibration import expected_calibration_error
from .data.augment import TTA_SHIFTS, shifted
from .metrics import confusion_matrix
from .model import Model


def evaluate(
    models: Sequence[Model], images: np.ndarray, labels: np.ndarray, tta: bool = False
) -> dict[str, Any]:
    """Accuracy, confusion matrix and calibration error on (images, labels) of one model, or
    of an ensemble:
    several models' class probabilities averaged, then the most probable class taken.
    With ``tta`` (test-time augmentation), each model's probabilities are themselves the
    average over the image and its four one-pixel shifts. ``members`` lists each model's
    own accuracy."""
    if not models:
        raise ValueError("no model to evaluate")
    shapes = {m.image_shape for m in models}
    if len(shapes) > 1:
        raise ValueError(f"these models read images of different sizes: {sorted(shapes)}")
    if len({len(m.meta["classes"]) for m in models}) > 1:
        raise ValueError(
            "these models tell apart different classes (one has 'not a digit'); ensemble alike models"
        )
    views = [shifted(images, dy, dx) for dy, dx in TTA_SHIFTS] if tta else [images]
    probabilities = [np.mean([m.predict_proba(v) for v in views], axis=0) for m in models]
    n_classes = probabilities[0].shape[1]

    def score(p: np.ndarray) -> tuple[float, np.ndarray]:
        cm = confusion_matrix(labels, models[0].decide(p), n_classes)
        return float(np.trace(cm) / max(cm.sum(), 1)), cm

    mean = np.mean(probabilities, axis=0)
    accuracy, cm = score(mean)
    return {
        "accuracy": accuracy,
        "confusion": cm,
        "members": [score(p)[0] for p in probabilities],
        "ece": expected_calibration_error(mean, labels),
        "probabilities": mean,
        "decided": models[0].decide(mean),
    }
