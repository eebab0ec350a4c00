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


def _save(tmp_path, nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    p = tmp_path / "m.onnx"
    onnx.save(model, p)
    return p


def test_negative_dim_value_is_a_dynamic_dim_input_shape_may_fix(tmp_path):
    """Paddle exports write dim_value -1 for a dynamic dim: read as unknown, and --input-shape may fix it."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [-1, 3, 8, 8])
    p = _save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], [x],
              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    assert read_model(p).main.tensors["x"].shape == (None, 3, 8, 8)
    fixed = read_model(p, {"x": [1, 3, 8, 8]})
    assert fixed.main.tensors["x"].shape == (1, 3, 8, 8) and fixed.main.tensors["y"].shape == (1, 3, 8, 8)


def test_pads_computed_through_a_transpose_fold_and_the_pad_shape_is_reinferred(tmp_path):
    """PyTorch's F.pad export: the pads vector is Reshape -> Slice(step -1) -> Transpose -> Reshape of constants.
    Once folded, Pad (and everything after it) gets a static shape again."""
    c = lambda name, v: numpy_helper.from_array(np.asarray(v, dtype=np.int64), name)  # noqa: E731
    nodes = [
        helper.make_node("Reshape", ["pads4", "shape22"], ["p22"]),
        helper.make_node("Slice", ["p22", "start", "end", "axes", "step"], ["rev"]),
        helper.make_node("Transpose", ["rev"], ["t"], perm=[1, 0]),
        helper.make_node("Reshape", ["t", "shape_flat"], ["pads"]),
        helper.make_node("Pad", ["x", "pads"], ["y"], mode="reflect"),
        helper.make_node("Relu", ["y"], ["z"]),
    ]
    p = _save(tmp_path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
              [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
              [c("pads4", [3, 5, 0, 0]), c("shape22", [-1, 2]), c("start", [-1]), c("end", [-9999]),
               c("axes", [0]), c("step", [-1]), c("shape_flat", [-1])])
    fixed = read_model(p, {"n": 1})
    assert fixed.main.tensors["y"].shape == (1, 16 + 3 + 5)
    assert fixed.main.tensors["z"].shape == (1, 24)


def test_fixed_symbols_are_substituted_in_control_flow_bodies(tmp_path):
    """An If body declares its outputs with the model's "batch" symbol: fixing batch through an input's full shape
    fixes it there too (and in the other inputs naming it), so the If outputs are static."""
    then_g = helper.make_graph([helper.make_node("Identity", ["state"], ["s_then"])], "then", [],
                               [helper.make_tensor_value_info("s_then", TensorProto.FLOAT, [2, "batch", 4])])
    else_g = helper.make_graph([helper.make_node("Neg", ["state"], ["s_else"])], "else", [],
                               [helper.make_tensor_value_info("s_else", TensorProto.FLOAT, [2, "batch", 4])])
    nodes = [helper.make_node("If", ["cond"], ["out"], then_branch=then_g, else_branch=else_g)]
    p = _save(tmp_path, nodes, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 8]),
                                helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, "batch", 4]),
                                helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, "batch", 4])])
    fixed = read_model(p, {"input": [1, 8]})
    assert fixed.main.tensors["state"].shape == (2, 1, 4)
    assert fixed.main.tensors["out"].shape == (2, 1, 4)
    body = fixed.main.ops[0].bodies["then_branch"]
    assert body.tensors["s_then"].shape == (2, 1, 4)
