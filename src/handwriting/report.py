"""``handwriting report``: figures about a trained model, as PNG files and one
self-contained HTML page (the figures embedded, nothing loaded from elsewhere)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

from .calibration import ECE_BINS, calibration_error, reliability
from .data import Dataset
from .evaluation import evaluate
from .model import Model


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    return plt


def learning_curves(model: Model, out: Path) -> Path:
    """Cost and accuracy per epoch, on the training batches and on the validation split."""
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    h = model.meta.get("history", {})
    epochs = np.arange(1, len(h.get("cost", [])) + 1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=110)
    a.plot(epochs, h.get("cost", []), marker="o", label="training (running)")
    if h.get("val_cost"):
        a.plot(epochs, h["val_cost"], marker="o", label="validation")
    smoothing = getattr(model.network.cost, "label_smoothing", 0.0)
    a.set(xlabel="epoch", ylabel="cost", title="Cost")
    if smoothing:  # the smoothed targets are never met exactly: the cost cannot reach 0
        a.set_title(f"Cost (label smoothing {smoothing:g}: it levels off above 0)", fontsize=10)
    b.plot(epochs, 100 * np.asarray(h.get("accuracy", [])), marker="o", label="training (running)")
    if h.get("val_accuracy"):
        b.plot(epochs, 100 * np.asarray(h["val_accuracy"]), marker="o", label="validation")
    b.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    fig.tight_layout()
    path = out / "learning-curves.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def confusion(cm: np.ndarray, out: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 5.4), dpi=110)
    shown = np.log1p(cm)  # the diagonal dwarfs the mistakes; a log scale shows both
    ax.imshow(shown, cmap="Blues")
    for i in range(len(cm)):
        for j in range(len(cm)):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if shown[i, j] > shown.max() / 2 else "black",
            )
    ax.set(
        xlabel="predicted digit",
        ylabel="true digit",
        title="Confusion matrix (test set)",
        xticks=range(len(cm)),
        yticks=range(len(cm)),
    )
    names = [str(c) if c < 10 else "none" for c in range(len(cm))]  # class 10: "not a digit"
    ax.set_xticklabels(names)
    ax.set_yticklabels(names)
    fig.tight_layout()
    path = out / "confusion.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def mistakes(
    proba: np.ndarray, guess: np.ndarray, ds: Dataset, out: Path, limit: int = 40
) -> tuple[Path, int]:
    """The test digits the model gets wrong (``proba``: its class probabilities for the test
    set, ``guess``: its decisions), with its guess and confidence."""
    plt = _plt()
    wrong = np.flatnonzero(guess != ds.y_test)
    shown = wrong[:limit]
    cols = 10
    rows = max(1, -(-len(shown) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.35), dpi=110, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), shown, strict=False):
        ax.imshow(ds.x_test[i], cmap="gray_r")
        said = str(guess[i]) if guess[i] < 10 else "none"  # class 10: "not a digit"
        ax.set_title(f"{ds.y_test[i]}→{said} {100 * proba[i, guess[i]]:.0f}%", fontsize=7)
    fig.suptitle(f"{len(wrong)} of {len(ds.y_test)} test digits misread (true→guess, confidence)", fontsize=9)
    fig.tight_layout()
    path = out / "mistakes.png"
    fig.savefig(path)
    plt.close(fig)
    return path, len(wrong)


def first_layer(model: Model, out: Path, limit: int = 64) -> Path | None:
    """What the first layer looks for: a Dense layer's weights into each unit, drawn as an
    image, or a convolution's filters."""
    plt = _plt()
    layer = next((layer for layer in model.network.layers if layer.params), None)
    if layer is None:
        return None
    w = np.asarray(layer.params["W"])
    if w.ndim == 4:  # Conv2D (f, c, k, k): the first input channel of each filter
        tiles = w[:limit, 0]
        title = f"First convolution's {len(tiles)} filters ({w.shape[2]}x{w.shape[3]})"
    else:  # Dense (n_in, n_out): the weights into each unit, shaped like the image
        tiles = w.T[:limit].reshape(-1, *model.image_shape)
        title = f"Weights into the first {len(tiles)} of {w.shape[1]} hidden units"
    cols = 8
    rows = -(-len(tiles) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.0, rows * 1.0 + 0.4), dpi=110, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    m = float(np.abs(tiles).max()) or 1.0  # one scale for all, so the tiles compare
    for ax, tile in zip(axes.ravel(), tiles, strict=False):
        shown = ax.imshow(tile, cmap="RdBu", vmin=-m, vmax=m)
    fig.suptitle(title + " (red < 0 < blue)", fontsize=9)
    fig.tight_layout()
    fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.8, label="weight")
    path = out / "first-layer.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def reliability_diagram(proba: np.ndarray, labels: np.ndarray, out: Path) -> Path:
    """Accuracy against confidence per bin of the top label's probability: on the diagonal,
    a confidence of 0.9 is right 90% of the time. Bar widths are the bins; the number of
    test digits in each is written above it."""
    plt = _plt()
    confidence, right = proba.max(axis=1), proba.argmax(axis=1) == labels
    r = reliability(confidence, right)
    ece = calibration_error(confidence, right)
    edges = np.linspace(0, 1, ECE_BINS + 1)
    fig, ax = plt.subplots(figsize=(5.4, 5), dpi=110)
    used = r["count"] > 0
    ax.bar(
        edges[:-1][used], r["accuracy"][used], width=1 / ECE_BINS, align="edge", alpha=0.7, label="accuracy"
    )
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    ax.plot(
        r["confidence"][used], r["accuracy"][used], "o", color="black", markersize=3, label="mean confidence"
    )
    for x, a, n in zip(edges[:-1][used], r["accuracy"][used], r["count"][used], strict=True):
        ax.text(x + 0.5 / ECE_BINS, min(a + 0.02, 1.02), f"{int(n)}", ha="center", fontsize=6)
    ax.set(
        xlabel="confidence (top label's probability)",
        ylabel="accuracy",
        xlim=(0, 1),
        ylim=(0, 1.08),
        title=f"Reliability on the test set (ECE {100 * ece:.2f}%)",
    )
    ax.legend(loc="upper left")
    fig.tight_layout()
    path = out / "reliability.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(model: Model, model_name: str, ds: Dataset, out: Path) -> Path:
    """All figures into ``out``, and ``out/report.html`` with them embedded."""
    out.mkdir(parents=True, exist_ok=True)
    scored = evaluate([model], ds.x_test, ds.y_test)  # once, for every figure that needs it
    proba, cm, accuracy = scored["probabilities"], scored["confusion"], scored["accuracy"]
    figures = [
        ("Learning curves", learning_curves(model, out)),
        ("Confusion matrix", confusion(cm, out)),
        ("Are the confidences probabilities?", reliability_diagram(proba, ds.y_test, out)),
    ]
    wrong_path, n_wrong = mistakes(proba, scored["decided"], ds, out)
    figures.append((f"Misread test digits ({n_wrong})", wrong_path))
    layer_path = first_layer(model, out)
    if layer_path is not None:
        figures.append(("What the first layer looks for", layer_path))
    meta = model.meta
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in [
            ("model", model_name),
            ("preset", meta.get("preset")),
            ("test accuracy", f"{100 * accuracy:.2f}% of {len(ds.y_test):,}"),
            (
                "validation accuracy",
                f"{100 * meta.get('metrics', {}).get('val_accuracy', float('nan')):.2f}%",
            ),
            ("parameters", f"{model.network.n_params():,}"),
            ("trained with", meta.get("training", {}).get("command")),
        ]
    )
    sections = "".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}'>"
        for title, path in figures
    )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>handwriting report</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2rem auto;padding:0 1rem}"
        "img{max-width:100%}th{text-align:left;padding-right:1rem}</style></head><body>"
        f"<h1>Report: {html.escape(model_name)}</h1><table>{rows}</table>{sections}</body></html>"
    )
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
