"""Hailo-8 / Hailo-8L / Hailo-10H rules: what the Dataflow Compiler (DFC) parses, and why not.

The op support here is EVIDENCE-BASED, NOT HAILO'S OFFICIAL LIST. Hailo's "Supported Layers" chapter is in the
DFC User Guide (v3.30.0 §5.5), behind a Developer Zone login, and could not be read. The table below is the public
evidence collected in ``/work/shared/reference/hailo-ops.yaml`` ("ops table") and ``hailo.md`` ("ref §N"): a
Korean test report that compiled single-op PyTorch exports (ONNX opset 11) on Hailo-8 with DFC 3.32 ("kr_test"),
DFC parser errors quoted in public porting notes ("y26": YOLO26n on Hailo-8L; "bilstm": a Bi-LSTM model), the
Hailo Model Zoo's ``.alls`` scripts and network YAMLs ("mz") and Hailo's forum. An op type with no evidence at all
is not assumed to work (``HAILO-OP-NO-EVIDENCE``): check the DFC User Guide before trusting either answer.

Rules are in ONNX terms (the DFC parses ONNX; it parses TFLite too, and TFLite builtins are mapped by meaning onto
the same evidence, ``TFLITE_TO_ONNX``; attribute conditions are checked on ONNX ops only). Three groups:

- op rules (``hailo_rules``): the op's own evidence, scope "op", plus the graph-level parse requirements (static
  shapes, opset), scope "model". An op's first error decides that it cannot be inside a HEF;
- cut rules (``hailo_cut_rules``): where the cut the target computes puts a parsable op on the host (before the
  start nodes, after the end nodes); they read ``HailoCut`` (built by ``edgefit.targets.hailo``);
- fit rules (``hailo_fit_rules``): contexts (the single- vs multi-context estimate), decoder LLMs (not supported on
  Hailo-8/8L; vendor-compiled HEFs only on Hailo-10H), a file without an op graph. They read ``HailoFacts``.

Device options are read from the spec: ``hailo.hw_arch``, ``hailo.precision_modes``,
``hailo.default_precision_mode``, ``hailo.llm_precision``, ``hailo.max_single_context_params_m``,
``hailo.max_llm_params_b``, ``llm.supported``, ``memory.size_bytes`` (docs/device-specs.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgefit.graph import Op, OpGraph, Tensor
from edgefit.rules import ALL, DOCS_DIR, Detail, Rule, all_rules, rule, write_doc

DOCS_PATH = DOCS_DIR / "hailo.md"

#: Said in every op-support message and in the generated docs.
DISCLAIMER = "evidence-based, not Hailo's official list"

# -- evidence (ops table ``meta.sources``) --------------------------------------------------------------------

SOURCES = {
    "kr_test": "Korean test report, DFC v3.32.0 / HailoRT 4.22.0, PyTorch 2.7.1 exported at ONNX opset 11, Hailo-8",
    "y26": "public write-up 'Porting YOLO26n to the Hailo-8L' quoting DFC parser errors (provenance unverified)",
    "bilstm": "public notes on porting a Bi-LSTM model quoting DFC parser errors (provenance unverified)",
    "mz": "hailo-ai/hailo_model_zoo@c83fc03 (cfg/alls, cfg/networks, docs)",
    "mz_v2_11": "hailo-ai/hailo_model_zoo@6845dd2 hailo_model_zoo/cfg/networks/yolov8n.yaml",
    "forum_unsupported": "https://community.hailo.ai/t/handling-unsupported-operations-with-onnxruntime/17956",
    "h8l_llm": "https://github.com/hailo-ai/hailo-rpi5-examples/issues/21 (Hailo staff)",
    "genai": "hailo-ai/hailo_model_zoo_genai@2af6c43 docs/MODELS.rst",
    "derived": "derived by edgefit from the sources named in the note",
}


@dataclass(frozen=True)
class OpEvidence:
    #: ops table ``status_values``: observed_supported, conditional, likely_supported, observed_unsupported,
    #: observed_problematic, use_builtin_postprocess, unsupported_general.
    status: str
    note: str
    sources: tuple[str, ...]
    #: The DFC's own error text or class where a public report quotes it.
    dfc_error: str | None = None


def _ev(status: str, note: str, *sources: str, dfc_error: str | None = None) -> OpEvidence:
    return OpEvidence(status, note, sources, dfc_error)


#: ONNX op type -> public evidence (ops table ``onnx_ops``, plus the "derived" rows explained in their notes).
ONNX_OP_EVIDENCE: dict[str, OpEvidence] = {
    "Conv": _ev("observed_supported", "1x1/3x3/5x5, stride, padding; depthwise, grouped and dilated compiled",
                "kr_test"),
    "ConvTranspose": _ev("observed_supported", "compiled", "kr_test"),
    "MaxPool": _ev("observed_supported", "compiled", "kr_test"),
    "AveragePool": _ev("observed_supported", "compiled", "kr_test"),
    "GlobalAveragePool": _ev("observed_supported", "preferred over ReduceMean for global pooling", "kr_test"),
    "GlobalMaxPool": _ev("observed_supported", "AdaptiveMaxPool compiled", "kr_test"),
    "Relu": _ev("observed_supported", "compiled", "kr_test"),
    "LeakyRelu": _ev("observed_supported", "compiled", "kr_test"),
    "PRelu": _ev("observed_supported", "compiled; one report of a 1-D slope export blowing up channel dims",
                 "kr_test"),
    "Sigmoid": _ev("observed_supported", "compiled (also as SiLU = x * sigmoid(x))", "kr_test"),
    "Tanh": _ev("observed_supported", "compiled", "kr_test"),
    "HardSwish": _ev("observed_supported", "compiled", "kr_test"),
    "HardSigmoid": _ev("observed_supported", "compiled", "kr_test"),
    "Gelu": _ev("observed_supported", "compiled; change_output_activation(gelu) in Model Zoo scripts",
                "kr_test", "mz"),
    "Elu": _ev("observed_supported", "compiled", "kr_test"),
    "BatchNormalization": _ev("observed_supported", "folded", "kr_test"),
    "LayerNormalization": _ev("observed_supported", "in ViT/DeiT/CLIP HEFs of the Model Zoo", "kr_test", "mz"),
    "InstanceNormalization": _ev("observed_supported", "compiled", "kr_test"),
    "Gemm": _ev("observed_supported", "nn.Linear -> fc; very large FC layers may be costly", "kr_test"),
    "MatMul": _ev("observed_supported", "activation x activation matmul in transformer HEFs (deit, cas_vit, clip)",
                  "mz"),
    "Softmax": _ev("observed_supported", "decomposed internally", "kr_test", "mz"),
    "Add": _ev("observed_supported", "compiled", "kr_test"),
    "Sub": _ev("observed_supported", "compiled", "kr_test"),
    "Mul": _ev("observed_supported", "compiled", "kr_test"),
    "Div": _ev("observed_supported", "compiled", "kr_test"),
    "Concat": _ev("observed_supported", "avoid Concats joining very different value ranges (quantization)",
                  "kr_test", "forum_unsupported"),
    "Transpose": _ev("observed_supported", "torch.permute compiled; complex shuffles may fail", "kr_test"),
    "Pad": _ev("observed_supported", "compiled", "kr_test"),
    "Clip": _ev("observed_supported", "compiled", "kr_test"),
    "Resize": _ev("observed_supported", "bilinear and nearest", "kr_test"),
    "Dropout": _ev("observed_supported", "no-op at inference", "kr_test"),
    # PyTorch exports at opset 11 (kr_test's) have no LayerNormalization or Gelu op: LayerNorm is written as
    # ReduceMean, Sub, Pow, Sqrt, Div (and Add, Mul), GELU as Div, Erf, Add, Mul. That those tests compiled is the
    # evidence for these decomposition ops.
    "Pow": _ev("observed_supported", "part of the opset-11 LayerNorm decomposition that compiled", "kr_test",
               "derived"),
    "Sqrt": _ev("observed_supported", "part of the opset-11 LayerNorm decomposition that compiled", "kr_test",
                "derived"),
    "Erf": _ev("observed_supported", "part of the opset-11 GELU decomposition that compiled", "kr_test", "derived"),
    # The Model Zoo parses the Ultralytics YOLOv8 ONNX from its input to the six head convs (mz_v2_11), which
    # includes the C2f blocks' channel Splits.
    "Split": _ev("likely_supported", "inside the region the Model Zoo parses for Ultralytics YOLOv8 (C2f blocks)",
                 "mz_v2_11", "derived"),
    # ONNX Sum is an n-ary Add (old exports write residual additions as Sum, e.g. ResNet-50 at opset 8).
    "Sum": _ev("likely_supported", "an n-ary Add, which compiled", "kr_test", "derived"),
    "DepthToSpace": _ev("likely_supported", "space_to_depth layers appear in Model Zoo scripts; not tested directly",
                        "mz"),
    "SpaceToDepth": _ev("likely_supported", "space_to_depth layers appear in Model Zoo scripts; not tested directly",
                        "mz"),
    "ArgMax": _ev("likely_supported", "argmax layers appear in Model Zoo scripts; not tested directly", "mz"),
    "Flatten": _ev("conditional", "fine before Linear in simple CNNs; UnsupportedShuffleLayerError in the YOLO26 head",
                   "kr_test", "y26", dfc_error="UnsupportedShuffleLayerError"),
    "Squeeze": _ev("conditional", "fine in a CNN tail; 'UnexpectedNodeError ... (Squeeze)' in an LSTM model",
                   "kr_test", "bilstm", dfc_error="UnexpectedNodeError"),
    "Reshape": _ev("conditional", "fine alone; failed in the combination ReduceMean -> Reshape -> Linear", "kr_test"),
    "Slice": _ev("conditional", "'Slice on axis 1 is not supported'; slice layers exist in Model Zoo HEFs",
                 "bilstm", "mz", dfc_error="Slice on axis 1 is not supported"),
    "ReduceMax": _ev("conditional", "only on the feature (channel) axis with keepdims=1", "y26",
                     dfc_error="UnsupportedReduceMaxLayerError"),
    "ReduceMean": _ev("conditional", "'Invalid kernel shape' for a mean over an arbitrary dim followed by "
                      "reshape/linear; use GlobalAveragePool", "kr_test", dfc_error="Invalid kernel shape"),
    "GatherElements": _ev("observed_unsupported", "'GatherElements operation is unsupported'", "y26",
                          dfc_error="GatherElements operation is unsupported"),
    "Gather": _ev("observed_unsupported", "UnsupportedGatherLayerError \"Can't find index\"", "y26",
                  dfc_error="UnsupportedGatherLayerError"),
    "TopK": _ev("observed_unsupported", "DFC error", "y26", dfc_error="UnsupportedOperationError"),
    "Mod": _ev("observed_unsupported", "DFC error", "y26", dfc_error="UnsupportedOperationError"),
    "LSTM": _ev("observed_unsupported", "UnsupportedLSTMLayerError (activation types)", "bilstm",
                dfc_error="UnsupportedLSTMLayerError"),
    "NonMaxSuppression": _ev("use_builtin_postprocess", "crop before NMS; the Model Zoo adds it with "
                             "nms_postprocess(<config>, meta_arch=..., engine=cpu) in the .alls", "mz"),
    "Loop": _ev("unsupported_general", "static shapes required; control flow not mappable", "kr_test"),
    "If": _ev("unsupported_general", "static shapes required; control flow not mappable", "kr_test"),
    "Scan": _ev("unsupported_general", "static shapes required; control flow not mappable", "kr_test"),
}
SUPPORTED_STATUSES = frozenset({"observed_supported", "likely_supported", "conditional", "observed_problematic"})
UNSUPPORTED_OPS = frozenset(k for k, v in ONNX_OP_EVIDENCE.items() if v.status == "observed_unsupported")
CONTROL_FLOW_OPS = frozenset(k for k, v in ONNX_OP_EVIDENCE.items() if v.status == "unsupported_general")
POSTPROCESS_OPS = frozenset(k for k, v in ONNX_OP_EVIDENCE.items() if v.status == "use_builtin_postprocess")
LIKELY_OPS = frozenset(k for k, v in ONNX_OP_EVIDENCE.items() if v.status == "likely_supported")
#: Ops that compute nothing at inference (removed by any parser; Identity has no evidence of its own).
NO_OPS = frozenset({"Identity", "Dropout"})

#: TFLite builtin -> the ONNX op the evidence is about (the DFC parses TFLite with translate_tf_model, ref §4.2).
TFLITE_TO_ONNX: dict[str, str] = {
    "CONV_2D": "Conv", "DEPTHWISE_CONV_2D": "Conv", "TRANSPOSE_CONV": "ConvTranspose", "MAX_POOL_2D": "MaxPool",
    "AVERAGE_POOL_2D": "AveragePool", "MEAN": "ReduceMean", "RELU": "Relu", "RELU6": "Clip",
    "RELU_N1_TO_1": "Clip", "LEAKY_RELU": "LeakyRelu", "PRELU": "PRelu", "LOGISTIC": "Sigmoid", "TANH": "Tanh",
    "HARD_SWISH": "HardSwish", "GELU": "Gelu", "ELU": "Elu", "FULLY_CONNECTED": "Gemm", "BATCH_MATMUL": "MatMul",
    "SOFTMAX": "Softmax", "ADD": "Add", "SUB": "Sub", "MUL": "Mul", "DIV": "Div", "CONCATENATION": "Concat",
    "TRANSPOSE": "Transpose", "PAD": "Pad", "PADV2": "Pad", "RESIZE_BILINEAR": "Resize",
    "RESIZE_NEAREST_NEIGHBOR": "Resize", "RESHAPE": "Reshape", "SQUEEZE": "Squeeze", "SLICE": "Slice",
    "STRIDED_SLICE": "Slice", "REDUCE_MAX": "ReduceMax", "DEPTH_TO_SPACE": "DepthToSpace",
    "SPACE_TO_DEPTH": "SpaceToDepth", "ARG_MAX": "ArgMax", "GATHER": "Gather", "TOPK_V2": "TopK",
    "FLOOR_MOD": "Mod", "SPLIT": "Split",
    "SPLIT_V": "Split", "UNIDIRECTIONAL_SEQUENCE_LSTM": "LSTM", "LSTM": "LSTM", "POW": "Pow", "SQRT": "Sqrt",
    "WHILE": "Loop", "IF": "If",
}

#: ONNX opset ceiling per a third-party summary of the DFC v5.2 guide (ops table ``input_formats.onnx``: unverified).
MAX_OPSET = 21
#: The parser maps tensors to 4-D NHWC-like layouts (ops table ``layout_assumption``).
LAYOUT_RANK = 4
#: Rank-3 [B, S, H] tensors often hit rank/axis errors (same source).
RANK3 = 3
#: NCHW channel axis (ONNX) on which ReduceMax is reported to work (y26).
CHANNEL_AXIS = 1
#: Spatial axes of an NCHW tensor: a mean over them is a global average pool (kr_test's advice).
SPATIAL_AXES = frozenset({2, 3})

#: Model-level statuses (ops table ``error_classes_seen`` and ``contexts``).
STATUS_STATIC = "the DFC needs static shapes (ops table: Loop_If_dynamic_shapes, unsupported_general)"
STATUS_CONTEXT_SPLIT = "BackendAllocatorException: Compiler could not find a valid partition to contexts"

# -- Hailo-8/8L and Hailo-10H LLM evidence (ref §1, §6) --------------------------------------------------------

#: Hailo staff on LLMs for Hailo-8/8L (ref §1 "LLMs" row).
LLM_STATEMENT = ("LLM performance \"would be significantly hindered by memory access limitations over PCIe\" "
                 "(Hailo staff, https://github.com/hailo-ai/hailo-rpi5-examples/issues/21)")


@dataclass(frozen=True)
class VendorHef:
    """One Hailo GenAI Model Zoo HEF for Hailo-10H (ref §6: v5.1.1, HailoRT 5.1.1, context 2048)."""

    model: str
    #: The architecture family, as ``edgefit.llm`` names it (``qwen2``, ``llama``).
    arch: str
    quant: str
    #: HEF size in bytes (the table's GB, decimal), None where the reference does not reproduce the row.
    hef_bytes: int | None
    ttft_s: float | None
    tokens_per_s: float | None

    def text(self) -> str:
        if self.hef_bytes is None:
            return f"{self.model} ({self.quant}; figures not reproduced in the reference)"
        return (f"{self.model} ({self.quant}, HEF {self.hef_bytes / 1e9:.2f} GB, TTFT {self.ttft_s} s, "
                f"{self.tokens_per_s} tok/s)")


#: The GenAI Model Zoo v5.1.1 table (hailo-ai/hailo_model_zoo_genai@2af6c43:docs/MODELS.rst, ref §6). Qwen2.5 and
#: DeepSeek-R1-Distill-Qwen use the Qwen2 architecture (Qwen2ForCausalLM); Qwen2-VL is a VLM on the Qwen2 LM.
GENAI_HEFS: tuple[VendorHef, ...] = (
    VendorHef("Qwen2-1.5B-Instruct", "qwen2", "A8W4", 1_560_000_000, 0.32, 8.18),
    VendorHef("Qwen2.5-1.5B-Instruct", "qwen2", "A8W4", 1_640_000_000, 0.37, 6.95),
    VendorHef("Qwen2.5-Coder-1.5B-Instruct", "qwen2", "A8W4", 1_640_000_000, 0.32, 8.15),
    VendorHef("DeepSeek-R1-Distill-Qwen-1.5B", "qwen2", "A8W4", 2_370_000_000, 1.47, 7.03),
    VendorHef("Qwen2-VL-2B-Instruct", "qwen2", "A8W4", 2_180_000_000, 0.92, 8.38),
    VendorHef("Llama3.2-3B-Instruct", "llama", "A8W4 (group-wise)", None, None, None),
)
GENAI_SOURCE = ("Hailo GenAI Model Zoo v5.1.1, hailo-ai/hailo_model_zoo_genai@2af6c43:docs/MODELS.rst "
                "[reference hailo.md §6]")


def vendor_hefs_for(arch: str) -> tuple[list[VendorHef], list[VendorHef]]:
    """(HEFs of exactly this architecture, HEFs of its family: ``qwen3`` -> the ``qwen*`` ones)."""
    family = arch.rstrip("0123456789._-")
    same = [h for h in GENAI_HEFS if h.arch == arch]
    related = [h for h in GENAI_HEFS if h.arch != arch and family and h.arch.startswith(family)]
    return same, related


# -- context ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HailoContext:
    """What the op rules read besides the graph: the dialect and the ops the parser is assumed to fold."""

    #: "onnx" or "tflite" (the graph's own dialect).
    dialect: str = "onnx"
    #: Indices of shape / constant arithmetic ops (computed from static shapes and constants only).
    folded: frozenset[int] = frozenset()
    #: ONNX default-domain opset (None for TFLite).
    opset: int | None = None


def evidence_type(op: Op, ctx: HailoContext) -> str:
    """The ONNX op type the evidence is about (a TFLite builtin mapped by meaning)."""
    if ctx.dialect == "tflite":
        return TFLITE_TO_ONNX.get(op.type, op.type)
    return op.type


def _data_op(op: Op, ctx: HailoContext) -> bool:
    """True for ops that compute on data (the op rules skip folded shape/constant arithmetic)."""
    return op.index not in ctx.folded


def _onnx(op: Op, ctx: HailoContext) -> bool:
    return ctx.dialect == "onnx" and _data_op(op, ctx)


def _evidence_text(ev: OpEvidence) -> str:
    return f"{ev.note}; source: " + "; ".join(SOURCES[s] for s in ev.sources)


def activations(op: Op, graph: OpGraph) -> list[Tensor]:
    names = dict.fromkeys(t for t in (*op.inputs, *op.outputs) if t)
    return [graph.tensors[n] for n in names if n in graph.tensors and not graph.tensors[n].is_constant]


def _rank(t: Tensor | None) -> int | None:
    return None if t is None or t.shape is None else len(t.shape)


def _input(op: Op, graph: OpGraph, i: int = 0) -> Tensor | None:
    name = op.inputs[i] if len(op.inputs) > i else ""
    return graph.tensors.get(name) if name else None


def _output(op: Op, graph: OpGraph) -> Tensor | None:
    return graph.tensors.get(op.outputs[0]) if op.outputs and op.outputs[0] else None


def _const_ints(graph: OpGraph, name: str) -> list[int] | None:
    t = graph.tensors.get(name) if name else None
    if t is None or not t.is_constant or t.value is None:
        return None
    try:
        return [int(v) for v in (t.value.ravel() if hasattr(t.value, "ravel") else list(t.value))]
    except (TypeError, ValueError):
        return None


def _axes(op: Op, graph: OpGraph, position: int, rank: int | None) -> list[int] | None:
    """An op's axes, from the ``axes`` attribute (older opsets) or the constant input at ``position``; normalised
    to non-negative with ``rank``. None when they are not known."""
    raw = op.attrs.get("axes")
    axes = [int(a) for a in raw] if raw is not None else _const_ints(graph, op.inputs[position]) \
        if len(op.inputs) > position else None
    if axes is None or rank is None:
        return axes
    return sorted(a % rank for a in axes)


def spatial_map(t: Tensor | None) -> bool:
    """A 4-D NCHW feature map whose height x width may be larger than 1 (symbolic sides count)."""
    if t is None or t.shape is None or len(t.shape) != LAYOUT_RANK:
        return False
    h, w = t.shape[2], t.shape[3]
    return not (h == 1 and w == 1)


def _next_types(op: Op, graph: OpGraph) -> set[str]:
    return {c.type for t in op.outputs if t for c in graph.consumers(t)}


# -- model-level parse requirements ---------------------------------------------------------------------------------

def _dynamic_inputs(graph: OpGraph) -> list[tuple[str, tuple, list[int]]]:
    """(input, shape, positions of non-static dims) for graph inputs that have any."""
    out = []
    for name in graph.inputs:
        t = graph.tensors.get(name)
        if t is None or t.is_constant or t.shape is None:
            continue
        dyn = [i for i, d in enumerate(t.shape) if not isinstance(d, int)]
        if dyn:
            out.append((name, t.shape, dyn))
    return out


def _shape_text(shape: tuple) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


@rule("HAILO-STATIC-SHAPE", scope="model", status=STATUS_STATIC,
      hint="Fix the input shapes, e.g. edgefit --input-shape images=1x3x320x320, and export the ONNX with static "
           "shapes (torch.onnx.export without dynamic_axes) before parsing.")
def static_shapes(op: None, graph: OpGraph, ctx: HailoContext) -> str | None:
    """The Dataflow Compiler compiles static shapes only (ops table: dynamic shapes and control flow are a general
    restriction of the flow, kr_test); a graph input with a dynamic dimension other than the batch cannot be
    parsed as it is."""
    bad = [f"{name} {_shape_text(shape)}" for name, shape, dyn in _dynamic_inputs(graph) if any(i > 0 for i in dyn)]
    return "dynamic inputs: " + ", ".join(bad) if bad else None


@rule("HAILO-DYNAMIC-BATCH", scope="model", severity="info",
      hint="Nothing to do: HailoRT sets the batch size at runtime.")
def dynamic_batch(op: None, graph: OpGraph, ctx: HailoContext) -> str | None:
    """A dynamic batch dimension is read as 1: a HEF is compiled for one frame and HailoRT batches frames at
    runtime (batching helps multi-context networks only, ref §3.1)."""
    names = [name for name, _, dyn in _dynamic_inputs(graph) if dyn == [0]]
    return "batch dimension of " + ", ".join(names) if names else None


@rule("HAILO-OPSET", scope="model", severity="warning", params={"max_opset": MAX_OPSET},
      hint="Export at a lower opset (e.g. opset 17) if the parser rejects the model.")
def opset_ceiling(op: None, graph: OpGraph, ctx: HailoContext) -> str | None:
    """ONNX opsets above {max_opset} may not parse: opset up to {max_opset} per a third-party summary of the DFC
    v5.2 User Guide (ref §4.1, unverified)."""
    return f"model opset {ctx.opset}" if ctx.opset is not None and ctx.opset > MAX_OPSET else None


QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})


@rule("HAILO-QDQ", scope="model", severity="warning",
      hint="Give the DFC the float model: it calibrates and quantizes itself (hailo optimize with a calibration set "
           "and the .alls model script); export without the Q/DQ nodes.")
def qdq_model(op: None, graph: OpGraph, ctx: HailoContext) -> str | None:
    """The model is pre-quantized (QuantizeLinear/DequantizeLinear on activations). The DFC quantizes float models
    itself (calibration + quantization_param modes, ref §2, §4.1) and no public evidence shows it parsing Q/DQ nodes,
    so every one of them splits the network (evidence-based, not Hailo's official list)."""
    n = sum(1 for op in graph.ops if op.type in QDQ_OPS and op.index not in ctx.folded)
    return f"{n} QuantizeLinear/DequantizeLinear ops on activations" if ctx.dialect == "onnx" and n else None


@rule("HAILO-TFLITE", scope="model", severity="info",
      hint="For the evidence in its own terms, analyse the ONNX export of the model.")
def tflite_input(op: None, graph: OpGraph, ctx: HailoContext) -> str | None:
    """The DFC parses TFLite as well as ONNX (hailo parser tf / ClientRunner.translate_tf_model, ref §4.2); the op
    evidence is in ONNX terms, so TFLite builtins are mapped onto the ONNX op they compute (CONV_2D -> Conv,
    FULLY_CONNECTED -> Gemm, ...) and attribute conditions are not checked for them."""
    return "TFLite builtins mapped onto the ONNX evidence" if ctx.dialect == "tflite" else None


# -- op rules (precedence order: an op's first error is its reason) --------------------------------------------------

@rule("HAILO-SHAPE-FOLD", severity="info",
      hint="If the parser rejects these ops, simplify the model first (e.g. onnxsim) so they become constants.")
def folded_arithmetic(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """Shape and constant arithmetic (Shape, Gather/Concat/Range on shape vectors, ops on constants only) computes
    constants once shapes are static; it is assumed to be folded into constants before the HEF is built
    (assumption: no Hailo document says so), so it runs where its consumers run."""
    return "computed from shapes and constants only" if op.index in ctx.folded else None


@rule("HAILO-CONTROL-FLOW", applies_to=ALL, params={"ops": CONTROL_FLOW_OPS}, status=STATUS_STATIC,
      hint="Unroll the loop or move the control flow to the host.")
def control_flow(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """Control flow ({ops}) cannot be mapped: the DFC needs static shapes and a static graph (ops table:
    unsupported_general, kr_test; evidence-based, not Hailo's official list)."""
    return f"{op.type} has a control-flow body" if _data_op(op, ctx) and evidence_type(op, ctx) in \
        CONTROL_FLOW_OPS else None


@rule("HAILO-NMS", applies_to=ALL, params={"ops": POSTPROCESS_OPS},
      hint="End the parsed region before NMS (--end-node-names) and add Hailo's post-processing in the model "
           "script: nms_postprocess(<config.json>, meta_arch=<yolov8|...>, engine=cpu).")
def builtin_postprocess(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """{ops} is not parsed: crop before it and use Hailo's built-in post-processing; the Model Zoo adds it with
    nms_postprocess(<config>, meta_arch=..., engine=cpu) in the .alls (engine=cpu in 51 scripts, nn_core in 2)
    (ops table, mz; evidence-based, not Hailo's official list)."""
    return f"{op.type}" if _data_op(op, ctx) and evidence_type(op, ctx) in POSTPROCESS_OPS else None


@rule("HAILO-OP-UNSUPPORTED", applies_to=ALL, params={"ops": UNSUPPORTED_OPS},
      hint="Move the op to host pre-/post-processing, or rewrite it with supported ops (for a data-dependent "
           "Gather: a Slice or a 1x1 Conv with fixed weights).")
def op_unsupported(op: Op, graph: OpGraph, ctx: HailoContext) -> str | Detail | None:
    """Public DFC reports show these ops failing to parse: {ops} (evidence-based, not Hailo's official list)."""
    kind = evidence_type(op, ctx)
    if not _data_op(op, ctx) or kind not in UNSUPPORTED_OPS:
        return None
    ev = ONNX_OP_EVIDENCE[kind]
    return f"{kind}: {_evidence_text(ev)}"


@rule("HAILO-OP-NO-EVIDENCE", applies_to=ALL,
      hint="Check the DFC User Guide's 'Supported Layers' chapter (Hailo Developer Zone); if the op is listed, "
           "the prediction for it is too cautious. Otherwise move it to the host or rewrite it.")
def op_without_evidence(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """No public evidence shows the DFC parsing this op, so it is not assumed to map (edgefit's op table is
    evidence-based, not Hailo's official list, which is in the DFC User Guide behind a login)."""
    if not _data_op(op, ctx):
        return None
    kind = evidence_type(op, ctx)
    if kind in ONNX_OP_EVIDENCE or kind in NO_OPS:
        return None
    shown = kind if kind == op.type else f"{op.type} (as {kind})"
    return f"{shown}: no evidence" if op.domain in ("ai.onnx", "tflite") else f"{op.domain}:{shown}: no evidence"


@rule("HAILO-RANK", applies_to=ALL, params={"rank": LAYOUT_RANK},
      hint="Keep tensors at 4-D or fewer (fold the extra dimension into channels), or cut before the op.")
def tensor_rank(op: Op, graph: OpGraph, ctx: HailoContext) -> str | Detail | None:
    """Tensors of more than {rank} dimensions cannot be laid out: the parser maps tensors to 4-D NHWC-like layouts
    (ops table layout_assumption; inferred, no report of a rank-5 tensor parsing)."""
    if not _data_op(op, ctx):
        return None
    t = next((t for t in activations(op, graph) if (_rank(t) or 0) > LAYOUT_RANK), None)
    return None if t is None else Detail(f"{t.name} has shape {_shape_text(t.shape)}", t.name)


@rule("HAILO-SLICE-AXIS1", applies_to={"Slice"}, params={"rank": RANK3},
      status=ONNX_OP_EVIDENCE["Slice"].dfc_error,
      hint="Slice another axis, or cut the region before the slice (it runs on the host).")
def slice_axis1(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """The DFC reported 'Slice on axis 1 is not supported' for a rank-{rank} tensor (bilstm; slice layers do exist
    in Model Zoo HEFs, so other slices parse; evidence-based, not Hailo's official list)."""
    if not _onnx(op, ctx):
        return None
    rank = _rank(_input(op, graph))
    axes = _axes(op, graph, 3, rank)
    if rank is None or rank > RANK3:
        return None
    if axes is None:  # opset >= 10 without an axes input: every axis from 0 is sliced
        starts = _const_ints(graph, op.inputs[1]) if len(op.inputs) > 1 else op.attrs.get("starts")
        axes = list(range(len(starts))) if starts is not None else None
    return f"slices axis 1 of a rank-{rank} tensor" if axes is not None and 1 in axes else None


@rule("HAILO-REDUCEMAX-AXIS", applies_to={"ReduceMax"}, params={"axis": CHANNEL_AXIS},
      status=ONNX_OP_EVIDENCE["ReduceMax"].dfc_error,
      hint="Reduce over channels with keepdims=1, or move it to the host.")
def reducemax_axis(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """ReduceMax parses only over the feature (channel, NCHW axis {axis}) axis with keepdims=1; otherwise the DFC
    raised UnsupportedReduceMaxLayerError (y26; evidence-based, not Hailo's official list)."""
    if not _onnx(op, ctx):
        return None
    rank = _rank(_input(op, graph))
    axes = _axes(op, graph, 1, rank)
    keep = int(op.attrs.get("keepdims", 1))
    if axes == [CHANNEL_AXIS] and keep == 1:
        return None
    return f"axes {axes if axes is not None else 'all'}, keepdims={keep}"


def _reducemean_spatial(op: Op, graph: OpGraph) -> bool | None:
    rank = _rank(_input(op, graph))
    axes = _axes(op, graph, 1, rank)
    if axes is None or rank is None:
        return None
    return rank == LAYOUT_RANK and set(axes) == SPATIAL_AXES


@rule("HAILO-REDUCEMEAN-RESHAPE", applies_to={"ReduceMean"}, status=ONNX_OP_EVIDENCE["ReduceMean"].dfc_error,
      hint="Use GlobalAveragePool (a mean over height and width) before the Reshape/Flatten and the Linear layer.")
def reducemean_reshape(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """A ReduceMean over a dimension other than height and width followed by Reshape/Flatten failed to parse with
    'Invalid kernel shape' (kr_test: ReduceMean -> Reshape -> Linear; evidence-based, not Hailo's official list)."""
    if not _onnx(op, ctx) or _reducemean_spatial(op, graph) is not False:
        return None
    follow = _next_types(op, graph) & {"Reshape", "Flatten"}
    return f"followed by {', '.join(sorted(follow))}" if follow else None


@rule("HAILO-REDUCEMEAN-AXES", applies_to={"ReduceMean"}, severity="warning",
      status=ONNX_OP_EVIDENCE["ReduceMean"].dfc_error, hint="Prefer GlobalAveragePool for global pooling.")
def reducemean_axes(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """A ReduceMean over an arbitrary dimension may not parse ('Invalid kernel shape' in kr_test); the evidence
    advises GlobalAveragePool (evidence-based, not Hailo's official list)."""
    if not _onnx(op, ctx) or _reducemean_spatial(op, graph) is not False:
        return None
    rank = _rank(_input(op, graph))
    return f"axes {_axes(op, graph, 1, rank)} of a rank-{rank} tensor"


@rule("HAILO-FLATTEN-SPATIAL", applies_to={"Flatten"}, severity="warning",
      status=ONNX_OP_EVIDENCE["Flatten"].dfc_error,
      hint="Global-pool to 1x1 before flattening, or end the region before the Flatten.")
def flatten_spatial(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """Flatten parses before Linear in simple CNNs (after pooling to 1x1) but raised UnsupportedShuffleLayerError
    on a spatial map in the YOLO26 head (kr_test, y26; evidence-based, not Hailo's official list)."""
    if not _onnx(op, ctx):
        return None
    t = _input(op, graph)
    return f"flattens {t.name} {_shape_text(t.shape)}" if t is not None and spatial_map(t) else None


@rule("HAILO-RANK3", applies_to=ALL, params={"rank": RANK3}, severity="warning",
      hint="Export transformer blocks in Hailo's preferred 4-D form (as the Model Zoo's ViT/DeiT/CLIP HEFs are), "
           "or crop the rank-{rank} part to the host.".format(rank=RANK3))
def rank3_tensors(op: Op, graph: OpGraph, ctx: HailoContext) -> str | Detail | None:
    """Rank-{rank} [B, S, H] tensors often hit the parser's rank/axis errors (IndexError in axes mapping, 'Slice on
    axis 1 is not supported', UnsupportedShuffleLayerError): the parser maps tensors to 4-D layouts (ops table
    layout_assumption, bilstm, y26)."""
    if not _data_op(op, ctx):
        return None
    t = next((t for t in activations(op, graph) if _rank(t) == RANK3), None)
    return None if t is None else Detail(f"{t.name} has shape {_shape_text(t.shape)}", t.name)


@rule("HAILO-CONV1D", applies_to={"Conv", "ConvTranspose"}, severity="warning",
      hint="Reshape to a 2-D convolution (N, C, 1, W) with a 1 x k kernel.")
def conv1d(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """A 1-D convolution export hit a compile timeout on Hailo-8 (ops table Conv1d_pattern, observed_problematic,
    kr_test; evidence-based, not Hailo's official list)."""
    if not _onnx(op, ctx):
        return None
    rank = _rank(_input(op, graph))
    return f"input of rank {rank} (1-D convolution)" if rank == 3 else None


@rule("HAILO-PRELU-SLOPE", applies_to={"PRelu"}, severity="warning",
      hint="If channel dims blow up, re-implement it with Max/Min/Mul/Add, as the report did.")
def prelu_slope(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """A PReLU exported with a 1-D slope blew up channel dimensions in one report (kr_test; evidence-based, not
    Hailo's official list)."""
    if not _onnx(op, ctx):
        return None
    slope = _input(op, graph, 1)
    return f"slope shape {_shape_text(slope.shape)}" if slope is not None and _rank(slope) == 1 else None


@rule("HAILO-CONDITIONAL", applies_to=ALL, severity="warning",
      hint="If the parser rejects it, end the region before the op or rewrite it.")
def conditional_tflite(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """This op works in some exports and fails in others; for a TFLite op the condition the evidence states is not
    checked (evidence-based, not Hailo's official list)."""
    if ctx.dialect != "tflite" or not _data_op(op, ctx):
        return None
    ev = ONNX_OP_EVIDENCE.get(evidence_type(op, ctx))
    return f"{op.type} as {evidence_type(op, ctx)}: {ev.note}" if ev is not None and ev.status == "conditional" \
        else None


@rule("HAILO-LIKELY", applies_to=ALL, severity="info", params={"ops": LIKELY_OPS},
      hint="Nothing to do unless the parser rejects it.")
def likely_supported(op: Op, graph: OpGraph, ctx: HailoContext) -> str | None:
    """Only indirect evidence says the DFC parses {ops} (evidence-based, not Hailo's official list)."""
    kind = evidence_type(op, ctx)
    if not _data_op(op, ctx) or kind not in LIKELY_OPS:
        return None
    return f"{kind}: {_evidence_text(ONNX_OP_EVIDENCE[kind])}"


# -- cut rules: where the partition puts a parsable op (read ``HailoCut``) ------------------------------------------

PRE, POST, BETWEEN = "pre", "post", "between"


@dataclass(frozen=True)
class HailoCut:
    """The cut the target computed: which part of the host each host op belongs to, and the region boundaries."""

    #: Op index -> "pre" (before the start nodes), "post" (after the end nodes), "between" (between HEFs).
    host_part: dict[int, str] = field(default_factory=dict)
    #: Ops whose own rule keeps them off the HEF (the cut rules leave them alone).
    blocked: frozenset[int] = frozenset()
    start_nodes: tuple[str, ...] = ()
    end_nodes: tuple[str, ...] = ()
    #: Op index -> the reason the post-processing tail starts where it does.
    tail_reason: dict[int, str] = field(default_factory=dict)


@rule("HAILO-HOST-PRE", severity="info",
      hint="Run it in the host's pre-processing (before HailoRT's input), or fold it into the model.")
def host_pre(op: Op, graph: OpGraph, cut: HailoCut) -> str | None:
    """The op is parsable but lies before the start nodes: it feeds only host pre-processing that the DFC cannot
    take, so it runs on the host too (Hailo's advice for unsupported ops near the input, ref §4.3)."""
    if cut.host_part.get(op.index) != PRE or op.index in cut.blocked:
        return None
    return "before the start nodes " + ", ".join(cut.start_nodes[:3]) + ("..." if len(cut.start_nodes) > 3 else "")


@rule("HAILO-HOST-POST", severity="info",
      hint="Run it on the host after HailoRT's outputs (ONNX Runtime or numpy); for YOLO-style heads add "
           "nms_postprocess(<config.json>, meta_arch=..., engine=cpu) to the .alls as the Model Zoo does.")
def host_post(op: Op, graph: OpGraph, cut: HailoCut) -> str | None:
    """The op is post-processing after the end nodes and runs on the host: the region is cropped where the cheap
    tail that ends at the model's outputs begins (box decoding, as the Model Zoo's YOLOv8 crop at the six head
    convs; Hailo's advice for unsupported ops near the end, ref §4.2-4.3)."""
    if cut.host_part.get(op.index) != POST or op.index in cut.blocked:
        return None
    return cut.tail_reason.get(op.index, "after the end nodes")


@rule("HAILO-HOST-BETWEEN", severity="info",
      hint="Run the host part between the HEFs with ONNX Runtime, or rewrite the blocking op with supported ops.")
def host_between(op: Op, graph: OpGraph, cut: HailoCut) -> str | None:
    """The op runs on the host between two HEFs: it belongs to the host part that an unsupported op in the middle
    of the network forces (HEF -> ONNX Runtime -> HEF, Hailo's advice, ref §4.3)."""
    if cut.host_part.get(op.index) != BETWEEN or op.index in cut.blocked:
        return None
    return "shape arithmetic of the host part between HEFs"


# -- fit rules: contexts, LLMs, no graph (read ``HailoFacts``) -------------------------------------------------------

@dataclass(frozen=True)
class HailoFacts:
    """What the fit rules read; built by ``edgefit.targets.hailo``."""

    device: str
    ops: int
    #: ``llm.supported``: "no" (Hailo-8/8L), "vendor_compiled_only" (Hailo-10H), "yes".
    llm_supported: str = "no"
    llm: Any = None
    #: Parameters inside the HEF region(s) and their bytes at the chosen precision mode.
    hef_params: int = 0
    precision_mode: str = "a8_w8"
    hef_weight_bytes: int = 0
    #: Single-context anchor (parameters) and its bytes at a8_w8; None when the spec has none.
    anchor_params: int | None = None
    anchor_source: str = ""
    hef_regions: int = 1
    #: Names of host ops between HEF regions.
    between_ops: tuple[str, ...] = ()
    #: LLM: weight bytes at the vendor's precision, KV cache, the DRAM that holds them.
    llm_precision: str = "a8_w4"
    llm_weight_bytes: int = 0
    kv_cache_bytes: int = 0
    context: int = 0
    dram_bytes: int | None = None
    max_llm_params: int | None = None


def _gb(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**30:.2f} GiB"


def _params(n: int) -> str:
    return f"{n / 1e9:.2f} B" if n >= 1e9 else f"{n / 1e6:.2f} M"


@rule("HAILO-NO-GRAPH", scope="model",
      hint="Parse the ONNX or TFLite export of the model; for an LLM on Hailo-10H use a Hailo-compiled HEF.")
def no_op_graph(op: None, graph: OpGraph, facts: HailoFacts) -> str | None:
    """The DFC parses an ONNX or TFLite graph; this file holds no op graph (a GGUF file carries llama.cpp weights
    and metadata only), so there is nothing to parse."""
    return "no ops to parse" if facts.ops == 0 else None


@rule("HAILO-LLM-NOT-SUPPORTED", scope="model", params={"statement": LLM_STATEMENT},
      hint="Run the LLM on a Hailo-10H (vendor-compiled HEFs) or on a device with DRAM bandwidth for its weights "
           "('edgefit compare').")
def llm_not_supported(op: None, graph: OpGraph, facts: HailoFacts) -> str | None:
    """LLMs are not supported on Hailo-8/8L (vendor statement; no DRAM path): {statement}. The chip has no DRAM of
    its own, so every weight would cross PCIe for every token; the Raspberry Pi AI HAT+ table says "LLM: Not
    supported" (ref §1)."""
    if facts.llm is None or facts.llm_supported != "no":
        return None
    return (f"{facts.device}: decoder LLM of {_params(facts.llm.params)} parameters, "
            f"{_gb(facts.llm_weight_bytes)} of weights even at {facts.llm_precision}")


@rule("HAILO-LLM-VENDOR-ONLY", scope="model", params={"source": GENAI_SOURCE},
      hint="Use a HEF from the Hailo GenAI Model Zoo ({source}); customisation is limited to LoRA adapters "
           "(community summary of the DFC v5.2 guide, unverified).".format(source=GENAI_SOURCE))
def llm_vendor_only(op: None, graph: OpGraph, facts: HailoFacts) -> str | None:
    """Only via vendor-compiled models: Hailo-10H runs LLMs as Hailo-compiled HEFs (the GenAI Model Zoo); this
    decoder graph cannot be compiled by users with the DFC (customisation: LoRA adapters; ref §1, community
    summary, unverified)."""
    if facts.llm is None or facts.llm_supported != "vendor_compiled_only":
        return None
    arch = str(getattr(facts.llm, "arch", "") or "")
    same, related = vendor_hefs_for(arch)
    if same:
        offer = f"{arch} HEFs listed: " + "; ".join(h.text() for h in same)
    else:
        offer = f"no {arch or 'matching'} HEF is listed"
        if related:
            offer += "; same-family HEFs listed: " + "; ".join(h.text() for h in related)
    fit = f"weights at {facts.llm_precision} {_gb(facts.llm_weight_bytes)}"
    if facts.kv_cache_bytes:
        fit += f" + KV cache {_gb(facts.kv_cache_bytes)} ({facts.context:,} tokens)"
    return f"{fit} vs {_gb(facts.dram_bytes)} module DRAM; {offer}"


@rule("HAILO-LLM-DRAM", scope="model", severity="warning",
      hint="Choose a smaller model (Raspberry Pi: LLMs up to about 6 B parameters) or a shorter context.")
def llm_dram(op: None, graph: OpGraph, facts: HailoFacts) -> str | None:
    """The LLM would not fit the module DRAM (weights at the vendor's A8W4 precision plus the KV cache), or is
    larger than the ~6 B parameters Raspberry Pi says fit on the AI HAT+ 2 (ref §1)."""
    if facts.llm is None or facts.llm_supported != "vendor_compiled_only":
        return None
    need = facts.llm_weight_bytes + facts.kv_cache_bytes
    problems = []
    if facts.dram_bytes is not None and need > facts.dram_bytes:
        problems.append(f"{_gb(need)} > {_gb(facts.dram_bytes)} DRAM")
    if facts.max_llm_params is not None and facts.llm.params > facts.max_llm_params:
        problems.append(f"{_params(facts.llm.params)} > {_params(facts.max_llm_params)} parameters")
    return "; ".join(problems) or None


def _contexts_detail(facts: HailoFacts) -> str:
    anchor = facts.anchor_params or 0
    return (f"{_params(facts.hef_params)} parameters in the HEF, {facts.hef_weight_bytes:,} B at "
            f"{facts.precision_mode} vs {facts.anchor_source}: {_params(anchor)} parameters, {anchor:,} B at a8_w8")


@rule("HAILO-CONTEXTS-SINGLE", scope="model", severity="info",
      hint="Estimate only: the DFC decides contexts when it compiles (hailo compiler / hailortcli run).")
def single_context(op: None, graph: OpGraph, facts: HailoFacts) -> str | None:
    """Estimate: the network likely fits one context. Its parameter bytes at the chosen precision mode are within
    those of the largest published single-context model on this chip (FPS at batch 1 = batch 8 in the Model Zoo
    tables, ref §3.2); parameters are necessary, not sufficient (yolov11n, 2.6 M, is multi-context everywhere)."""
    if facts.llm is not None or not facts.anchor_params or facts.ops == 0:
        return None
    return _contexts_detail(facts) if facts.hef_weight_bytes <= facts.anchor_params else None


@rule("HAILO-CONTEXTS-MULTI", scope="model", severity="warning", status=STATUS_CONTEXT_SPLIT,
      hint="It still runs, context by context: batch frames (HailoRT batch size) to amortise the switches, use "
           "a8_w4 (quantization_param(..., precision_mode=a8_w4)) to halve the weight bytes, or a smaller model.")
def multi_context(op: None, graph: OpGraph, facts: HailoFacts) -> str | None:
    """Estimate: the network is likely split into several contexts, which HailoRT loads and runs one after another
    at a roughly fixed cost per frame (Hailo staff, community.hailo.ai/t/multi-context-flow/8017): its parameter
    bytes exceed those of the largest published single-context model on this chip (ref §3.2). If no split is
    possible the DFC fails with the status shown."""
    if facts.llm is not None or not facts.anchor_params or facts.ops == 0:
        return None
    return _contexts_detail(facts) if facts.hef_weight_bytes > facts.anchor_params else None


@rule("HAILO-MULTI-HEF", scope="model", severity="warning",
      hint="Compile one HEF per region (the commands per region are in the 'cut' section) and run the host part "
           "between them with ONNX Runtime, or replace the blocking op so one HEF suffices.")
def multi_hef(op: None, graph: OpGraph, facts: HailoFacts) -> str | None:
    """Unsupported ops in the middle of the network split it: HEF -> host (ONNX Runtime) -> HEF, Hailo's advice
    for this case (ref §4.3); each HEF is parsed from its own start to its own end nodes."""
    if facts.hef_regions <= 1:
        return None
    shown = ", ".join(facts.between_ops[:4]) + (f" and {len(facts.between_ops) - 4} more"
                                                  if len(facts.between_ops) > 4 else "")
    return f"{facts.hef_regions} HEF regions; host part between them: {shown}"


#: Rule groups, by code.
CUT_RULE_CODES = ("HAILO-HOST-PRE", "HAILO-HOST-POST", "HAILO-HOST-BETWEEN")
FIT_RULE_CODES = ("HAILO-NO-GRAPH", "HAILO-LLM-NOT-SUPPORTED", "HAILO-LLM-VENDOR-ONLY", "HAILO-LLM-DRAM",
                  "HAILO-CONTEXTS-SINGLE", "HAILO-CONTEXTS-MULTI", "HAILO-MULTI-HEF")


def hailo_rules() -> list[Rule]:
    """The parse rules (op evidence and graph requirements), in precedence order."""
    return [r for r in all_rules("HAILO-") if r.code not in CUT_RULE_CODES + FIT_RULE_CODES]


def hailo_cut_rules() -> list[Rule]:
    return [r for r in all_rules("HAILO-") if r.code in CUT_RULE_CODES]


def hailo_fit_rules() -> list[Rule]:
    return [r for r in all_rules("HAILO-") if r.code in FIT_RULE_CODES]


# -- documentation ---------------------------------------------------------------------------------------------------

def generate_docs(specs: list[Any] | None = None) -> str:
    """Markdown listing every Hailo rule, the op evidence table and the Hailo devices' figures (from the specs)."""
    from edgefit.devices import list_devices

    specs = [s for s in (specs if specs is not None else list_devices()) if s.family == "hailo"]
    lines = [
        "# Hailo rules (Hailo-8, Hailo-8L, Hailo-10H, Raspberry Pi AI HAT+ 2)",
        "",
        "Generated by `edgefit.rules.hailo.write_docs()`; do not edit by hand. Each rule's message is filled from "
        "the same constants its check uses.",
        "",
        f"**The op support is {DISCLAIMER}.** Hailo's \"Supported Layers\" chapter is in the Dataflow Compiler "
        "User Guide, behind a Developer Zone login; the evidence below is public: test reports, DFC errors quoted "
        "in porting notes, the Model Zoo's scripts and network YAMLs, Hailo's forum "
        "(`/work/shared/reference/hailo-ops.yaml`, `hailo.md`). An op with no evidence is not assumed to parse "
        "(`HAILO-OP-NO-EVIDENCE`).",
        "",
        "## How the cut is made",
        "",
        "The DFC parses one contiguous region between start and end nodes (`--start-node-names` / "
        "`--end-node-names`); what lies outside runs on the host. edgefit finds it like this:",
        "",
        "1. Every op is checked against the evidence (the rules below); shape and constant arithmetic is assumed "
        "folded (`HAILO-SHAPE-FOLD`) and goes where its consumers go.",
        "2. An op that cannot be parsed is *pre-processing* when everything upstream of it is cheap (at most 1 % "
        "of the model's MACs and parameters), *post-processing* when everything downstream of it is cheap, and "
        "otherwise in the *middle*.",
        "3. The post-processing tail is everything downstream of the post-processing ops and of every op where a "
        "cheap tail leaves the 4-D feature-map layout (a Reshape/Flatten of an N x C x H x W map, e.g. YOLO box "
        "decoding); pure data movement (Concat, Reshape, Transpose, ...) that only feeds the tail joins it, so the "
        "region ends at compute layers. For an Ultralytics YOLOv8-style detector (NudeNet's 320n in the corpus) this "
        "gives the six head convs (box and class per scale), the Model Zoo's yolov8n crop.",
        "4. Ops in the middle split the network into several HEFs with a host part between them (HEF -> ONNX "
        "Runtime -> HEF); each region gets its own start and end nodes.",
        "5. The `cut` section prints the largest region ready to paste: `hailo parser onnx ... --start-node-names "
        "... --end-node-names ...`, `ClientRunner.translate_onnx_model(...)` and the Model Zoo YAML "
        "`parser: nodes: [start, [end, ...]]`.",
        "",
        "Contexts: the parameter bytes inside the HEF at the chosen precision mode (default `a8_w8`; `a8_w4` "
        "halves them) are compared with the largest published single-context model on the chip "
        "(`hailo.max_single_context_params_m`); this is an **estimate** (the DFC decides when it compiles). "
        "Beyond it the network still runs, context by context.",
        "",
        "Options: `--set hailo.default_precision_mode=a8_w4`, `--set hailo.max_single_context_params_m=...` "
        "(a figure), `--set memory.size_bytes=4294967296` (a 4 GB Hailo-10H module), `--input-shape` for dynamic "
        "inputs.",
        "",
        "## Devices",
        "",
        "| device | hw_arch | DFC | peak | DRAM | single-context anchor | LLMs | precision modes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in sorted(specs, key=lambda s: s.id):
        peak = s.get("compute.peak_tops_int8")
        peak4 = s.get("compute.peak_tops_int4")
        peak_text = f"{peak} TOPS INT8" if peak is not None else ""
        if peak4 is not None:
            peak_text = f"{peak4} TOPS INT4" + (f", {peak_text}" if peak_text else "")
        dram = s.get("memory.size_bytes")
        anchor = s.get("hailo.max_single_context_params_m")
        lines.append(f"| `{s.id}` | `{s.get('hailo.hw_arch')}` | {s.get('toolchain.version')} | {peak_text} | "
                     f"{_gb(dram) if dram else 'none'} | {anchor} M params | {s.get('llm.supported', 'no')} | "
                     f"{', '.join(s.get('hailo.precision_modes') or [])} |")
    lines += ["", "Vendor LLM HEFs for Hailo-10H (" + GENAI_SOURCE + "):", ""]
    lines += [f"- {h.text()}" for h in GENAI_HEFS]
    lines += ["", "## Rules", "", "Listed in precedence order: an op that breaks several is blocked by the first "
              "error. Model-level errors mean no HEF is produced for the model as given.", ""]
    for r in [*hailo_rules(), *hailo_cut_rules(), *hailo_fit_rules()]:
        scope = "model" if r.scope == "model" else ("all ops" if r.applies_to is None
                                                     else ", ".join(sorted(r.applies_to)))
        lines += [f"### {r.code}", "", r.doc, "", f"- applies to: {scope}", f"- severity: {r.severity}"]
        if r.status:
            lines.append(f"- DFC status: `{r.status}`")
        if r.hint:
            lines.append(f"- hint: {r.hint}")
        lines.append("")
    lines += ["## Op evidence (ONNX)", "", f"{DISCLAIMER[0].upper()}{DISCLAIMER[1:]}.", "",
              "| op | status | evidence | sources |", "|---|---|---|---|"]
    for name, ev in sorted(ONNX_OP_EVIDENCE.items()):
        lines.append(f"| `{name}` | {ev.status} | {ev.note} | {', '.join(ev.sources)} |")
    lines += ["", "Sources:", ""] + [f"- `{k}`: {v}" for k, v in SOURCES.items()]
    lines += ["", "TFLite builtins are mapped by meaning: " +
              ", ".join(f"`{k}` -> `{v}`" for k, v in sorted(TFLITE_TO_ONNX.items())) + ".", ""]
    return "\n".join(lines)


def write_docs(path: str | Path = DOCS_PATH) -> Path:
    """Regenerate ``docs/devices/hailo.md`` from the rules and the device specs."""
    return write_doc(generate_docs(), path)
