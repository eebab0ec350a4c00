"""ONNX reader, on tiny graphs built in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgefit.read import read_model


def save(tmp_path: Path, graph: onnx.GraphProto, opset: int = 17, **kw) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], **kw)
    model.ir_version = 8
    p = tmp_path / "m.onnx"
    onnx.save(model, p)
    return p


def external(name: str, dims: list[int], location: str, length: int | None = None) -> TensorProto:
    t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=dims, data_location=TensorProto.EXTERNAL)
    for k, v in (("location", location), ("offset", "0"), ("length", None if length is None else str(length))):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, v
    return t


def vi(name: str, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def test_symbolic_dims_kept_and_shapes_inferred(tmp_path):
    w = numpy_helper.from_array(np.zeros((8, 4), np.float32), "w")
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm"),
                           helper.make_node("Relu", ["y"], ["z"], name="relu")],
                          "g", [vi("x", ["batch", 8])], [vi("z", None)], [w])
    m = read_model(save(tmp_path, g))
    t = m.main.tensors
    assert t["x"].shape == ("batch", 8)
    assert t["y"].shape == ("batch", 4)  # filled by shape inference: y had no value_info
    assert t["w"].is_constant and t["w"].byte_size == 8 * 4 * 4
    assert [op.type for op in m.main.ops] == ["MatMul", "Relu"]
    assert m.main.ops[0].version == 17 and m.main.ops[0].domain == "ai.onnx"
    assert m.main.producer("y").name == "mm" and [o.name for o in m.main.consumers("y")] == ["relu"]


def test_initializers_listed_as_inputs_are_not_model_inputs(tmp_path):
    w = numpy_helper.from_array(np.zeros((2,), np.float32), "w")
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [vi("x", [2]), vi("w", [2])],
                          [vi("y", [2])], [w])
    m = read_model(save(tmp_path, g))
    assert m.main.inputs == ["x"]


def test_external_data_is_never_opened(tmp_path):
    w = external("w", [1000, 1000], "weights.bin", 4_000_000)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [vi("x", [1, 1000])],
                          [vi("y", [1, 1000])], [w])
    m = read_model(save(tmp_path, g))  # weights.bin does not exist
    t = m.main.tensors["w"]
    assert t.external is not None and t.external.location == "weights.bin" and t.external.length == 4_000_000
    assert t.byte_size == 4_000_000 and t.value is None


def test_external_location_outside_model_dir_is_flagged(tmp_path):
    w = external("w", [4], "../../etc/passwd")
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [vi("x", [4])], [vi("y", [4])], [w])
    m = read_model(save(tmp_path, g))
    assert any("outside the model's directory" in n for n in m.notes)


def test_control_flow_bodies_are_represented(tmp_path):
    then_g = helper.make_graph([helper.make_node("Relu", ["x"], ["a"])], "then", [], [vi("a", [2])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["b"]), helper.make_node("Abs", ["b"], ["c"])],
                               "else", [], [vi("c", [2])])
    g = helper.make_graph([helper.make_node("If", ["cond"], ["y"], name="branch", then_branch=then_g,
                                            else_branch=else_g)],
                          "g", [vi("cond", [], TensorProto.BOOL), vi("x", [2])], [vi("y", [2])])
    m = read_model(save(tmp_path, g))
    op = m.main.ops[0]
    assert set(op.bodies) == {"then_branch", "else_branch"}
    assert [o.type for o in op.bodies["else_branch"].ops] == ["Neg", "Abs"]
    assert op.bodies["then_branch"].is_body
    assert len(m.main) == 1  # bodies are not main-graph ops


def test_local_functions(tmp_path):
    fn = helper.make_function("my.fns", "Swish", ["x"], ["y"],
                              [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])],
                              [helper.make_opsetid("", 17)])
    g = helper.make_graph([helper.make_node("Swish", ["x"], ["y"], domain="my.fns", name="act")], "g",
                          [vi("x", [3])], [vi("y", [3])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.fns", 1)],
                              functions=[fn])
    model.ir_version = 8
    p = tmp_path / "f.onnx"
    onnx.save(model, p)
    m = read_model(p)
    assert m.main.ops[0].function == "my.fns::Swish"
    assert [o.type for o in m.functions["my.fns::Swish"].ops] == ["Sigmoid", "Mul"]
    assert not any("custom op" in n for n in m.notes)


def test_custom_op_without_schema_is_reported_not_fatal(tmp_path):
    g = helper.make_graph([helper.make_node("FancyOp", ["x"], ["y"], domain="com.example", name="fancy")],
                          "g", [vi("x", [3])], [vi("y", None)])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    model.ir_version = 8
    p = tmp_path / "c.onnx"
    onnx.save(model, p)
    m = read_model(p)
    assert m.main.ops[0].domain == "com.example"
    assert any("com.example::FancyOp" in n for n in m.notes)


def test_qdq_quantization_attached_and_constant_node(tmp_path):
    nodes = [
        helper.make_node("Constant", [], ["scale"], value=numpy_helper.from_array(np.array(0.5, np.float32))),
        helper.make_node("Constant", [], ["zp"], value=numpy_helper.from_array(np.array(3, np.int8))),
        helper.make_node("QuantizeLinear", ["x", "scale", "zp"], ["xq"], name="q"),
        helper.make_node("DequantizeLinear", ["xq", "scale", "zp"], ["y"], name="dq"),
    ]
    g = helper.make_graph(nodes, "g", [vi("x", [4])], [vi("y", [4])])
    m = read_model(save(tmp_path, g))
    xq = m.main.tensors["xq"]
    assert xq.dtype == "int8" and xq.quant is not None
    assert xq.quant.scale == (0.5,) and xq.quant.zero_point == (3,)
    assert m.main.tensors["scale"].is_constant and float(m.main.tensors["scale"].value) == 0.5


def test_sequence_typed_values_do_not_crash(tmp_path):
    g = helper.make_graph([helper.make_node("SequenceConstruct", ["x", "x"], ["s"]),
                           helper.make_node("SequenceLength", ["s"], ["n"])], "g", [vi("x", [2])],
                          [vi("n", [], TensorProto.INT64)])
    m = read_model(save(tmp_path, g))
    assert m.main.tensors["s"].shape is None


def test_graph_is_networkx_backed(tmp_path):
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["a"], name="a"),
                           helper.make_node("Neg", ["x"], ["b"], name="b"),
                           helper.make_node("Add", ["a", "b"], ["c"], name="c")], "g", [vi("x", [2])], [vi("c", [2])])
    m = read_model(save(tmp_path, g))
    assert [op.name for op in m.main.topological_order()] == ["a", "b", "c"]
    assert m.main.descendants(m.main.ops[0]) == {2}
    assert m.main.nx.edges[0, 2]["tensors"] == ["a"]


@pytest.mark.parametrize("opset", [13, 18, 21])
def test_opset_recorded(tmp_path, opset):
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [vi("x", [2])], [vi("y", [2])])
    assert read_model(save(tmp_path, g, opset=opset)).opsets == {"ai.onnx": opset}


def test_input_shapes_fix_dynamic_dims(tmp_path):
    from edgefit.errors import UsageError

    w = numpy_helper.from_array(np.zeros((8, 4), np.float32), "w")
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g",
                          [vi("x", ["batch", "seq", 8])], [vi("y", ["batch", "seq", 4])], [w],
                          value_info=[vi("y", ["batch", "seq", 4])])
    p = save(tmp_path, g)
    m = read_model(p, input_shapes={"x": [1, 16, 8]})
    assert m.main.tensors["y"].shape == (1, 16, 4)
    m = read_model(p, input_shapes={"seq": 16})
    assert m.main.tensors["y"].shape == ("batch", 16, 4)
    for bad, words in (({"x": [1, 16]}, "rank 3"), ({"x": [1, 16, 9]}, "static"), ({"nope": 1}, "x, batch, seq")):
        with pytest.raises(UsageError, match=words):
            read_model(p, input_shapes=bad)


def test_external_data_path_when_bytes_are_needed(tmp_path):
    from edgefit.errors import ExternalDataError
    from edgefit.read.onnx import external_data_path

    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"]), helper.make_node("Add", ["y", "v"], ["z"])],
                          "g", [vi("x", [4])], [vi("z", [4])],
                          [external("w", [4], "w.bin", 16), external("v", [4], "../v.bin", 16)])
    m = read_model(save(tmp_path, g))
    with pytest.raises(ExternalDataError, match="'w.bin', which is missing"):
        external_data_path(m, m.main.tensors["w"])
    (tmp_path / "w.bin").write_bytes(b"\0" * 16)
    assert external_data_path(m, m.main.tensors["w"]) == tmp_path / "w.bin"
    (tmp_path.parent / "v.bin").write_bytes(b"\0" * 16)  # exists, but outside the model's directory
    with pytest.raises(ExternalDataError, match="outside the model's directory"):
        external_data_path(m, m.main.tensors["v"])


def test_wide_per_channel_qdq_scales_are_read(tmp_path):
    """A 1,280-channel scale vector (5 KiB) is past the small-constant limit but is quantization, not weights."""
    channels = 1280
    inits = [numpy_helper.from_array(np.full(channels, 0.5, np.float32), "scale"),
             numpy_helper.from_array(np.zeros(channels, np.int8), "zp"),
             numpy_helper.from_array(np.zeros((channels, 4), np.int8), "wq")]
    g = helper.make_graph([helper.make_node("DequantizeLinear", ["wq", "scale", "zp"], ["w"], axis=0),
                           helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [vi("x", [1, channels])],
                          [vi("y", [1, 4])], inits)
    m = read_model(save(tmp_path, g))
    q = m.main.tensors["wq"].quant
    assert q is not None and len(q.scale) == channels and q.scale[0] == 0.5 and q.axis == 0
