"""TFLite reader, on small real .tflite files written with sample_models/tflite_writer.py."""

from __future__ import annotations

import numpy as np
import pytest
from tflite_writer import G, O, T, write_tflite

from edgefit.errors import CorruptModelError
from edgefit.read import read_model


def conv_model(**kw) -> G:
    rng = np.random.default_rng(0)
    return G([T("in", [1, 8, 8, 3], "int8", scale=[0.5], zero_point=[-1]),
              T("w", [4, 3, 3, 3], "int8", rng.integers(-5, 5, (4, 3, 3, 3), dtype=np.int8), scale=[0.1, 0.2, 0.3, 0.4],
                zero_point=[0] * 4),
              T("b", [4], "int32", np.arange(4, dtype=np.int32)),
              T("out", [1, 8, 8, 4], "int8", scale=[0.25], zero_point=[0])],
             [O("CONV_2D", [0, 1, 2], [3], "Conv2DOptions",
                {"Padding": 0, "StrideW": 1, "StrideH": 2, "FusedActivationFunction": 3}, version=3)],
             inputs=[0], outputs=[3], **kw)


def test_ops_tensors_quantization_and_options(tmp_path):
    m = read_model(write_tflite(tmp_path / "c.tflite", conv_model()))
    assert m.format == "tflite" and m.opsets == {"tflite": 3}
    (op,) = m.main.ops
    assert (op.type, op.version, op.domain) == ("CONV_2D", 3, "tflite")
    assert op.attrs["padding"] == "SAME" and op.attrs["stride_h"] == 2
    assert op.attrs["fused_activation_function"] == "RELU6"
    w = m.main.tensors["w"]
    assert w.is_constant and w.byte_size == 108 and w.quant.scale == pytest.approx((0.1, 0.2, 0.3, 0.4))
    assert w.quant.axis == 0
    assert m.main.tensors["in"].quant.zero_point == (-1,) and not m.main.tensors["in"].is_constant
    assert list(m.main.tensors["b"].value) == [0, 1, 2, 3]  # small constants carry values
    assert m.main.inputs == ["in"] and m.main.outputs == ["out"]


def test_data_stored_past_the_flatbuffer(tmp_path):
    p = write_tflite(tmp_path / "big.tflite", conv_model(), data_past_flatbuffer=True)
    m = read_model(p)
    assert m.main.tensors["w"].byte_size == 108 and m.main.tensors["b"].stored_bytes == 16
    assert list(m.main.tensors["b"].value) == [0, 1, 2, 3]


def test_truncated_offset_buffer_is_caught(tmp_path):
    p = write_tflite(tmp_path / "big.tflite", conv_model(), data_past_flatbuffer=True)
    data = p.read_bytes()
    p.write_bytes(data[:-20])  # cut into the trailing weight data
    with pytest.raises(CorruptModelError, match="truncated"):
        read_model(p)


def test_custom_op_dynamic_dims_and_duplicate_names(tmp_path):
    g = G([T("x", [1, 4], "float32", shape_signature=[-1, 4]), T("x", [1, 4], "float32"), T("y", [1, 4], "float32")],
          [O("CUSTOM:MyDecoder", [0], [1]), O("RELU", [1], [2])], inputs=[0], outputs=[2])
    m = read_model(write_tflite(tmp_path / "d.tflite", g))
    assert [op.type for op in m.main.ops] == ["CUSTOM:MyDecoder", "RELU"]
    assert m.main.ops[0].domain == "custom"
    assert m.main.tensors["x"].shape == (None, 4)
    assert list(m.main.tensors) == ["x", "x#1", "y"]
    assert m.main.ops[1].inputs == ["x#1"]


def test_control_flow_subgraphs_are_bodies(tmp_path):
    main = G([T("i", [1], "int32"), T("o", [1], "int32")],
             [O("WHILE", [0], [1], "WhileOptions", {"CondSubgraphIndex": 1, "BodySubgraphIndex": 2})],
             inputs=[0], outputs=[1], name="main")
    cond = G([T("i", [1], "int32"), T("c", [1], "bool")], [O("LOGICAL_NOT", [0], [1])], [0], [1], name="cond")
    body = G([T("i", [1], "int32"), T("j", [1], "int32"), T("k", [1], "int32")],
             [O("ABS", [0], [1]), O("NEG", [1], [2])], [0], [2], name="body")
    m = read_model(write_tflite(tmp_path / "w.tflite", [main, cond, body]))
    assert [g.is_body for g in m.graphs] == [False, True, True]
    assert set(m.main.ops[0].bodies) == {"cond", "body"}
    assert [g.name for g in m.entry_graphs] == ["main"]


def test_bad_tensor_index_is_corrupt(tmp_path):
    g = G([T("x", [1], "float32"), T("y", [1], "float32")], [O("RELU", [0], [7])], [0], [1])
    with pytest.raises(CorruptModelError, match="out of range"):
        read_model(write_tflite(tmp_path / "bad.tflite", g))
