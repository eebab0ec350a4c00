"""One small test per Coral rule, each on a tiny in-memory graph: the rule fires on the bad case, not on the good."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgefit.partition import CPU, partition_graph
from edgefit.rules import Finding, all_rules, evaluate, first_error, get_rule
from edgefit.rules import coral
from edgefit.rules.coral import CoralContext, coral_rules, generate_docs

from rules.graphbuilder import DictSpec, GraphBuilder, conv

IMAGE = (1, 8, 8, 4)


def op_findings(graph, op: int = -1, **spec) -> list[Finding]:
    per_op, _ = evaluate(coral_rules(), graph, CoralContext.from_spec(DictSpec(**spec)))
    return per_op[graph.ops[op].index]


def op_codes(graph, op: int = -1, **spec) -> set[str]:
    return {f.code for f in op_findings(graph, op, **spec)}


def model_codes(graph, **spec) -> set[str]:
    _, model = evaluate(coral_rules(), graph, CoralContext.from_spec(DictSpec(**spec)))
    return {f.code for f in model}


def single_op(op_type: str, in_shape=IMAGE, out_shape=IMAGE, extra_inputs=(), dtype="int8", out_dtype=None,
              **attrs):
    b = GraphBuilder()
    x = b.input("x", in_shape, dtype)
    b.op(op_type, [x, *extra_inputs(b)] if callable(extra_inputs) else [x, *extra_inputs], out_shape,
         out_dtype or dtype, **attrs)
    return b.build()


# -- framework ----------------------------------------------------------------------------------------------

def test_every_coral_rule_has_a_test_here():
    tested = {name for name in globals() if name.startswith("test_coral_")}
    missing = [r.code for r in coral_rules() if "test_" + r.code.lower().replace("-", "_") not in tested]
    assert not missing, f"rules without a test: {missing}"


def test_messages_are_filled_from_the_check_constants():
    assert str(coral.MAX_INNER_DIMS) in get_rule("CORAL-RANK").doc
    assert "16,384" in get_rule("CORAL-SOFTMAX-SIZE").doc
    assert "{" not in "".join(r.doc for r in all_rules())


def test_every_rule_maps_to_a_compiler_status_or_is_model_level():
    known = {v for k, v in vars(coral).items() if k.startswith("STATUS_")}
    for r in coral_rules():
        assert r.status in known or r.scope == "model", r.code


def test_get_rule_is_case_insensitive_and_rejects_unknown_codes():
    assert get_rule("coral-rank").code == "CORAL-RANK"
    with pytest.raises(KeyError):
        get_rule("CORAL-NOPE")


def test_finding_to_dict_names_the_tensor():
    b = GraphBuilder()
    x = b.input("x", (2, 8, 8, 4))
    b.op("RELU", [x], (2, 8, 8, 4))
    rank = next(f for f in op_findings(b.build()) if f.code == "CORAL-RANK")
    assert rank.to_dict()["tensor"] == "x"
    assert rank.status == coral.STATUS_RANK and rank.op == 0


def test_docs_file_is_generated_from_the_rules():
    docs = generate_docs()
    assert all(f"## {r.code}" in docs for r in coral_rules())
    generated = Path(__file__).resolve().parents[2] / "docs" / "devices" / "coral.md"
    assert generated.read_text() == docs, "regenerate docs/devices/coral.md with generate_docs()"


def test_context_derives_runtime_from_compiler_version():
    assert CoralContext.from_spec(DictSpec()).min_runtime == 14
    assert CoralContext.from_spec(DictSpec(coral__compiler_version="15.0.340273435")).min_runtime == 13
    assert CoralContext.from_spec(DictSpec(coral__compiler_version="14.1")).min_runtime == 13
    assert CoralContext.from_spec(DictSpec(coral__compiler_version="1.0.249710469")).min_runtime == 12
    assert CoralContext.from_spec(DictSpec(coral__min_runtime=13)).min_runtime == 13


# -- model requirements -------------------------------------------------------------------------------------

def test_coral_tflite_only():
    b = GraphBuilder()
    b.op("Relu", [b.input("x", IMAGE)], IMAGE, domain="ai.onnx")
    assert "CORAL-TFLITE-ONLY" in model_codes(b.build())
    assert "CORAL-TFLITE-ONLY" not in model_codes(single_op("RELU"))


def test_coral_builtin_code():
    assert "CORAL-BUILTIN-CODE" in model_codes(single_op("GELU"))  # builtin code 150
    assert "CORAL-BUILTIN-CODE" in model_codes(single_op("BUILTIN_400"))
    assert "CORAL-BUILTIN-CODE" not in model_codes(single_op("RELU"))


def test_coral_builtin_code_names_the_export_fix_for_relu_0_to_1():
    """RELU_0_TO_1 (code 152) is what onnx2tf's HardSigmoid becomes; the finding says how to export it instead."""
    _, model = evaluate(coral_rules(), single_op("RELU_0_TO_1"), CoralContext.from_spec(DictSpec()))
    (finding,) = [f for f in model if f.code == "CORAL-BUILTIN-CODE"]
    assert "152 (RELU_0_TO_1)" in finding.message and "Relu6(6*alpha*x + 6*beta) * (1/6)" in finding.message
    _, model = evaluate(coral_rules(), single_op("GELU"), CoralContext.from_spec(DictSpec()))
    assert "Relu6" not in next(f.message for f in model if f.code == "CORAL-BUILTIN-CODE")


def test_coral_op_version():
    def transpose_conv(version):
        b = GraphBuilder()
        x = b.input("x", IMAGE)
        b.op("TRANSPOSE_CONV", [b.vector("shape", [1, 16, 16, 4]), b.const("w", (4, 3, 3, 4)), x,
                                b.const("bias", (4,), "int32")], (1, 16, 16, 4), version=version)
        return b.build()

    assert "CORAL-OP-VERSION" in model_codes(transpose_conv(4))
    assert "CORAL-OP-VERSION" not in model_codes(transpose_conv(3))
    assert "CORAL-OP-VERSION" in model_codes(transpose_conv(3), coral__compiler_version="2.1.302470888")
    assert "CORAL-OP-VERSION" in model_codes(single_op("RSQRT", version=2), coral__compiler_version="15.0")
    assert "CORAL-OP-VERSION" not in model_codes(single_op("RSQRT", version=2))


def test_coral_static_shape():
    assert "CORAL-STATIC-SHAPE" in model_codes(single_op("RELU", in_shape=(1, None, 8, 4)))
    assert "CORAL-STATIC-SHAPE" not in model_codes(single_op("RELU", in_shape=(None, 8, 8, 4),
                                                             out_shape=(None, 8, 8, 4)))


def test_coral_dynamic_batch():
    assert "CORAL-DYNAMIC-BATCH" in model_codes(single_op("RELU", in_shape=(None, 8, 8, 4)))
    assert "CORAL-DYNAMIC-BATCH" not in model_codes(single_op("RELU"))


# -- per-op rules -------------------------------------------------------------------------------------------

def test_coral_custom_op():
    findings = op_findings(single_op("CUSTOM:PosenetDecoderOp", dtype="uint8", out_dtype="uint8"))
    assert first_error(findings).code == "CORAL-CUSTOM-OP"
    assert first_error(findings).status == coral.STATUS_DATA_TYPE
    b = GraphBuilder()
    b.op("FLEX:IsNaN", [b.input("x", IMAGE)], IMAGE, "bool", domain="flex")
    graph = b.build()
    assert first_error(op_findings(graph)).code == "CORAL-CUSTOM-OP"
    assert "CORAL-TFLITE-ONLY" not in model_codes(graph)  # select ops are still a TFLite model


def test_coral_quantize_float_input():
    bad = single_op("QUANTIZE", dtype="float32", out_dtype="int8")
    assert first_error(op_findings(bad)).code == "CORAL-QUANTIZE-FLOAT-INPUT"
    assert "CORAL-8BIT" not in op_codes(bad)  # reported once, with the compiler's own status
    assert op_codes(single_op("QUANTIZE", dtype="uint8", out_dtype="int8")) == set()


def test_coral_dequantize_float_output():
    findings = op_findings(single_op("DEQUANTIZE", out_dtype="float32"))
    assert first_error(findings).code == "CORAL-DEQUANTIZE-FLOAT-OUTPUT"
    assert first_error(findings).status == coral.STATUS_DATA_TYPE


def test_coral_8bit():
    assert first_error(op_findings(single_op("ADD", dtype="float32"))).code == "CORAL-8BIT"
    assert "CORAL-8BIT" not in op_codes(single_op("ADD", dtype="uint8"))


def test_coral_8bit_ignores_constants_and_lstm_state():
    b = GraphBuilder()
    x = b.input("x", (1, 28, 28))
    weights = [b.const(f"w{i}", (20, 28)) for i in range(8)]
    biases = [b.const(f"b{i}", (20,), "int32") for i in range(4)]
    state = [b.tensor("h", (1, 20), variable=True), b.tensor("c", (1, 20), "int16", variable=True)]
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *weights, "", "", "", *biases, "", "", *state], (1, 28, 20))
    assert op_codes(b.build()) == set()


def test_coral_op_unsupported():
    findings = op_findings(single_op("GATHER"))
    assert first_error(findings).code == "CORAL-OP-UNSUPPORTED"
    assert first_error(findings).status == coral.STATUS_NOT_SUPPORTED
    assert "CORAL-OP-UNSUPPORTED" not in op_codes(single_op("TILE"))  # observed mapped though not in the table


def test_coral_min_runtime():
    graph = single_op("TRANSPOSE", extra_inputs=lambda b: [b.vector("perm", [0, 2, 1, 3])])
    assert "CORAL-MIN-RUNTIME" not in op_codes(graph)
    assert first_error(op_findings(graph, coral__compiler_version="15.0")).code == "CORAL-MIN-RUNTIME"
    assert "CORAL-MIN-RUNTIME" in op_codes(graph, coral__min_runtime=13)


def test_coral_resize_half_pixel():
    graph = single_op("RESIZE_NEAREST_NEIGHBOR", out_shape=(1, 16, 16, 4), version=3,
                      extra_inputs=lambda b: [b.vector("size", [16, 16])], half_pixel_centers=True)
    assert "CORAL-RESIZE-HALF-PIXEL" not in op_codes(graph)
    findings = op_findings(graph, coral__compiler_version="14.1.317412892")
    assert first_error(findings).status == coral.STATUS_VERSION


def test_coral_constant_params():
    b = GraphBuilder()
    x, w = b.input("x", (1, 16)), b.input("w", (4, 16))
    b.op("FULLY_CONNECTED", [x, w, b.const("bias", (4,), "int32")], (1, 4))
    findings = op_findings(b.build())
    assert first_error(findings).code == "CORAL-CONSTANT-PARAMS"
    assert first_error(findings).tensor == "w"


def test_coral_rank():
    assert first_error(op_findings(single_op("RELU", in_shape=(2, 8, 8, 4), out_shape=(2, 8, 8, 4)))).code \
        == "CORAL-RANK"
    assert "CORAL-RANK" not in op_codes(single_op("RELU", in_shape=(1, 1, 8, 8, 4), out_shape=(1, 1, 8, 8, 4)))


def test_coral_resize_3d():
    graph = single_op("RESIZE_BILINEAR", in_shape=(2, 8, 8, 4), out_shape=(2, 16, 16, 4),
                      extra_inputs=lambda b: [b.vector("size", [16, 16])])
    assert first_error(op_findings(graph)).code == "CORAL-RESIZE-3D"
    assert "CORAL-RANK" not in op_codes(graph)  # exempt: the resize rule reports it


def test_coral_fused_activation():
    assert "CORAL-FUSED-ACTIVATION" in op_codes(single_op("MAX_POOL_2D", fused_activation_function="RELU"))
    assert "CORAL-FUSED-ACTIVATION" not in op_codes(single_op("MAX_POOL_2D", fused_activation_function="NONE"))


def test_coral_concat_constant():
    def concat(value, extra=0):
        b = GraphBuilder()
        xs = [b.input(f"x{i}", IMAGE) for i in range(1 + extra)]
        b.op("CONCATENATION", [*xs, b.const("pad", IMAGE, value=value)], (1, 8, 8, 8 + 4 * extra), axis=3)
        return b.build()

    zeros = [[[[0] * 4] * 8] * 8]
    assert "CORAL-CONCAT-CONSTANT" not in op_codes(concat(zeros))
    assert "CORAL-CONCAT-CONSTANT" in op_codes(concat([[[[1] * 4] * 8] * 8]))
    assert "CORAL-CONCAT-CONSTANT" in op_codes(concat(zeros, extra=1))


def test_coral_dilation_xy():
    def graph(h, w):
        b = GraphBuilder()
        conv(b, b.input("x", IMAGE), IMAGE, dilation_hfactor=h, dilation_wfactor=w)
        return b.build()

    assert "CORAL-DILATION-XY" in op_codes(graph(2, 1))
    assert "CORAL-DILATION-XY" not in op_codes(graph(2, 2))


def test_coral_depthwise_dilation_old():
    graph = single_op("DEPTHWISE_CONV_2D", extra_inputs=lambda b: [b.const("w", (1, 3, 3, 4)),
                                                                   b.const("bias", (4,), "int32")],
                      dilation_hfactor=2, dilation_wfactor=2)
    assert "CORAL-DEPTHWISE-DILATION-OLD" in op_codes(graph, coral__compiler_version="1.0")
    assert "CORAL-DEPTHWISE-DILATION-OLD" not in op_codes(graph)


def test_coral_fc_weights_format():
    def fc(fmt):
        return single_op("FULLY_CONNECTED", in_shape=(1, 16), out_shape=(1, 4), weights_format=fmt,
                         extra_inputs=lambda b: [b.const("w", (4, 16)), b.const("bias", (4,), "int32")])

    assert "CORAL-FC-WEIGHTS-FORMAT" in op_codes(fc(1))
    assert "CORAL-FC-WEIGHTS-FORMAT" not in op_codes(fc(0))


def test_coral_fc_output_1d():
    def fc(out_shape):
        return single_op("FULLY_CONNECTED", in_shape=(1, 28, 16), out_shape=out_shape,
                         extra_inputs=lambda b: [b.const("w", (4, 16)), b.const("bias", (4,), "int32")])

    findings = op_findings(fc((1, 28, 4)))
    assert first_error(findings).code == "CORAL-FC-OUTPUT-1D"
    assert first_error(findings).status == coral.STATUS_2D_OUTPUT
    assert "CORAL-FC-OUTPUT-1D" not in op_codes(fc((1, 4)))


def test_coral_softmax_1d():
    assert "CORAL-SOFTMAX-1D" in op_codes(single_op("SOFTMAX", in_shape=(1, 8, 10), out_shape=(1, 8, 10)))
    assert "CORAL-SOFTMAX-1D" not in op_codes(single_op("SOFTMAX", in_shape=(1, 10), out_shape=(1, 10)))


def test_coral_softmax_size():
    too_big = coral.SOFTMAX_MAX_ELEMENTS + 1
    assert "CORAL-SOFTMAX-SIZE" in op_codes(single_op("SOFTMAX", in_shape=(1, too_big), out_shape=(1, too_big)))
    assert "CORAL-SOFTMAX-SIZE" not in op_codes(single_op("SOFTMAX", in_shape=(1, 16384), out_shape=(1, 16384)))


def test_coral_reduce_batch():
    def reduce(axes):
        return single_op("SUM", out_shape=(1, 4), extra_inputs=lambda b: [b.vector("axes", axes)])

    assert "CORAL-REDUCE-BATCH" in op_codes(reduce([0, 1]))
    assert "CORAL-REDUCE-BATCH" not in op_codes(reduce([1, 2]))
    assert "CORAL-REDUCE-BATCH" not in op_codes(reduce([-3, -2]))


def test_coral_mean_z():
    def mean(channels):
        return single_op("MEAN", in_shape=(1, 8, 8, channels), out_shape=(1, 8, 8),
                         extra_inputs=lambda b: [b.vector("axes", [-1])])

    assert "CORAL-MEAN-Z" in op_codes(mean(6))
    assert "CORAL-MEAN-Z" not in op_codes(mean(8))


def test_coral_mean_xy_old():
    graph = single_op("MEAN", out_shape=(1, 8, 8), extra_inputs=lambda b: [b.vector("axes", [3])])
    assert "CORAL-MEAN-XY-OLD" in op_codes(graph, coral__compiler_version="1.0")
    assert "CORAL-MEAN-XY-OLD" not in op_codes(graph)


def test_coral_mean_size():
    graph = single_op("MEAN", in_shape=(1, 256, 128, 3), out_shape=(1, 3),
                      extra_inputs=lambda b: [b.vector("axes", [1, 2])])
    warning = next(f for f in op_findings(graph) if f.code == "CORAL-MEAN-SIZE")
    assert warning.severity == "warning"
    small = single_op("MEAN", in_shape=(1, 64, 128, 3), out_shape=(1, 3),
                      extra_inputs=lambda b: [b.vector("axes", [1, 2])])
    assert "CORAL-MEAN-SIZE" not in op_codes(small)


def test_coral_pack_batch():
    def pack(axis):
        b = GraphBuilder()
        xs = [b.input(f"x{i}", (8, 4)) for i in range(2)]
        b.op("PACK", xs, (2, 8, 4) if axis == 0 else (8, 2, 4), axis=axis, values_count=2)
        return b.build()

    assert "CORAL-PACK-BATCH" in op_codes(pack(0))
    assert "CORAL-PACK-BATCH" not in op_codes(pack(1))


def test_coral_pad_batch():
    def pad(paddings, out_shape):
        return single_op("PAD", out_shape=out_shape, extra_inputs=lambda b: [b.vector("pads", paddings)])

    assert "CORAL-PAD-BATCH" in op_codes(pad([[1, 0], [0, 0], [0, 0], [0, 0]], (2, 8, 8, 4)))
    assert "CORAL-PAD-BATCH" not in op_codes(pad([[0, 0], [1, 1], [1, 1], [0, 0]], (1, 10, 10, 4)))


def test_coral_pad_xy_old():
    graph = single_op("PAD", out_shape=(1, 8, 8, 6), extra_inputs=lambda b: [b.vector("pads", [[0, 0], [0, 0],
                                                                                                 [0, 0], [1, 1]])])
    assert "CORAL-PAD-XY-OLD" in op_codes(graph, coral__compiler_version="1.0")
    assert "CORAL-PAD-XY-OLD" not in op_codes(graph)


def test_coral_prelu_alpha():
    assert "CORAL-PRELU-ALPHA" in op_codes(single_op("PRELU", extra_inputs=lambda b: [b.const("a", (8, 8, 4))]))
    assert "CORAL-PRELU-ALPHA" not in op_codes(single_op("PRELU", extra_inputs=lambda b: [b.const("a", (1, 1, 4))]))


def test_coral_resize_large():
    def resize(side):
        return single_op("RESIZE_BILINEAR", in_shape=(1, 33, 33, 21), out_shape=(1, side, side, 21),
                         extra_inputs=lambda b: [b.vector("size", [side, side])])

    assert first_error(op_findings(resize(513))).code == "CORAL-RESIZE-LARGE"
    assert "CORAL-RESIZE-LARGE" not in op_codes(resize(128))


def test_coral_resize_precision():
    def resize(side):
        return single_op("RESIZE_BILINEAR", in_shape=(1, 32, 32, 8), out_shape=(1, side, side, 8),
                         extra_inputs=lambda b: [b.vector("size", [side, side])])

    assert "CORAL-RESIZE-PRECISION" in op_codes(resize(256))
    assert first_error(op_findings(resize(256))) is None  # a warning, the op still maps
    assert "CORAL-RESIZE-PRECISION" not in op_codes(resize(64))


def resize_op(op_type, in_side, out_side, channels=8, **attrs):
    attrs.setdefault("align_corners", True)
    attrs.setdefault("half_pixel_centers", False)
    return single_op(op_type, in_shape=(1, in_side, in_side, channels), out_shape=(1, out_side, out_side, channels),
                     extra_inputs=lambda b: [b.vector("size", [out_side, out_side])], **attrs)


def test_coral_resize_1x1():
    pooled = op_findings(resize_op("RESIZE_BILINEAR", 1, 33))  # DeepLab v3's ASPP image-pooling upsample
    error = first_error(pooled)
    assert error.code == "CORAL-RESIZE-1X1" and error.status == coral.STATUS_UNSPECIFIED
    assert "1x1 -> 33x33, x33" in error.message and "TILE" in error.hint
    # Coordinates do not matter for a 1x1 input (every output pixel is the input pixel), nor does the factor.
    assert "CORAL-RESIZE-1X1" in op_codes(resize_op("RESIZE_BILINEAR", 1, 17, align_corners=False))
    assert "CORAL-RESIZE-1X1" in op_codes(resize_op("RESIZE_BILINEAR", 1, 2))
    for mapped in (resize_op("RESIZE_BILINEAR", 2, 4), resize_op("RESIZE_BILINEAR", 33, 33),
                   resize_op("RESIZE_BILINEAR", 1, 1), resize_op("RESIZE_NEAREST_NEIGHBOR", 1, 33)):
        assert "CORAL-RESIZE-1X1" not in op_codes(mapped)


def aspp_graph(broadcast: str):
    """DeepLab v3's ASPP head in small: a 1x1 image-pooling branch brought back to 33x33 by ``broadcast``
    (RESIZE_BILINEAR as in the PASCAL builds, TILE as in Coral's Edge TPU DeepLab), concatenated with a conv branch,
    then the logits convs and the final resize."""
    b = GraphBuilder()
    x = conv(b, b.input("x", (1, 33, 33, 8)), (1, 33, 33, 8))
    pooled = conv(b, b.op("AVERAGE_POOL_2D", [x], (1, 1, 1, 8)), (1, 1, 1, 8))
    if broadcast == "TILE":
        up = b.op("TILE", [pooled, b.vector("multiples", [1, 33, 33, 1])], (1, 33, 33, 8))
    else:
        up = b.op(broadcast, [pooled, b.vector("size", [33, 33])], (1, 33, 33, 8), align_corners=True,
                  half_pixel_centers=False)
    branch = conv(b, x, (1, 33, 33, 8))
    logits = conv(b, conv(b, b.op("CONCATENATION", [up, branch], (1, 33, 33, 16), axis=3), (1, 33, 33, 8)),
                  (1, 33, 33, 4))
    b.op("RESIZE_BILINEAR", [logits, b.vector("out", [33, 33])], (1, 33, 33, 4), align_corners=True,
         half_pixel_centers=False)
    return b.build()


def cpu_ops(graph) -> tuple[dict[str, int], dict[str, str | None]]:
    per_op, _ = evaluate(coral_rules(), graph, CoralContext.from_spec(DictSpec()))
    blocked = {i: (f.code, f.status) for i, fs in per_op.items() if (f := first_error(fs)) is not None}
    part = partition_graph(graph, blocked, DictSpec())
    return dict(part.counts(graph, CPU)), {graph.ops[p.op].type: p.reason for p in part.on(CPU)}


def test_aspp_image_pooling_resize_cuts_the_head_and_tile_maps():
    counts, reasons = cpu_ops(aspp_graph("RESIZE_BILINEAR"))
    # The pooling resize is refused; everything fed by it follows on the CPU, the parallel conv branch stays mapped.
    assert counts == {"RESIZE_BILINEAR": 2, "CONCATENATION": 1, "CONV_2D": 2}
    assert reasons["CONCATENATION"] == "PARTITION-CUT"
    assert cpu_ops(aspp_graph("TILE"))[0] == {}


def test_coral_resize_factor():
    def codes(op_type, in_side, out_side):
        return op_codes(resize_op(op_type, in_side, out_side, align_corners=False))

    assert "CORAL-RESIZE-FACTOR" in codes("RESIZE_BILINEAR", 4, 32)  # x8: beyond the x2 seen mapped
    assert first_error(op_findings(resize_op("RESIZE_BILINEAR", 4, 32))) is None  # a warning, the op still maps
    assert "CORAL-RESIZE-FACTOR" in codes("RESIZE_NEAREST_NEIGHBOR", 1, 33)  # no observation for nearest
    assert "CORAL-RESIZE-FACTOR" not in codes("RESIZE_BILINEAR", 6, 12)  # MoveNet's x2, mapped
    assert "CORAL-RESIZE-FACTOR" not in codes("RESIZE_BILINEAR", 1, 33)  # CORAL-RESIZE-1X1 refuses it
    assert "CORAL-RESIZE-FACTOR" not in codes("RESIZE_BILINEAR", 33, 513)  # CORAL-RESIZE-LARGE refuses it


def test_coral_reshape_size():
    graph = single_op("RESHAPE", out_shape=(1, 256), extra_inputs=lambda b: [b.vector("shape", [1, 256])])
    assert {f.severity for f in op_findings(graph) if f.code == "CORAL-RESHAPE-SIZE"} == {"info"}


def test_coral_split_batch():
    def split(axis):
        b = GraphBuilder()
        x = b.input("x", (2, 8, 4))
        b.op("SPLIT", [b.vector("axis", axis), x], outputs=[b.tensor("a", (1, 8, 4)), b.tensor("c", (1, 8, 4))])
        return b.build()

    assert "CORAL-SPLIT-BATCH" in op_codes(split(0))
    assert "CORAL-SPLIT-BATCH" not in op_codes(split(2))


def test_coral_squeeze_old():
    def squeeze(shape):
        return single_op("SQUEEZE", in_shape=shape, out_shape=tuple(d for d in shape if d != 1))

    assert "CORAL-SQUEEZE-OLD" in op_codes(squeeze((5, 1, 10)), coral__compiler_version="1.0")
    assert "CORAL-SQUEEZE-OLD" not in op_codes(squeeze((1, 5, 10)), coral__compiler_version="1.0")
    assert "CORAL-SQUEEZE-OLD" not in op_codes(squeeze((5, 1, 10)))


def test_coral_strided_slice():
    def strided(strides, **masks):
        return single_op("STRIDED_SLICE", out_shape=(1, 4, 4, 4), **masks,
                         extra_inputs=lambda b: [b.vector("begin", [0, 0, 0, 0]), b.vector("end", [1, 8, 8, 4]),
                                                 b.vector("strides", strides)])

    assert "CORAL-STRIDED-SLICE" in op_codes(strided([1, 2, 2, 1]))
    assert "CORAL-STRIDED-SLICE" in op_codes(strided([1, 1, 1, 1], new_axis_mask=1))
    assert "CORAL-STRIDED-SLICE" not in op_codes(strided([1, 1, 1, 1], ellipsis_mask=0))


def test_coral_lstm_width():
    def lstm(width):
        b = GraphBuilder()
        x = b.input("x", (1, 4, width))
        weights = [b.const(f"w{i}", (8, width)) for i in range(4)] + [b.const(f"r{i}", (8, 8)) for i in range(4)]
        biases = [b.const(f"b{i}", (8,), "int32") for i in range(4)]
        b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *weights, "", "", "", *biases], (1, 4, 8))
        return b.build()

    assert "CORAL-LSTM-WIDTH" in op_codes(lstm(1024))
    assert "CORAL-LSTM-WIDTH" not in op_codes(lstm(256))


def test_rule_codes_are_stable_names():
    assert all(re.fullmatch(r"CORAL-[A-Z0-9-]+", r.code) for r in coral_rules())
