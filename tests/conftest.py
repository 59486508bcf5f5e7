import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from handwriting.data import Dataset

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def pytest_addoption(parser):
    parser.addoption(
        "--slow",
        action="store_true",
        help="also run the tests marked slow (full-MNIST training, 10,000-input fuzzing), as CI does",
    )


def pytest_collection_modifyitems(config, items):
    """Slow tests are skipped unless --slow: the default run stays within a few minutes."""
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (CI does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST folder, named the way a user names it: $HANDWRITING_DATA."""
    folder = os.environ.get("HANDWRITING_DATA")
    if not folder:
        pytest.skip("full MNIST not available: set HANDWRITING_DATA to a folder with the four MNIST files")
    missing = [n for n in MNIST_FILES if not (Path(folder) / n).is_file()]
    if missing:
        pytest.skip(f"full MNIST not available: {folder} lacks {', '.join(missing)}")
    return Path(folder)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's real cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


def toy_dataset(n_train: int = 300, n_val: int = 100, n_test: int = 100, seed: int = 0) -> Dataset:
    """A small learnable 10-class problem of 6x6 'images': each class lights one pattern."""
    rng = np.random.default_rng(seed)
    prototypes = rng.random((10, 6, 6)).astype(np.float32)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 10, n)
        x = prototypes[y] + 0.3 * rng.standard_normal((n, 6, 6)).astype(np.float32)
        return np.clip(x, 0, 1).astype(np.float32), y.astype(np.int64)

    (xt, yt), (xv, yv), (xs, ys) = draw(n_train), draw(n_val), draw(n_test)
    return Dataset("toy", xt, yt, xv, yv, xs, ys, {"toy": "0" * 64})


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """Run `handwriting ARGS` as a new user would: a separate process, no $HANDWRITING_DATA,
    an empty cache."""
    env = {k: v for k, v in os.environ.items() if k != "HANDWRITING_DATA"}
    with tempfile.TemporaryDirectory(prefix="hw-cache-") as cache:  # gone afterwards, not left in /tmp
        env["XDG_CACHE_HOME"] = cache
        return subprocess.run(
            [sys.executable, "-m", "handwriting", *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=600,
        )


def preset_model(preset: str, rng: np.random.Generator):
    """An untrained model of ``preset``'s architecture, its batch norms given statistics of
    their own (not the defaults) and, for softmax networks, a calibration temperature: what
    an exported model must reproduce."""
    from handwriting.model import Model
    from handwriting.presets import PRESETS

    classes = 11 if PRESETS[preset].open_set else 10
    network = PRESETS[preset].build((28, 28), rng, classes)
    for layer in network.layers:
        if "running_var" in layer.buffers:
            layer.buffers["running_mean"][:] = rng.normal(0, 0.5, layer.n)
            layer.buffers["running_var"][:] = rng.uniform(0.5, 2.0, layer.n)
            layer.params["gamma"][:] = rng.uniform(0.5, 1.5, layer.n)
    temperature = 0.7 if preset != "seed" else 1.0  # (training calibrates softmax networks only)
    meta = {
        "image_shape": [28, 28],
        "classes": list(range(classes)),
        "calibration": {"temperature": temperature},
    }
    return Model(network, meta)
