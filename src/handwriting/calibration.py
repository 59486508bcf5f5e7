"""Confidences that are probabilities: temperature scaling and calibration error.

A network trained with label smoothing (or over-fitted) says 0.9 where it is right 99.6%
of the time, or 1.0 where it is right 90%. Temperature scaling (Guo et al. 2017) fixes this
with one number T, fitted on the validation split after training:

    p = softmax(z / T)

T > 1 softens the probabilities, T < 1 sharpens them; the most probable class, and so the
accuracy, never changes. T minimizes the negative log-likelihood of the validation labels,
-1/N sum_n log softmax(z_n / T)_{y_n}, a smooth function of log T with one minimum.

A model that can say "not a digit" (an extra, last class) rejects a mark when, calibrated,
that is the more probable answer: P(not a digit) >= 1/2.

The expected calibration error (ECE) measures what is left: the top probabilities are put in
B equal-width bins; in each bin, |accuracy - mean confidence|, weighted by the bin's share
of examples, summed.
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15


def softmax_t(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(z / T), row by row, computed stably (the row maximum subtracted first)."""
    z = np.asarray(logits, np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """-1/N sum_n log softmax(z_n / T)_{y_n}."""
    z = np.asarray(logits, np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.05, 20] minimizing :func:`nll`, by golden-section search on log T."""
    labels = np.asarray(labels, np.int64)
    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(logits, labels, np.exp(a)), nll(logits, labels, np.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(logits, labels, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(logits, labels, np.exp(b))
    return float(np.exp((lo + hi) / 2))


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """Per bin of confidence (equal widths on [0, 1]): example count, mean confidence and
    accuracy (NaN for an empty bin). ``correct`` says whether each answer was right."""
    confidence = np.asarray(confidence, np.float64)
    right = np.asarray(correct, np.float64)
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    count = np.bincount(which, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, confidence, minlength=bins) / count
        accuracy = np.bincount(which, right, minlength=bins) / count
    return {"count": count, "confidence": mean_conf, "accuracy": accuracy}


def calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE = sum_b (n_b / N) |accuracy_b - confidence_b| over the non-empty bins."""
    r = reliability(confidence, correct, bins)
    used = r["count"] > 0
    gap = np.abs(r["accuracy"][used] - r["confidence"][used])
    return float((r["count"][used] * gap).sum() / max(r["count"].sum(), 1))


def expected_calibration_error(proba: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """The ECE of the top label: its probability against whether it is the true label."""
    proba = np.asarray(proba)
    return calibration_error(proba.max(axis=1), proba.argmax(axis=1) == np.asarray(labels), bins)
