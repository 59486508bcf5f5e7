"""A trained model as an ONNX graph, built from our own weights with the ``onnx`` package's
helpers (no other framework involved), for other runtimes: onnxruntime, the browser, phones.

Input ``images``: float32 (N, H, W) in [0, 1], N free, as ``Model.predict_proba`` takes.
Output ``probabilities``: (N, classes), as ``Model.predict_proba`` gives them: softmax(z / T)
for a calibrated model, else softmax(z), or for the quadratic-cost network its sigmoid outputs
normalized to sum 1. Each of
our layers maps to one ONNX operator (a Dense layer to MatMul and Add); Dropout, a no-op
when predicting, to none.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .errors import HandwritingError
from .model import Model
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
