"""Coral Edge TPU rules: what ``edgetpu_compiler`` (16.0, older versions selectable) maps, and why not.

Facts come from the shared reference sheet ``coral-edgetpu.md`` (cited as "ref §N") and the supported-op table
``coral-ops.yaml`` (cited as "ops table"). Every rule returns the compiler's own status text (ref §5.3), so a
prediction reads like the compiler's operation log.

Rule order is status precedence: an op gets the status of its first error. Model-level rules (scope "model")
are compile failures: the compiler prints an error and produces no Edge TPU model at all (ref §2, §4).

Device options are read from a spec object with ``.get(dotted_key, default)``:

- ``coral.compiler_version`` (str, default ``"16.0"``)
- ``coral.min_runtime`` (int; ``None`` = what the compiler targets by default: 14 for 16.0, 13 for 14.1/15.0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from edgefit.graph import Op, OpGraph, Tensor
from edgefit.partition import CUT_STATUS, DEAD_STATUS, MAPPED_STATUS
from edgefit.rules import ALL, DOCS_DIR, Detail, Rule, all_rules, parse_version, rule, write_doc

# -- the compiler's status strings (ref §5.3) ---------------------------------------------------------------

STATUS_MAPPED = MAPPED_STATUS
STATUS_MULTI_SUBGRAPH = CUT_STATUS
STATUS_UNSPECIFIED = "Operation is otherwise supported, but not mapped due to some unspecified limitation"
STATUS_DATA_TYPE = "Operation is working on an unsupported data type"
STATUS_RANK = "Tensor has unsupported rank (up to 3 innermost dimensions mapped)"
STATUS_NOT_SUPPORTED = "Operation not supported"
STATUS_VERSION = "Operation version not supported"
STATUS_NOT_CONSTANT = "Filter, bias, or other param is not constant at compile-time"
STATUS_2D_OUTPUT = "For example, a fully-connected or softmax layer with 2D output"
#: Compile failures: what the compiler prints instead of an operation log (ref §2, §4, §5.1).
STATUS_PARSE_FAILED = "Model could not be parsed"
STATUS_DYNAMIC_SHAPES = ("ERROR: Attempting to use a delegate that only supports static-sized tensors with a graph "
                         "that has dynamic-sized tensors.")

# -- device facts -------------------------------------------------------------------------------------------

DEFAULT_COMPILER_VERSION = "16.0"
#: Where ``write_docs`` puts the generated rule reference in a source checkout.
DOCS_PATH = DOCS_DIR / "coral.md"
EIGHT_BIT = frozenset({"int8", "uint8"})
FLOAT_TYPES = frozenset({"float32", "float16", "float64", "bfloat16"})
#: Only this many innermost dimensions may be larger than 1 (ref §2 item 4).
MAX_INNER_DIMS = 3

#: TFLite builtin -> minimum Edge TPU runtime (ops table ``min_runtime``): 0 = every runtime, None = unknown.
SUPPORTED_OPS: dict[str, int | None] = {
    "ADD": 0, "AVERAGE_POOL_2D": 0, "CONCATENATION": 0, "CONV_2D": 0, "DEPTHWISE_CONV_2D": 0, "EXPAND_DIMS": 13,
    "FULLY_CONNECTED": 0, "L2_NORMALIZATION": 0, "LOGISTIC": 0, "UNIDIRECTIONAL_SEQUENCE_LSTM": 14, "LSTM": 14,
    "MAXIMUM": 0, "MAX_POOL_2D": 0, "MEAN": 0, "MINIMUM": 0, "MUL": 0, "PACK": 13, "PAD": 0,
    "PRELU": None,  # 13 or 14: unverified (ops table)
    "QUANTIZE": 13, "REDUCE_MAX": 14, "REDUCE_MIN": 14, "RELU": 0, "RELU6": 0, "RELU_N1_TO_1": 0, "RESHAPE": 0,
    "RESIZE_BILINEAR": 0, "RESIZE_NEAREST_NEIGHBOR": 0, "RSQRT": 14, "SLICE": 0, "SOFTMAX": 0, "SPACE_TO_DEPTH": 0,
    "SPLIT": 0, "SQUARED_DIFFERENCE": 14, "SQUEEZE": 0, "STRIDED_SLICE": 0, "SUB": 0, "SUM": 13, "TANH": 0,
    "TRANSPOSE": 14, "TRANSPOSE_CONV": 13,
    "TILE": 0,  # not in the table, but observed mapped (ops table: observed_mapped_but_not_in_table)
}

#: (op, highest op version accepted, newest compiler (major, minor) known to reject the next version, source):
#: older TFLite builds inside the compiler reject newer op versions at parse time (ref §4).
OP_VERSION_CEILINGS: tuple[tuple[str, int, tuple[int, int], str], ...] = (
    ("RESIZE_BILINEAR", 2, (2, 0), "google-coral/edgetpu#45"),
    ("RESIZE_NEAREST_NEIGHBOR", 2, (2, 1), "google-coral/edgetpu#114, #152"),
    ("TRANSPOSE_CONV", 2, (2, 1), "google-coral/edgetpu#147, #358"),
    ("RSQRT", 1, (15, 0), "google-coral/edgetpu#384"),
    ("TRANSPOSE_CONV", 3, (16, 0), "google-coral/edgetpu#845"),
    ("EXP", 1, (16, 0), "google-coral/libedgetpu#71 (compiler version not recorded)"),
)
#: Compiler 16 fails with "Op builtin_code out of range: 150" (ref §4): its schema ends below code 150.
FIRST_UNKNOWN_BUILTIN_CODE = 150

#: Inputs that hold an op's parameters (weights, biases), which must be constant (ref §2 item 3).
PARAM_INPUTS: dict[str, tuple[int, ...]] = {
    "CONV_2D": (1, 2), "DEPTHWISE_CONV_2D": (1, 2), "FULLY_CONNECTED": (1, 2), "TRANSPOSE_CONV": (1, 3),
    # LSTM: gate weights 1-8, peepholes 9-11, gate biases 12-15, projection 16-17, layer-norm 20-23.
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (*range(1, 18), *range(20, 24)),
    "LSTM": (*range(1, 18), *range(20, 24)),
}
NO_FUSED_ACTIVATION_OPS = frozenset({"AVERAGE_POOL_2D", "MAX_POOL_2D", "CONCATENATION"})
RESIZE_OPS = frozenset({"RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"})
BATCHLESS_REDUCE_OPS = frozenset({"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN"})
#: The 2019 table says "a max of 16,000 elements"; softmaxes over exactly 16,384 elements compile mapped (corpus:
#: LibrEdgeTPU color/bright 128x128 templates), so the limit is read as 16K.
SOFTMAX_MAX_ELEMENTS = 16 * 1024
MEAN_Z_MULTIPLE = 4
#: The largest MEAN input a maintainer reported as mapped (1x64x128x3); 1x256x128x3 was refused (#461).
MEAN_LARGEST_MAPPED_ELEMENTS = 64 * 128 * 3
#: Every resize the corpus shows (``truth-dev.json``: all RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR of its models;
#: the compiled files say how many of each type stay on the CPU, the data flow says which one cut first):
#:
#:   spatial in -> out      factor  coordinates          placement                           models
#:   1x1   -> 33x33         x33     align_corners        CPU, the first CPU op (it cuts)     4 DeepLab v3 MNv2 PASCAL
#:   33x33 -> 33x33         x1      align_corners        CPU, but downstream of that cut     the same 4
#:   33x33 -> 513x513       x15.5   align_corners        CPU, but downstream of that cut     the same 4
#:   6->12, 12->24, 24->48  x2      half_pixel_centers   mapped                              MoveNet Lightning (16.0)
#:
#: Outside the truth: #31 (compiler 2.0 era, legacy coordinates) mapped 64->128 and refused 256->512, both x2, so
#: size, not factor, decided there; ref §3.4 reports a google-coral/test_data DeepLab keeping *one* RESIZE_BILINEAR
#: on the CPU, which fits the Edge TPU slim variant (its 1x1 pooled tensor is TILEd, mapped; its only large resize
#: is 33->513), not the PASCAL builds (three on the CPU). The PASCAL builds decide nothing about their 33->33 and
#: 33->513 resizes on their own: those follow the cut.
#:
#: Bilinear resize outputs seen mapped up to 128 pixels a side (#31: 64->128) and refused from 512 (#31: 256->512;
#: the slim DeepLab's 33->513 logits resize, ref §3.4).
RESIZE_LARGEST_MAPPED_SIDE = 128
RESIZE_REFUSED_SIDE = 512
#: A bilinear upsample of a 1x1 (spatial) input stays on the CPU: the ASPP image-pooling resize (1x1 -> 33x33,
#: align_corners) of all four DeepLab v3 PASCAL builds is their first CPU op. Coral's Edge-TPU-tuned DeepLab puts a
#: TILE there instead (mapped, ref §3.4); TILE equals the resize only because the input is 1x1 (every output pixel
#: interpolates the one input pixel), which is why the rule keys on the 1x1 input rather than on the factor.
RESIZE_BROADCAST_SIDE = 1
#: Largest upscale factor (output side / input side) seen mapped: x2 (MoveNet; #31 64->128). The only larger
#: factors seen (x33 from 1x1, x15.5 to 513 pixels) were refused, each also explained by the 1x1 input or the
#: 512-pixel output, so whether the factor itself limits mapping is undecided.
RESIZE_LARGEST_MAPPED_FACTOR = 2
#: LSTM input widths below ~900 compiled, above ~1000 failed (google-coral/edgetpu#598, user report).
LSTM_SAFE_FEATURES = 900
#: Runtime up to which the 2019 table's stricter limits apply (ops table ``limits_older_runtimes``).
OLD_RUNTIME = 12
#: Compilers 14.1/15.0 report resizes with half_pixel_centers "Operation version not supported" (ref §5.3 row 7;
#: google-coral/edgetpu#420, #396; tensorflow/tensorflow#42024); compiler 16 maps them (MoveNet in the corpus).
HALF_PIXEL_RESIZE_COMPILER = (16, 0)


# -- context ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CoralContext:
    """The compiler the rules predict: its version and the Edge TPU runtime it targets (``-m``)."""

    compiler_version: tuple[int, ...]
    min_runtime: int

    @classmethod
    def from_spec(cls, spec: Any) -> CoralContext:
        version = parse_version(str(spec.get("coral.compiler_version", DEFAULT_COMPILER_VERSION)))
        runtime = spec.get("coral.min_runtime", None)
        return cls(version, int(runtime) if runtime is not None else default_runtime(version))


def default_runtime(version: tuple[int, ...]) -> int:
    """Runtime the compiler targets without ``-m`` (ops table ``runtime_history``; ref §3.3)."""
    if version >= (16,):
        return 14
    if version >= (2, 0, 291256449):  # 2.0.291256449 (January 2020) added runtime 13
        return 13
    return OLD_RUNTIME


# -- tensor helpers -----------------------------------------------------------------------------------------

def activations(op: Op, graph: OpGraph) -> list[Tensor]:
    """The op's data tensors: inputs and outputs that are neither constants nor variables (LSTM state)."""
    names = dict.fromkeys(t for t in (*op.inputs, *op.outputs) if t)
    tensors = (graph.tensors[n] for n in names if n in graph.tensors)
    return [t for t in tensors if not t.is_constant and not t.is_variable]


def compiled_shape(t: Tensor) -> tuple[int | None, ...] | None:
    """The shape the compiler sees: a dynamic batch dimension reads as 1.

    Observed: models whose batch is -1 in ``shape_signature`` (conv2_*, pycoral50 in the corpus) compile fully
    mapped with compiler 16, which reads the plain ``shape`` field where converters store 1.
    """
    if t.shape is None:
        return None
    dims = [d if isinstance(d, int) else None for d in t.shape]
    if len(dims) > 1 and dims[0] is None:
        dims[0] = 1
    return tuple(dims)


def dims_over_one_outside_inner(shape: tuple[int | None, ...], inner: int) -> bool:
    """True when a dimension before the ``inner`` innermost ones is larger than 1."""
    if len(shape) <= inner:
        return False
    return any(d is not None and d > 1 for d in shape[:-inner])


def constant_value(graph: OpGraph, name: str) -> Any:
    """A small constant's contents (axes, paddings, strides), or None when the reader did not keep them."""
    t = graph.tensors.get(name) if name else None
    return None if t is None or not t.is_constant else t.value


def axes_of(op: Op, graph: OpGraph, position: int, rank: int) -> list[int] | None:
    """Axis list from a constant input, normalised to non-negative indices."""
    if len(op.inputs) <= position:
        return None
    value = constant_value(graph, op.inputs[position])
    if value is None:
        return None
    return sorted({int(a) % rank for a in _flat(value)})


def _flat(value: Any) -> list[Any]:
    return value.reshape(-1).tolist() if hasattr(value, "reshape") else [value]


def input_tensor(op: Op, graph: OpGraph, position: int = 0) -> Tensor | None:
    if len(op.inputs) <= position or not op.inputs[position]:
        return None
    return graph.tensors.get(op.inputs[position])


def output_tensor(op: Op, graph: OpGraph) -> Tensor | None:
    return graph.tensors.get(op.outputs[0]) if op.outputs and op.outputs[0] else None


def beyond_inner_dims(t: Tensor | None, inner: int, role: str) -> Detail | None:
    """A detail naming ``t`` when a dimension before its ``inner`` innermost ones is larger than 1."""
    shape = compiled_shape(t) if t is not None else None
    if t is None or shape is None or not dims_over_one_outside_inner(shape, inner):
        return None
    return Detail(f"{role} '{t.name}' has shape {list(t.shape or ())}", t.name)


def compiler_text(version: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in version)


# -- model requirements (ref §2): compile failures -----------------------------------------------------------

@rule("CORAL-TFLITE-ONLY", scope="model", status=None,
      hint="Convert the model to a fully integer-quantized TFLite file first (TFLiteConverter with a "
           "representative dataset).")
def tflite_only(op: None, graph: OpGraph, ctx: CoralContext) -> str | None:
    """The Edge TPU compiler reads TFLite flatbuffers only."""
    foreign = sorted({o.domain for o in graph.ops if o.domain not in ("tflite", "custom", "flex")})
    return f"this graph has {', '.join(foreign)} ops" if foreign else None


@rule("CORAL-BUILTIN-CODE", scope="model", params={"first_unknown": FIRST_UNKNOWN_BUILTIN_CODE},
      status=STATUS_PARSE_FAILED,
      hint="Convert with an older TensorFlow (2.5 generation) or replace the op; the compiler cannot read it.")
def builtin_code_known(op: None, graph: OpGraph, ctx: CoralContext) -> str | None:
    """The compiler's TFLite schema ends before builtin operator code {first_unknown}; newer ops make the model
    unreadable ("Op builtin_code out of range")."""
    unknown = sorted({(code, o.type) for o in graph.ops if o.domain == "tflite"
                      if (code := builtin_code(o.type)) is not None and code >= FIRST_UNKNOWN_BUILTIN_CODE})
    return "; ".join(f"Op builtin_code out of range: {code} ({name})" + (f" -- {_NEWER_OP_FIXES[name]}"
                     if name in _NEWER_OP_FIXES else "") for code, name in unknown) or None


# The concrete export change for a newer builtin the TF path produces from a common ONNX op.
_NEWER_OP_FIXES = {
    # TFLite's optimizer (optimize_patterns.td, MatchRelu0To1Pattern1/2) fuses MAXIMUM(MINIMUM(x, 1), 0), which
    # onnx2tf writes for HardSigmoid and Clip(0, 1), into RELU_0_TO_1. RELU6 is a builtin the compiler reads.
    "RELU_0_TO_1": "it is TFLite's fusion of max(0, min(1, x)) (ONNX HardSigmoid or Clip(0, 1) through onnx2tf); "
                   "export HardSigmoid(x) as Relu6(6*alpha*x + 6*beta) * (1/6) (Mul, Add, Clip(0, 6), Mul), "
                   "which converts to MUL, ADD with a fused RELU6, MUL",
}


def builtin_code(op_type: str) -> int | None:
    """TFLite builtin operator code of an op type; the reader names codes newer than its schema BUILTIN_<n>."""
    placeholder = re.fullmatch(r"BUILTIN_(\d+)", op_type)
    return int(placeholder.group(1)) if placeholder else _builtin_codes().get(op_type)


@lru_cache(maxsize=1)
def _builtin_codes() -> dict[str, int]:
    # The schema's own enum, as the TFLite reader names codes (without importing the reader and the tflite
    # package's 190 modules for an ONNX model).
    from edgefit.tflite_schema import enum_names, schema_enum
    return {name: code for code, name in enum_names(schema_enum("BuiltinOperator")).items()}


@rule("CORAL-OP-VERSION", scope="model", status=STATUS_PARSE_FAILED,
      params={"ceilings": [f"{name} <= v{v} up to compiler {a}.{b}" for name, v, (a, b), _ in OP_VERSION_CEILINGS]},
      hint="Re-convert with the TensorFlow generation of the compiler (TF 2.5 for compiler 16), or with "
           "converter.experimental_new_converter = False, so the op gets an older version.")
def op_versions_parse(op: None, graph: OpGraph, ctx: CoralContext) -> str | None:
    """The compiler embeds the TFLite of its release date and rejects newer op versions before mapping
    anything; known ceilings: {ceilings}."""
    errors = []
    for o in graph.ops:
        ceiling = op_version_ceiling(o.type, ctx.compiler_version)
        if ceiling is not None and o.version is not None and o.version > ceiling:
            errors.append(f"op {o.index}: ERROR: Didn't find op for builtin opcode '{o.type}' version '{o.version}'")
    return "; ".join(errors) or None


def op_version_ceiling(op_type: str, compiler: tuple[int, ...]) -> int | None:
    """Highest accepted version of ``op_type`` for this compiler: the tightest ceiling reported for it or a
    newer compiler (a newer compiler rejecting version N means every older one does too)."""
    known = [v for name, v, upto, _ in OP_VERSION_CEILINGS if name == op_type and compiler[:2] <= upto]
    return min(known, default=None)


@rule("CORAL-STATIC-SHAPE", scope="model", status=STATUS_DYNAMIC_SHAPES,
      hint="Fix every dimension except the batch: convert with a concrete input signature, or for an ONNX model "
           "analyse a fixed size with --input-shape (a whole input, input_ids=1x128, or one symbolic dim in "
           "every input, seq=128).")
def static_shapes(op: None, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Tensor sizes must be known at compile time; only a dynamic batch dimension is tolerated (it reads as 1)."""
    dynamic = [name for name, t in graph.tensors.items() if _is_dynamic(t)]
    if not dynamic:
        return None
    inputs = [n for n in graph.inputs if n in dynamic]
    if inputs:
        shapes = ", ".join(f"'{n}' {_shape_text(graph.tensors[n].shape)}" for n in inputs)
        # A dynamic batch (axis 0) is tolerated, but fixing it to 1 as well lets every shape be computed.
        batch = sorted({t.shape[0] for t in map(graph.tensors.get, inputs) if t and t.shape and isinstance(t.shape[0], str)})
        symbols = sorted({d for n in inputs for d in (graph.tensors[n].shape or ())[1:] if isinstance(d, str)} - set(batch))
        example = " ".join([*(f"--input-shape {b}=1" for b in batch), *(f"--input-shape {s}=128" for s in symbols)])
        return f"dynamic inputs: {shapes}; {len(dynamic)} tensors in all depend on them (e.g. {example})"
    more = f" and {len(dynamic) - 3} more" if len(dynamic) > 3 else ""
    return "dynamic tensors: " + ", ".join(f"'{n}' {_shape_text(graph.tensors[n].shape)}" for n in dynamic[:3]) + more


def _is_dynamic(t: Tensor) -> bool:
    shape = compiled_shape(t)
    return shape is None or any(d is None for d in shape)


def _shape_text(shape: tuple | None) -> str:
    return "[?]" if shape is None else "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


@rule("CORAL-DYNAMIC-BATCH", scope="model", severity="info",
      hint="Export with batch 1 to make the compiled shape explicit.")
def dynamic_batch(op: None, graph: OpGraph, ctx: CoralContext) -> str | None:
    """A dynamic batch dimension is compiled as batch 1 (observed with compiler 16)."""
    names = [n for n in graph.inputs if (t := graph.tensors.get(n)) is not None and t.shape
             and len(t.shape) > 1 and not isinstance(t.shape[0], int)]
    return f"inputs {', '.join(names)}" if names else None


# -- per-op rules, in status precedence ----------------------------------------------------------------------

@rule("CORAL-CUSTOM-OP", applies_to=ALL, status=STATUS_DATA_TYPE,
      hint="Custom ops always run on the CPU; keep them at the end of the graph so the Edge TPU part stays whole.")
def custom_op(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Custom operators (post-processing such as TFLite_Detection_PostProcess or PosenetDecoderOp, and
    TensorFlow select ops, which TFLite stores as custom ops named Flex<Op>) never map to the Edge TPU."""
    if op.domain == "flex":
        return f"{op.type.removeprefix('FLEX:')} has no TFLite builtin: a TensorFlow select (Flex) op"
    return f"custom op {op.type.removeprefix('CUSTOM:')}" if op.domain == "custom" else None


@rule("CORAL-QUANTIZE-FLOAT-INPUT", applies_to={"QUANTIZE"}, status=STATUS_UNSPECIFIED,
      hint="Give the model integer inputs (converter.inference_input_type = tf.uint8 or tf.int8); a float input "
           "keeps this QUANTIZE on the CPU.")
def quantize_float_input(op: Op, graph: OpGraph, ctx: CoralContext) -> str | Detail | None:
    """A QUANTIZE from float stays on the CPU (observed for the float model input: the leading QUANTIZE runs
    before the Edge TPU subgraph without cutting it); 8-bit to 8-bit requantization is mapped."""
    t = input_tensor(op, graph)
    if t is not None and t.dtype in FLOAT_TYPES:
        return Detail(f"input '{t.name}' is {t.dtype}", t.name)
    return None


@rule("CORAL-DEQUANTIZE-FLOAT-OUTPUT", applies_to={"DEQUANTIZE"}, status=STATUS_DATA_TYPE,
      hint="Give the model integer outputs (converter.inference_output_type = tf.uint8 or tf.int8); a float "
           "output keeps this DEQUANTIZE on the CPU.")
def dequantize_float_output(op: Op, graph: OpGraph, ctx: CoralContext) -> str | Detail | None:
    """A DEQUANTIZE produces float data, which the Edge TPU cannot hold (observed for float model outputs)."""
    out = output_tensor(op, graph)
    if out is not None and out.dtype not in EIGHT_BIT:
        return Detail(f"output '{out.name}' is {out.dtype}", out.name)
    return None


@rule("CORAL-8BIT", applies_to=ALL, exempt={"DEQUANTIZE"}, params={"types": EIGHT_BIT}, status=STATUS_DATA_TYPE,
      hint="Quantize the whole model to 8 bits (full-integer post-training quantization or QAT).")
def eight_bit_tensors(op: Op, graph: OpGraph, ctx: CoralContext) -> str | Detail | None:
    """Every data tensor must be 8-bit quantized ({types})."""
    for t in activations(op, graph):
        if op.type == "QUANTIZE" and op.inputs and t.name == op.inputs[0] and t.dtype in FLOAT_TYPES:
            continue  # CORAL-QUANTIZE-FLOAT-INPUT reports this case with the compiler's own status
        if t.dtype not in EIGHT_BIT:
            return Detail(f"tensor '{t.name}' is {t.dtype}", t.name)
    return None


@rule("CORAL-OP-UNSUPPORTED", applies_to=ALL, params={"ops": frozenset(SUPPORTED_OPS)}, status=STATUS_NOT_SUPPORTED,
      hint="Replace the op with supported ones, or move it after the last Edge TPU op so only it runs on the CPU.")
def op_supported(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Only these TFLite operators map to the Edge TPU: {ops}."""
    if op.domain == "tflite" and op.type not in SUPPORTED_OPS:
        return f"{op.type} is not in the Edge TPU op table"
    return None


@rule("CORAL-MIN-RUNTIME", applies_to=ALL, status=STATUS_NOT_SUPPORTED,
      params={"by_runtime": [f"{name} needs runtime {rt}" for name, rt in SUPPORTED_OPS.items() if rt]},
      hint="Compile with a newer compiler or a higher -m/--min_runtime_version (compiler 16 targets runtime 14).")
def min_runtime(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Ops added in a later Edge TPU runtime stay on the CPU when the target runtime (-m; by default 14 for
    compiler 16, 13 for 14.1/15.0) is older: {by_runtime}."""
    needed = SUPPORTED_OPS.get(op.type)
    if needed and needed > ctx.min_runtime:
        return f"{op.type} needs runtime {needed}, target is runtime {ctx.min_runtime}"
    return None


@rule("CORAL-RESIZE-HALF-PIXEL", applies_to=RESIZE_OPS, status=STATUS_VERSION,
      params={"compiler": compiler_text(HALF_PIXEL_RESIZE_COMPILER)},
      hint="Resize with half_pixel_centers=False (e.g. the TF 2.2-era converter), or use compiler 16.")
def resize_half_pixel(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Compilers before {compiler} do not map resizes with half_pixel_centers (the op version TF 2.3+
    converters emit)."""
    if ctx.compiler_version[:2] < HALF_PIXEL_RESIZE_COMPILER and op.attrs.get("half_pixel_centers"):
        return f"half_pixel_centers=True, op version {op.version}, compiler {compiler_text(ctx.compiler_version)}"
    return None


@rule("CORAL-CONSTANT-PARAMS", applies_to=frozenset(PARAM_INPUTS), status=STATUS_NOT_CONSTANT,
      hint="Freeze weights and biases into the model (no weights fed as inputs or computed at run time).")
def constant_params(op: Op, graph: OpGraph, ctx: CoralContext) -> str | Detail | None:
    """Filters, biases and other parameters must be constant at compile time."""
    for position in PARAM_INPUTS[op.type]:
        t = input_tensor(op, graph, position)
        if t is not None and not t.is_constant:
            return Detail(f"parameter input {position} '{t.name}' is computed at run time", t.name)
    return None


@rule("CORAL-RANK", applies_to=ALL, exempt=RESIZE_OPS, params={"max_dims": MAX_INNER_DIMS}, status=STATUS_RANK,
      hint="Keep batch 1 and fold extra dimensions into the 3 innermost ones (e.g. [1,H,W,C], not [N,H,W,C]).")
def tensor_rank(op: Op, graph: OpGraph, ctx: CoralContext) -> str | Detail | None:
    """Tensors may have any rank, but only the {max_dims} innermost dimensions may be larger than 1."""
    return _first_beyond_inner_dims(op, graph, MAX_INNER_DIMS)


def _first_beyond_inner_dims(op: Op, graph: OpGraph, inner: int) -> Detail | None:
    return next((d for t in activations(op, graph) if (d := beyond_inner_dims(t, inner, "tensor"))), None)


@rule("CORAL-RESIZE-3D", applies_to=RESIZE_OPS, params={"max_dims": MAX_INNER_DIMS}, status=STATUS_RANK,
      hint="Resize one image at a time: [1,H,W,C].")
def resize_3d(op: Op, graph: OpGraph, ctx: CoralContext) -> str | Detail | None:
    """Resize input and output must be {max_dims}-dimensional tensors (leading dimensions of size 1)."""
    return _first_beyond_inner_dims(op, graph, MAX_INNER_DIMS)


@rule("CORAL-FUSED-ACTIVATION", applies_to=NO_FUSED_ACTIVATION_OPS, params={"ops": NO_FUSED_ACTIVATION_OPS},
      status=STATUS_UNSPECIFIED, hint="Apply the activation as a separate RELU/RELU6 op.")
def no_fused_activation(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """{ops} must not have a fused activation function."""
    act = op.attrs.get("fused_activation_function", "NONE")
    return f"fused activation {act}" if act not in ("NONE", 0, None) else None


@rule("CORAL-CONCAT-CONSTANT", applies_to={"CONCATENATION"}, status=STATUS_UNSPECIFIED,
      hint="Concatenate only computed tensors; use PAD for zero padding.")
def concat_constant_input(op: Op, graph: OpGraph, ctx: CoralContext) -> str | Detail | None:
    """If any CONCATENATION input is a constant, there must be exactly 2 inputs and the constant must be all
    zeros (a zero padding)."""
    inputs = [graph.tensors[n] for n in op.inputs if n in graph.tensors]
    for t in (t for t in inputs if t.is_constant):
        if len(inputs) != 2:
            return Detail(f"constant input '{t.name}' among {len(inputs)} inputs", t.name)
        # Contents of large constants are not read; those are given the benefit of the doubt.
        if t.value is not None and any(v != _zero_point(t) for v in _flat(t.value)):
            return Detail(f"constant input '{t.name}' is not all zeros", t.name)
    return None


def _zero_point(t: Tensor) -> int:
    """The stored value of real 0 for a quantized constant."""
    return t.quant.zero_point[0] if t.quant and t.quant.zero_point else 0


@rule("CORAL-DILATION-XY", applies_to={"CONV_2D", "DEPTHWISE_CONV_2D"}, status=STATUS_UNSPECIFIED,
      hint="Use the same dilation rate for height and width.")
def same_dilation(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Convolutions must use the same dilation in x and y."""
    w, h = op.attrs.get("dilation_wfactor", 1), op.attrs.get("dilation_hfactor", 1)
    return f"dilation {h}x{w} (h x w)" if w != h else None


@rule("CORAL-DEPTHWISE-DILATION-OLD", applies_to={"DEPTHWISE_CONV_2D"}, params={"runtime": OLD_RUNTIME},
      status=STATUS_UNSPECIFIED, hint="Target a newer runtime (compiler 2.0.291256449 or later).")
def depthwise_dilation_old_runtime(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Runtime {runtime} and older do not support dilated depthwise kernels (unverified)."""
    dilated = max(op.attrs.get("dilation_wfactor", 1), op.attrs.get("dilation_hfactor", 1)) > 1
    return f"dilated kernel, runtime {ctx.min_runtime}" if dilated and ctx.min_runtime <= OLD_RUNTIME else None


@rule("CORAL-FC-WEIGHTS-FORMAT", applies_to={"FULLY_CONNECTED"}, status=STATUS_UNSPECIFIED,
      hint="Convert without shuffled weight formats.")
def fc_default_weights_format(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Only the default weights format is supported for fully-connected weights."""
    fmt = op.attrs.get("weights_format", 0)
    return f"weights format {fmt}" if fmt not in (0, "DEFAULT", None) else None


@rule("CORAL-FC-OUTPUT-1D", applies_to={"FULLY_CONNECTED"}, status=STATUS_2D_OUTPUT,
      hint="Flatten before the dense layer (keep_num_dims=False) so its output is one-dimensional.")
def fc_output_1d(op: Op, graph: OpGraph, ctx: CoralContext) -> str | Detail | None:
    """A fully-connected output tensor must be one-dimensional (only the innermost dimension larger than 1)."""
    return beyond_inner_dims(output_tensor(op, graph), 1, "output")


@rule("CORAL-SOFTMAX-1D", applies_to={"SOFTMAX"}, status=STATUS_2D_OUTPUT,
      hint="Apply softmax to a flattened [1, N] tensor.")
def softmax_1d(op: Op, graph: OpGraph, ctx: CoralContext) -> str | Detail | None:
    """SOFTMAX input must be one-dimensional (only the innermost dimension larger than 1)."""
    return beyond_inner_dims(input_tensor(op, graph), 1, "input")


@rule("CORAL-SOFTMAX-SIZE", applies_to={"SOFTMAX"}, params={"max_elements": SOFTMAX_MAX_ELEMENTS},
      status=STATUS_UNSPECIFIED, hint="Reduce the number of classes, or run the softmax on the CPU at the end.")
def softmax_size(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """SOFTMAX supports at most {max_elements} elements (the table's "16,000"; 16,384 is observed mapped)."""
    t = input_tensor(op, graph)
    n = t.num_elements if t is not None and t.is_static else None
    return f"{n:,} elements" if n is not None and n > SOFTMAX_MAX_ELEMENTS else None


@rule("CORAL-REDUCE-BATCH", applies_to=BATCHLESS_REDUCE_OPS, params={"ops": BATCHLESS_REDUCE_OPS},
      status=STATUS_UNSPECIFIED, hint="Reduce over height, width or channels only.")
def reduce_not_batch(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """{ops} cannot reduce over the batch dimension."""
    axes = _reduction_axes(op, graph)
    return "reduces axis 0 (batch)" if axes and 0 in axes and _rank(op, graph) > 1 else None


def _rank(op: Op, graph: OpGraph) -> int:
    t = input_tensor(op, graph)
    return len(t.shape) if t is not None and t.shape is not None else 0


def _reduction_axes(op: Op, graph: OpGraph) -> list[int] | None:
    rank = _rank(op, graph)
    return axes_of(op, graph, 1, rank) if rank else None


@rule("CORAL-MEAN-Z", applies_to={"MEAN"}, params={"multiple": MEAN_Z_MULTIPLE}, status=STATUS_UNSPECIFIED,
      hint="Pad the channel dimension to a multiple of 4, or reduce over height and width only.")
def mean_z_multiple(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """A MEAN over the innermost (z) dimension needs that dimension to be a multiple of {multiple}."""
    axes, rank, t = _reduction_axes(op, graph), _rank(op, graph), input_tensor(op, graph)
    if not axes or rank - 1 not in axes or t is None or t.shape is None:
        return None
    z = t.shape[-1]
    return f"z dimension is {z}" if isinstance(z, int) and z % MEAN_Z_MULTIPLE else None


@rule("CORAL-MEAN-XY-OLD", applies_to={"MEAN"}, params={"runtime": OLD_RUNTIME}, status=STATUS_UNSPECIFIED,
      hint="Target runtime 13 or newer, or reduce over height and width only.")
def mean_xy_old_runtime(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Runtime {runtime} and older reduce MEAN along x and/or y only."""
    axes, rank = _reduction_axes(op, graph), _rank(op, graph)
    if ctx.min_runtime > OLD_RUNTIME or not axes or rank < 3:
        return None
    xy = {rank - 3, rank - 2}
    return f"reduces axes {axes}" if not set(axes) <= xy else None


@rule("CORAL-MEAN-SIZE", applies_to={"MEAN"}, severity="warning",
      params={"largest": MEAN_LARGEST_MAPPED_ELEMENTS}, status=STATUS_UNSPECIFIED,
      hint="Split the input (e.g. into row bands) and average the partial means.")
def mean_size(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Large MEAN inputs may not map: a 1x256x128x3 MEAN was refused while 1x64x128x3 ({largest} elements) mapped
    (google-coral/edgetpu#461; the exact limit is unpublished)."""
    t = input_tensor(op, graph)
    n = t.num_elements if t is not None and t.is_static else None
    return f"{n:,} input elements" if n is not None and n > MEAN_LARGEST_MAPPED_ELEMENTS else None


@rule("CORAL-PACK-BATCH", applies_to={"PACK"}, status=STATUS_UNSPECIFIED, hint="Pack along a non-batch axis.")
def pack_not_batch(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """PACK cannot pack in the batch dimension."""
    out = output_tensor(op, graph)
    rank = len(out.shape) if out is not None and out.shape is not None else 0
    axis = op.attrs.get("axis", 0)
    return "packs along axis 0 (batch)" if rank > 1 and axis % rank == 0 else None


@rule("CORAL-PAD-BATCH", applies_to={"PAD"}, status=STATUS_UNSPECIFIED, hint="Pad height, width or channels only.")
def pad_not_batch(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """PAD cannot pad the batch dimension."""
    pads = _paddings(op, graph)
    return f"batch padding {pads[0]}" if pads and len(pads) > 1 and any(pads[0]) else None


def _paddings(op: Op, graph: OpGraph) -> list[list[int]] | None:
    value = constant_value(graph, op.inputs[1]) if len(op.inputs) > 1 else None
    if value is None or value.size % 2:  # a paddings tensor is [rank, 2]; a corrupt one is not read
        return None
    return [[int(a), int(b)] for a, b in value.reshape(-1, 2).tolist()]


@rule("CORAL-PAD-XY-OLD", applies_to={"PAD"}, params={"runtime": OLD_RUNTIME}, status=STATUS_UNSPECIFIED,
      hint="Target runtime 13 or newer, or pad height and width only.")
def pad_xy_old_runtime(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Runtime {runtime} and older pad along x and/or y only."""
    pads = _paddings(op, graph)
    if ctx.min_runtime > OLD_RUNTIME or not pads or len(pads) < 3:
        return None
    rank = len(pads)
    off_xy = [axis for axis, p in enumerate(pads) if any(p) and axis not in (rank - 3, rank - 2)]
    return f"pads axes {off_xy}" if off_xy else None


@rule("CORAL-PRELU-ALPHA", applies_to={"PRELU"}, status=STATUS_UNSPECIFIED,
      hint="Share the PReLU parameters across height and width (Keras shared_axes=[1, 2]).")
def prelu_alpha_1d(op: Op, graph: OpGraph, ctx: CoralContext) -> str | Detail | None:
    """PReLU alpha must be one-dimensional (only the innermost dimension larger than 1)."""
    return beyond_inner_dims(input_tensor(op, graph, 1), 1, "alpha")


@rule("CORAL-RESIZE-LARGE", applies_to={"RESIZE_BILINEAR"}, params={"side": RESIZE_REFUSED_SIDE},
      status=STATUS_UNSPECIFIED,
      hint="Resize on the CPU after the model (or to a smaller size), e.g. upsample the final logits outside.")
def resize_bilinear_large(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """To avoid loss in precision, the compiler leaves large bilinear resizes on the CPU: outputs of {side} pixels
    a side or more were refused (google-coral/edgetpu#31: 256->512; a DeepLab in google-coral/test_data keeps one
    RESIZE_BILINEAR on the CPU, ref §3.4, by the shapes the Edge TPU slim variant's 33->513 logits resize)."""
    side = _output_side(op, graph)
    return f"output {side} pixels a side" if side is not None and side >= RESIZE_REFUSED_SIDE else None


def _output_side(op: Op, graph: OpGraph) -> int | None:
    """Largest spatial side (height or width of an NHWC output) of a resize."""
    out = output_tensor(op, graph)
    if out is None or out.shape is None or len(out.shape) < 3:
        return None
    sides = [d for d in out.shape[-3:-1] if isinstance(d, int)]
    return max(sides, default=None)


def _spatial(t: Tensor | None) -> tuple[int, int] | None:
    """(height, width) of an NHWC (or HWC) tensor, when both are known."""
    if t is None or t.shape is None or len(t.shape) < 3:
        return None
    h, w = t.shape[-3], t.shape[-2]
    return (h, w) if isinstance(h, int) and isinstance(w, int) else None


def _upscale(op: Op, graph: OpGraph) -> tuple[tuple[int, int], tuple[int, int], float] | None:
    """(input sides, output sides, largest upscale factor) of a resize with known spatial shapes."""
    src, dst = _spatial(input_tensor(op, graph)), _spatial(output_tensor(op, graph))
    if src is None or dst is None or min(src) < 1:
        return None
    return src, dst, max(dst[0] / src[0], dst[1] / src[1])


def _from_1x1(op: Op, graph: OpGraph) -> bool:
    """A bilinear upsample of a 1x1 input: the case CORAL-RESIZE-1X1 refuses."""
    up = _upscale(op, graph)
    return (op.type == "RESIZE_BILINEAR" and up is not None and up[0] == (RESIZE_BROADCAST_SIDE,) * 2
            and up[2] > 1)


def _factor_text(factor: float) -> str:
    return f"x{factor:g}" if factor == int(factor) else f"x{factor:.1f}"


@rule("CORAL-RESIZE-1X1", applies_to={"RESIZE_BILINEAR"}, params={"side": RESIZE_BROADCAST_SIDE},
      status=STATUS_UNSPECIFIED,
      hint="Broadcast the 1x1 tensor with TILE (tf.tile to the feature-map size) instead of resizing it, as "
           "Coral's Edge TPU DeepLab does: every output pixel of a resize from 1x1 is the input pixel, so TILE "
           "computes the same values and maps.")
def resize_bilinear_from_1x1(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """A bilinear resize that upsamples a {side}x{side} input (DeepLab's ASPP image pooling) stays on the CPU: the
    1x1 -> 33x33 image-pooling resize (align_corners) is the first CPU op of all four DeepLab v3 MobileNetV2 PASCAL
    builds in google-coral/test_data and google-coral/edgetpu, while Coral's Edge TPU DeepLab tiles that tensor
    instead and maps. Every case seen is x33, so the 1x1 input and the large factor are not told apart (1x1 -> 2x2
    and 2x2 -> 66x66 are untested); the rule assumes the 1x1 input."""
    if not _from_1x1(op, graph):
        return None
    (h, w), (oh, ow), factor = _upscale(op, graph)
    return f"{h}x{w} -> {oh}x{ow}, {_factor_text(factor)}"


@rule("CORAL-RESIZE-PRECISION", applies_to=RESIZE_OPS, severity="warning",
      params={"mapped": RESIZE_LARGEST_MAPPED_SIDE, "refused": RESIZE_REFUSED_SIDE}, status=STATUS_UNSPECIFIED,
      hint="If the compiler refuses it, resize by less or move the resize out of the model.")
def resize_precision(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Depending on input/output size, a resize might not be mapped, to avoid loss in precision: outputs up to
    {mapped} pixels a side are seen mapped, {refused} refused, sizes between are untested."""
    side = _output_side(op, graph)
    if side is None or not RESIZE_LARGEST_MAPPED_SIDE < side < RESIZE_REFUSED_SIDE:
        return None
    return f"output {side} pixels a side"


@rule("CORAL-RESIZE-FACTOR", applies_to=RESIZE_OPS, severity="warning",
      params={"factor": RESIZE_LARGEST_MAPPED_FACTOR}, status=STATUS_UNSPECIFIED,
      hint="If the compiler refuses it, upsample in smaller steps or move the resize out of the model.")
def resize_factor(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Upscale factors above x{factor} are untested: x{factor} is the largest seen mapped (MoveNet Lightning's
    6->12->24->48; google-coral/edgetpu#31: 64->128), and the larger ones seen (x33 from a 1x1 input, x15.5 to 513
    pixels) were refused for what may as well be the 1x1 input or the output size, so a large factor alone might
    keep a resize on the CPU."""
    up = _upscale(op, graph)
    if up is None or up[2] <= RESIZE_LARGEST_MAPPED_FACTOR or _from_1x1(op, graph):
        return None
    if op.type == "RESIZE_BILINEAR" and max(up[1]) >= RESIZE_REFUSED_SIDE:
        return None  # CORAL-RESIZE-LARGE refuses it already
    (h, w), (oh, ow), factor = up
    return f"{h}x{w} -> {oh}x{ow}, {_factor_text(factor)}"


@rule("CORAL-RESHAPE-SIZE", applies_to={"RESHAPE"}, severity="info", status=STATUS_UNSPECIFIED,
      hint="If the compiler refuses it, keep the reshaped tensor small or avoid the reshape.")
def reshape_size(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Certain reshapes might not be mapped for large tensor sizes (no threshold published)."""
    t = input_tensor(op, graph)
    n = t.byte_size if t is not None else None
    return f"{n:,} bytes reshaped" if n else None


@rule("CORAL-SPLIT-BATCH", applies_to={"SPLIT"}, status=STATUS_UNSPECIFIED, hint="Split along a non-batch axis.")
def split_not_batch(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """SPLIT cannot split the batch dimension (unverified)."""
    data = input_tensor(op, graph, 1)
    rank = len(data.shape) if data is not None and data.shape is not None else 0
    axes = axes_of(op, graph, 0, rank) if rank > 1 else None
    return "splits axis 0 (batch)" if axes == [0] else None


@rule("CORAL-SQUEEZE-OLD", applies_to={"SQUEEZE"}, params={"runtime": OLD_RUNTIME}, status=STATUS_UNSPECIFIED,
      hint="Target runtime 13 or newer, or squeeze leading dimensions only.")
def squeeze_leading_old_runtime(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """Runtime {runtime} and older squeeze only leading 1s (no relayout: [1,5,10] is fine, [5,1,10] is not)."""
    t = input_tensor(op, graph)
    if ctx.min_runtime > OLD_RUNTIME or t is None or t.shape is None:
        return None
    shape = list(t.shape)
    first_big = next((i for i, d in enumerate(shape) if d != 1), len(shape))
    inner_ones = [i for i, d in enumerate(shape) if d == 1 and i > first_big]
    return f"squeezes inner dimensions of {shape}" if inner_ones else None


@rule("CORAL-STRIDED-SLICE", applies_to={"STRIDED_SLICE"}, status=STATUS_UNSPECIFIED,
      hint="Use strides of 1 (a plain slice) and no ellipsis or new-axis masks.")
def strided_slice_plain(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """STRIDED_SLICE maps only with all strides 1 (effectively a SLICE), ellipsis_mask 0 and new_axis_mask 0."""
    problems = [f"{mask} {op.attrs[mask]}" for mask in ("ellipsis_mask", "new_axis_mask") if op.attrs.get(mask)]
    strides = constant_value(graph, op.inputs[3]) if len(op.inputs) > 3 else None
    if strides is not None and any(int(s) != 1 for s in _flat(strides)):
        problems.append(f"strides {_flat(strides)}")
    return ", ".join(problems) or None


@rule("CORAL-LSTM-WIDTH", applies_to={"UNIDIRECTIONAL_SEQUENCE_LSTM", "LSTM"}, severity="warning",
      params={"features": LSTM_SAFE_FEATURES}, status=STATUS_UNSPECIFIED,
      hint="Reduce the LSTM input width (e.g. a dense projection first).")
def lstm_width(op: Op, graph: OpGraph, ctx: CoralContext) -> str | None:
    """LSTM inputs wider than about {features} features may fail to compile (user report,
    google-coral/edgetpu#598)."""
    t = input_tensor(op, graph)
    width = t.shape[-1] if t is not None and t.shape else None
    return f"{width} input features" if isinstance(width, int) and width > LSTM_SAFE_FEATURES else None


# -- documentation ------------------------------------------------------------------------------------------

# -- memory fit and model kind (rules over the whole model's facts, evaluated by the target after the compile
#    prediction; ``predict`` and the truth benchmark never run them) -------------------------------------------

@dataclass(frozen=True)
class CoralModelFacts:
    """What the fit rules read: the model's parameters at 8 bits, the cache grant, and LLM facts."""

    param_bytes_8bit: int
    cache_bytes: int
    #: Ops of the graph the compiler would see (0 for a GGUF file: no graph at all).
    ops: int
    #: Parameters of a detected decoder LLM, else None.
    llm_params: int | None = None


@rule("CORAL-NO-GRAPH", scope="model", status=STATUS_PARSE_FAILED,
      hint="Export the model to ONNX or a full-integer quantized TFLite file; for an LLM, choose a device with "
           "DRAM for its weights ('edgefit compare').")
def no_op_graph(op: None, graph: OpGraph, facts: CoralModelFacts) -> str | None:
    """The Edge TPU compiler reads a quantized TFLite graph; this file holds no op graph (a GGUF file carries
    llama.cpp weights and metadata only), so there is nothing to compile."""
    return "no ops to compile" if facts.ops == 0 else None


@rule("CORAL-PARAMS-EXCEED-CACHE", scope="model", severity="warning",
      hint="Use a smaller model, split it across several Edge TPUs (-n, pipelining), or accept the streaming "
           "cost; 'edgefit compare' lists devices with DRAM for the weights.")
def params_exceed_cache(op: None, graph: OpGraph, facts: CoralModelFacts) -> str | None:
    """The model's parameters at 8 bits are larger than the on-chip parameter cache: at most the cache's worth
    of layers is cached and every other weight is streamed from host memory over the host link on every
    inference, which dominates latency (ref §1.2-1.3)."""
    if facts.param_bytes_8bit <= facts.cache_bytes:
        return None
    return (f"{facts.param_bytes_8bit:,} B of parameters vs a {facts.cache_bytes:,} B cache: "
            f"{facts.param_bytes_8bit / max(facts.cache_bytes, 1):,.0f}x")


@rule("CORAL-LLM", scope="model", severity="warning",
      hint="Run the LLM on a device with DRAM bandwidth for its weights (Jetson, Apple, Raspberry Pi 5 CPU, "
           "Hailo-10H); see 'edgefit compare'.")
def decoder_llm(op: None, graph: OpGraph, facts: CoralModelFacts) -> str | None:
    """This is a decoder-only LLM. The Edge TPU has no LLM runtime: its ~8 MB of SRAM holds a tiny fraction of
    the weights, the rest would stream over USB/PCIe for every generated token, and the embedding lookup
    (GATHER) and attention matmuls (BATCH_MATMUL) are not Edge TPU ops (ops table), so everything from the
    first of them runs on the host CPU."""
    if facts.llm_params is None:
        return None
    return f"{facts.llm_params:,} parameters, {facts.llm_params:,} B at 8 bits vs a {facts.cache_bytes:,} B cache"


#: Rules over the model's facts (``CoralModelFacts``) rather than the compiler's view of the graph.
FIT_RULE_CODES = ("CORAL-NO-GRAPH", "CORAL-PARAMS-EXCEED-CACHE", "CORAL-LLM")


def coral_fit_rules() -> list[Rule]:
    return [r for r in all_rules("CORAL-") if r.code in FIT_RULE_CODES]


def coral_rules() -> list[Rule]:
    """The compiler rules, in precedence order (the fit rules are separate: see ``coral_fit_rules``)."""
    return [r for r in all_rules("CORAL-") if r.code not in FIT_RULE_CODES]


def generate_docs() -> str:
    """Markdown listing every Coral rule: code, message, severity, compiler status and hint."""
    lines = [
        "# Coral Edge TPU rules",
        "",
        "Generated by `edgefit.rules.coral.write_docs()`; do not edit by hand. Each rule's message is filled from "
        "the same constants its check uses. Rules are listed in precedence order: an op that breaks several gets "
        "the compiler status of the first error. Model-level rules are compile failures (no Edge TPU model is "
        "produced).",
        "",
        "Options: `coral.compiler_version` (default `16.0`), `coral.min_runtime` (default: 14 for compiler 16, "
        "13 for 14.1/15.0), `memory.param_cache_bytes`, `toolchain.partitioning` "
        "(`single_subgraph` | `multi_subgraph`), `toolchain.segments`.",
        "",
    ]
    for r in [*coral_rules(), *coral_fit_rules()]:
        scope = "model" if r.scope == "model" else ("all ops" if r.applies_to is None
                                                     else ", ".join(sorted(r.applies_to)))
        lines += [f"## {r.code}", "", r.doc, "", f"- applies to: {scope}", f"- severity: {r.severity}"]
        if r.status:
            lines.append(f"- compiler status: `{r.status}`")
        if r.hint:
            lines.append(f"- hint: {r.hint}")
        lines.append("")
    lines += [
        "## Placement statuses set by the partitioner",
        "",
        f"- `{STATUS_MAPPED}`: the op runs inside an Edge TPU subgraph.",
        f"- `{STATUS_MULTI_SUBGRAPH}`: the op could map, but it depends (by data flow) on a CPU op that follows "
        "Edge TPU ops; without `-a` the compiler builds a single Edge TPU subgraph, so it runs on the CPU.",
        f"- `{DEAD_STATUS}`: no output of the op is used; the compiler drops it from the compiled model.",
        "",
    ]
    return "\n".join(lines)


def write_docs(path: str | Path = DOCS_PATH) -> Path:
    """Regenerate ``docs/devices/coral.md`` from the rules and the device specs."""
    return write_doc(generate_docs(), path)
