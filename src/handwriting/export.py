"""A trained model for other runtimes.

``to_onnx``: an ONNX graph, built from our own weights with the ``onnx`` package's helpers (no
other framework involved), for onnxruntime and the runtimes that read ONNX.

Input ``images``: float32 (N, H, W) in [0, 1], N free, as ``Model.predict_proba`` takes.
Output ``probabilities``: (N, classes), as ``Model.predict_proba`` gives them: softmax(z / T)
for a calibrated model, else softmax(z), or for the quadratic-cost network its sigmoid outputs
normalized to sum 1. Each of
our layers maps to one ONNX operator (a Dense layer to MatMul and Add); Dropout, a no-op
when predicting, to none.

``to_web``: a static site that reads pictures in the browser with no server: the drawing
page ``serve`` shows, its JavaScript reader (``web/static/reader``: the imaging steps and a
forward pass, each layer a short function) and the weights as ``model.json`` (the layers and
where each array lies) with ``weights.bin`` (little-endian float32).
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write
from .errors import HandwritingError
from .model import REJECT_AT, Model
from .nn import SoftmaxCrossEntropy

OPSET = 17


def to_onnx(model: Model, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` as an ONNX file (needs the ``onnx`` extra)."""
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:
        raise HandwritingError(
            "exporting to ONNX needs the onnx package: pip install 'handwriting[onnx]'"
        ) from None
    graph = _Graph()
    out = "images"
    for i, layer in enumerate(model.network.layers):
        out = graph.layer(f"l{i}", layer, out)
    if model.temperature != 1.0:  # calibrated, as Model.predict_proba: softmax(z / T)
        out = graph.node("Div", [out, graph.constant("temperature", np.float32(model.temperature))])
        graph.node("Softmax", [out], axis=1, output="probabilities")
    elif isinstance(model.network.cost, SoftmaxCrossEntropy):
        graph.node("Softmax", [out], axis=1, output="probabilities")
    else:  # sigmoid scores, normalized to sum 1 (QuadraticCost.probabilities)
        total = graph.node("ReduceSum", [out, graph.constant("axis", np.array([1], np.int64))], keepdims=1)
        total = graph.node("Max", [total, graph.constant("tiny", np.float32(1e-12))])
        graph.node("Div", [out, total], output="probabilities")
    h, w = model.image_shape
    n_classes = len(model.meta["classes"])
    onnx_graph = helper.make_graph(
        graph.nodes,
        "handwriting",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", h, w])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", n_classes])],
        graph.initializers,
    )
    proto = helper.make_model(
        onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="handwriting"
    )
    proto.doc_string = f"classes: {model.meta['classes']}"
    onnx.checker.check_model(proto)
    onnx.save(proto, os.fspath(path))


# the site: the serve page's files, the reader it runs in the browser, and the weights
SITE_FILES = (
    "app.js",
    "style.css",
    "favicon.svg",
    "reader/grid.js",
    "reader/imaging.js",
    "reader/network.js",
    "reader/orient.js",
    "reader/pixelated.js",
    "reader/read.js",
    "reader/rings.js",
    "reader/rules.js",
)
ATTRIBUTES = {
    "Conv2D": ("k", "stride", "padding"),
    "MaxPool2D": ("pool",),
    "AvgPool2D": ("pool",),
    "BatchNorm": ("eps",),
    "LeakyReLU": ("alpha",),
    "Reshape": ("shape",),
}
WEB_LAYERS = {*ATTRIBUTES, "Dense", "GlobalAvgPool2D", "Flatten", "ReLU", "Sigmoid", "Tanh", "Dropout"}


def to_web(model: Model, out: str | os.PathLike[str]) -> list[Path]:
    """Write a static site that reads pictures with ``model`` in the browser into the folder
    ``out``; the files written. Any static file server can serve it."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HandwritingError(f"{out}: is a file; give a folder for the site")
    spec, weights = _web_model(model)
    static = resources.files("handwriting") / "web" / "static"
    page = (static / "index.html").read_text("utf-8")
    # the page reads in the browser: no server to send pictures to
    page = page.replace('<html lang="en">', '<html lang="en" data-reader="browser">', 1)
    files = {"weights.bin": weights, "model.json": json.dumps(spec, indent=1).encode()}
    files |= {f"static/{name}": (static / name).read_bytes() for name in SITE_FILES}
    files["index.html"] = page.encode()  # last: the site is whole once its page is there
    for name, data in files.items():
        with atomic_write(out / name) as f:
            f.write(data)
    return [out / name for name in files]


def _web_model(model: Model) -> tuple[dict[str, Any], bytes]:
    """model.json's contents and weights.bin's bytes: each layer's kind, attributes and arrays
    (their shape and offset, in float32 values, into the weights)."""
    layers, arrays, offset = [], [], 0
    for layer in model.network.layers:
        kind = type(layer).__name__
        if kind not in WEB_LAYERS:
            raise HandwritingError(f"cannot export a {kind} layer to the web page")
        entry: dict[str, Any] = {"kind": kind, "params": {}}
        entry |= {name: getattr(layer, name) for name in ATTRIBUTES.get(kind, ())}
        for name, value in {**layer.params, **layer.buffers}.items():
            a = np.ascontiguousarray(value, dtype="<f4")
            entry["params"][name] = {"shape": list(a.shape), "offset": offset}
            arrays.append(a)
            offset += a.size
        layers.append(entry)
    softmax = model.temperature != 1.0 or isinstance(model.network.cost, SoftmaxCrossEntropy)
    spec = {
        "format": "handwriting-web",
        "version": 1,
        "input": list(model.image_shape),
        "classes": model.meta["classes"],
        # as Model.predict_proba: softmax(z / T) when calibrated or trained with softmax
        "output": "softmax" if softmax else "normalized",
        "temperature": model.temperature,
        "reject_class": model.reject_class,
        "reject_at": REJECT_AT,
        "layers": layers,
        "weights": "weights.bin",
        "about": model.describe(),  # what the server's /api/model says
    }
    return spec, b"".join(a.tobytes() for a in arrays)


class _Graph:
    """Nodes and initializers (weights, constants) of a graph under construction."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attributes: Any) -> str:
        from onnx import helper

        output = output or f"{op.lower()}{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def layer(self, name: str, layer: Any, x: str) -> str:
        """The operators of one of our layers applied to ``x``; the name of their output."""
        kind, p = type(layer).__name__, {k: np.asarray(v, np.float32) for k, v in layer.params.items()}
        if kind == "Dense":  # z = a W + b
            z = self.node("MatMul", [x, self.constant(f"{name}.W", p["W"])])
            return self.node("Add", [z, self.constant(f"{name}.b", p["b"])])
        if kind == "Conv2D":
            k, s, pad = layer.k, layer.stride, layer.padding
            inputs = [x, self.constant(f"{name}.W", p["W"]), self.constant(f"{name}.b", p["b"])]
            return self.node("Conv", inputs, kernel_shape=[k, k], strides=[s, s], pads=[pad] * 4)
        if kind in ("MaxPool2D", "AvgPool2D"):  # windows that do not fit are dropped, as ours do
            op = "MaxPool" if kind == "MaxPool2D" else "AveragePool"
            return self.node(op, [x], kernel_shape=[layer.pool] * 2, strides=[layer.pool] * 2)
        if kind == "GlobalAvgPool2D":
            return self.node("Flatten", [self.node("GlobalAveragePool", [x])], axis=1)
        if kind == "BatchNorm":  # evaluation: the running statistics
            stats = {k: np.asarray(v, np.float32) for k, v in layer.buffers.items()}
            values = (p["gamma"], p["beta"], stats["running_mean"], stats["running_var"])
            names = [self.constant(f"{name}.{i}", v) for i, v in enumerate(values)]
            return self.node("BatchNormalization", [x, *names], epsilon=layer.eps)
        if kind == "Flatten":
            return self.node("Flatten", [x], axis=1)
        if kind == "Reshape":
            shape = self.constant(f"{name}.shape", np.array([-1, *layer.shape], np.int64))
            return self.node("Reshape", [x, shape])
        if kind == "LeakyReLU":
            return self.node("LeakyRelu", [x], alpha=layer.alpha)
        if kind in ("ReLU", "Sigmoid", "Tanh"):
            return self.node({"ReLU": "Relu"}.get(kind, kind), [x])
        if kind == "Dropout":  # nothing to do when predicting
            return x
        raise HandwritingError(f"cannot export a {kind} layer to ONNX")
