"""One small test per Hailo rule, on tiny in-memory graphs: each rule fires on the bad case and not on the good."""

from __future__ import annotations

from pathlib import Path

from edgefit.rules import evaluate, first_error, get_rule
from edgefit.rules import hailo
from edgefit.rules.hailo import (DISCLAIMER, ONNX_OP_EVIDENCE, HailoContext, HailoFacts, generate_docs, hailo_cut_rules,
                                 hailo_fit_rules, hailo_rules, vendor_hefs_for)
from edgefit.targets.hailo import folded_ops

from rules.graphbuilder import GraphBuilder

MAP = (1, 8, 16, 16)  # N, C, H, W


def onnx_graph(op_type: str, in_shape=MAP, out_shape=MAP, extra=(), **attrs):
    """x -> op -> y, float32, ONNX domain; ``extra`` are more inputs (built by a callable on the builder)."""
    b = GraphBuilder()
    x = b.input("x", in_shape, "float32")
    more = extra(b) if callable(extra) else list(extra)
    b.op(op_type, [x, *more], out_shape, "float32", domain="ai.onnx", **attrs)
    return b.build()


def ctx_for(graph, dialect="onnx", opset=17) -> HailoContext:
    return HailoContext(dialect=dialect, folded=folded_ops(graph), opset=opset)


def op_codes(graph, op: int = -1, dialect="onnx") -> set[str]:
    per_op, _ = evaluate(hailo_rules(), graph, ctx_for(graph, dialect))
    return {f.code for f in per_op[graph.ops[op].index]}


def blocking(graph, op: int = -1, dialect="onnx") -> str | None:
    per_op, _ = evaluate(hailo_rules(), graph, ctx_for(graph, dialect))
    f = first_error(per_op[graph.ops[op].index])
    return f.code if f else None


def model_codes(graph, opset=17) -> set[str]:
    _, model = evaluate(hailo_rules(), graph, ctx_for(graph, opset=opset))
    return {f.code for f in model}


# -- op evidence -----------------------------------------------------------------------------------------------------

def test_observed_supported_ops_pass():
    for op_type in ("Relu", "Sigmoid", "Add", "Mul", "MaxPool", "Resize", "Softmax"):
        assert blocking(onnx_graph(op_type)) is None, op_type


def test_observed_unsupported_op_is_blocked_with_its_evidence():
    g = onnx_graph("GatherElements", extra=lambda b: [b.input("idx", MAP, "int64")])
    assert blocking(g) == "HAILO-OP-UNSUPPORTED"
    per_op, _ = evaluate(hailo_rules(), g, ctx_for(g))
    msg = first_error(per_op[0]).message
    assert "GatherElements operation is unsupported" in msg and DISCLAIMER in msg


def test_op_without_evidence_is_not_assumed_to_parse():
    assert blocking(onnx_graph("Sin")) == "HAILO-OP-NO-EVIDENCE"
    assert DISCLAIMER in get_rule("HAILO-OP-NO-EVIDENCE").doc
    assert blocking(onnx_graph("Identity")) is None  # computes nothing


def test_every_op_support_message_says_it_is_evidence_based():
    op_rules = [r for r in hailo_rules() if r.scope == "op" and r.code not in ("HAILO-SHAPE-FOLD", "HAILO-RANK",
                                                                              "HAILO-RANK3")]
    assert op_rules
    for r in op_rules:
        assert DISCLAIMER in r.doc, r.code


def test_control_flow_and_nms():
    assert blocking(onnx_graph("Loop")) == "HAILO-CONTROL-FLOW"
    assert blocking(onnx_graph("NonMaxSuppression", (1, 100, 4), (10, 3))) == "HAILO-NMS"
    assert "nms_postprocess" in get_rule("HAILO-NMS").hint


def test_rank_above_four_is_blocked_and_rank_three_warned():
    assert blocking(onnx_graph("Relu", (1, 3, 4, 8, 8), (1, 3, 4, 8, 8))) == "HAILO-RANK"
    g = onnx_graph("Relu", (1, 16, 64), (1, 16, 64))
    assert blocking(g) is None and "HAILO-RANK3" in op_codes(g)
    assert "HAILO-RANK3" not in op_codes(onnx_graph("Relu"))


def slice_graph(in_shape, out_shape, axes):
    def extra(b):
        n = len(axes)
        return [b.vector("starts", [0] * n, "int64"), b.vector("ends", [2] * n, "int64"),
                b.vector("axes", list(axes), "int64")]
    return onnx_graph("Slice", in_shape, out_shape, extra)


def test_slice_on_axis_1_of_a_rank3_tensor_is_blocked():
    assert blocking(slice_graph((1, 4, 2100), (1, 2, 2100), [1])) == "HAILO-SLICE-AXIS1"
    assert blocking(slice_graph((1, 4, 2100), (1, 4, 2), [2])) is None
    assert blocking(slice_graph((1, 4, 2100), (1, 4, 2), [-1])) is None
    # a channel slice of a 4-D feature map is not the reported case
    assert "HAILO-SLICE-AXIS1" not in op_codes(slice_graph(MAP, (1, 2, 16, 16), [1]))


def test_reducemax_only_on_channels_with_keepdims():
    ok = onnx_graph("ReduceMax", MAP, (1, 1, 16, 16), axes=[1], keepdims=1)
    assert blocking(ok) is None
    assert blocking(onnx_graph("ReduceMax", MAP, (1, 8, 1, 16), axes=[2], keepdims=1)) == "HAILO-REDUCEMAX-AXIS"
    assert blocking(onnx_graph("ReduceMax", MAP, (1, 16, 16), axes=[1], keepdims=0)) == "HAILO-REDUCEMAX-AXIS"
    opset18 = onnx_graph("ReduceMax", MAP, (1, 1, 16, 16), extra=lambda b: [b.vector("ax", [-3], "int64")])
    assert blocking(opset18) is None


def reducemean_then(next_type: str, axes):
    b = GraphBuilder()
    x = b.input("x", MAP, "float32")
    m = b.op("ReduceMean", [x], (1, 8, 16, 1), "float32", domain="ai.onnx", axes=axes, keepdims=1)
    b.op(next_type, [m, b.vector("shape", [1, 128], "int64")] if next_type == "Reshape" else [m], (1, 128),
         "float32", domain="ai.onnx")
    return b.build()


def test_reducemean_then_reshape_is_blocked_global_pool_is_fine():
    assert blocking(reducemean_then("Reshape", [3]), op=0) == "HAILO-REDUCEMEAN-RESHAPE"
    relu_after = reducemean_then("Relu", [3])
    assert blocking(relu_after, op=0) is None and "HAILO-REDUCEMEAN-AXES" in op_codes(relu_after, op=0)
    spatial = reducemean_then("Reshape", [2, 3])
    assert blocking(spatial, op=0) is None and "HAILO-REDUCEMEAN-AXES" not in op_codes(spatial, op=0)


def test_flatten_of_a_spatial_map_warns():
    assert "HAILO-FLATTEN-SPATIAL" in op_codes(onnx_graph("Flatten", MAP, (1, 2048)))
    assert "HAILO-FLATTEN-SPATIAL" not in op_codes(onnx_graph("Flatten", (1, 512, 1, 1), (1, 512)))


def test_conv1d_and_prelu_slope_warn():
    conv1d = onnx_graph("Conv", (1, 8, 64), (1, 8, 64), lambda b: [b.const("w", (8, 8, 3), "float32")])
    assert blocking(conv1d) is None and "HAILO-CONV1D" in op_codes(conv1d)
    assert "HAILO-CONV1D" not in op_codes(onnx_graph("Conv", extra=lambda b: [b.const("w", (8, 8, 3, 3), "float32")]))
    assert "HAILO-PRELU-SLOPE" in op_codes(onnx_graph("PRelu", extra=lambda b: [b.const("s", (8,), "float32")]))
    assert "HAILO-PRELU-SLOPE" not in op_codes(onnx_graph("PRelu", extra=lambda b: [b.const("s", (8, 1, 1),
                                                                                             "float32")]))


def test_sum_is_read_as_an_n_ary_add():
    g = onnx_graph("Sum", extra=lambda b: [b.input("y", MAP, "float32")])
    assert blocking(g) is None and "HAILO-LIKELY" in op_codes(g)


def test_a_pre_quantized_qdq_model_warns():
    b = GraphBuilder()
    x = b.input("x", MAP, "float32")
    q = b.op("QuantizeLinear", [x, b.vector("s", 0.1, "float32"), b.vector("z", 0, "int8")], MAP, "int8",
             domain="ai.onnx")
    b.op("DequantizeLinear", [q, "s", "z"], MAP, "float32", domain="ai.onnx")
    assert "HAILO-QDQ" in model_codes(b.build())
    assert "HAILO-QDQ" not in model_codes(onnx_graph("Relu"))


def test_likely_supported_split_is_info_only():
    g = onnx_graph("Split", MAP, (1, 4, 16, 16), axis=1)
    assert blocking(g) is None and "HAILO-LIKELY" in op_codes(g)


# -- shape arithmetic ------------------------------------------------------------------------------------------------

def test_shape_arithmetic_is_folded_not_blocked():
    b = GraphBuilder()
    x = b.input("x", MAP, "float32")
    shape = b.op("Shape", [x], (4,), "int64", domain="ai.onnx")
    n = b.op("Gather", [shape, b.vector("i", 0, "int64")], (), "int64", domain="ai.onnx", axis=0)
    dims = b.op("Concat", [b.op("Unsqueeze", [n, b.vector("a", [0], "int64")], (1,), "int64", domain="ai.onnx"),
                           b.vector("rest", [-1], "int64")], (2,), "int64", domain="ai.onnx", axis=0)
    b.op("Reshape", [x, dims], (1, 2048), "float32", domain="ai.onnx")
    g = b.build()
    assert folded_ops(g) == {0, 1, 2, 3}
    per_op, _ = evaluate(hailo_rules(), g, ctx_for(g))
    gather = per_op[1]
    assert [f.code for f in gather] == ["HAILO-SHAPE-FOLD"]  # Gather on a shape vector is no data Gather
    assert first_error(per_op[4]) is None


def test_a_data_gather_is_not_folded():
    g = onnx_graph("Gather", MAP, (1, 16, 16), lambda b: [b.vector("i", 0, "int64")], axis=1)
    assert folded_ops(g) == set() and blocking(g) == "HAILO-OP-UNSUPPORTED"


# -- graph-level requirements ----------------------------------------------------------------------------------------

def test_dynamic_spatial_dims_are_an_error_a_dynamic_batch_only_info():
    assert "HAILO-STATIC-SHAPE" in model_codes(onnx_graph("Relu", ("batch", 3, "h", "w"), ("batch", 3, "h", "w")))
    batch_only = model_codes(onnx_graph("Relu", ("batch", 3, 8, 8), ("batch", 3, 8, 8)))
    assert "HAILO-DYNAMIC-BATCH" in batch_only and "HAILO-STATIC-SHAPE" not in batch_only
    assert not {"HAILO-STATIC-SHAPE", "HAILO-DYNAMIC-BATCH"} & model_codes(onnx_graph("Relu"))


def test_opset_above_21_warns():
    assert "HAILO-OPSET" in model_codes(onnx_graph("Relu"), opset=22)
    assert "HAILO-OPSET" not in model_codes(onnx_graph("Relu"), opset=21)


# -- TFLite ----------------------------------------------------------------------------------------------------------

def tflite_graph(op_type: str, extra=()):
    b = GraphBuilder()
    x = b.input("x", (1, 16, 16, 8), "float32")
    b.op(op_type, [x, *extra], (1, 16, 16, 8), "float32")
    return b.build()


def test_tflite_builtins_map_onto_the_onnx_evidence():
    assert blocking(tflite_graph("LOGISTIC"), dialect="tflite") is None
    assert blocking(tflite_graph("GATHER"), dialect="tflite") == "HAILO-OP-UNSUPPORTED"
    assert blocking(tflite_graph("CUMSUM"), dialect="tflite") == "HAILO-OP-NO-EVIDENCE"
    assert "HAILO-CONDITIONAL" in op_codes(tflite_graph("RESHAPE"), dialect="tflite")
    _, model = evaluate(hailo_rules(), tflite_graph("RELU"), HailoContext(dialect="tflite"))
    assert "HAILO-TFLITE" in {f.code for f in model}


# -- fit rules -------------------------------------------------------------------------------------------------------

class TinyLlm:
    """A duck-typed decoder: what the Hailo rules read of ``edgefit.llm.LlmArchitecture``."""

    def __init__(self, params=600_000_000, arch="qwen3"):
        self.params, self.arch = params, arch


def fit_codes(**facts) -> dict[str, str]:
    base = dict(device="Hailo-8", ops=10)
    _, findings = evaluate(hailo_fit_rules(), GraphBuilder().build(), HailoFacts(**{**base, **facts}))
    return {f.code: f.message for f in findings}


def test_llm_refused_on_hailo8_with_the_vendor_statement():
    codes = fit_codes(llm=TinyLlm(), llm_supported="no", llm_weight_bytes=300_000_000)
    msg = codes["HAILO-LLM-NOT-SUPPORTED"]
    assert "hailo-rpi5-examples/issues/21" in msg and "no DRAM path" in msg and "vendor statement" in msg
    assert get_rule("HAILO-LLM-NOT-SUPPORTED").severity == "error"


def test_llm_on_hailo10h_only_vendor_compiled_and_names_the_hefs():
    msg = fit_codes(llm=TinyLlm(arch="qwen2"), llm_supported="vendor_compiled_only", llm_weight_bytes=1 << 29,
                    dram_bytes=8 << 30)["HAILO-LLM-VENDOR-ONLY"]
    assert msg.startswith("Only via vendor-compiled models") and "qwen2 HEFs listed: Qwen2-1.5B-Instruct" in msg
    assert "8.00 GiB module DRAM" in msg
    qwen3 = fit_codes(llm=TinyLlm(), llm_supported="vendor_compiled_only", dram_bytes=8 << 30)["HAILO-LLM-VENDOR-ONLY"]
    assert "no qwen3 HEF is listed" in qwen3 and "Qwen2.5-1.5B-Instruct" in qwen3


def test_llm_too_large_for_the_module_warns():
    codes = fit_codes(llm=TinyLlm(params=8_000_000_000), llm_supported="vendor_compiled_only",
                      llm_weight_bytes=4 << 30, kv_cache_bytes=5 << 30, dram_bytes=8 << 30,
                      max_llm_params=6_000_000_000)
    assert "HAILO-LLM-DRAM" in codes and "> 6.00 B parameters" in codes["HAILO-LLM-DRAM"]
    assert "HAILO-LLM-DRAM" not in fit_codes(llm=TinyLlm(), llm_supported="vendor_compiled_only",
                                             llm_weight_bytes=1 << 28, dram_bytes=8 << 30, max_llm_params=6 * 10**9)


def test_vendor_hefs_by_architecture_family():
    same, related = vendor_hefs_for("qwen3")
    assert not same and {h.model for h in related} >= {"Qwen2.5-1.5B-Instruct", "Qwen2-1.5B-Instruct"}
    same, _ = vendor_hefs_for("llama")
    assert [h.model for h in same] == ["Llama3.2-3B-Instruct"]
    assert vendor_hefs_for("gemma3") == ([], [])


def test_contexts_single_vs_multi_is_an_estimate():
    single = fit_codes(hef_params=3_000_000, hef_weight_bytes=3_000_000, anchor_params=11_680_000)
    assert "HAILO-CONTEXTS-SINGLE" in single and "HAILO-CONTEXTS-MULTI" not in single
    assert single["HAILO-CONTEXTS-SINGLE"].startswith("Estimate")
    multi = fit_codes(hef_params=30_000_000, hef_weight_bytes=30_000_000, anchor_params=25_530_000)
    assert "HAILO-CONTEXTS-MULTI" in multi and get_rule("HAILO-CONTEXTS-MULTI").severity == "warning"


def test_no_graph_and_multi_hef():
    assert "HAILO-NO-GRAPH" in fit_codes(ops=0)
    codes = fit_codes(hef_regions=2, between_ops=("mod_op",))
    assert "mod_op" in codes["HAILO-MULTI-HEF"]


# -- registry and docs -----------------------------------------------------------------------------------------------

def test_rule_groups_partition_the_hailo_codes():
    groups = [hailo_rules(), hailo_cut_rules(), hailo_fit_rules()]
    codes = [r.code for g in groups for r in g]
    assert len(codes) == len(set(codes)) and all(c.startswith("HAILO-") for c in codes)
    assert get_rule("hailo-host-post").code == "HAILO-HOST-POST"


def test_evidence_table_statuses_are_known():
    known = {"observed_supported", "conditional", "likely_supported", "observed_unsupported", "observed_problematic",
             "use_builtin_postprocess", "unsupported_general"}
    assert {ev.status for ev in ONNX_OP_EVIDENCE.values()} <= known
    assert all(s in hailo.SOURCES for ev in ONNX_OP_EVIDENCE.values() for s in ev.sources)


def test_docs_file_is_generated_from_rules_and_specs():
    docs = generate_docs()
    assert all(f"### {r.code}" in docs for r in [*hailo_rules(), *hailo_cut_rules(), *hailo_fit_rules()])
    assert "`rpi-ai-hat-plus-2`" in docs and DISCLAIMER in docs
    generated = Path(__file__).resolve().parents[2] / "docs" / "devices" / "hailo.md"
    assert generated.read_text() == docs, "regenerate docs/devices/hailo.md with edgefit.rules.hailo.write_docs()"

