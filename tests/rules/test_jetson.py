"""One small test per Jetson rule (TRT-* parser/builder, DLA-* placement), each on a tiny in-memory ONNX-dialect
graph: the rule fires on the bad case and not on the good one. Plus: the copied operator matrix and DLA tables
agree with the shared reference YAML, and docs/devices/jetson.md is generated from the rules."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from edgefit.graph import Op, OpGraph, Tensor
from edgefit.memory.fit import memory_fit
from edgefit.rules import all_rules, evaluate, get_rule
from edgefit.rules import jetson
from edgefit.rules.jetson import JetsonContext, generate_docs, jetson_rules

from rules.graphbuilder import DictSpec, GraphBuilder

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "reference" / "tensorrt-onnx-ops.yaml"
needs_reference = pytest.mark.skipif(not REFERENCE.is_file(), reason="shared reference (../shared) not present")
F32 = "float32"
IMAGE = (1, 3, 8, 8)
DLA = {"jetson__accelerator": "dla", "jetson__dla_cores": 2}


def context(**spec) -> JetsonContext:
    return JetsonContext.from_spec(DictSpec(**spec))


def op_codes(graph: OpGraph, op: int = -1, ctx: JetsonContext | None = None, **spec) -> set[str]:
    per_op, _ = evaluate(jetson_rules(), graph, ctx or context(**spec))
    return {f.code for f in per_op[graph.ops[op].index]}


def op_message(graph: OpGraph, code: str, op: int = -1, **spec) -> str:
    per_op, _ = evaluate(jetson_rules(), graph, context(**spec))
    return next(f.message for f in per_op[graph.ops[op].index] if f.code == code)


def model_findings(graph: OpGraph, ctx: JetsonContext) -> dict[str, str]:
    _, model = evaluate(jetson_rules(), graph, ctx)
    return {f.code: f.message for f in model}


class Onnx(GraphBuilder):
    """GraphBuilder for ONNX-dialect ops: float32 tensors, ai.onnx domain."""

    def input(self, name, shape, dtype=F32):  # type: ignore[override]
        return super().input(name, shape, dtype)

    def op(self, op_type, inputs, out_shape=None, out_dtype=F32, **kw):  # type: ignore[override]
        kw.setdefault("domain", "ai.onnx")
        return super().op(op_type, inputs, out_shape, out_dtype, **kw)


def single(op_type: str, in_shape=IMAGE, out_shape=IMAGE, dtype=F32, out_dtype=None, extra=(), **attrs) -> OpGraph:
    b = Onnx()
    x = b.input("x", in_shape, dtype)
    b.op(op_type, [x, *(extra(b) if callable(extra) else extra)], out_shape, out_dtype or dtype, **attrs)
    return b.build()


def conv(b: Onnx, x: str, channels: int = 3, kernel=(3, 3), out_shape=None, **attrs) -> str:
    shape = b.tensors[x].shape
    w = b.const(f"w{len(b.ops)}", (channels, shape[1], *kernel), F32)
    attrs.setdefault("pads", [1, 1, 1, 1] if kernel == (3, 3) else [0, 0, 0, 0])
    return b.op("Conv", [x, w], out_shape or (shape[0], channels, *shape[2:]), kernel_shape=list(kernel), **attrs)


# -- framework ----------------------------------------------------------------------------------------------

def test_every_jetson_rule_has_a_test_here():
    tested = {name for name in globals() if name.startswith(("test_trt_", "test_dla_"))}
    missing = [r.code for r in jetson_rules() if "test_" + r.code.lower().replace("-", "_") not in tested]
    assert not missing, f"rules without a test: {missing}"


def test_messages_are_filled_from_the_check_constants():
    assert "3840" in " ".join(jetson.RESTRICTIONS["TopK"]) and "3840" in get_rule("TRT-TOPK").doc
    assert f"{jetson.DLA_MAX_SUBGRAPHS}" in get_rule("DLA-SUBGRAPH-LIMIT").doc
    assert "kernel 1-32; stride 1-8" in get_rule("DLA-CONV").doc
    assert "{" not in "".join(r.doc for r in all_rules("TRT-") + all_rules("DLA-"))


def test_codes_are_trt_or_dla():
    assert all(r.code.startswith(("TRT-", "DLA-")) for r in jetson_rules())
    assert len(jetson.trt_rules()) > 20 and len(jetson.dla_rules()) > 15


def test_docs_file_is_generated_from_the_rules_and_specs():
    docs = generate_docs()
    assert all(f"### {r.code}" in docs for r in jetson_rules())
    assert "`jetson-orin-nano-8gb-super`" in docs and "Orin Nano has no DLA" in docs
    generated = REPO / "docs" / "devices" / "jetson.md"
    assert generated.read_text() == docs, "regenerate docs/devices/jetson.md with edgefit.rules.jetson.write_docs()"


@needs_reference
def test_the_copied_operator_matrix_is_the_reference():
    ref = yaml.safe_load(REFERENCE.read_text())
    ops = ref["operators"]
    assert set(jetson.UNSUPPORTED_OPS) == set(ref["unsupported"]) == {k for k, v in ops.items() if not v["supported"]}
    assert jetson.SUPPORTED_OPS == {k: frozenset(v["types"]) for k, v in ops.items() if v["supported"]}
    assert jetson.RESTRICTIONS == {k: tuple(v["restrictions"]) for k, v in ops.items() if v.get("restrictions")}
    assert tuple(ref["meta"]["opset_range"]) == jetson.OPSET_RANGE
    # every restricted op has a rule that checks it
    checked = set(jetson.CONSTANT_INPUTS) | jetson.POOLING_OPS | jetson.RECURRENT_OPS | jetson.QDQ_OPS | \
        jetson.RANDOM_OPS | {"Resize", "TopK", "LayerNormalization", "ScatterND", "GridSample", "DeformConv", "EyeLike",
                             "Hardmax", "If", "Loop", "Constant"}
    assert set(jetson.RESTRICTIONS) <= checked


@needs_reference
def test_the_copied_dla_tables_are_the_reference():
    dla = yaml.safe_load(REFERENCE.read_text())["dla"]
    via = {op: row["via_tensorrt"] for op, row in dla["onnx_ops"]["ops"].items()}
    assert jetson.DLA_NATIVE_OPS == {op for op, v in via.items() if v == "Native"}
    assert jetson.DLA_DRIVE_ONLY_OPS == {op for op, v in via.items() if v == "Native (as of TensorRT 8.6.12)"}
    assert jetson.DLA_RECONSTRUCTION_OPS == {op for op, v in via.items() if v == "Reconstruction"}
    assert jetson.DLA_RFE_OPS == {op for op, v in via.items() if v == "RFE (not exposed)"}
    assert jetson.DLA_FOLDED_OPS == {op for op, v in via.items() if v == "Can be inferred at build time"}
    counts = dla["onnx_ops"]["counts_via_tensorrt"]
    assert len(jetson.DLA_NATIVE_OPS | jetson.DLA_DRIVE_ONLY_OPS) == counts["native"]
    assert len(jetson.DLA_RFE_OPS) == counts["rfe"] and len(jetson.DLA_FOLDED_OPS) == counts["build_time"]
    assert any("16 DLA loadables" in r for r in dla["general_restrictions"]["rules"])


def test_context_reads_the_spec():
    ctx = context(toolchain__version="10.3", jetson__accelerator="dla", jetson__dla_cores=2,
                  jetson__dla_resumes_tensorrt="11.4.1", jetson__gpu_fallback=False)
    assert ctx.tensorrt == (10, 3) and ctx.dla and ctx.dla_cores == 2 and not ctx.gpu_fallback
    assert ctx.dla_resumes_tensorrt == (11, 4, 1) and ctx.dla_max_tensorrt == (10, 7)
    assert not context().dla


# -- model rules (GPU) --------------------------------------------------------------------------------------

def test_trt_onnx_only():
    g = single("Relu")
    tflite = JetsonContext.from_spec(DictSpec(), model_format="tflite")
    assert "TRT-ONNX-ONLY" in model_findings(g, tflite)
    assert "tf2onnx" in get_rule("TRT-ONNX-ONLY").hint
    assert "TRT-ONNX-ONLY" not in model_findings(g, context())


def test_trt_opset():
    g = single("Relu")
    assert "TRT-OPSET" in model_findings(g, JetsonContext.from_spec(DictSpec(), opsets={"ai.onnx": 21}))
    assert "TRT-OPSET" in model_findings(g, JetsonContext.from_spec(DictSpec(), opsets={"ai.onnx": 7}))
    assert "TRT-OPSET" not in model_findings(g, JetsonContext.from_spec(DictSpec(), opsets={"ai.onnx": 17}))


def test_trt_dynamic_shape():
    g = single("Relu", in_shape=("batch", "seq", 16), out_shape=("batch", "seq", 16))
    message = model_findings(g, context())["TRT-DYNAMIC-SHAPE"]
    assert "--minShapes=x:1x1x16 --optShapes=x:1x128x16 --maxShapes=x:1x1024x16" in message
    dla = model_findings(g, context(**DLA))["TRT-DYNAMIC-SHAPE"]
    assert "--minShapes=x:1x128x16 --optShapes=x:1x128x16 --maxShapes=x:1x128x16" in dla  # DLA: min = opt = max
    assert get_rule("TRT-DYNAMIC-SHAPE").severity == "warning"  # a profile, not a refusal
    assert "TRT-DYNAMIC-SHAPE" not in model_findings(single("Relu"), context())


def test_trt_double():
    assert "TRT-DOUBLE" in model_findings(single("Relu", dtype="float64"), context())
    assert "TRT-DOUBLE" not in model_findings(single("Relu"), context())


def qdq_graph(zero_point: int = 0, quantized: str = "int8") -> OpGraph:
    b = Onnx()
    x = b.input("x", IMAGE)
    scale = b.vector("scale", [0.1], F32)
    zp = b.vector("zp", [zero_point], quantized)
    q = b.op("QuantizeLinear", [x, scale, zp], IMAGE, quantized)
    b.op("DequantizeLinear", [q, scale, zp], IMAGE, F32)
    return b.build()


def test_trt_precision():
    assert "a float model" in model_findings(single("Relu"), context())["TRT-PRECISION"]
    assert "a Q/DQ model (2 QuantizeLinear/DequantizeLinear, INT8)" in \
        model_findings(qdq_graph(), context())["TRT-PRECISION"]


def test_trt_fp8():
    assert "TRT-FP8" in model_findings(qdq_graph(quantized="float8e4m3fn"), context())
    assert "TRT-FP8" not in model_findings(qdq_graph(), context())


def test_trt_llm():
    llm = SimpleNamespace(arch="qwen3", params=1_720_000_000)
    ctx = JetsonContext.from_spec(DictSpec(), llm=llm, llm_runtime="llama.cpp (CUDA) or MLC LLM")
    assert "qwen3, 1.72 B parameters; runtime: llama.cpp (CUDA) or MLC LLM" in model_findings(single("Relu"), ctx)["TRT-LLM"]
    gguf = JetsonContext.from_spec(DictSpec(), llm=llm, model_format="gguf")
    assert "GGUF" in model_findings(OpGraph("g", [], {}, [], []), gguf)["TRT-LLM"]
    assert "TRT-LLM" not in model_findings(single("Relu"), context())


def _fit(capacity: int | None):
    return memory_fit([("fp16", 3_000_000_000), ("int4", 900_000_000)], capacity, "test capacity",
                      kv_cache_bytes=500_000_000, context=4096)


def test_trt_memory_fit():
    ctx = JetsonContext.from_spec(DictSpec(), fit=_fit(2 * 2**30))
    message = model_findings(single("Relu"), ctx)["TRT-MEMORY-FIT"]
    assert "best fitting precision int4" in message and "fp16: weights 2.79 + KV 0.47 = 3.26 GiB does not fit" in message
    assert "at 4,096 tokens of context; capacity 2.00 GiB" in message
    assert "TRT-MEMORY-FIT" not in model_findings(single("Relu"), JetsonContext.from_spec(DictSpec(), fit=_fit(10**9)))


def test_trt_memory_exceeded():
    ctx = JetsonContext.from_spec(DictSpec(), fit=_fit(10**9))
    assert "int4: weights 0.84 + KV 0.47 = 1.30 GiB does not fit" in model_findings(single("Relu"), ctx)["TRT-MEMORY-EXCEEDED"]
    assert get_rule("TRT-MEMORY-EXCEEDED").severity == "error"


def test_trt_memory_unknown():
    ctx = JetsonContext.from_spec(DictSpec(), fit=_fit(None))
    found = model_findings(single("Relu"), ctx)
    assert "TRT-MEMORY-UNKNOWN" in found and "TRT-MEMORY-EXCEEDED" not in found and "TRT-MEMORY-FIT" not in found


# -- op rules: the parser -----------------------------------------------------------------------------------

def test_trt_plugin():
    b = Onnx()
    b.op("MatMulNBits", [b.input("x", (1, 16))], (1, 16), domain="com.microsoft")
    assert "TRT-PLUGIN" in op_codes(b.build())
    assert "TRT-PLUGIN" not in op_codes(single("Relu"))


def test_trt_builtin_plugin():
    b = Onnx()
    b.op("EfficientNMS_TRT", [b.input("boxes", (1, 100, 4))], (1, 10, 4), domain="custom")
    codes = op_codes(b.build())
    assert "TRT-BUILTIN-PLUGIN" in codes and "TRT-PLUGIN" not in codes


def test_trt_op_unsupported():
    message = op_message(single("Unique", in_shape=(8,), out_shape=(8,)), "TRT-OP-UNSUPPORTED")
    assert "TensorRT's ONNX parser has no importer for Unique" in message
    assert "TRT-OP-UNSUPPORTED" not in op_codes(single("Relu"))
    assert "not in the ONNX-TensorRT 10.1" in op_message(single("RMSNormalization"), "TRT-OP-UNSUPPORTED")
    window = single("HannWindow", in_shape=(), out_shape=(16,), dtype="int64", out_dtype=F32)
    assert "TRT-OP-UNSUPPORTED" in op_codes(window, toolchain__version="10.3")
    assert "TRT-OP-UNSUPPORTED" not in op_codes(window, toolchain__version="10.4")  # changelog 10.4


def _if(then_ops: list[str], then_out=("a",), else_out=("b",), then_rank=1, else_rank=1) -> OpGraph:
    def body(name, ops, outs, rank):
        bb = Onnx(name)
        x = bb.tensor("outer", (4,), F32)
        for i, t in enumerate(ops):
            x = bb.op(t, [x], (4,), outputs=[outs[0]] if i == len(ops) - 1 else None)
        bb.tensors[outs[0]] = Tensor(outs[0], F32, (4,) * rank)
        bb.outputs = list(outs)
        return bb.build()

    b = Onnx()
    cond = b.input("cond", (), "bool")
    op = Op(index=0, name="if", type="If", domain="ai.onnx", version=17, inputs=[cond], outputs=["y"],
            bodies={"then_branch": body("then", then_ops, then_out, then_rank),
                    "else_branch": body("else", ["Relu"], else_out, else_rank)})
    b.ops.append(op)
    b.tensor("y", (4,), F32)
    return b.build()


def test_trt_subgraph_op():
    g = _if(["Relu", "Unique"])
    codes = op_codes(g)
    assert "TRT-SUBGRAPH-OP" in codes and "TRT-OP-UNSUPPORTED" not in codes  # If itself has an importer
    assert "Unique" in op_message(g, "TRT-SUBGRAPH-OP")
    assert "TRT-SUBGRAPH-OP" not in op_codes(_if(["Relu"]))


def test_trt_function_op():
    body = Onnx("f")
    body.op("Unique", [body.input("x", (4,))], (4,))
    b = Onnx()
    b.ops.append(Op(index=0, name="call", type="MyFn", domain="local", version=1, inputs=[b.input("x", (4,))],
                    outputs=["y"], function="local::MyFn"))
    b.tensor("y", (4,), F32)
    g = b.build()
    ctx = JetsonContext.from_spec(DictSpec(), functions={"local::MyFn": body.build()})
    codes = op_codes(g, ctx=ctx)
    assert "TRT-FUNCTION-OP" in codes and "TRT-PLUGIN" not in codes
    old = JetsonContext.from_spec(DictSpec(toolchain__version="8.6"), functions={"local::MyFn": body.build()})
    per_op, _ = evaluate(jetson_rules(), g, old)
    assert "does not import local functions" in next(f.message for f in per_op[0] if f.code == "TRT-FUNCTION-OP")
    fine = Onnx("f")
    fine.op("Relu", [fine.input("x", (4,))], (4,))
    assert "TRT-FUNCTION-OP" not in op_codes(g, ctx=JetsonContext.from_spec(DictSpec(), functions={"local::MyFn": fine.build()}))


def test_trt_dtype():
    assert "TRT-DTYPE" in op_codes(single("Relu", dtype="uint8"))
    assert "TRT-DTYPE" in op_codes(single("NonZero", dtype="bool", out_dtype="int64"))
    assert "TRT-DTYPE" not in op_codes(single("Relu", dtype="float64"))  # DOUBLE is cast down to FLOAT
    assert "TRT-DTYPE" not in op_codes(single("Equal", dtype="int64", out_dtype="bool"))
    b = Onnx()
    b.op("QuantizeLinear", [b.input("x", IMAGE), b.vector("s", [0.1], F32), b.vector("z", [0], "uint8")], IMAGE,
         "uint8")
    assert "TRT-DTYPE" in op_codes(b.build())  # uint8 quantization: Q/DQ are INT8/FP8/INT4 only
    assert "TRT-DTYPE" not in op_codes(qdq_graph(), op=0)


def _with_axes(op_type: str, constant: bool, position: int = 1) -> OpGraph:
    b = Onnx()
    x = b.input("x", IMAGE)
    inputs = [x]
    while len(inputs) < position:
        inputs.append(b.vector(f"p{len(inputs)}", [0], "int64"))
    inputs.append(b.vector("axes", [1], "int64") if constant else b.input("axes", (1,), "int64"))
    b.op(op_type, inputs, (1, 1, 8, 8))
    return b.build()


def test_trt_constant_input():
    assert "TRT-CONSTANT-INPUT" in op_codes(_with_axes("ReduceMean", constant=False))
    assert "'`axes` must be an initializer'" in op_message(_with_axes("ReduceMean", False), "TRT-CONSTANT-INPUT")
    assert "TRT-CONSTANT-INPUT" not in op_codes(_with_axes("ReduceMean", constant=True))
    dynamic_slice = _with_axes("Slice", constant=False, position=3)
    assert "TRT-CONSTANT-INPUT" in op_codes(dynamic_slice, toolchain__version="10.1")
    assert "TRT-CONSTANT-INPUT" not in op_codes(dynamic_slice, toolchain__version="10.3")  # changelog 10.3
    b = Onnx()
    b.op("Dropout", [b.input("x", IMAGE), b.vector("ratio", 0.5, F32), b.vector("train", True, "bool")], IMAGE)
    assert "is True" in op_message(b.build(), "TRT-CONSTANT-INPUT")


def test_trt_pool():
    assert "1-D pooling" in op_message(single("MaxPool", in_shape=(1, 3, 8), out_shape=(1, 3, 4),
                                              kernel_shape=[2]), "TRT-POOL")
    assert "TRT-POOL" in op_codes(single("AveragePool", kernel_shape=[2, 2], dilations=[2, 2]))
    b = Onnx()
    b.op("MaxPool", [b.input("x", IMAGE)], outputs=[b.tensor("y", IMAGE, F32), b.tensor("idx", IMAGE, "int64")],
         kernel_shape=[2, 2])
    assert "Indices output 'idx'" in op_message(b.build(), "TRT-POOL")
    assert "TRT-POOL" not in op_codes(single("MaxPool", kernel_shape=[2, 2], dilations=[1, 1]))


def test_trt_resize():
    assert "TRT-RESIZE" in op_codes(single("Resize", mode="cubic"))
    assert "TRT-RESIZE" in op_codes(single("Resize", mode="linear", antialias=1))
    assert "TRT-RESIZE" in op_codes(single("Resize", coordinate_transformation_mode="tf_crop_and_resize"))
    assert "TRT-RESIZE" in op_codes(single("Resize", keep_aspect_ratio_policy="not_larger"))
    assert "TRT-RESIZE" not in op_codes(single("Resize", mode="linear", coordinate_transformation_mode="half_pixel"))


def test_trt_topk():
    def topk(k, **attrs):
        return single("TopK", in_shape=(1, 5000), out_shape=(1, k), extra=lambda b: [b.vector("k", [k], "int64")],
                      **attrs)

    assert "K = 4,000" in op_message(topk(4000), "TRT-TOPK")
    assert "TRT-TOPK" in op_codes(topk(10, sorted=0))
    assert "TRT-TOPK" not in op_codes(topk(10))


def test_trt_qdq_zero_point():
    assert "zero points [3]" in op_message(qdq_graph(zero_point=3), "TRT-QDQ-ZERO-POINT")
    assert "TRT-QDQ-ZERO-POINT" not in op_codes(qdq_graph())


def test_trt_extra_output():
    b = Onnx()
    b.op("LayerNormalization", [b.input("x", (1, 4, 16)), b.const("g", (16,), F32)],
         outputs=[b.tensor("y", (1, 4, 16), F32), b.tensor("mean", (1, 4, 1), F32), ""])
    assert "TRT-EXTRA-OUTPUT" in op_codes(b.build())
    assert "TRT-EXTRA-OUTPUT" not in op_codes(single("LayerNormalization", in_shape=(1, 4, 16), out_shape=(1, 4, 16)))


def test_trt_scatternd_reduction():
    assert "TRT-SCATTERND-REDUCTION" in op_codes(single("ScatterND", reduction="add"))
    assert "TRT-SCATTERND-REDUCTION" not in op_codes(single("ScatterND"))


def test_trt_gridsample_4d():
    assert "TRT-GRIDSAMPLE-4D" in op_codes(single("GridSample", in_shape=(1, 3, 4, 8, 8), out_shape=(1, 3, 4, 8, 8)))
    assert "TRT-GRIDSAMPLE-4D" not in op_codes(single("GridSample"))


def test_trt_deformconv():
    assert "pads [0, 1, 1, 0]" in op_message(single("DeformConv", pads=[0, 1, 1, 0]), "TRT-DEFORMCONV")
    assert "TRT-DEFORMCONV" in op_codes(single("DeformConv", in_shape=(1, 3, 4, 8, 8), out_shape=(1, 3, 4, 8, 8)))
    assert "TRT-DEFORMCONV" not in op_codes(single("DeformConv", pads=[1, 1, 1, 1]))


def test_trt_eyelike_static():
    assert "TRT-EYELIKE-STATIC" in op_codes(single("EyeLike", in_shape=("n", 4), out_shape=("n", 4)))
    assert "TRT-EYELIKE-STATIC" not in op_codes(single("EyeLike", in_shape=(4, 4), out_shape=(4, 4)))


def test_trt_hardmax_axis():
    assert "TRT-HARDMAX-AXIS" in op_codes(single("Hardmax", in_shape=(1, "n"), out_shape=(1, "n")))
    assert "TRT-HARDMAX-AXIS" not in op_codes(single("Hardmax", in_shape=("n", 10), out_shape=("n", 10)))


def test_trt_rnn():
    mixed = single("GRU", in_shape=(5, 1, 4), out_shape=(5, 2, 1, 8), direction="bidirectional",
                   activations=["Sigmoid", "Tanh", "Relu", "Tanh"])
    assert "TRT-RNN" in op_codes(mixed)
    assert "layout=1" in op_message(single("LSTM", in_shape=(1, 5, 4), out_shape=(1, 5, 1, 8), layout=1), "TRT-RNN")
    same = single("LSTM", in_shape=(5, 1, 4), out_shape=(5, 2, 1, 8), direction="bidirectional",
                  activations=["Sigmoid", "Tanh", "Tanh"] * 2)
    assert "TRT-RNN" not in op_codes(same)


def test_trt_if_branches():
    assert "rank 1" in op_message(_if(["Relu"], then_rank=1, else_rank=2), "TRT-IF-BRANCHES")
    assert "both branches name an output 'a'" in op_message(_if(["Relu"], else_out=("a",)), "TRT-IF-BRANCHES")
    assert "TRT-IF-BRANCHES" not in op_codes(_if(["Relu"]))


def test_trt_loop_scan_output():
    def loop(trip_constant: bool):
        b = Onnx()
        trip = b.vector("M", [3], "int64") if trip_constant else b.input("M", (), "int64")
        b.op("Loop", [trip, "", b.input("v", (4,))], outputs=[b.tensor("v_out", (4,), F32),
                                                              b.tensor("scan", (3, 4), F32)])
        return b.build()

    assert "scan outputs scan" in op_message(loop(False), "TRT-LOOP-SCAN-OUTPUT")
    assert "TRT-LOOP-SCAN-OUTPUT" not in op_codes(loop(True))


def test_trt_constant_attr():
    b = Onnx()
    b.op("Constant", [], (2,), "string", value_strings=["a", "b"])
    assert "TRT-CONSTANT-ATTR" in op_codes(b.build())
    b = Onnx()
    b.op("Constant", [], (2,), value_floats=[1.0, 2.0])
    assert "TRT-CONSTANT-ATTR" not in op_codes(b.build())


def test_trt_random_seed():
    b = Onnx()
    b.op("RandomNormal", [], (2, 2), seed=1.0, shape=[2, 2])
    per_op, _ = evaluate(jetson_rules(), b.build(), context())
    assert [(f.code, f.severity) for f in per_op[0]] == [("TRT-RANDOM-SEED", "info")]


# -- DLA model rules ----------------------------------------------------------------------------------------

def test_dla_unavailable():
    g = single("Relu")
    assert "has no DLA" in model_findings(g, context(jetson__accelerator="dla", jetson__dla_cores=0,
                                                     name="NVIDIA Jetson Orin Nano 8GB"))["DLA-UNAVAILABLE"]
    assert "cores 0-1" in model_findings(g, context(jetson__dla_core=2, **DLA))["DLA-UNAVAILABLE"]
    assert "DLA-UNAVAILABLE" not in model_findings(g, context(**DLA))
    assert not any(c.startswith("DLA-") for c in model_findings(g, context()))  # GPU mode: no DLA rules


def test_dla_tensorrt_version():
    g = single("Relu")
    assert "TensorRT 11.2" in model_findings(g, context(toolchain__version="11.2", **DLA))["DLA-TENSORRT-VERSION"]
    assert "DLA-TENSORRT-VERSION" in model_findings(g, context(toolchain__version="11.4.0", **DLA))
    assert "DLA-TENSORRT-VERSION" not in model_findings(g, context(toolchain__version="10.7", **DLA))
    agx = dict(jetson__dla_resumes_tensorrt="11.4.1", jetson__dla_resumes_jetpack="7.2.2", **DLA)
    assert "DLA-TENSORRT-VERSION" not in model_findings(g, context(toolchain__version="11.4.1", **agx))
    assert "DLA-TENSORRT-VERSION" in model_findings(g, context(toolchain__version="11.3", **agx))


def test_dla_version_unverified():
    g = single("Relu")
    assert "DLA-VERSION-UNVERIFIED" in model_findings(g, context(toolchain__version="11.4.1", **DLA))
    agx = dict(jetson__dla_resumes_tensorrt="11.4.1", **DLA)
    assert "DLA-VERSION-UNVERIFIED" not in model_findings(g, context(toolchain__version="11.4.1", **agx))


def test_dla_availability():
    ctx = context(toolchain__version="10.3", jetson__jetpack="6.2", jetson__dla_resumes_tensorrt="11.4.1",
                  jetson__dla_resumes_jetpack="7.2.2", **DLA)
    message = model_findings(single("Relu"), ctx)["DLA-AVAILABILITY"]
    assert "TensorRT 10.3 (JetPack 6.2)" in message and "TensorRT 10.7 and earlier" in message
    assert "from TensorRT 11.4.1 with JetPack 7.2.2" in message and "11.0-11.3" in message


def test_dla_precision():
    assert "FP16 on DLA" in model_findings(single("Relu"), context(**DLA))["DLA-PRECISION"]
    assert "Q/DQ nodes are not DLA layers" in model_findings(qdq_graph(), context(**DLA))["DLA-PRECISION"]


def _placement(graph: OpGraph, ctx: JetsonContext):
    from edgefit.rules import first_error
    from edgefit.targets.jetson import dla_placement

    per_op, _ = evaluate([r for r in jetson_rules() if r.scope == "op"], graph, ctx)
    blocked = {i: f for i, fs in per_op.items() if (f := first_error(fs)) is not None}
    return dla_placement(graph, blocked, 0)


def alternating(runs: int) -> OpGraph:
    """Conv (DLA) and Exp (GPU) in turn: ``runs`` DLA subgraphs."""
    b = Onnx()
    x = b.input("x", IMAGE)
    for _ in range(runs):
        x = b.op("Exp", [conv(b, x)], IMAGE)
    return b.build()


def test_dla_no_gpu_fallback():
    ctx = context(jetson__gpu_fallback=False, **DLA)
    ctx.dla_summary = _placement(alternating(2), ctx)
    assert "2 layers cannot run on DLA (Exp x2)" in model_findings(alternating(2), ctx)["DLA-NO-GPU-FALLBACK"]
    allowed = context(**DLA)
    allowed.dla_summary = _placement(alternating(2), allowed)
    assert "DLA-NO-GPU-FALLBACK" not in model_findings(alternating(2), allowed)


def test_dla_subgraph_limit():
    g = alternating(jetson.DLA_MAX_SUBGRAPHS + 2)
    ctx = context(**DLA)
    ctx.dla_summary = _placement(g, ctx)
    assert ctx.dla_summary.subgraphs == 16 and ctx.dla_summary.dropped_subgraphs == 2
    assert "18 DLA subgraphs; 2 beyond the first 16 (2 layers)" in model_findings(g, ctx)["DLA-SUBGRAPH-LIMIT"]
    small = alternating(3)
    ctx.dla_summary = _placement(small, ctx)
    assert ctx.dla_summary.subgraphs == 3 and "DLA-SUBGRAPH-LIMIT" not in model_findings(small, ctx)


def test_dla_subgraph_memory():
    big = (1, 512, 1024, 1024)  # 512 Mi elements at FP16 = 1 GiB
    b = Onnx()
    b.op("Relu", [b.op("Relu", [b.input("x", big)], big)], big)
    g = b.build()
    ctx = context(**DLA)
    ctx.dla_summary = _placement(g, ctx)
    assert "subgraph 0: 1,073,741,824 B" in model_findings(g, ctx)["DLA-SUBGRAPH-MEMORY"]
    ctx.dla_summary = _placement(single("Relu"), ctx)
    assert "DLA-SUBGRAPH-MEMORY" not in model_findings(single("Relu"), ctx)


# -- DLA op rules -------------------------------------------------------------------------------------------

def dla_codes(graph: OpGraph, op: int = -1, **spec) -> set[str]:
    return op_codes(graph, op, **DLA, **spec)


def test_dla_layer():
    assert "RFE (not exposed)" in op_message(single("Exp"), "DLA-LAYER", **DLA)
    assert "8.6.12" in op_message(single("Div"), "DLA-LAYER", **DLA)
    assert "Reconstruction" in op_message(single("Gather"), "DLA-LAYER", **DLA)
    assert "DLA-LAYER" not in dla_codes(single("Relu"))
    assert "DLA-LAYER" not in op_codes(single("Exp"))  # GPU mode: no DLA rules
    static_shape = single("Shape", out_shape=(4,), out_dtype="int64")
    assert "DLA-LAYER" not in dla_codes(static_shape)  # folded at build time
    assert "DLA-LAYER" in dla_codes(single("Shape", in_shape=(1, "n"), out_shape=(2,), out_dtype="int64"))


def test_dla_dtype():
    assert "is int32" in op_message(single("Add", dtype="int32"), "DLA-DTYPE", **DLA)
    assert "DLA-DTYPE" not in dla_codes(single("Add"))
    assert "DLA-DTYPE" not in dla_codes(single("Equal", out_dtype="bool"))


def test_dla_static_shape():
    assert "DLA-STATIC-SHAPE" in dla_codes(single("Relu", in_shape=(1, 3, "h", 8), out_shape=(1, 3, "h", 8)))
    assert "DLA-STATIC-SHAPE" not in dla_codes(single("Relu"))


def test_dla_dims():
    assert "has shape [1, 3, 9000, 8]" in op_message(single("Relu", in_shape=(1, 3, 9000, 8), out_shape=(1, 3, 9000, 8)),
                                                     "DLA-DIMS", **DLA)
    assert "batch 5,000" in op_message(single("Relu", in_shape=(5000, 3, 8, 8), out_shape=(5000, 3, 8, 8)),
                                       "DLA-DIMS", **DLA)
    assert "DLA-DIMS" not in dla_codes(single("Relu", in_shape=(1, 3, 8192, 8), out_shape=(1, 3, 8192, 8)))


def _conv(kernel=(3, 3), channels=3, in_shape=IMAGE, **attrs) -> OpGraph:
    b = Onnx()
    conv(b, b.input("x", in_shape), channels, kernel, **attrs)
    return b.build()


def test_dla_conv():
    assert "kernel [33, 33]" in op_message(_conv((33, 33)), "DLA-CONV", **DLA)
    assert "strides [9, 9]" in op_message(_conv(strides=[9, 9]), "DLA-CONV", **DLA)
    assert "pads [3, 3, 3, 3] with kernel [3, 3]" in op_message(_conv(pads=[3, 3, 3, 3]), "DLA-CONV", **DLA)
    assert "9,000 output maps" in op_message(_conv(channels=9000), "DLA-CONV", **DLA)
    assert "3-D convolution" in op_message(_conv((3, 3, 3), in_shape=(1, 3, 4, 8, 8), pads=[0] * 6), "DLA-CONV",
                                           **DLA)
    assert "DLA-CONV" not in dla_codes(_conv())


def _deconv(**attrs) -> OpGraph:
    b = Onnx()
    x = b.input("x", IMAGE)
    b.op("ConvTranspose", [x, b.const("w", (3, 4, 2, 2), F32)], (1, 4, 16, 16), kernel_shape=[2, 2], **attrs)
    return b.build()


def test_dla_deconv():
    assert "pads" in op_message(_deconv(strides=[2, 2], pads=[1, 1, 1, 1]), "DLA-DECONV", **DLA)
    assert "strides [40, 40]" in op_message(_deconv(strides=[40, 40]), "DLA-DECONV", **DLA)
    assert "DLA-DECONV" not in dla_codes(_deconv(strides=[64, 1]))  # 64 x 1 is one of the long strides
    assert "DLA-DECONV" not in dla_codes(_deconv(strides=[2, 2]))


def test_dla_pool():
    assert "window [9, 9]" in op_message(single("MaxPool", kernel_shape=[9, 9]), "DLA-POOL", **DLA)
    assert "strides [17, 17]" in op_message(single("AveragePool", kernel_shape=[2, 2], strides=[17, 17]), "DLA-POOL",
                                            **DLA)
    assert "DLA-POOL" not in dla_codes(single("MaxPool", kernel_shape=[2, 2], strides=[2, 2]))


def test_dla_lrn():
    assert "DLA-LRN" in dla_codes(single("LRN", size=4))
    assert "DLA-LRN" not in dla_codes(single("LRN", size=5))


def test_dla_softmax():
    assert "batch axis" in op_message(single("Softmax", axis=0), "DLA-SOFTMAX", **DLA)
    wide = (1, 2000, 2, 1)
    assert "axis 1 holds 2,000" in op_message(single("Softmax", in_shape=wide, out_shape=wide, axis=1), "DLA-SOFTMAX",
                                              **DLA)
    alone = (1, 2000, 1, 1)  # other non-batch dims 1: up to 8192
    assert "DLA-SOFTMAX" not in dla_codes(single("Softmax", in_shape=alone, out_shape=alone, axis=1))


def _concat(axis: int) -> OpGraph:
    b = Onnx()
    x, y = b.input("x", IMAGE), b.input("y", IMAGE)
    out = list(IMAGE)
    out[axis] *= 2
    b.op("Concat", [x, y], tuple(out), axis=axis)
    return b.build()


def test_dla_concat():
    assert "axis 2 of a rank-4 tensor" in op_message(_concat(2), "DLA-CONCAT", **DLA)
    assert "DLA-CONCAT" not in dla_codes(_concat(1))


def _slice(starts, ends, axes, steps=None, in_shape=IMAGE) -> OpGraph:
    b = Onnx()
    inputs = [b.input("x", in_shape), b.vector("starts", starts, "int64"), b.vector("ends", ends, "int64"),
              b.vector("axes", axes, "int64")]
    if steps is not None:
        inputs.append(b.vector("steps", steps, "int64"))
    b.op("Slice", inputs, (1, 3, 4, 8))
    return b.build()


def test_dla_slice():
    assert "steps [2]" in op_message(_slice([0], [8], [2], [2]), "DLA-SLICE", **DLA)
    assert "slices the first dimension" in op_message(_slice([0], [1], [0], in_shape=(2, 3, 8, 8)), "DLA-SLICE", **DLA)
    assert "rank-3 input" in op_message(_slice([0], [4], [1], in_shape=(3, 8, 8)), "DLA-SLICE", **DLA)
    assert "DLA-SLICE" not in dla_codes(_slice([0], [4], [2], [1]))


def test_dla_prelu():
    b = Onnx()
    b.op("PRelu", [b.input("x", IMAGE), b.input("slope", (3, 1, 1))], IMAGE)
    assert "DLA-PRELU" in dla_codes(b.build())
    assert "DLA-PRELU" not in dla_codes(single("PRelu", extra=lambda b: [b.const("slope", (3, 1, 1), F32)]))


def _resize(factor: int, mode: str) -> OpGraph:
    out = (1, 3, 8 * factor, 8 * factor)
    return single("Resize", out_shape=out, mode=mode,
                  extra=lambda b: ["", b.vector("scales", [1.0, 1.0, factor, factor], F32)])


def test_dla_resize():
    assert "DLA-RESIZE" in dla_codes(_resize(5, "linear"))
    assert "DLA-RESIZE" not in dla_codes(_resize(2, "linear"))
    assert "DLA-RESIZE" not in dla_codes(_resize(16, "nearest"))
    assert "DLA-RESIZE" in dla_codes(_resize(33, "nearest"))


def test_dla_constant_weights():
    b = Onnx()
    b.op("MatMul", [b.input("a", (1, 4, 8)), b.input("b", (1, 8, 4))], (1, 4, 4))
    assert "second input 'b'" in op_message(b.build(), "DLA-CONSTANT-WEIGHTS", **DLA)
    assert "DLA-CONSTANT-WEIGHTS" not in dla_codes(single("MatMul", in_shape=(1, 8), out_shape=(1, 4),
                                                          extra=lambda b: [b.const("w", (8, 4), F32)]))
