"""Jetson Orin rules: what TensorRT's ONNX parser and builder accept (``TRT-*``), and what DLA runs (``DLA-*``).

Facts come from the shared reference sheet ``jetson-tensorrt.md`` (cited as "ref §N") and the operator matrix
``tensorrt-onnx-ops.yaml`` (the ONNX-TensorRT 10.1 GA ``docs/operators.md``, onnx/onnx-tensorrt@96e7811; cited
as "the operator matrix"). The matrix is copied into the tables below so an installed edgefit needs no
reference files; ``tests/rules/test_jetson.py`` checks the copy against the YAML whenever the shared folder is
present. Changes after 10.1 come from the ONNX-TensorRT changelog (onnx/onnx-tensorrt@0137504:docs/Changelog.md,
cited as "changelog") and apply from the TensorRT version the spec names (``toolchain.version``).

TensorRT builds the whole graph: an op the parser rejects (no importer, a restriction broken, a data type it
does not take) fails the parse and no engine is built (ref §2), so every ``TRT-*`` error is a refusal of the
model. ``DLA-*`` rules run only when DLA placement is asked for (``jetson.accelerator: dla``, the ``:dla``
variant): an op that breaks one runs on the GPU instead (GPU fallback, ref §4.3), unless fallback is off.

Spec fields read (``JetsonContext.from_spec``): ``toolchain.version``, ``jetson.jetpack``, ``jetson.accelerator``
(``gpu`` | ``dla``), ``jetson.dla_cores``, ``jetson.dla_core``, ``jetson.gpu_fallback``,
``jetson.dla_max_tensorrt``, ``jetson.dla_resumes_tensorrt``, ``jetson.dla_resumes_jetpack``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgefit.graph import Op, OpGraph, Tensor
from edgefit.rules import ALL, DOCS_DIR, Detail, Rule, all_rules, parse_version, rule, write_doc

# -- the operator matrix (ONNX-TensorRT 10.1 GA, docs/operators.md) -----------------------------------------

MATRIX_SOURCE = "ONNX-TensorRT 10.1 operator matrix (onnx/onnx-tensorrt@96e7811:docs/operators.md)"
#: The TensorRT release the matrix describes.
MATRIX_TENSORRT = (10, 1)
#: "The page states opset 9-20 for TensorRT 10.0" (ref §2).
OPSET_RANGE = (9, 20)

FLOATS = frozenset({"FP32", "FP16", "BF16"})
NUMERIC = FLOATS | {"INT32", "INT64"}
NUMERIC_BOOL = NUMERIC | {"BOOL"}
FP32_FP16 = frozenset({"FP32", "FP16"})
BOOL_ONLY = frozenset({"BOOL"})
CAST_TYPES = NUMERIC_BOOL | {"UINT8"}

#: Supported op -> the data types the matrix lists for it.
SUPPORTED_OPS: dict[str, frozenset[str]] = {
    **dict.fromkeys("""Abs Add ArgMax ArgMin DepthToSpace Div Equal Greater GreaterOrEqual IsNaN Less LessOrEqual
        Max Min Mod Mul Neg Pad Range ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin
        ReduceProd ReduceSum ReduceSumSquare Relu Scatter ScatterElements ScatterND Shrink Sign SpaceToDepth Sub Sum
        TopK""".split(), NUMERIC),
    **dict.fromkeys("""Acos Acosh Asin Asinh Atan Atanh AveragePool BatchNormalization Ceil Celu Clip Conv
        ConvTranspose Cos Cosh CumSum Dropout Einsum Elu Erf Exp Floor GRU Gemm GlobalAveragePool GlobalLpPool
        GlobalMaxPool GroupNormalization HardSigmoid HardSwish Hardmax ImageScaler InstanceNormalization IsInf LRN
        LSTM LayerNormalization LeakyRelu Log LogSoftmax LpNormalization LpPool MatMul MaxPool
        MeanVarianceNormalization PRelu ParametricSoftplus Pow QuantizeLinear RNN RandomNormal RandomNormalLike
        RandomUniform RandomUniformLike Reciprocal Resize Round ScaledTanh Scan Selu Sigmoid Sin Sinh Softmax
        Softplus Softsign Sqrt Tan Tanh ThresholdedRelu Upsample""".split(), FLOATS),
    **dict.fromkeys("And Not Or Xor".split(), BOOL_ONLY),
    **dict.fromkeys("Cast CastLike".split(), CAST_TYPES),
    **dict.fromkeys("""Concat Constant ConstantOfShape Expand EyeLike Flatten Gather GatherElements GatherND Identity
        If Loop OneHot Reshape ReverseSequence Shape Size Slice Split Squeeze Tile Transpose Trilu Unsqueeze
        Where""".split(), NUMERIC_BOOL),
    **dict.fromkeys("DeformConv GridSample Mish NonMaxSuppression NonZero RoiAlign".split(), FP32_FP16),
    "DequantizeLinear": frozenset({"INT8", "FP8", "INT4"}),
    "Gelu": frozenset({"FP32", "FP16", "BF16", "INT8", "INT32", "INT64"}),
    "Mean": frozenset({"FP32", "FP16", "BF16", "FP8", "INT32", "INT64"}),
}

#: Ops the matrix lists as unsupported: the parser has no importer for them.
UNSUPPORTED_OPS = frozenset("""AffineGrid Bernoulli BitShift BitwiseAnd BitwiseNot BitwiseOr BitwiseXor BlackmanWindow
    CenterCropPad Col2Im Compress ConcatFromSequence ConvInteger DFT Det DynamicQuantizeLinear HammingWindow
    HannWindow ImageDecoder MatMulInteger MaxRoiPool MaxUnpool MelWeightMatrix Multinomial NegativeLogLikelihoodLoss
    Optional OptionalGetElement OptionalHasElement QLinearConv QLinearMatMul RegexFullMatch STFT SequenceAt
    SequenceConstruct SequenceEmpty SequenceErase SequenceInsert SequenceLength SequenceMap SoftmaxCrossEntropyLoss
    SplitToSequence StringConcat StringNormalizer StringSplit TfIdfVectorizer Unique""".split())

#: The matrix's restriction text per op, verbatim (the rules below quote it).
RESTRICTIONS: dict[str, tuple[str, ...]] = {
    "AveragePool": ("2D or 3D Pooling only. `dilations` must be empty or all ones",),
    "Constant": ("`sparse_value`, `value_string`, and `value_strings` attributes are unsupported.",),
    "CumSum": ("`axis` must be an initializer",),
    "DeformConv": ("`input` must have 1D or 2D spatial dimensions. `pads` for the beginning and end along each "
                   "spatial axis must be the same",),
    "DequantizeLinear": ("`x_zero_point` must be zero",),
    "Dropout": ("`is_traning` must be an initializer and evaluate to False.",),
    "EyeLike": ("`input` must have static dimensions",),
    "GridSample": ("Input must be 4D input.",),
    "GRU": ("For bidirectional GRUs, activation functions must be the same for both the forward and reverse pass",),
    "Hardmax": ("`axis` dimension of input must be a build-time constant",),
    "If": ("Output tensors of the two conditional branches must have the same rank and must have different names",),
    "LayerNormalization": ("Only the first output `Y` is supported.",),
    "Loop": ("Scan output length cannot be dynamic. The shape of Loop carried dependencies must be the same across "
             "all loop iterations.",),
    "LSTM": ("For bidirectional LSTMs, activation functions must be the same for both the forward and reverse pass. "
             "`input_forget` attribute must be 0. `layout` attribute must be 0.",),
    "LpPool": ("`dilations` must be empty or all ones",),
    "MaxPool": ("2D or 3D pooling only. `Indices` output tensor unsupported. `dilations` must be empty or all ones",),
    "OneHot": ("`depth` must be a build-time constant",),
    "Pad": ("`axes` must be an initializer",),
    "QuantizeLinear": ("`y_zero_point` must be 0",),
    **dict.fromkeys(("RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike"),
                    ("`seed` value is ignored by TensorRT",)),
    **dict.fromkeys(("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
                     "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare"), ("`axes` must be an initializer",)),
    "Resize": ("Supported resize transformation modes: `half_pixel`, `pytorch_half_pixel`, `tf_half_pixel_for_nn`, "
               "`asymmetric`, and `align_corners`.", "Supported resize modes: `nearest`, `linear`.",
               "Supported nearest modes: `floor`, `ceil`, `round_prefer_floor`, `round_prefer_ceil`.",
               "Supported aspect ratio policy: `stretch`.",
               "When `scales` is a tensor input, `axes` must be an iota vector of length rank(input).",
               "Antialiasing is not supported."),
    "RNN": ("For bidirectional RNNs, activation functions must be the same for both the forward and reverse pass",),
    "ScatterND": ("`reduction` is not supported",),
    "Slice": ("`axes` must be an initializer",),
    "Squeeze": ("`axes` must be an initializer",),
    "TopK": ("`sorted` must be 1. `K` input must be less than 3840.",),
    "Unsqueeze": ("`axes` must be a constant tensor",),
}

#: Ops the parser gained after the 10.1 matrix: op -> (TensorRT version, what the changelog says).
ADDED_AFTER_MATRIX: dict[str, tuple[tuple[int, int], str]] = {
    "BlackmanWindow": ((10, 4), "10.4: added BlackmanWindow, HammingWindow and HannWindow"),
    "HammingWindow": ((10, 4), "10.4: added BlackmanWindow, HammingWindow and HannWindow"),
    "HannWindow": ((10, 4), "10.4: added BlackmanWindow, HammingWindow and HannWindow"),
    "STFT": ((10, 5), "10.5: added real-valued STFT"),
}
#: Constant-input restrictions the parser dropped after the 10.1 matrix: op -> (TensorRT version, changelog text).
CONSTANT_INPUT_LIFTED: dict[str, tuple[tuple[int, int], str]] = {
    "Slice": ((10, 3), "10.3: added support for tensor axes inputs for Slice"),
    "Pad": ((10, 4), "10.4: added support for tensor axes for Pad"),
    "Squeeze": ((10, 7), "10.7: added dynamic axes support for Squeeze and Unsqueeze"),
    "Unsqueeze": ((10, 7), "10.7: added dynamic axes support for Squeeze and Unsqueeze"),
}
#: Local functions: the parser imports their body since 9.0 (changelog, 9.0 EA: "Added support for ONNX local
#: functions"), so a call is checked through the ops of its body.
LOCAL_FUNCTIONS_SINCE = (9, 0)

#: Op -> (input position, name) of an input the matrix requires to be an initializer (a build-time constant).
CONSTANT_INPUTS: dict[str, tuple[int, str]] = {
    **dict.fromkeys(("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
                     "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "Squeeze", "Unsqueeze"), (1, "axes")),
    "Slice": (3, "axes"), "Pad": (3, "axes"), "CumSum": (1, "axis"), "OneHot": (1, "depth"),
    "Dropout": (2, "training_mode"),
}
RESIZE_COORDINATE_MODES = ("half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "asymmetric", "align_corners")
RESIZE_MODES = ("nearest", "linear")
RESIZE_NEAREST_MODES = ("floor", "ceil", "round_prefer_floor", "round_prefer_ceil")
TOPK_MAX_K = 3840
POOLING_RANKS = (4, 5)  # 2-D or 3-D pooling on N, C + spatial dims
RANDOM_OPS = frozenset({"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike"})
POOLING_OPS = frozenset({"AveragePool", "MaxPool", "LpPool"})
RECURRENT_OPS = frozenset({"GRU", "LSTM", "RNN"})
QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})
CONTROL_FLOW_OPS = frozenset({"If", "Loop", "Scan"})

#: edgefit dtype -> TensorRT type. DOUBLE is read as FLOAT: "cast down to FLOAT, clamped to +-FLT_MAX" (ref §2).
TRT_TYPES = {"float32": "FP32", "float64": "FP32", "float16": "FP16", "bfloat16": "BF16", "int32": "INT32",
             "int64": "INT64", "bool": "BOOL", "uint8": "UINT8", "int8": "INT8", "float8e4m3fn": "FP8",
             "int4": "INT4"}
#: Op -> input position whose type is the op's T, where it is not the first input (None: the output's type).
TYPE_INPUT: dict[str, int | None] = {"Where": 1, "OneHot": 2, "Constant": None, "ConstantOfShape": None,
                                      "RandomNormal": None, "RandomUniform": None}
#: Q/DQ carry INT8, FP8 or INT4 only (ref §2: "INT8, INT4 and FP8 are reachable only through Q/DQ").
QUANTIZED_TYPES = frozenset({"INT8", "FP8", "INT4"})
#: TensorRT's own plugins are registered under names ending in _TRT; the parser finds them by the op's name
#: ("No importer registered for op: EfficientNMS_TRT. Attempting to import as plugin." ... "Successfully created
#: plugin: EfficientNMS_TRT", TensorRT build logs).
BUILTIN_PLUGIN_SUFFIX = "_TRT"

# -- DLA facts (ref §4) -------------------------------------------------------------------------------------

DLA_OPS_SOURCE = "DLA-SW operator matrix (NVIDIA/Deep-Learning-Accelerator-SW@ea61780:operators/README.md)"
#: ONNX ops DLA runs through TensorRT ("Native" in the DLA-SW matrix, ref §4.5).
DLA_NATIVE_OPS = frozenset("""Abs Add AveragePool BatchNormalization Clip Concat Constant Conv ConvTranspose Equal Gemm
    LRN LeakyRelu MatMul Max MaxPool Mul PRelu Relu Reshape Resize Sigmoid Slice Softmax Split Sub Sum Tanh Transpose
    Upsample""".split())
#: Ops TensorRT folds at build time with static shapes ("Can be inferred at build time"): they cut no DLA subgraph.
DLA_FOLDED_OPS = frozenset({"Shape", "ConstantOfShape"})
#: "Native (as of TensorRT 8.6.12)": a DRIVE OS release. Jetson's TensorRT 10.3 header lists Unary ABS only and
#: ElementWise without DIV (ref §4.4), so these are taken as GPU ops on Jetson (unverified for the comparisons and
#: GlobalMaxPool, which the header table does not cover).
DLA_DRIVE_ONLY_OPS = frozenset("Atanh Cos Div GlobalMaxPool Greater Less Sin".split())
#: "Reconstruction": DLA can run it once rewritten into native ops (DLA-SW op_reconstruction scripts).
DLA_RECONSTRUCTION_OPS = frozenset("""And CumSum DepthToSpace DequantizeLinear Gather GatherElements GatherND GRU
    Identity LSTM Neg Not Or QuantizeLinear ReduceSum RNN Scatter ScatterElements SpaceToDepth Where Xor""".split())
#: "RFE (not exposed)": the hardware could, TensorRT does not expose it.
DLA_RFE_OPS = frozenset("""Acos Acosh Asin Asinh Atan Ceil Celu Cosh Elu Erf Exp Expand Flatten Floor GlobalAveragePool
    GlobalLpPool GreaterOrEqual GroupNormalization HardSigmoid HardSwish InstanceNormalization LayerNormalization
    LessOrEqual Log LogSoftmax LpNormalization LpPool Mean MeanVarianceNormalization Min Mish Mod Pad Reciprocal
    ReduceLogSum ReduceLogSumExp ReduceMean ReduceMin ReduceSumSquare Round Selu Shrink Sign Sinh Softplus Softsign
    Sqrt Squeeze Tan ThresholdedRelu Tile Unsqueeze""".split())
DLA_PRECISIONS = ("fp16", "int8")
DLA_MAX_BATCH = 4096
DLA_MAX_DIM = 8192
#: "At most 16 DLA loadables at once per DLA core" (ref §4.3).
DLA_MAX_SUBGRAPHS = 16
#: "Internal tensors of one DLA subgraph must total < 1 GB" (ref §4.3, NvInfer.h ITensor docs); read as GiB.
DLA_SUBGRAPH_TENSOR_BYTES = 1 << 30
#: Per-layer limits from NVIDIA/TensorRT@v10.3.0:include/NvInfer.h (ref §4.4).
DLA_CONV = {"kernel": (1, 32), "stride": (1, 8), "pad": (0, 31), "dilation": (1, 32), "maps": (1, 8192),
            "groups": 8192}
DLA_DECONV = {"kernel": (1, 32), "stride": (1, 32), "long": (64, 96, 128), "maps": (1, 8192)}
DLA_POOL = {"window": (1, 8), "stride": (1, 16), "pad": (0, 7)}
DLA_LRN_WINDOWS = (3, 5, 7, 9)
DLA_SOFTMAX_AXIS = {"alone": 8192, "shared": 1024}
DLA_RESIZE_SCALE = {"nearest": 32, "linear": 4}
#: DLA computes in these types; int32/int64/bool tensors stay on the GPU (ref §4.3: FP16 or INT8 only).
DLA_TENSOR_TYPES = frozenset({"float32", "float16", "bfloat16", "float64", "int8"})
#: TensorRT releases without DLA on Jetson (ref §4.2).
DLA_GAP = ((11, 0), (11, 4, 0))

#: Where ``write_docs`` puts the generated rule reference in a source checkout.
DOCS_PATH = DOCS_DIR / "jetson.md"

# -- toolchain statuses (what the op's row says) ------------------------------------------------------------

STATUS_NO_IMPORTER = "No importer registered for op (the parser then looks for a plugin of that name)"
STATUS_RESTRICTION = "Parse failure: a restriction of the op's importer is broken"
STATUS_TYPE = "Parse failure: unsupported data type for this op"
STATUS_PLUGIN = "Imported as a TensorRT plugin"
STATUS_GPU = "TensorRT GPU layer"
STATUS_DLA = "DLA layer"
STATUS_DLA_FALLBACK = "GPU fallback: not runnable on DLA"


# -- context ------------------------------------------------------------------------------------------------

@dataclass
class JetsonContext:
    """The TensorRT the rules predict, the DLA it may target, and what the target computed before model rules."""

    tensorrt: tuple[int, ...]
    jetpack: str
    dla: bool
    dla_cores: int
    dla_core: int = 0
    gpu_fallback: bool = True
    dla_max_tensorrt: tuple[int, ...] = (10, 7)
    dla_resumes_tensorrt: tuple[int, ...] | None = None
    dla_resumes_jetpack: str | None = None
    device: str = "this module"
    model_format: str = "onnx"
    opsets: dict[str, int] = field(default_factory=dict)
    functions: dict[str, OpGraph] = field(default_factory=dict)
    #: Largest value a dynamic non-batch dim is given in the suggested optimization profile.
    profile_max: int = 1024
    #: Set by the target before model rules run: the memory fit, the LLM route, the DLA placement summary.
    fit: Any = None
    llm: Any = None
    llm_runtime: str | None = None
    dla_summary: Any = None

    @classmethod
    def from_spec(cls, spec: Any, **extra: Any) -> JetsonContext:
        resumes = spec.get("jetson.dla_resumes_tensorrt")
        return cls(tensorrt=parse_version(str(spec.get("toolchain.version", "10.3"))),
                   jetpack=str(spec.get("jetson.jetpack", "") or ""),
                   dla=spec.get("jetson.accelerator", "gpu") == "dla",
                   dla_cores=int(spec.get("jetson.dla_cores", 0) or 0),
                   dla_core=int(spec.get("jetson.dla_core", 0) or 0),
                   gpu_fallback=bool(spec.get("jetson.gpu_fallback", True)),
                   dla_max_tensorrt=parse_version(str(spec.get("jetson.dla_max_tensorrt", "10.7"))),
                   dla_resumes_tensorrt=parse_version(str(resumes)) if resumes else None,
                   dla_resumes_jetpack=spec.get("jetson.dla_resumes_jetpack"),
                   device=str(spec.get("name", "this module") or "this module"), **extra)


def version_text(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


# -- graph helpers ------------------------------------------------------------------------------------------

def _span(bounds: tuple[int, int]) -> str:
    """``(1, 32)`` -> ``"1-32"``, for messages."""
    return f"{bounds[0]}-{bounds[1]}"


def _tensor(graph: OpGraph, names: list[str], position: int) -> Tensor | None:
    if len(names) <= position or not names[position]:
        return None
    return graph.tensors.get(names[position])


def _value(t: Tensor | None) -> Any:
    """A constant's contents, or None when it is not a constant or the reader did not keep them."""
    return None if t is None or not t.is_constant else t.value


def _ints(value: Any) -> list[int] | None:
    if value is None:
        return None
    return [int(v) for v in np.ravel(np.asarray(value))]


def _rank(t: Tensor | None) -> int | None:
    return None if t is None or t.shape is None else len(t.shape)


def _shape(t: Tensor | None) -> list[Any]:
    return [] if t is None or t.shape is None else list(t.shape)


def _onnx(op: Op, ctx: JetsonContext) -> bool:
    """The op is one TensorRT's ONNX parser reads (an ONNX model; the TFLite case is refused as a whole)."""
    return ctx.model_format == "onnx"


def _quote(op_type: str) -> str:
    return " ".join(RESTRICTIONS[op_type])


def _at_least(ctx: JetsonContext, version: tuple[int, ...]) -> bool:
    return ctx.tensorrt[:len(version)] >= version


def unsupported_reason(op: Op, ctx: JetsonContext) -> str | None:
    """Why the parser has no importer for ``op`` (an ai.onnx op), or None when it has one."""
    if op.function is not None or op.domain != "ai.onnx":
        return None
    added = ADDED_AFTER_MATRIX.get(op.type)
    if added and _at_least(ctx, added[0]):
        return None
    if op.type in UNSUPPORTED_OPS:
        return f"TensorRT's ONNX parser has no importer for {op.type} (listed unsupported in the {MATRIX_SOURCE})"
    if op.type not in SUPPORTED_OPS:
        return (f"TensorRT's ONNX parser has no importer for {op.type} (not in the {MATRIX_SOURCE}, which covers "
                f"opsets {OPSET_RANGE[0]}-{OPSET_RANGE[1]})")
    return None


def _blocked_inside(graphs: list[OpGraph], ctx: JetsonContext, seen: set[str]) -> list[str]:
    """Ops in ``graphs`` (and, recursively, their bodies and called functions) the parser cannot import."""
    found = []
    for g in graphs:
        for _, inner in g.walk():
            if inner.function is not None:
                body = ctx.functions.get(inner.function)
                if body is not None and inner.function not in seen:
                    found += _blocked_inside([body], ctx, seen | {inner.function})
            elif inner.domain != "ai.onnx":
                if not inner.type.endswith(BUILTIN_PLUGIN_SUFFIX):
                    found.append(f"{inner.domain}::{inner.type}")
            elif unsupported_reason(inner, ctx):
                found.append(inner.type)
    return found


# -- model rules: refusals and facts about the whole model (GPU) --------------------------------------------

@rule("TRT-ONNX-ONLY", scope="model",
      hint="Convert the model to ONNX first: python -m tf2onnx.convert --tflite model.tflite --output model.onnx "
           "(or export the original framework model with torch.onnx.export / tf2onnx).")
def onnx_only(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """TensorRT reads ONNX through its ONNX parser; it does not read TFLite models."""
    return "this is a TFLite model" if ctx.model_format == "tflite" else None


@rule("TRT-OPSET", scope="model", severity="warning", params={"low": OPSET_RANGE[0], "high": OPSET_RANGE[1]},
      hint="Re-export with an opset in the range (torch.onnx.export(..., opset_version=17)) or check the op "
           "support of the TensorRT release you deploy.")
def opset_range(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """The operator matrix states ONNX opsets {low} to {high} for TensorRT 10; a model outside that range may use
    op versions the parser does not know."""
    opset = ctx.opsets.get("ai.onnx")
    if ctx.model_format != "onnx" or opset is None or OPSET_RANGE[0] <= opset <= OPSET_RANGE[1]:
        return None
    return f"the model imports ai.onnx opset {opset}"


@rule("TRT-DYNAMIC-SHAPE", scope="model", severity="warning",
      hint="Give the builder an optimization profile with the range each dynamic input takes, e.g. trtexec "
           "--minShapes/--optShapes/--maxShapes as in the message, or fix the shapes (--input-shape).")
def dynamic_shapes(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """TensorRT builds dynamic inputs through an optimization profile (minimum, optimum and maximum shape for
    every dynamic input); the engine runs any shape inside the profile, at the speed tuned for the optimum."""
    dynamic = [n for n in graph.inputs if (t := graph.tensors.get(n)) is not None and t.shape is not None
               and not t.is_static]
    if ctx.model_format != "onnx" or not dynamic:
        return None
    return f"dynamic inputs {', '.join(repr(n) for n in dynamic)}; e.g. {profile_flags(graph, dynamic, ctx)}"


def profile_flags(graph: OpGraph, inputs: list[str], ctx: JetsonContext) -> str:
    """trtexec optimization-profile flags for ``inputs``: batch-like leading dims 1, other dynamic dims
    1 / 128 / ``ctx.profile_max`` (an example range to adjust). With DLA placement min = opt = max, which DLA
    layers need (ref §4.3)."""
    def dims(name: str, which: int) -> str:
        which = 1 if ctx.dla else which
        shape = graph.tensors[name].shape or ()
        out = []
        for axis, d in enumerate(shape):
            if isinstance(d, int):
                out.append(str(d))
            elif axis == 0 and len(shape) > 1:
                out.append("1")
            else:
                out.append(str((1, min(128, ctx.profile_max), ctx.profile_max)[which]))
        return f"{name}:{'x'.join(out)}"

    return " ".join(f"--{flag}=" + ",".join(dims(n, which) for n in inputs)
                    for which, flag in enumerate(("minShapes", "optShapes", "maxShapes")))


@rule("TRT-DOUBLE", scope="model", severity="info",
      hint="Export in float32 to keep the values exact; TensorRT computes in FP32 at most.")
def double_cast_down(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DOUBLE tensors are cast down to FLOAT, clamped to +-FLT_MAX (ref §2)."""
    doubles = [n for n, t in graph.tensors.items() if t.dtype == "float64"]
    if ctx.model_format != "onnx" or not doubles:
        return None
    return f"{len(doubles)} float64 tensors, e.g. {doubles[0]!r}"


@rule("TRT-PRECISION", scope="model", severity="info",
      hint="Build with --fp16 for half precision; for INT8 insert Q/DQ nodes (NVIDIA ModelOpt, "
           "pytorch-quantization) or give the builder a calibration cache.")
def precision(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """TensorRT builds FP32 (TF32 math on Ampere) by default and FP16 when allowed (--fp16); INT8 needs Q/DQ nodes
    in the ONNX model (explicit quantization) or, with TensorRT 10's weakly typed API, calibration. INT8, INT4 and
    FP8 are reachable only through Q/DQ; TensorRT 11 is strongly typed, so precision comes from tensor types or
    Q/DQ, not builder flags (ref §2-3)."""
    if ctx.model_format != "onnx":
        return None
    qdq = [o for _, o in graph.walk() if o.type in QDQ_OPS]
    if not qdq:
        return "a float model: FP32 or FP16 as it is; INT8 needs Q/DQ nodes or calibration"
    types = sorted({qdq_type(o, graph) or "?" for o in qdq})
    return f"a Q/DQ model ({len(qdq)} QuantizeLinear/DequantizeLinear, {', '.join(types)}): layers between Q/DQ " \
           "pairs run in their quantized type"


def qdq_type(op: Op, graph: OpGraph) -> str | None:
    """The TensorRT type a Q/DQ op quantizes to (QuantizeLinear's output, DequantizeLinear's input)."""
    t = _tensor(graph, op.outputs, 0) if op.type == "QuantizeLinear" else _tensor(graph, op.inputs, 0)
    return TRT_TYPES.get(t.dtype, t.dtype) if t is not None else None


@rule("TRT-FP8", scope="model", severity="warning",
      hint="Quantize to INT8 instead (symmetric, zero point 0).")
def fp8_on_orin(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """FP8 Q/DQ parses, but Orin's Ampere-generation GPU has no FP8 tensor cores (unverified in the reference:
    treat FP8 on Orin as unavailable, ref §3)."""
    fp8 = [o.name for _, o in graph.walk() if o.type in QDQ_OPS and qdq_type(o, graph) == "FP8"]
    return f"{len(fp8)} FP8 Q/DQ ops, e.g. {fp8[0]!r}" if fp8 else None


@rule("TRT-LLM", scope="model", severity="info",
      hint="Serve it with a Jetson LLM runtime (llama.cpp built with CUDA, MLC LLM) in a weight format that fits; "
           "--context sets the KV-cache length budgeted for.")
def llm_route(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """A decoder LLM on Jetson runs through an LLM runtime with weight-only quantized formats (the reference's
    Jetson LLM rows: llama.cpp CUDA and MLC LLM on AGX Orin and Orin Nano, cpu-and-unified-memory.md §5.1)
    rather than as one TensorRT engine of the ONNX export; the memory fit prices each of the runtime's formats."""
    if ctx.llm is None:
        return None
    file = "a GGUF file (llama.cpp's format; TensorRT does not read it)" if ctx.model_format == "gguf" else \
        f"{ctx.llm.arch}, {ctx.llm.params / 1e9:.2f} B parameters"
    return f"{file}; runtime: {ctx.llm_runtime or 'unspecified'}"


def _fit_text(fit: Any) -> str:
    gib = 2 ** 30
    parts = []
    for o in fit.options:
        kv = f" + KV {o.kv_cache_bytes / gib:.2f}" if o.kv_cache_bytes else ""
        verdict = "fits" if o.fits else "does not fit"
        parts.append(f"{o.precision}: weights {o.weight_bytes / gib:.2f}{kv} = {o.required_bytes / gib:.2f} GiB "
                     f"{verdict}")
    context = f" at {fit.context:,} tokens of context" if fit.context else ""
    return f"{'; '.join(parts)}{context}; capacity {fit.capacity_bytes / gib:.2f} GiB ({fit.capacity})"


@rule("TRT-MEMORY-FIT", scope="model", severity="info",
      hint="The capacity assumes a headless JetPack image; set memory.runtime_overhead_bytes and "
           "memory.usable_share for yours.")
def memory_fits(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """The model fits the module's shared DRAM: weights (and an LLM's KV cache) within the usable share of DRAM
    less the OS and CUDA/TensorRT runtime overhead. Activations and TensorRT's workspace come on top."""
    fit = ctx.fit
    if fit is None or fit.capacity_bytes is None or not fit.options or not fit.fits:
        return None
    return f"best fitting precision {fit.chosen.precision}; {_fit_text(fit)}"


@rule("TRT-MEMORY-EXCEEDED", scope="model",
      hint="Quantize further (int8/int4 weights), shorten the context (--context), or pick a module with more "
           "memory (edgefit compare).")
def memory_exceeded(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """The model does not fit the module's shared DRAM in any precision its runtime offers: weights (and an
    LLM's KV cache) exceed the usable share of DRAM less the OS and CUDA/TensorRT runtime overhead."""
    fit = ctx.fit
    if fit is None or fit.capacity_bytes is None or not fit.options or fit.fits:
        return None
    return _fit_text(fit)


@rule("TRT-MEMORY-UNKNOWN", scope="model", severity="warning",
      hint="Set the module's DRAM with --set memory.size_bytes=<bytes>.")
def memory_unknown(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """The memory fit is unknown: the spec gives no DRAM size."""
    fit = ctx.fit
    return fit.capacity if fit is not None and fit.capacity_bytes is None else None


# -- op rules: the ONNX parser (GPU) ------------------------------------------------------------------------

@rule("TRT-PLUGIN", applies_to=ALL, status=STATUS_NO_IMPORTER,
      hint="Write a TensorRT plugin (IPluginV3) and register it under the op's name (the parser falls back to the "
           "plugin registry), replace the op, or run the model with ONNX Runtime's TensorRT execution provider, "
           "which leaves unsupported ops to its CUDA/CPU providers.")
def plugin_op(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """An op outside the ONNX default domain (com.microsoft, ai.onnx.ml, custom domains) has no importer; the
    parser imports it only as a plugin registered under the op's name."""
    if not _onnx(op, ctx) or op.function is not None or op.domain == "ai.onnx" \
            or op.type.endswith(BUILTIN_PLUGIN_SUFFIX):
        return None
    return f"{op.domain}::{op.type} needs a plugin"


@rule("TRT-BUILTIN-PLUGIN", applies_to=ALL, severity="info", status=STATUS_PLUGIN,
      params={"suffix": BUILTIN_PLUGIN_SUFFIX},
      hint="Load TensorRT's plugin library (trtexec does; in your own code call initLibNvInferPlugins).")
def builtin_plugin(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """Ops named like TensorRT's own plugins (the {suffix} suffix, e.g. EfficientNMS_TRT) are imported from
    TensorRT's plugin library by name (observed in TensorRT build logs: "Successfully created plugin")."""
    if not _onnx(op, ctx) or op.function is not None or op.domain == "ai.onnx" \
            or not op.type.endswith(BUILTIN_PLUGIN_SUFFIX):
        return None
    return f"{op.domain}::{op.type}"


@rule("TRT-OP-UNSUPPORTED", applies_to=ALL, params={"ops": UNSUPPORTED_OPS, "source": MATRIX_SOURCE},
      status=STATUS_NO_IMPORTER,
      hint="Replace the op with supported ones (re-export, or rewrite the graph with onnx-graphsurgeon), write a "
           "plugin registered under its name, or run the model with ONNX Runtime's TensorRT execution provider.")
def op_unsupported(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """An ONNX op without an importer fails the parse, and TensorRT builds no engine for the model. The {source}
    lists these as unsupported: {ops}; ops missing from it (newer than opset 20) have none either."""
    return unsupported_reason(op, ctx) if _onnx(op, ctx) else None


@rule("TRT-SUBGRAPH-OP", applies_to=CONTROL_FLOW_OPS, status=STATUS_NO_IMPORTER,
      hint="Replace the ops inside the body, or move them out of the control flow.")
def subgraph_op(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """The parser imports the bodies of If, Loop and Scan op by op (and model-local functions since TensorRT 9.0,
    changelog); an op inside a body without an importer fails the parse like one outside."""
    if not _onnx(op, ctx) or not op.bodies:
        return None
    found = _blocked_inside(list(op.bodies.values()), ctx, set())
    return f"its bodies hold {', '.join(sorted(set(found)))}" if found else None


@rule("TRT-FUNCTION-OP", applies_to=ALL, status=STATUS_NO_IMPORTER,
      params={"since": version_text(LOCAL_FUNCTIONS_SINCE)},
      hint="Replace the ops inside the function, or inline and rewrite it (onnx.inliner, onnx-graphsurgeon).")
def function_op(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """A call of a model-local function is imported through the ops of its body (TensorRT {since} and later,
    changelog); an op in the body without an importer fails the parse."""
    if not _onnx(op, ctx) or op.function is None:
        return None
    body = ctx.functions.get(op.function)
    if not _at_least(ctx, LOCAL_FUNCTIONS_SINCE):
        return f"TensorRT {version_text(ctx.tensorrt)} does not import local functions ({op.function})"
    found = _blocked_inside([body], ctx, {op.function}) if body is not None else []
    return f"function {op.function} holds {', '.join(sorted(set(found)))}" if found else None


@rule("TRT-DTYPE", applies_to=frozenset(SUPPORTED_OPS), status=STATUS_TYPE,
      hint="Cast to a type the op takes (FP32/FP16 for math, INT32/INT64 for indices) before it; UINT8 is only "
           "allowed as a model input or output.")
def data_type(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | Detail | None:
    """An op's data type must be one the operator matrix lists for it (DOUBLE counts as FLOAT, which TensorRT casts
    it to; UINT8 only as network input/output; INT8, INT4 and FP8 only through Q/DQ)."""
    if not _onnx(op, ctx) or op.domain != "ai.onnx":
        return None
    allowed = SUPPORTED_OPS[op.type]
    position = TYPE_INPUT.get(op.type, 0)
    t = _tensor(graph, op.outputs, 0) if position is None else _tensor(graph, op.inputs, position)
    checks = [t]
    if op.type in ("Cast", "CastLike"):
        checks.append(_tensor(graph, op.outputs, 0))
    for tensor in checks:
        if tensor is None or tensor.dtype in ("unknown", "undefined"):
            continue
        trt = TRT_TYPES.get(tensor.dtype)
        if trt not in allowed:
            return Detail(f"{op.type} takes {', '.join(sorted(allowed))}; tensor '{tensor.name}' is "
                          f"{tensor.dtype}", tensor.name)
    if op.type == "QuantizeLinear":
        out = _tensor(graph, op.outputs, 0)
        known = out is not None and out.dtype not in ("unknown", "undefined")
        if known and TRT_TYPES.get(out.dtype) not in QUANTIZED_TYPES:
            return Detail(f"QuantizeLinear quantizes to {', '.join(sorted(QUANTIZED_TYPES))}; output '{out.name}' "
                          f"is {out.dtype}", out.name)
    return None


@rule("TRT-CONSTANT-INPUT", applies_to=frozenset(CONSTANT_INPUTS), status=STATUS_RESTRICTION,
      params={"inputs": [f"{k} {name}" for k, (_, name) in CONSTANT_INPUTS.items()]},
      hint="Make the input an initializer: export with constant axes (fold it with onnxsim / "
           "polygraphy surgeon sanitize --fold-constants).")
def constant_input(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | Detail | None:
    """These inputs must be initializers (build-time constants) in the operator matrix: {inputs}. Later TensorRT
    releases take tensor axes for Slice (10.3), Pad (10.4), Squeeze and Unsqueeze (10.7) (changelog)."""
    if not _onnx(op, ctx):
        return None
    lifted = CONSTANT_INPUT_LIFTED.get(op.type)
    if lifted and _at_least(ctx, lifted[0]):
        return None
    position, name = CONSTANT_INPUTS[op.type]
    t = _tensor(graph, op.inputs, position)
    if t is None:
        return None
    if not t.is_constant:
        return Detail(f"{op.type}: '{_quote(op.type)}' ({name} input '{t.name}' is computed at run time)", t.name)
    if op.type == "Dropout" and t.value is not None and bool(np.any(t.value)):
        return Detail(f"Dropout: '{_quote(op.type)}' (training_mode '{t.name}' is True)", t.name)
    return None


@rule("TRT-POOL", applies_to=POOLING_OPS, status=STATUS_RESTRICTION,
      params={"text": [f"{k}: '{_quote(k)}'" for k in sorted(POOLING_OPS)]},
      hint="Reshape to a 2-D (NCHW) or 3-D (NCDHW) pooling, drop the dilation, and do not use MaxPool's Indices.")
def pooling(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | Detail | None:
    """Pooling restrictions of the operator matrix: {text}."""
    if not _onnx(op, ctx):
        return None
    dilations = op.attrs.get("dilations")
    if dilations and any(int(d) != 1 for d in dilations):
        return f"{op.type}: '{_quote(op.type)}' (dilations {list(dilations)})"
    rank = _rank(_tensor(graph, op.inputs, 0))
    if op.type != "LpPool" and rank is not None and rank not in POOLING_RANKS:
        return f"{op.type}: '{_quote(op.type)}' ({rank - 2}-D pooling on a rank-{rank} input)"
    if op.type == "MaxPool" and len(op.outputs) > 1 and op.outputs[1]:
        return Detail(f"MaxPool: '{_quote(op.type)}' (Indices output '{op.outputs[1]}')", op.outputs[1])
    return None


@rule("TRT-RESIZE", applies_to={"Resize"}, status=STATUS_RESTRICTION, params={"text": _quote("Resize")},
      hint="Use mode nearest or linear with a listed coordinate_transformation_mode, no antialias, and the "
           "'stretch' aspect-ratio policy.")
def resize(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """Resize restrictions of the operator matrix: {text}"""
    if not _onnx(op, ctx):
        return None
    a = op.attrs
    if a.get("mode", "nearest") not in RESIZE_MODES:
        return f"mode {a['mode']!r}"
    if a.get("coordinate_transformation_mode", "half_pixel") not in RESIZE_COORDINATE_MODES:
        return f"coordinate_transformation_mode {a['coordinate_transformation_mode']!r}"
    nearest = a.get("nearest_mode", "round_prefer_floor")
    if a.get("mode", "nearest") == "nearest" and nearest not in RESIZE_NEAREST_MODES:
        return f"nearest_mode {a['nearest_mode']!r}"
    if a.get("keep_aspect_ratio_policy", "stretch") != "stretch":
        return f"keep_aspect_ratio_policy {a['keep_aspect_ratio_policy']!r}"
    if int(a.get("antialias", 0) or 0):
        return "antialias=1"
    axes = a.get("axes")
    scales = _tensor(graph, op.inputs, 2)
    rank = _rank(_tensor(graph, op.inputs, 0))
    if axes is not None and scales is not None and not scales.is_constant and rank is not None \
            and [int(x) % rank for x in axes] != list(range(rank)):
        return f"axes {list(axes)} with scales computed at run time"
    return None


@rule("TRT-TOPK", applies_to={"TopK"}, status=STATUS_RESTRICTION, params={"text": _quote("TopK")},
      hint="Sort the output (sorted=1) and keep K below the limit (select in stages for larger K).")
def topk(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | Detail | None:
    """TopK restrictions of the operator matrix: {text}"""
    if not _onnx(op, ctx):
        return None
    if int(op.attrs.get("sorted", 1)) != 1:
        return "sorted=0"
    k = _ints(_value(_tensor(graph, op.inputs, 1)))
    if k and k[0] >= TOPK_MAX_K:
        return Detail(f"K = {k[0]:,}", op.inputs[1])
    return None


@rule("TRT-QDQ-ZERO-POINT", applies_to=QDQ_OPS, status=STATUS_RESTRICTION,
      params={"text": [f"{k}: '{_quote(k)}'" for k in sorted(QDQ_OPS)]},
      hint="Quantize symmetrically (zero point 0, int8): e.g. onnxruntime quantize_static(..., "
           "activation_type=QInt8, weight_type=QInt8, extra_options={'ActivationSymmetric': True}).")
def qdq_zero_point(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | Detail | None:
    """TensorRT quantization is symmetric; the operator matrix says {text}."""
    if not _onnx(op, ctx):
        return None
    zp = _tensor(graph, op.inputs, 2)
    values = _ints(_value(zp))
    if values is None:  # the reader attaches the zero points it read to the quantized tensor
        quantized = _tensor(graph, op.outputs, 0) if op.type == "QuantizeLinear" else _tensor(graph, op.inputs, 0)
        values = list(quantized.quant.zero_point) if quantized is not None and quantized.quant is not None else None
    if values and any(values):
        nonzero = sorted(set(v for v in values if v))[:3]
        return Detail(f"{op.type}: '{_quote(op.type)}' (zero points {nonzero})", zp.name if zp else None)
    return None


@rule("TRT-EXTRA-OUTPUT", applies_to={"LayerNormalization"}, status=STATUS_RESTRICTION,
      params={"text": _quote("LayerNormalization")},
      hint="Export LayerNormalization with the Y output only (drop Mean and InvStdDev).")
def extra_output(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """LayerNormalization in the operator matrix: {text}"""
    extra = [t for t in op.outputs[1:] if t]
    return f"outputs {', '.join(extra)} declared" if _onnx(op, ctx) and extra else None


@rule("TRT-SCATTERND-REDUCTION", applies_to={"ScatterND"}, status=STATUS_RESTRICTION,
      params={"text": _quote("ScatterND")},
      hint="Use ScatterND without reduction, or ScatterElements (which takes a reduction since TensorRT 10.0).")
def scatternd_reduction(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """ScatterND in the operator matrix: {text}"""
    reduction = op.attrs.get("reduction", "none")
    return f"reduction={reduction!r}" if _onnx(op, ctx) and reduction not in (None, "none") else None


@rule("TRT-GRIDSAMPLE-4D", applies_to={"GridSample"}, status=STATUS_RESTRICTION,
      params={"text": _quote("GridSample")}, hint="Sample a 4-D (NCHW) input.")
def gridsample_4d(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """GridSample in the operator matrix: {text}"""
    rank = _rank(_tensor(graph, op.inputs, 0))
    return f"rank-{rank} input" if _onnx(op, ctx) and rank is not None and rank != 4 else None


@rule("TRT-DEFORMCONV", applies_to={"DeformConv"}, status=STATUS_RESTRICTION, params={"text": _quote("DeformConv")},
      hint="Use a 1-D or 2-D deformable convolution with symmetric padding.")
def deform_conv(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DeformConv in the operator matrix: {text}"""
    if not _onnx(op, ctx):
        return None
    rank = _rank(_tensor(graph, op.inputs, 0))
    if rank is not None and rank not in (3, 4):
        return f"{rank - 2} spatial dimensions"
    pads = [int(p) for p in op.attrs.get("pads") or []]
    half = len(pads) // 2
    if pads and pads[:half] != pads[half:]:
        return f"pads {pads}"
    return None


@rule("TRT-EYELIKE-STATIC", applies_to={"EyeLike"}, status=STATUS_RESTRICTION, params={"text": _quote("EyeLike")},
      hint="Fix the input's shape (--input-shape) or build the identity matrix as a constant.")
def eyelike_static(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | Detail | None:
    """EyeLike in the operator matrix: {text}"""
    t = _tensor(graph, op.inputs, 0)
    if not _onnx(op, ctx) or t is None or t.shape is None or t.is_static:
        return None
    return Detail(f"input '{t.name}' has shape {list(t.shape)}", t.name)


@rule("TRT-HARDMAX-AXIS", applies_to={"Hardmax"}, status=STATUS_RESTRICTION, params={"text": _quote("Hardmax")},
      hint="Fix the size of the axis Hardmax reduces over (--input-shape).")
def hardmax_axis(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """Hardmax in the operator matrix: {text}"""
    shape = _shape(_tensor(graph, op.inputs, 0))
    if not _onnx(op, ctx) or not shape:
        return None
    axis = int(op.attrs.get("axis", -1)) % len(shape)
    return f"axis {axis} has size {shape[axis]!r}" if not isinstance(shape[axis], int) else None


@rule("TRT-RNN", applies_to=RECURRENT_OPS, status=STATUS_RESTRICTION,
      params={"text": [f"{k}: '{_quote(k)}'" for k in sorted(RECURRENT_OPS)]},
      hint="Use the same activations in both directions (or two unidirectional layers); for LSTM, "
           "input_forget=0 and layout=0 (transpose to sequence-major outside).")
def recurrent(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """Recurrent-layer restrictions of the operator matrix: {text}."""
    if not _onnx(op, ctx):
        return None
    acts = list(op.attrs.get("activations") or [])
    if op.attrs.get("direction") == "bidirectional" and acts and len(acts) % 2 == 0:
        half = len(acts) // 2
        if [a.lower() for a in acts[:half]] != [a.lower() for a in acts[half:]]:
            return f"{op.type}: '{_quote(op.type)}' (activations {acts})"
    if op.type == "LSTM":
        for name in ("input_forget", "layout"):
            if int(op.attrs.get(name, 0) or 0):
                return f"LSTM: '{_quote(op.type)}' ({name}={op.attrs[name]})"
    return None


@rule("TRT-IF-BRANCHES", applies_to={"If"}, status=STATUS_RESTRICTION, params={"text": _quote("If")},
      hint="Give both branches outputs of the same rank and distinct names.")
def if_branches(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """If in the operator matrix: {text}"""
    then, other = op.bodies.get("then_branch"), op.bodies.get("else_branch")
    if not _onnx(op, ctx) or then is None or other is None:
        return None
    for a, b in zip(then.outputs, other.outputs):
        ra, rb = _rank(then.tensors.get(a)), _rank(other.tensors.get(b))
        if ra is not None and rb is not None and ra != rb:
            return f"outputs '{a}' (rank {ra}) and '{b}' (rank {rb})"
        if a == b:
            return f"both branches name an output '{a}'"
    return None


@rule("TRT-LOOP-SCAN-OUTPUT", applies_to={"Loop"}, status=STATUS_RESTRICTION, params={"text": _quote("Loop")},
      hint="Give the Loop a constant trip count, or collect results in loop-carried tensors instead of scan "
           "outputs.")
def loop_scan_output(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """Loop in the operator matrix: {text}"""
    if not _onnx(op, ctx):
        return None
    carried = max(0, len(op.inputs) - 2)
    scans = [t for t in op.outputs[carried:] if t]
    trip = _tensor(graph, op.inputs, 0)
    if scans and (trip is None or not trip.is_constant):
        return f"scan outputs {', '.join(scans)} with a trip count computed at run time"
    return None


@rule("TRT-CONSTANT-ATTR", applies_to={"Constant"}, status=STATUS_RESTRICTION, params={"text": _quote("Constant")},
      hint="Store the constant as a dense numeric tensor.")
def constant_attr(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """Constant in the operator matrix: {text}"""
    bad = [a for a in ("sparse_value", "value_string", "value_strings") if a in op.attrs]
    return f"attribute {bad[0]}" if _onnx(op, ctx) and bad else None


@rule("TRT-RANDOM-SEED", applies_to=RANDOM_OPS, severity="info", params={"text": _quote("RandomNormal")},
      hint="Do not rely on the seed for reproducible outputs.")
def random_seed(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """Random ops in the operator matrix: {text}"""
    return f"seed={op.attrs['seed']}" if _onnx(op, ctx) and "seed" in op.attrs else None


# -- model rules: DLA availability (only with jetson.accelerator: dla) --------------------------------------

def dla_versions_text(ctx: JetsonContext) -> str:
    text = f"TensorRT {version_text(ctx.dla_max_tensorrt)} and earlier (JetPack 6.x and earlier)"
    if ctx.dla_resumes_tensorrt:
        text += (f", and again from TensorRT {version_text(ctx.dla_resumes_tensorrt)} with JetPack "
                 f"{ctx.dla_resumes_jetpack or '?'} or later")
    return text + "; not in TensorRT 11.0-11.3, nor 11.4.0 (Windows on ARM beta only)"


@rule("DLA-UNAVAILABLE", scope="model",
      hint="Analyse without ':dla' (TensorRT on the GPU), or pick an Orin NX or AGX Orin module.")
def dla_unavailable(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DLA placement needs a module with DLA cores: Orin Nano has no DLA, Orin NX 16GB and AGX Orin have two
    NVDLA v2 cores (ref §4.1)."""
    if not ctx.dla:
        return None
    if ctx.dla_cores == 0:
        return f"{ctx.device} has no DLA"
    if ctx.dla_core >= ctx.dla_cores:
        return f"DLA core {ctx.dla_core} asked for; {ctx.device} has cores 0-{ctx.dla_cores - 1}"
    return None


@rule("DLA-TENSORRT-VERSION", scope="model",
      hint="Use TensorRT 10.7 or earlier (JetPack 6.x) for DLA, or on AGX Orin TensorRT 11.4.1+ with JetPack "
           "7.2.2+ (--set toolchain.version=10.3).")
def dla_tensorrt_version(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """TensorRT dropped DLA after 10.7: 11.0-11.3 have none, 11.4.0 only a Windows-on-ARM beta, and 11.4.1
    brings it back on Jetson AGX Orin with JetPack 7.2.2 or later (ref §4.2)."""
    if not ctx.dla or ctx.dla_cores == 0:
        return None
    v = ctx.tensorrt
    if v[:len(ctx.dla_max_tensorrt)] <= ctx.dla_max_tensorrt:
        return None
    if ctx.dla_resumes_tensorrt and v >= ctx.dla_resumes_tensorrt:
        return None
    if not ctx.dla_resumes_tensorrt and v >= (11, 4, 1):
        return None  # DLA-VERSION-UNVERIFIED says why this is unknown rather than refused
    return f"TensorRT {version_text(v)} on {ctx.device}; DLA is in {dla_versions_text(ctx)}"


@rule("DLA-VERSION-UNVERIFIED", scope="model", severity="warning",
      hint="Check the TensorRT release notes for your module, or build with TensorRT 10.7 or earlier.")
def dla_version_unverified(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """TensorRT 11.4.1's release notes bring DLA back on Jetson AGX Orin only; DLA on other Orin modules under
    TensorRT 11 is unverified (ref §4.2)."""
    if not ctx.dla or ctx.dla_cores == 0 or ctx.dla_resumes_tensorrt or ctx.tensorrt < (11, 4, 1):
        return None
    return f"TensorRT {version_text(ctx.tensorrt)} on {ctx.device}"


@rule("DLA-AVAILABILITY", scope="model", severity="info",
      hint="Pin the TensorRT/JetPack pair you deploy with --set toolchain.version=... --set jetson.jetpack=...")
def dla_availability(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DLA support depends on the TensorRT release, so a DLA verdict names the TensorRT/JetPack pair (ref §4.2)."""
    if not ctx.dla or ctx.dla_cores == 0:
        return None
    jetpack = f" (JetPack {ctx.jetpack})" if ctx.jetpack else ""
    return (f"this analysis assumes TensorRT {version_text(ctx.tensorrt)}{jetpack}; DLA on {ctx.device} is in "
            f"{dla_versions_text(ctx)}")


@rule("DLA-PRECISION", scope="model", severity="info", params={"precisions": DLA_PRECISIONS},
      hint="Build with --fp16 (or --int8 with calibration) next to --useDLACore; a Q/DQ model's scales can be moved "
           "into a calibration cache with DLA-SW's qdq_translator.")
def dla_precision(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DLA runs {precisions} only (ref §4.3): a float model runs on DLA in FP16 (or INT8 with calibration); the
    DLA-SW matrix lists Q/DQ as 'Reconstruction' (folded into INT8 scaling factors, implicit quantization, §4.5)."""
    if not ctx.dla or ctx.dla_cores == 0:
        return None
    qdq = any(o.type in QDQ_OPS for o in graph.ops)
    return "a Q/DQ model: Q/DQ nodes are not DLA layers" if qdq else "a float model: FP16 on DLA"


@rule("DLA-NO-GPU-FALLBACK", scope="model",
      hint="Allow GPU fallback (trtexec --allowGPUFallback, --set jetson.gpu_fallback=true) or replace the layers "
           "DLA cannot run.")
def dla_no_fallback(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """Without GPU fallback every layer must run on DLA; a layer DLA cannot run fails the build (ref §4.3)."""
    summary = ctx.dla_summary
    if not ctx.dla or ctx.gpu_fallback or summary is None or not summary.gpu_ops:
        return None
    return f"{len(summary.gpu_ops)} layers cannot run on DLA ({summary.gpu_types_text()})"


@rule("DLA-SUBGRAPH-LIMIT", scope="model", severity="warning", params={"limit": DLA_MAX_SUBGRAPHS},
      status=STATUS_DLA_FALLBACK,
      hint="Reduce the DLA/GPU hand-offs (replace the GPU-only layers between DLA runs), or use the other DLA core "
           "for part of the model.")
def dla_subgraph_limit(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """A DLA core holds at most {limit} DLA loadables (subgraphs) at once (ref §4.3); the DLA subgraphs beyond them
    run on the GPU."""
    summary = ctx.dla_summary
    if not ctx.dla or summary is None or not summary.dropped_subgraphs:
        return None
    return (f"{summary.candidate_subgraphs} DLA subgraphs; {summary.dropped_subgraphs} beyond the first "
            f"{DLA_MAX_SUBGRAPHS} ({summary.dropped_ops} layers) fall back to the GPU")


@rule("DLA-SUBGRAPH-MEMORY", scope="model", severity="warning", params={"limit": DLA_SUBGRAPH_TENSOR_BYTES},
      hint="Split the subgraph (e.g. a GPU layer between) or lower the resolution or batch.")
def dla_subgraph_memory(op: None, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """The internal (non-I/O) tensors of one DLA subgraph must total less than 1 GB ({limit} B here, ref §4.3,
    NvInfer.h)."""
    summary = ctx.dla_summary
    if not ctx.dla or summary is None or not summary.oversized:
        return None
    return "; ".join(f"subgraph {k}: {b:,} B of internal tensors" for k, b in summary.oversized)


# -- op rules: DLA layer limits (GPU fallback) --------------------------------------------------------------

def folded_at_build(op: Op, graph: OpGraph) -> bool:
    """Constants, and shape computations on static shapes, are folded into the layers that read them (DLA-SW:
    Shape and ConstantOfShape "can be inferred at build time"; Constant: "TensorRT performs constant folding")."""
    if op.type == "Constant":
        return True
    if op.type == "Shape":
        t = _tensor(graph, op.inputs, 0)
        return t is not None and t.is_static
    if op.type == "ConstantOfShape":
        t = _tensor(graph, op.outputs, 0)
        return t is not None and t.is_static
    return False


def _dla_op(op: Op, ctx: JetsonContext) -> bool:
    """DLA rules look at ONNX ops in DLA mode only."""
    return ctx.dla and ctx.dla_cores > 0 and ctx.model_format == "onnx"


@rule("DLA-LAYER", applies_to=ALL, status=STATUS_DLA_FALLBACK,
      params={"ops": DLA_NATIVE_OPS, "source": DLA_OPS_SOURCE},
      hint="Keep DLA-able layers together, or rewrite the op into DLA ops (DLA-SW op_reconstruction).")
def dla_layer(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DLA runs these ONNX ops through TensorRT ({source}, ref §4.5): {ops}; shape computations folded at build
    time do not count. Other layers run on the GPU (transformer blocks mostly do: LayerNorm, ReduceMean, Exp,
    Sqrt, Gather are not DLA layers)."""
    if not _dla_op(op, ctx) or op.type in DLA_NATIVE_OPS or folded_at_build(op, graph):
        return None
    if op.type in DLA_FOLDED_OPS:
        return f"{op.type} on a dynamic shape is computed at run time"
    if op.domain != "ai.onnx" or op.function is not None:
        return f"{op.type}: a plugin or function call runs on the GPU"
    if op.type in DLA_DRIVE_ONLY_OPS:
        return (f"{op.type}: DLA-SW marks it 'Native (as of TensorRT 8.6.12)', a DRIVE OS release; not in the "
                "Jetson TensorRT 10.x header")
    if op.type in DLA_RECONSTRUCTION_OPS:
        return f"{op.type}: 'Reconstruction' (DLA runs it only rewritten into native ops)"
    if op.type in DLA_RFE_OPS:
        return f"{op.type}: 'RFE (not exposed)' (hardware-capable, not exposed through TensorRT)"
    return f"{op.type}: not in the DLA operator matrix"


@rule("DLA-DTYPE", applies_to=ALL, exempt=DLA_FOLDED_OPS | {"Constant"}, status=STATUS_DLA_FALLBACK,
      params={"precisions": DLA_PRECISIONS},
      hint="Keep integer/boolean tensors (indices, masks, shapes) out of the DLA part, or compute them as "
           "constants at build time.")
def dla_dtype(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | Detail | None:
    """DLA computes in {precisions} only (ref §4.3): float tensors run in FP16, int8 in INT8; int32, int64 and bool
    tensors cannot be DLA tensors."""
    if not _dla_op(op, ctx):
        return None
    outputs = [] if op.type == "Equal" else op.outputs  # a comparison's bool output is DLA's own (DLA-SW Native)
    for name in (*op.inputs, *outputs):
        t = graph.tensors.get(name) if name else None
        if t is None or t.is_constant or t.dtype in ("unknown", "undefined"):
            continue
        if t.dtype not in DLA_TENSOR_TYPES:
            return Detail(f"tensor '{t.name}' is {t.dtype}", t.name)
    return None


@rule("DLA-STATIC-SHAPE", applies_to=ALL, exempt=DLA_FOLDED_OPS | {"Constant"}, status=STATUS_DLA_FALLBACK,
      hint="Fix the input shapes (--input-shape, or an optimization profile with min = opt = max).")
def dla_static_shape(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | Detail | None:
    """DLA needs static shapes: the optimization profile's min, opt and max must be equal and runtime dims equal
    the build dims (ref §4.3)."""
    if not _dla_op(op, ctx):
        return None
    for name in (*op.inputs, *op.outputs):
        t = graph.tensors.get(name) if name else None
        if t is not None and not t.is_constant and t.shape is not None and not t.is_static:
            return Detail(f"tensor '{t.name}' has shape {list(t.shape)}", t.name)
    return None


@rule("DLA-DIMS", applies_to=ALL, exempt=DLA_FOLDED_OPS | {"Constant"}, status=STATUS_DLA_FALLBACK,
      params={"batch": DLA_MAX_BATCH, "dim": DLA_MAX_DIM},
      hint="Tile the tensor or reduce the batch.")
def dla_dims(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | Detail | None:
    """DLA takes a batch of at most {batch} and non-batch dimensions of at most {dim} (ref §4.3)."""
    if not _dla_op(op, ctx):
        return None
    for name in (*op.inputs, *op.outputs):
        t = graph.tensors.get(name) if name else None
        if t is None or t.is_constant or not t.is_static or not t.shape:
            continue
        shape = list(t.shape)
        if len(shape) > 1 and shape[0] > DLA_MAX_BATCH:
            return Detail(f"tensor '{t.name}' has batch {shape[0]:,}", t.name)
        big = [d for d in (shape[1:] if len(shape) > 1 else shape) if d > DLA_MAX_DIM]
        if big:
            return Detail(f"tensor '{t.name}' has shape {shape}", t.name)
    return None


def _spatial(op: Op, graph: OpGraph, attr: str, default: int, weight_dims: bool = False) -> list[int]:
    """A per-spatial-axis attribute (kernel_shape, strides, dilations), its default filled for a 2-D op."""
    value = op.attrs.get(attr)
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
        return [int(v) for v in value]  # (a custom-domain op of the same name may carry anything: default then)
    if weight_dims:
        shape = _shape(_tensor(graph, op.inputs, 1))
        if len(shape) > 2 and all(isinstance(d, int) for d in shape[2:]):
            return [int(d) for d in shape[2:]]
    return [default, default]


def _in(values: list[int], bounds: tuple[int, int]) -> bool:
    return all(bounds[0] <= v <= bounds[1] for v in values)


@rule("DLA-CONV", applies_to={"Conv"}, status=STATUS_DLA_FALLBACK,
      params={"kernel": _span(DLA_CONV["kernel"]), "stride": _span(DLA_CONV["stride"]),
              "pad": _span(DLA_CONV["pad"]), "dilation": _span(DLA_CONV["dilation"]),
              "maps": _span(DLA_CONV["maps"]), "groups": DLA_CONV["groups"]},
      hint="Use 2-D convolutions within the limits (split large kernels or strides into several layers).")
def dla_conv(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DLA convolutions (NvInfer.h, ref §4.4): 2-D only; kernel {kernel}; stride {stride}; padding {pad} and
    smaller than the kernel; dilation {dilation}; output maps {maps}; at most {groups} groups."""
    if not _dla_op(op, ctx):
        return None
    rank = _rank(_tensor(graph, op.inputs, 0))
    if rank is not None and rank != 4:
        return f"{rank - 2}-D convolution"
    kernel = _spatial(op, graph, "kernel_shape", 1, weight_dims=True)
    strides, dilations = _spatial(op, graph, "strides", 1), _spatial(op, graph, "dilations", 1)
    pads = [int(p) for p in op.attrs.get("pads") or [0, 0, 0, 0]]
    if not _in(kernel, DLA_CONV["kernel"]):
        return f"kernel {kernel}"
    if not _in(strides, DLA_CONV["stride"]):
        return f"strides {strides}"
    if not _in(dilations, DLA_CONV["dilation"]):
        return f"dilations {dilations}"
    half = len(pads) // 2
    below_kernel = len(kernel) != half or all(p < kernel[i % half] for i, p in enumerate(pads))
    if not _in(pads, DLA_CONV["pad"]) or not below_kernel:
        return f"pads {pads} with kernel {kernel}"
    maps = _shape(_tensor(graph, op.inputs, 1))[:1]
    if maps and isinstance(maps[0], int) and not _in(maps, DLA_CONV["maps"]):
        return f"{maps[0]:,} output maps"
    if int(op.attrs.get("group", 1)) > DLA_CONV["groups"]:
        return f"{op.attrs['group']:,} groups"
    return None


@rule("DLA-DECONV", applies_to={"ConvTranspose"}, status=STATUS_DLA_FALLBACK,
      params={"kernel": _span(DLA_DECONV["kernel"]), "long": DLA_DECONV["long"],
              "maps": _span(DLA_DECONV["maps"])},
      hint="Use a 2-D deconvolution without padding and groups within the limits.")
def dla_deconv(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DLA deconvolutions (NvInfer.h, ref §4.4): 2-D only; kernel and stride each {kernel}, or one of {long} in one
    dimension and 1 in the other; padding 0; one group; output maps {maps}."""
    if not _dla_op(op, ctx):
        return None
    rank = _rank(_tensor(graph, op.inputs, 0))
    if rank is not None and rank != 4:
        return f"{rank - 2}-D deconvolution"
    for name, values in (("kernel", _spatial(op, graph, "kernel_shape", 1, weight_dims=True)),
                         ("strides", _spatial(op, graph, "strides", 1))):
        long_ok = len(values) == 2 and sorted(values)[0] == 1 and sorted(values)[1] in DLA_DECONV["long"]
        if not _in(values, DLA_DECONV["kernel"]) and not long_ok:
            return f"{name} {values}"
    if any(int(p) for p in op.attrs.get("pads") or []):
        return f"pads {list(op.attrs['pads'])}"
    if int(op.attrs.get("group", 1)) != 1:
        return f"group={op.attrs['group']}"
    weights = _shape(_tensor(graph, op.inputs, 1))
    maps = weights[1] if len(weights) > 1 else None
    if isinstance(maps, int) and not _in([maps], DLA_DECONV["maps"]):
        return f"{maps:,} output maps"
    return None


@rule("DLA-POOL", applies_to={"MaxPool", "AveragePool"}, status=STATUS_DLA_FALLBACK,
      params={"window": _span(DLA_POOL["window"]), "stride": _span(DLA_POOL["stride"]),
              "pad": _span(DLA_POOL["pad"])},
      hint="Use 2-D pooling windows within the limits (stack several small poolings for a large window).")
def dla_pool(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DLA pooling (NvInfer.h, ref §4.4): max or average, 2-D; window {window}; stride {stride}; padding {pad}
    (INT8 also needs equal input and output dynamic ranges)."""
    if not _dla_op(op, ctx):
        return None
    rank = _rank(_tensor(graph, op.inputs, 0))
    if rank is not None and rank != 4:
        return f"{rank - 2}-D pooling"
    window = [int(k) for k in op.attrs.get("kernel_shape") or []]
    strides = _spatial(op, graph, "strides", 1)
    pads = [int(p) for p in op.attrs.get("pads") or []]
    if not _in(window, DLA_POOL["window"]):
        return f"window {window}"
    if not _in(strides, DLA_POOL["stride"]):
        return f"strides {strides}"
    if not _in(pads, DLA_POOL["pad"]):
        return f"pads {pads}"
    return None


@rule("DLA-LRN", applies_to={"LRN"}, status=STATUS_DLA_FALLBACK, params={"windows": DLA_LRN_WINDOWS},
      hint="Use an LRN size of 3, 5, 7 or 9.")
def dla_lrn(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DLA LRN (NvInfer.h, ref §4.4): window {windows}."""
    size = op.attrs.get("size")
    return f"size {size}" if _dla_op(op, ctx) and size is not None and int(size) not in DLA_LRN_WINDOWS else None


@rule("DLA-SOFTMAX", applies_to={"Softmax"}, status=STATUS_DLA_FALLBACK,
      params={"alone": DLA_SOFTMAX_AXIS["alone"], "shared": DLA_SOFTMAX_AXIS["shared"]},
      hint="Softmax over the channel or a spatial axis of an NCHW tensor, within the size limit.")
def dla_softmax(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DLA softmax (NvInfer.h, ref §4.4): over the channel or a spatial axis, not the batch; the axis may hold
    {alone} elements when the other non-batch dims are 1, else {shared}."""
    shape = _shape(_tensor(graph, op.inputs, 0))
    if not _dla_op(op, ctx) or not shape:
        return None
    axis = int(op.attrs.get("axis", -1)) % len(shape)
    if axis == 0 and len(shape) > 1:
        return "softmax over the batch axis"
    size = shape[axis]
    others = [d for i, d in enumerate(shape) if i not in (0, axis)]
    alone = all(d == 1 for d in others)
    limit = DLA_SOFTMAX_AXIS["alone" if alone else "shared"]
    return f"axis {axis} holds {size:,}" if isinstance(size, int) and size > limit else None


@rule("DLA-CONCAT", applies_to={"Concat"}, status=STATUS_DLA_FALLBACK,
      hint="Concatenate along channels (the third-from-last axis).")
def dla_concat(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DLA concatenates along the channel axis only (the third from last, ref §4.4)."""
    rank = _rank(_tensor(graph, op.outputs, 0))
    if not _dla_op(op, ctx) or rank is None:
        return None
    axis = int(op.attrs.get("axis", 0)) % rank
    return f"axis {axis} of a rank-{rank} tensor" if rank < 3 or axis != rank - 3 else None


@rule("DLA-SLICE", applies_to={"Slice"}, status=STATUS_DLA_FALLBACK,
      hint="Slice a 4-D tensor with constant starts/ends, step 1, leaving the batch whole.")
def dla_slice(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DLA slices (NvInfer.h, ref §4.4): static start, size and stride; stride 1; no slicing of the first
    dimension; 4-D input."""
    if not _dla_op(op, ctx):
        return None
    x = _tensor(graph, op.inputs, 0)
    rank = _rank(x)
    if rank is not None and rank != 4:
        return f"rank-{rank} input"
    params = [_tensor(graph, op.inputs, i) for i in range(1, 5)]
    if any(t is not None and not t.is_constant for t in params):
        return "starts/ends/axes/steps computed at run time"
    steps = _ints(_value(params[3]))
    if steps and any(s != 1 for s in steps):
        return f"steps {steps}"
    axes = _ints(_value(params[2]))
    starts = _ints(_value(params[0])) or []
    axes = [a % rank for a in axes] if axes is not None and rank else list(range(len(starts)))
    ends = _ints(_value(params[1])) or []
    batch = _shape(x)[0] if _shape(x) else None
    for axis, start, end in zip(axes, starts, ends):
        if axis == 0 and (start != 0 or (isinstance(batch, int) and end < batch)):
            return f"slices the first dimension ({start}:{end})"
    return None


@rule("DLA-PRELU", applies_to={"PRelu"}, status=STATUS_DLA_FALLBACK,
      hint="Make the slopes a constant tensor.")
def dla_prelu(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | Detail | None:
    """DLA PReLU needs build-time constant slopes (ref §4.4)."""
    slope = _tensor(graph, op.inputs, 1)
    if not _dla_op(op, ctx) or slope is None or slope.is_constant:
        return None
    return Detail(f"slope '{slope.name}' is computed at run time", slope.name)


@rule("DLA-RESIZE", applies_to={"Resize", "Upsample"}, status=STATUS_DLA_FALLBACK,
      params={"nearest": DLA_RESIZE_SCALE["nearest"], "linear": DLA_RESIZE_SCALE["linear"]},
      hint="Resize height and width only, by whole factors within the limit.")
def dla_resize(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | None:
    """DLA resizes (NvInfer.h, ref §4.4) take 4 scales [1, 1, h, w] with integer h and w in 1-{nearest} (nearest)
    or 1-{linear} (linear)."""
    if not _dla_op(op, ctx):
        return None
    x, y = _tensor(graph, op.inputs, 0), _tensor(graph, op.outputs, 0)
    scales_t = _tensor(graph, op.inputs, 1 if op.type == "Upsample" else 2)
    scales = None
    if scales_t is not None and scales_t.value is not None and np.size(scales_t.value):
        scales = [float(s) for s in np.ravel(scales_t.value)]
    elif x is not None and y is not None and x.is_static and y.is_static and len(x.shape) == len(y.shape):
        scales = [b / a if a else 0.0 for a, b in zip(x.shape, y.shape)]
    if scales is None:
        return "scales unknown at build time"
    mode = "linear" if "linear" in str(op.attrs.get("mode", "nearest")) else "nearest"
    limit = DLA_RESIZE_SCALE[mode]
    if len(scales) != 4 or scales[:2] != [1.0, 1.0] or any(s != int(s) or not 1 <= s <= limit for s in scales[2:]):
        return f"scales {scales} ({mode})"
    return None


@rule("DLA-CONSTANT-WEIGHTS", applies_to={"Gemm", "MatMul"}, status=STATUS_DLA_FALLBACK,
      hint="Use constant weights (a fully-connected layer); an activation x activation MatMul stays on the GPU.")
def dla_constant_weights(op: Op, graph: OpGraph, ctx: JetsonContext) -> str | Detail | None:
    """DLA runs Gemm and MatMul as a 1x1 convolution, so the second input must be a constant (ref §4.5)."""
    w = _tensor(graph, op.inputs, 1)
    if not _dla_op(op, ctx) or w is None or w.is_constant:
        return None
    return Detail(f"second input '{w.name}' is computed at run time", w.name)


# -- documentation ------------------------------------------------------------------------------------------

def trt_rules() -> list[Rule]:
    return all_rules("TRT-")


def dla_rules() -> list[Rule]:
    return all_rules("DLA-")


def jetson_rules() -> list[Rule]:
    return trt_rules() + dla_rules()


def generate_docs(specs: list[Any] | None = None) -> str:
    """Markdown listing every Jetson rule and the catalog's Jetson modules (from their specs)."""
    if specs is None:
        from edgefit.devices import list_devices

        specs = [s for s in list_devices() if s.family == "jetson"]
    lines = [
        "# Jetson Orin rules (TensorRT GPU and DLA)",
        "",
        "Generated by `edgefit.rules.jetson.write_docs()` from the rules and the device specs; do not edit by hand. "
        "Each rule's message is filled from the same constants its check uses.",
        "",
        "TensorRT builds the whole ONNX graph: an op its ONNX parser rejects fails the build and no engine is "
        f"produced, so every `TRT-*` error rejects the model. Op support follows the {MATRIX_SOURCE}, with the "
        "parser changes of later releases (ONNX-TensorRT changelog) applied from the TensorRT version a spec "
        "names (`toolchain.version`).",
        "",
        "`DLA-*` rules apply when DLA placement is asked for: `--device <id>:dla` (a spec variant that sets "
        "`jetson.accelerator: dla`) or `--set jetson.accelerator=dla`. A layer that breaks one runs on the GPU "
        "(GPU fallback); the report places DLA layers on the `accelerator` and fallback layers on the host side, "
        "named `GPU (TensorRT, GPU fallback)`, and counts DLA subgraphs (at most "
        f"{DLA_MAX_SUBGRAPHS} per DLA core; the rest fall back). `--set jetson.gpu_fallback=false` makes any "
        "fallback a build failure.",
        "",
        "Options: `toolchain.version` (TensorRT), `jetson.jetpack`, `jetson.accelerator` (`gpu` | `dla`), "
        "`jetson.dla_core`, `jetson.gpu_fallback`, `memory.usable_share`, `memory.runtime_overhead_bytes`, "
        "`llm.weight_formats`.",
        "",
        "## Modules",
        "",
        "| id | DRAM | usable for the model | bandwidth | INT8 TOPS (sparse) | DLA cores | TensorRT / JetPack | "
        "`:dla` |",
        "|---|---|---|---|---|---|---|---|",
    ]
    from edgefit.memory.fit import usable_dram

    for s in sorted(specs, key=lambda s: s.id):
        usable, _ = usable_dram(s)
        size = s.get("memory.size_bytes")
        variant = s.data.get("variants", {}).get("dla", {})
        dla = "no: " + variant["unavailable"].split(" (")[0] if "unavailable" in variant else \
            ("yes" if variant else "no")
        lines.append(f"| `{s.id}` | {size / 2**30:.0f} GiB {s.get('memory.type', '')} | "
                     f"{usable / 2**30:.2f} GiB | {s.get('memory.bandwidth_gb_s')} GB/s | "
                     f"{s.get('compute.peak_tops_int8_sparse')} | {s.get('jetson.dla_cores', 0)} | "
                     f"{s.get('toolchain.version')} / {s.get('jetson.jetpack', '?')} | {dla} |")
    lines += [
        "",
        "Usable memory = DRAM x `memory.usable_share` - `memory.runtime_overhead_bytes` (both labelled estimates "
        "in the specs, with their evidence). LLMs are priced in the spec's `llm.weight_formats` with an fp16 KV "
        "cache.",
        "",
    ]
    from edgefit.targets.jetson import DLA_SECTION, TENSORRT_SECTION

    lines += [
        "## Placement and report sections",
        "",
        "On the GPU every op is `accelerator` (status `" + STATUS_GPU + "`) in one engine; an op the parser rejects "
        "is `cpu` with its rule as the reason, and the model is `rejected`. With DLA placement, DLA layers are "
        "`accelerator` (status `" + STATUS_DLA + " (core N)`, `subgraph` = the DLA subgraph), GPU-fallback layers "
        "are `cpu` (the host side, the GPU), and constants and shape computations on static shapes are `removed` "
        "(folded at build time).",
        "",
        "Sections in the analyze JSON (each also has `title` and `lines`, what the text output prints):",
        "",
        *(f"- `tensorrt.{k}`: {v}" for k, v in TENSORRT_SECTION.items()),
        *(f"- `dla.{k}` (DLA placement only): {v}" for k, v in DLA_SECTION.items()),
        "",
    ]
    for title, rules in (("TensorRT (GPU) rules", trt_rules()), ("DLA rules", dla_rules())):
        lines += [f"## {title}", ""]
        for r in rules:
            scope = "model" if r.scope == "model" else ("all ops" if r.applies_to is None
                                                         else ", ".join(sorted(r.applies_to)))
            lines += [f"### {r.code}", "", r.doc, "", f"- applies to: {scope}", f"- severity: {r.severity}"]
            if r.status:
                lines.append(f"- status: `{r.status}`")
            if r.hint:
                lines.append(f"- hint: {r.hint}")
            lines.append("")
    return "\n".join(lines)


def write_docs(path: str | Path = DOCS_PATH) -> Path:
    """Regenerate ``docs/devices/jetson.md`` from the rules and the device specs."""
    return write_doc(generate_docs(), path)
