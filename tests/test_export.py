"""ONNX export (issue #14): onnxruntime gives the probabilities ``predict_proba`` gives, for
every preset's architecture (Dense, Conv2D, pooling, BatchNorm, activations, softmax with a
temperature, the seed network's normalized sigmoids), and for the shipped model."""

import numpy as np
import pytest

from conftest import preset_model, run_cli
from handwriting.data import load_mnist
from handwriting.model import Model
from handwriting.presets import PRESETS
from handwriting.recognizer import pretrained_path

ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install '.[onnx]'")
pytest.importorskip("onnx")
from handwriting.export import to_onnx  # noqa: E402


def _run(path, images):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], {"images": images})[0]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_exports_to_the_same_probabilities(preset, tmp_path):
    rng = np.random.default_rng(3)
    model = preset_model(preset, rng)
    classes = len(model.meta["classes"])
    to_onnx(model, tmp_path / "m.onnx")
    images = rng.random((64, 28, 28), dtype=np.float32)
    expected = model.predict_proba(images)
    assert np.abs(_run(tmp_path / "m.onnx", images) - expected).max() <= 1e-4
    assert _run(tmp_path / "m.onnx", images[:1]).shape == (1, classes)  # any batch size


def test_the_shipped_model_exports_from_the_command_line(mnist_dir, tmp_path):
    result = run_cli("export", "pretrained", "--out", str(tmp_path / "reader.onnx"))
    assert result.returncode == 0, result.stderr
    x = load_mnist(mnist_dir).x_test[:2000]
    expected = Model.load(pretrained_path()).predict_proba(x)
    assert np.abs(_run(tmp_path / "reader.onnx", x) - expected).max() <= 1e-4
