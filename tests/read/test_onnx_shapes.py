"""Static shapes through run-time shape arithmetic, once the inputs are fixed."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgefit.read import read_model


def test_shape_range_expand_chain_becomes_static(tmp_path):
    """The exporter pattern Shape -> Gather -> Range -> Unsqueeze -> Expand, which ONNX inference leaves unknown."""
    c = lambda name, v: numpy_helper.from_array(np.asarray(v, dtype=np.int64), name)  # noqa: E731
    nodes = [
        helper.make_node("Shape", ["ids"], ["shape"]),
        helper.make_node("Gather", ["shape", "one"], ["seq"], axis=0),
        helper.make_node("Range", ["zero", "seq", "one"], ["pos"]),
        helper.make_node("Unsqueeze", ["pos", "axes0"], ["pos2"]),
        helper.make_node("Unsqueeze", ["seq", "axes0"], ["seq_v"]),
        helper.make_node("Concat", ["one_v", "seq_v"], ["target"], axis=0),
        helper.make_node("Expand", ["pos2", "target"], ["grid"]),
        helper.make_node("Cast", ["grid"], ["out"], to=TensorProto.FLOAT),
    ]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, "seq"])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
                          [c("one", 1), c("zero", 0), c("axes0", [0]), c("one_v", [1])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    p = tmp_path / "m.onnx"
    onnx.save(model, p)

    dynamic = read_model(p)
    assert dynamic.main.tensors["out"].shape is None or None in dynamic.main.tensors["out"].shape \
        or any(isinstance(d, str) for d in dynamic.main.tensors["out"].shape)
    fixed = read_model(p, {"seq": 7})
    assert fixed.main.tensors["pos"].shape == (7,)
    assert fixed.main.tensors["out"].shape == (1, 7)
    assert len(fixed.main.ops) == 8  # the user's graph keeps every node; only shapes were computed
