"""The lowering follows onnx2tf's TF-converter path (ONNX -> TensorFlow graph -> ``TFLiteConverter``): one tiny
in-memory graph per converter behaviour. Each test's docstring says what onnx2tf / the TFLite converter do and
where that is written down (onnx2tf's op modules, TensorFlow's MLIR passes and kernels)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgefit.graph import OpGraph
from edgefit.lower import LoweredGraph, lower
from edgefit.lower.onnx_to_tflite import core as lowering_core
from edgefit.read import read_model

F = TensorProto.FLOAT
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    monkeypatch.setattr(lowering_core, "_STRICT", True)


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def w(*shape, scale=0.5):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def save(tmp_path: Path, nodes, inputs, outputs, inits=None, opset=17) -> Path:
    graph = helper.make_graph(nodes, "m", inputs, outputs,
                              initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    return path


def lowered(path: Path, input_shapes=None) -> LoweredGraph:
    return lower(read_model(path, input_shapes), "tflite")


def types(g: OpGraph) -> list[str]:
    return [op.type for op in g.ops]


# -- control flow ---------------------------------------------------------------------------------------------------

def test_if_on_a_constant_condition_is_its_taken_branch(tmp_path):
    """onnx2tf builds If as ``tf.cond`` of both branches; with a predicate known at conversion time TensorFlow's
    constant folding (and the MLIR ``tf.If`` canonicalization) keep only the taken branch: no IF, no subgraphs.
    Here the condition is ``Shape(x)[0] == 1``, constant once the batch is fixed."""
    then_g = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [], [vi("t", [1, 8])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [], [vi("e", [1, 8])])
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Equal", ["n", "one"], ["cond"]),
             helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Sigmoid", ["y"], ["z"])]
    p = save(tmp_path, nodes, [vi("x", ["batch", 8])], [vi("z", None)],
             {"zero": np.array(0, np.int64), "one": np.array(1, np.int64)})
    dynamic = lowered(p)
    assert "IF" in types(dynamic.graph) and len(dynamic.graphs) == 3
    fixed = lowered(p, {"batch": 1})
    assert types(fixed.graph) == ["RELU", "LOGISTIC"]
    assert len(fixed.graphs) == 1


# -- int8 max-pool padding and ADD_N (fixed together: either alone gives wrong verdicts) ---------------------------

def _conv_pool(tmp_path, act: str | None):
    """Conv (-> act) -> MaxPool k3 s2 with symmetric pads 1 (not TF's SAME), the classic ResNet stem."""
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3])]
    src = "c"
    if act:
        nodes.append(helper.make_node(act, ["c"], ["a"]))
        src = "a"
    nodes.append(helper.make_node("MaxPool", [src], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    return save(tmp_path, nodes, [vi("x", [1, 4, 8, 8])], [vi("y", None)], {"w": w(6, 4, 3, 3), "b": w(6)})


def test_int8_max_pool_pad_after_relu_is_a_plain_pad(tmp_path):
    """onnx2tf pads a max pool's explicit pads with the lowest float; quantized that is -128, which after a ReLU is
    the input's zero point, so the int8 file holds a plain PAD (zero-point fill) in front of a VALID MAX_POOL_2D."""
    lg = lowered(_conv_pool(tmp_path, "Relu"))
    assert types(lg.graph) == ["CONV_2D", "PAD", "MAX_POOL_2D"]
    assert lg.graph.ops[0].attrs["fused_activation_function"] == "RELU"
    assert len(lg.graph.ops[1].inputs) == 2


def test_int8_max_pool_pad_of_a_signed_input_keeps_padv2(tmp_path):
    """Without the ReLU the input can be negative: -128 is not its zero point and the -inf fill stays a PADV2."""
    lg = lowered(_conv_pool(tmp_path, None))
    assert types(lg.graph) == ["CONV_2D", "PADV2", "MAX_POOL_2D"]


def test_float_lowering_keeps_padv2_even_after_relu(tmp_path):
    """The PAD rewrite is an int8 fact (the fill equals the zero point); a float graph keeps the -inf PADV2."""
    from edgefit.lower.onnx_to_tflite import lower_onnx_to_tflite

    lg = lower_onnx_to_tflite(read_model(_conv_pool(tmp_path, "Relu")), quantize=False)
    assert "PADV2" in types(lg.graph)


def test_sum_is_add_n_which_stays_float_and_keeps_a_separate_relu(tmp_path):
    """``Sum`` -> ``tf.add_n`` (onnx2tf/ops/Sum.py) -> ADD_N, which has no int8 kernel and no fused activation:
    DEQUANTIZE each input, float ADD_N, QUANTIZE, then an int8 RELU of its own."""
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[1, 1]),
             helper.make_node("Conv", ["x", "w2", "b2"], ["c2"], kernel_shape=[1, 1]),
             helper.make_node("Sum", ["c1", "c2", "x6"], ["s"]),
             helper.make_node("Relu", ["s"], ["y"])]
    p = save(tmp_path, nodes, [vi("x", [1, 6, 4, 4]), vi("x6", [1, 6, 4, 4])], [vi("y", None)],
             {"w1": w(6, 6, 1, 1), "b1": w(6), "w2": w(6, 6, 1, 1), "b2": w(6)})
    g = lowered(p).graph
    counts = Counter(types(g))
    assert counts["ADD_N"] == 1 and counts["ADD"] == 0
    assert counts["DEQUANTIZE"] == 3 and counts["QUANTIZE"] == 1 and counts["RELU"] == 1
    add_n = next(op for op in g.ops if op.type == "ADD_N")
    assert len(add_n.inputs) == 3 and g.tensors[add_n.outputs[0]].dtype == "float32"
    relu = next(op for op in g.ops if op.type == "RELU")
    assert g.tensors[relu.inputs[0]].dtype == "int8"
    assert any(n.code == "LOWER-FLOAT-FALLBACK" for n in lowered(p).notes)


def test_sum_with_broadcasting_operands_stays_a_chain_of_adds(tmp_path):
    """tf.add_n needs equal shapes; a broadcasting Sum (a per-channel constant) is the ADD chain."""
    nodes = [helper.make_node("Sum", ["x", "x2", "bias"], ["y"])]
    p = save(tmp_path, nodes, [vi("x", [1, 6]), vi("x2", [1, 6])], [vi("y", None)], {"bias": w(6)})
    assert "ADD_N" not in types(lowered(p).graph)


# -- Split, depthwise strides ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("sizes", [[2, 2, 2], [1, 5], None])
def test_static_split_is_one_strided_slice_per_output(tmp_path, sizes):
    """onnx2tf's TF path: a static Split is a STRIDED_SLICE per output (no SPLIT/SPLIT_V), the other axes masked."""
    inputs = ["x", "sizes"] if sizes else ["x"]
    outs = [f"y{k}" for k in range(len(sizes) if sizes else 3)]
    inits = {"sizes": np.array(sizes, np.int64)} if sizes else {}
    p = save(tmp_path, [helper.make_node("Split", inputs, outs, axis=1)], [vi("x", [1, 6, 4])],
             [vi(o, None) for o in outs], inits, opset=13)
    g = lowered(p).graph
    assert types(g) == ["STRIDED_SLICE"] * len(outs)
    expected = sizes or [2, 2, 2]
    starts = np.cumsum([0, *expected[:-1]])
    for op, start, size in zip(g.ops, starts, expected):
        begin, end = g.tensors[op.inputs[1]].value, g.tensors[op.inputs[2]].value
        assert begin[1] == start and end[1] == start + size
        assert op.attrs["begin_mask"] == op.attrs["end_mask"] == 0b101
        assert g.tensors[op.outputs[0]].shape == (1, size, 4)


def test_split_of_a_dynamic_axis_keeps_split(tmp_path):
    """Without a static size on the split axis there is nothing to slice by: SPLIT stays."""
    p = save(tmp_path, [helper.make_node("Split", ["x"], ["a", "b"], axis=1)], [vi("x", [1, "n"])],
             [vi("a", None), vi("b", None)], opset=13)
    assert types(lowered(p).graph) == ["SPLIT"]


@pytest.mark.parametrize("strides, expect", [([2, 2], "DEPTHWISE_CONV_2D"), ([2, 1], "CONV_2D")])
def test_depthwise_conv_with_unequal_strides_is_a_grouped_conv2d(tmp_path, strides, expect):
    """TensorFlow's depthwise kernel needs stride_h == stride_w, so the TF path builds a depthwise conv with unequal
    strides as a grouped convolution: CONV_2D with a [O, kh, kw, 1] filter."""
    p = save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["y"], group=4, kernel_shape=[3, 3], strides=strides)],
             [vi("x", [1, 4, 9, 9])], [vi("y", None)], {"w": w(4, 1, 3, 3)})
    g = lowered(p).graph
    assert types(g) == [expect]
    assert g.tensors[g.ops[0].inputs[1]].shape == ((1, 3, 3, 4) if expect == "DEPTHWISE_CONV_2D" else (4, 3, 3, 1))
    assert (g.ops[0].attrs["stride_h"], g.ops[0].attrs["stride_w"]) == tuple(strides)


# -- IsNaN ------------------------------------------------------------------------------------------------------------

def test_is_nan_is_not_equal_of_x_and_itself(tmp_path):
    """``tf.math.is_nan`` reaches the TFLite file as NOT_EQUAL(x, x), a builtin reading the int8 input: no Flex op."""
    nodes = [helper.make_node("IsNaN", ["x"], ["m"]),
             helper.make_node("Where", ["m", "zero", "x"], ["y"])]
    p = save(tmp_path, nodes, [vi("x", [2, 3])], [vi("y", None)], {"zero": np.array(0, np.float32)})
    lg = lowered(p)
    ne = next(op for op in lg.graph.ops if op.type == "NOT_EQUAL")
    assert ne.inputs[0] == ne.inputs[1] and lg.graph.tensors[ne.outputs[0]].dtype == "bool"
    assert not [t for t in types(lg.graph) if ":" in t]
    assert not [n for n in lg.notes if n.code == "LOWER-NO-TFLITE-BUILTIN"]


# -- flatten before FULLY_CONNECTED -------------------------------------------------------------------------------------

@pytest.mark.parametrize("pool, expect", [
    ([4, 4], ["AVERAGE_POOL_2D", "FULLY_CONNECTED"]),             # [1, 8, 1, 1] -> [1, 8]: only size-1 dims go
    ([2, 2], ["AVERAGE_POOL_2D", "TRANSPOSE", "RESHAPE", "FULLY_CONNECTED"]),  # [1, 8, 2, 2] -> [1, 32]: real merge
])
def test_flatten_that_only_drops_size1_dims_before_fc_emits_no_reshape(tmp_path, pool, expect):
    """FULLY_CONNECTED flattens its input to [-1, K] itself; the TFLite optimizer removes a RESHAPE in front of it
    that keeps the last dim (``RemoveReshapeBeforeFullyConnected``). A flatten merging real NCHW dims keeps its
    channel-major TRANSPOSE + RESHAPE."""
    k = 8 * (4 // pool[0]) ** 2
    nodes = [helper.make_node("AveragePool", ["x"], ["p"], kernel_shape=pool, strides=pool),
             helper.make_node("Flatten", ["p"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "W", "B"], ["y"], transB=1)]
    p = save(tmp_path, nodes, [vi("x", [1, 8, 4, 4])], [vi("y", None)], {"W": w(5, k), "B": w(5)})
    g = lowered(p).graph
    assert types(g) == expect
    assert g.tensors[g.ops[-1].outputs[0]].shape == (1, 5)


# -- CONCATENATION input scales -----------------------------------------------------------------------------------------

def _requantized_inputs(g: OpGraph) -> list[str]:
    """The producers of the concat inputs that go through an int8 -> int8 QUANTIZE first."""
    producer = {t: op for op in g.ops for t in op.outputs}
    cat = next(op for op in g.ops if op.type == "CONCATENATION")
    out = []
    for name in cat.inputs:
        q = producer.get(name)
        if q is not None and q.type == "QUANTIZE":
            assert g.tensors[q.inputs[0]].dtype == g.tensors[name].dtype == "int8"
            out.append(producer[q.inputs[0]].type if q.inputs[0] in producer else q.inputs[0])
    return out


def _convs(*names):
    return [helper.make_node("Conv", ["x", f"w{n}"], [n], kernel_shape=[1, 1]) for n in names]


def test_concat_input_with_a_fixed_scale_is_requantized(tmp_path):
    """LOGISTIC's int8 output scale is fixed at 1/256; the concat output's is calibrated: the quantizer puts an
    int8 -> int8 QUANTIZE between them. The conv input shares the output scale and goes in directly."""
    nodes = [*_convs("a", "b"), helper.make_node("Sigmoid", ["a"], ["s"]),
             helper.make_node("Concat", ["s", "b"], ["y"], axis=1)]
    p = save(tmp_path, nodes, [vi("x", [1, 4, 4, 4])], [vi("y", None)], {"wa": w(4, 4, 1, 1), "wb": w(4, 4, 1, 1)})
    g = lowered(p).graph
    assert _requantized_inputs(g) == ["LOGISTIC"]
    cat = next(op for op in g.ops if op.type == "CONCATENATION")
    assert g.tensors[cat.outputs[0]].quant.scale[0] != 1 / 256


def test_concat_input_that_also_feeds_a_scale_keeping_op_is_requantized(tmp_path):
    """SPPF-style: x feeds a max pool (which keeps x's scale) and the concat; p feeds only the concat. x is
    requantized to the concat's scale, p is not."""
    nodes = [*_convs("a"), helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Concat", ["a", "p"], ["y"], axis=1)]
    p = save(tmp_path, nodes, [vi("x", [1, 4, 4, 4])], [vi("y", None)], {"wa": w(4, 4, 1, 1)})
    assert _requantized_inputs(lowered(p).graph) == ["CONV_2D"]


def test_concat_of_plain_conv_outputs_needs_no_requantize(tmp_path):
    nodes = [*_convs("a", "b"), helper.make_node("Concat", ["a", "b"], ["y"], axis=1)]
    p = save(tmp_path, nodes, [vi("x", [1, 4, 4, 4])], [vi("y", None)], {"wa": w(4, 4, 1, 1), "wb": w(4, 4, 1, 1)})
    g = lowered(p).graph
    assert _requantized_inputs(g) == [] and "QUANTIZE" not in types(g)


# -- HardSigmoid ----------------------------------------------------------------------------------------------------

def test_hard_sigmoid_is_relu_0_to_1_and_the_relu6_export_avoids_it(tmp_path):
    """onnx2tf writes HardSigmoid as ``tf.maximum(0.0, tf.minimum(1.0, alpha * x + beta))``
    (``onnx2tf/ops/HardSigmoid.py``); TFLite's optimizer fuses ``MAXIMUM(MINIMUM(x, 1), 0)`` into RELU_0_TO_1
    (``MatchRelu0To1Pattern2`` in ``optimize_patterns.td``). The same values exported as
    ``Relu6(6*alpha*x + 6*beta) * (1/6)`` (the fix CORAL-BUILTIN-CODE names) are MUL, ADD with a fused RELU6, MUL."""
    x, y = vi("x", [1, 4, 8, 8]), vi("y", [1, 4, 8, 8])
    hs = save(tmp_path, [helper.make_node("HardSigmoid", ["x"], ["y"], alpha=0.2, beta=0.5)], [x], [y])
    assert types(lowered(hs).graph) == ["MUL", "ADD", "RELU_0_TO_1"]
    nodes = [helper.make_node("Mul", ["x", "a6"], ["s"]), helper.make_node("Add", ["s", "b6"], ["t"]),
             helper.make_node("Clip", ["t", "lo", "hi"], ["r"]), helper.make_node("Mul", ["r", "sixth"], ["y"])]
    consts = {"a6": np.float32(6 * 0.2), "b6": np.float32(6 * 0.5), "lo": np.float32(0), "hi": np.float32(6),
              "sixth": np.float32(1 / 6)}
    g = lowered(save(tmp_path, nodes, [x], [y], consts)).graph
    assert types(g) == ["MUL", "ADD", "MUL"]
    assert g.ops[1].attrs["fused_activation_function"] == "RELU6"
