"""Lower an ONNX graph into the TFLite builtin dialect, the way a converter would emit it.

The result is what onnx2tf (or ONNX -> TensorFlow -> ``TFLiteConverter`` with full-integer post-training
quantization) produces for the same network, so the Coral rules written against TFLite apply unchanged:

* Ops get TFLite builtin types and option attributes named as ``edgefit.read.tflite`` names them.
* 4-D (and 3-D/5-D) activations of channel-first ops are NHWC. Layout is tracked lazily: every lowered tensor
  remembers which ONNX axis each of its axes holds (``_Val.perm``); ONNX ``Transpose`` only changes that record, and
  a real ``TRANSPOSE`` is emitted only where a consumer needs an order the tensor does not have. The layout
  Transposes a converter removes therefore never appear.
* Constant-only subgraphs are folded (with ``onnx.reference`` where values are needed), ``Identity``/``Dropout``
  disappear, ``QuantizeLinear``/``DequantizeLinear`` pairs fold into int8 ops.
* Converter peepholes run on the lowered graph: activations fuse into their producer, ``Sqrt``+``Reciprocal``
  becomes ``RSQRT``, ``(a-b)*(a-b)`` becomes ``SQUARED_DIFFERENCE``, the Erf/Tanh GELU patterns become ``GELU``,
  per-channel constant ``Add``/``Mul`` after a convolution fold into its bias and weights.
* A float model is lowered as if fully int8 post-training quantized (int8 I/O and activations, int8 per-channel
  weights, int32 biases; scales unknown, so NaN). Ops the TFLite quantizer cannot quantize stay float between
  ``DEQUANTIZE``/``QUANTIZE``, as in a real converted file.
* An ONNX op with no TFLite builtin becomes ``FLEX:<OnnxType>`` (domain ``flex``: a converter needs a Select-TF op
  or fails); an op from a non-standard domain becomes ``CUSTOM:<OnnxType>`` (domain ``custom``). Each such op, and
  anything else the lowering cannot express exactly, gets a ``LoweringNote``.
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import onnx
from onnx import helper, numpy_helper
from tflite.BuiltinOperator import BuiltinOperator
from tflite.TensorType import TensorType

from edgefit.graph import Dim, Model, Op, OpGraph, QuantParams, Tensor
from edgefit.lower import LoweredGraph, LoweringNote

# -- note codes ---------------------------------------------------------------------------------------------------

#: The model is float: lowered as if full-integer int8 post-training quantized.
ASSUMED_INT8 = "LOWER-ASSUMED-INT8"
#: A standard ONNX op (or variant of one) with no TFLite builtin: became ``FLEX:<OnnxType>``.
NO_BUILTIN = "LOWER-NO-TFLITE-BUILTIN"
#: An op from a non-standard domain (or a model-local function): became ``CUSTOM:<OnnxType>``.
CUSTOM_DOMAIN = "LOWER-CUSTOM-OP"
#: A tf2onnx ``TFL_<BUILTIN>`` pass-through node, mapped back to the builtin it stands for.
TF2ONNX_PASSTHROUGH = "LOWER-TF2ONNX-PASSTHROUGH"
#: An op the TFLite quantizer keeps in float inside an int8 model: wrapped in DEQUANTIZE/QUANTIZE.
FLOAT_FALLBACK = "LOWER-FLOAT-FALLBACK"
#: Shapes needed to lower an op exactly are dynamic; the lowered op is the converter's, its operands approximate.
DYNAMIC_SHAPE = "LOWER-DYNAMIC-SHAPE"
#: Control flow: lowered to IF/WHILE with lowered bodies; the ONNX loop condition stays inside the WHILE body.
CONTROL_FLOW = "LOWER-CONTROL-FLOW"
#: Lowering an op failed unexpectedly; it was kept as ``FLEX:<OnnxType>`` so the rest of the graph still lowers.
LOWERING_FAILED = "LOWER-FAILED"

#: Where the lowering's own errors go: set EDGEFIT_LOWER_STRICT=1 to raise them instead of noting them (tests).
_STRICT = os.environ.get("EDGEFIT_LOWER_STRICT", "") not in ("", "0")

# -- dtypes and TFLite facts --------------------------------------------------------------------------------------

_FLOAT_DTYPES = frozenset({"float32", "float16", "float64", "bfloat16"})
_QUANT_DTYPES = frozenset({"int8", "uint8", "int16", "int4", "uint4"})
_NAN = float("nan")
_TFLITE_TYPE = {name.lower(): code for name, code in vars(TensorType).items() if not name.startswith("_")}
_TFLITE_TYPE["float32"] = TensorType.FLOAT32
_BUILTINS = frozenset(k for k, v in vars(BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int))

#: TFLite ops the converter's int8 quantizer handles (``QuantizableResult`` in tfl_ops.td, plus the weight-only
#: LSTM). Any other op computing on real values stays float inside an int8 model, between DEQUANTIZE/QUANTIZE.
_INT8_OPS = frozenset({
    "ABS", "ADD", "ARG_MAX", "ARG_MIN", "AVERAGE_POOL_2D", "BATCH_MATMUL", "BATCH_TO_SPACE_ND", "BROADCAST_TO",
    "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "EMBEDDING_LOOKUP", "EQUAL", "EXP",
    "EXPAND_DIMS", "FILL", "FULLY_CONNECTED", "GATHER", "GATHER_ND", "GELU", "GREATER", "GREATER_EQUAL",
    "HARD_SWISH", "L2_NORMALIZATION", "LEAKY_RELU", "LESS", "LESS_EQUAL", "LOG", "LOGISTIC", "LOG_SOFTMAX",
    "MAXIMUM", "MAX_POOL_2D", "MEAN", "MINIMUM", "MIRROR_PAD", "MUL", "ONE_HOT", "PACK", "PAD", "PADV2", "PRELU",
    "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "RELU", "RELU6", "RELU_0_TO_1", "RELU_N1_TO_1", "RESHAPE",
    "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "REVERSE_V2", "RSQRT", "SCATTER_ND", "SELECT", "SELECT_V2",
    "SHAPE", "SLICE", "SOFTMAX", "SPACE_TO_BATCH_ND", "SPACE_TO_DEPTH", "SPLIT", "SPLIT_V", "SQUARED_DIFFERENCE",
    "SQUEEZE", "STRIDED_SLICE", "SUB", "SUM", "TANH", "TILE", "TOPK_V2", "TRANSPOSE", "TRANSPOSE_CONV", "UNPACK",
    "UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM",
    "IF", "WHILE",  # control flow passes on what its (equally quantized) bodies compute
})
#: Ops with a non-real result (bool, index, shape) that read int8 inputs directly.
_INT8_INPUT_OPS = frozenset({"EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "ARG_MAX",
                             "ARG_MIN", "SHAPE", "RANK"})
#: Output quantization fixed by the int8 kernel (scale, zero point), from the ops' FixedOutputRangeInterface.
_FIXED_OUTPUT_QUANT = {"LOGISTIC": (1 / 256, -128), "SOFTMAX": (1 / 256, -128), "TANH": (1 / 128, 0),
                       "LOG_SOFTMAX": (16 / 256, 127), "L2_NORMALIZATION": (1 / 128, 0)}
#: Ops that keep their input's scale (SameOperandsAndResultsScale): int8 outputs copy the input quantization.
_SAME_SCALE_OPS = frozenset({"RESHAPE", "TRANSPOSE", "SQUEEZE", "EXPAND_DIMS", "GATHER", "GATHER_ND",
                             "STRIDED_SLICE", "SLICE", "SPLIT", "SPLIT_V", "PAD", "PADV2", "MIRROR_PAD",
                             "MAX_POOL_2D", "AVERAGE_POOL_2D", "CONCATENATION", "DEPTH_TO_SPACE",
                             "SPACE_TO_DEPTH", "BROADCAST_TO", "TILE", "REDUCE_MAX", "REDUCE_MIN", "PACK",
                             "UNPACK", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "MAXIMUM", "MINIMUM",
                             "SELECT_V2", "TOPK_V2", "REVERSE_V2", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND"})
#: Weight operand (index, per-channel quantization axis in the TFLite layout) and bias operand of affine ops.
_WEIGHT_OPERAND = {"CONV_2D": (1, 0), "DEPTHWISE_CONV_2D": (1, 3), "FULLY_CONNECTED": (1, 0),
                   "TRANSPOSE_CONV": (1, 0), "CONV_3D": (1, 4)}
_BIAS_OPERAND = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "TRANSPOSE_CONV": 3, "CONV_3D": 2}
#: Ops that accept int8 weights with float activations (dynamic-range "hybrid" kernels).
_HYBRID_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL",
                         "EMBEDDING_LOOKUP", "GATHER", "UNIDIRECTIONAL_SEQUENCE_LSTM"})
#: Standalone activations the converter fuses into the op before them, and into which ops.
_FUSED_ACTIVATION = {"RELU": "RELU", "RELU6": "RELU6", "RELU_N1_TO_1": "RELU_N1_TO_1", "TANH": "TANH"}
_ACTIVATION_HOSTS = {
    "RELU": {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "ADD", "SUB", "MUL", "DIV",
             "AVERAGE_POOL_2D", "MAX_POOL_2D", "CONV_3D"},
    "TANH": {"CONV_2D", "DEPTHWISE_CONV_2D"},
}
_ACTIVATION_HOSTS["RELU6"] = _ACTIVATION_HOSTS["RELU_N1_TO_1"] = _ACTIVATION_HOSTS["RELU"]
#: Int8 op versions (tensorflow/lite/tools/versioning/op_version.cc); other int8 ops are version 2, float ops 1.
_INT8_VERSION = {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 4, "TRANSPOSE_CONV": 3,
                 "RESHAPE": 1, "HARD_SWISH": 1, "QUANTIZE": 1, "PRELU": 1, "GATHER_ND": 1, "SHAPE": 1,
                 "UNIDIRECTIONAL_SEQUENCE_LSTM": 1, "BIDIRECTIONAL_SEQUENCE_LSTM": 1, "CAST": 1}
#: ONNX ops whose result is random: never constant-folded.
_NONDETERMINISTIC = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                               "Multinomial", "Bernoulli"})
#: Ops that only move data: on a quantized (int8) constant they stay quantized when folded.
_DATA_MOVEMENT = frozenset({"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity"})
#: Values of folded constants are kept up to this many bytes (shape arithmetic needs them; weights do not).
_MAX_FOLDED_BYTES = 1 << 20


class _Unlowerable(Exception):
    """Raised by a handler (before it emits anything) when the op's variant has no TFLite lowering."""

    def __init__(self, reason: str, code: str = NO_BUILTIN):
        super().__init__(reason)
        self.reason = reason
        self.code = code


# -- layout helpers -----------------------------------------------------------------------------------------------

Perm = tuple[int, ...]


def _identity(rank: int) -> Perm:
    return tuple(range(rank))


def _channel_last(rank: int) -> Perm:
    """NCHW -> NHWC (and NCL -> NLC, NCDHW -> NDHWC): lowered axis i holds ONNX axis perm[i]."""
    return (0, *range(2, rank), 1) if rank >= 3 else _identity(rank)


def _permute(seq: Sequence[Any], perm: Perm) -> tuple[Any, ...]:
    return tuple(seq[p] for p in perm)


def _inverse(perm: Perm) -> Perm:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


def _same_memory_order(a: Perm, b: Perm, shape: Sequence[Dim]) -> bool:
    """Whether layouts ``a`` and ``b`` of a tensor differ only in where its size-1 axes sit (a reshape, not a
    transpose). Unknown sizes count as non-1."""
    return [p for p in a if shape[p] != 1] == [p for p in b if shape[p] != 1]


def _drop_axes(perm: Perm, axes: Iterable[int]) -> Perm:
    """The layout left after removing ONNX ``axes`` (a keep_dims=False reduction, a squeeze)."""
    gone = sorted(set(axes))
    return tuple(p - sum(a < p for a in gone) for p in perm if p not in gone)


def _insert_axes(perm: Perm, axes: Iterable[int]) -> Perm:
    """The layout after inserting new size-1 ONNX ``axes`` (unsqueeze): each new axis goes right before the first
    lowered axis holding a later ONNX axis, so an identity layout stays identity."""
    new = sorted(set(axes))
    out_rank = len(perm) + len(new)
    old_axes = [a for a in range(out_rank) if a not in new]  # ONNX output axis of each input axis
    result = [old_axes[p] for p in perm]
    for a in new:
        pos = next((i for i, q in enumerate(result) if q > a), len(result))
        result.insert(pos, a)
    return tuple(result)


def _static(shape: Sequence[Dim] | None) -> bool:
    return shape is not None and all(isinstance(d, int) for d in shape)


def _int32(values: Iterable[int]) -> np.ndarray:
    """Int32 operand values, clamped the way TFLite clamps out-of-range slice bounds."""
    return np.clip(np.asarray(list(values), dtype=np.int64), -(2**31), 2**31 - 1).astype(np.int32)


def _normalize_axis(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


def _lowered_dtype(onnx_dtype: str) -> str:
    """TFLite computes float tensors in float32 (float16 weights are a storage detail)."""
    return "float32" if onnx_dtype in _FLOAT_DTYPES else onnx_dtype


def _placeholder_quant(channels: int | None = None, axis: int | None = None) -> QuantParams:
    """Quantization of a tensor an uncalibrated float model would get: int8, scale unknown (NaN)."""
    if channels is None or channels <= 1:
        return QuantParams((_NAN,), (0,))
    return QuantParams((_NAN,) * channels, (0,) * channels, axis)


# -- the lowering of one graph ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Val:
    """The lowered form of an ONNX activation: tensor name, and which ONNX axis each lowered axis holds."""

    name: str
    perm: Perm


@dataclass(slots=True)
class _Const:
    """An ONNX tensor known at conversion time. Quantized constants (DequantizeLinear of int8 weights) keep their
    int8 values and quantization, axis in ONNX terms."""

    dtype: str
    shape: tuple[Dim, ...] | None
    value: np.ndarray | None = None
    quant: QuantParams | None = None

    def real_value(self) -> np.ndarray | None:
        """The value as the ONNX graph sees it (dequantized for quantized constants)."""
        if self.value is None or self.quant is None:
            return self.value
        scale = np.asarray(self.quant.scale, dtype=np.float32)
        zp = np.asarray(self.quant.zero_point, dtype=np.float32)
        v = self.value.astype(np.float32)
        if self.quant.axis is not None and v.ndim:
            shape = [1] * v.ndim
            shape[self.quant.axis] = -1
            scale, zp = scale.reshape(shape), zp.reshape(shape)
        return (v - zp) * scale


class _GraphLowering:
    """Lowers one ONNX graph (the main graph or a control-flow body) into TFLite builtin ops."""

    def __init__(self, src: OpGraph, opsets: dict[str, int], notes: list[LoweringNote],
                 parent: _GraphLowering | None = None):
        self.src = src
        self.opsets = opsets
        self.opset = opsets.get("ai.onnx", 13)
        self.notes = notes
        self.parent = parent
        self.ops: list[Op] = []
        self.tensors: dict[str, Tensor] = {}
        self.vals: dict[str, _Val] = {}
        self.consts: dict[str, _Const] = dict(parent.consts) if parent else {}
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        #: (ONNX tensor, layout) -> lowered tensor already holding it in that layout.
        self._layout_cache: dict[tuple[str, Perm], str] = {}
        self._const_cache: dict[tuple[Any, ...], str] = {}
        self._op_names: set[str] = set()
        #: The ONNX node being lowered: source of every op emitted meanwhile.
        self.node: Op | None = None
        #: Types of names the lowering invents or imports (ONNX-level; the model itself is never modified).
        self.info: dict[str, Tensor] = {}
        #: Lowered control-flow bodies of the whole model, nested ones included, in registration order.
        self.registry: list[OpGraph] = parent.registry if parent else []
        self.assumed_int8 = parent.assumed_int8 if parent else False
        #: Run the quantization passes (off: the float TFLite graph a converter builds before quantizing).
        self.quantize = parent.quantize if parent else True

    # -- what the ONNX graph says ---------------------------------------------------------------------------

    def shape(self, name: str) -> tuple[Dim, ...] | None:
        c = self.consts.get(name)
        if c is not None and c.shape is not None:
            return tuple(c.shape)
        t = self.info.get(name) or self.src.tensors.get(name)
        if t is not None and t.shape is not None:
            return tuple(t.shape)
        if c is not None and c.value is not None:
            return tuple(c.value.shape)
        return None

    def rank(self, name: str) -> int | None:
        s = self.shape(name)
        return None if s is None else len(s)

    def dtype(self, name: str) -> str:
        c = self.consts.get(name)
        if c is not None:
            return "float32" if c.quant is not None else c.dtype
        t = self.info.get(name) or self.src.tensors.get(name)
        return t.dtype if t is not None else "unknown"

    def const(self, name: str | None) -> _Const | None:
        return self.consts.get(name) if name else None

    def const_value(self, name: str | None) -> np.ndarray | None:
        c = self.const(name)
        return None if c is None else c.real_value()

    def const_ints(self, name: str | None) -> list[int] | None:
        v = self.const_value(name)
        return None if v is None else [int(x) for x in np.ravel(v)]

    def const_float(self, name: str | None) -> float | None:
        v = self.const_value(name)
        return float(np.ravel(v)[0]) if v is not None and v.size == 1 else None

    def used(self, name: str) -> bool:
        """Whether an ONNX value is read by an op or is a graph output."""
        return bool(name) and (bool(self.src.consumers(name)) or name in self.src.outputs)

    def input(self, op: Op, i: int) -> str | None:
        """The op's i-th input name, ``None`` when absent or omitted."""
        return op.inputs[i] if i < len(op.inputs) and op.inputs[i] else None

    def attr_or_input_ints(self, op: Op, attr: str, index: int) -> list[int] | None:
        """An int list given as attribute (old opsets) or constant input (new ones)."""
        if attr in op.attrs:
            return [int(x) for x in op.attrs[attr]]
        name = self.input(op, index)
        if name is None:
            return None
        values = self.const_ints(name)
        if values is None:
            raise _Unlowerable(f"input {index} ({attr}) is computed at run time", DYNAMIC_SHAPE)
        return values

    # -- building the lowered graph -------------------------------------------------------------------------

    def tensor(self, base: str, dtype: str, shape: Sequence[Dim] | None, *, quant: QuantParams | None = None,
               constant: bool = False, value: np.ndarray | None = None) -> str:
        name, k = base, 1
        while name in self.tensors:
            k += 1
            name = f"{base}#{k}"
        self.tensors[name] = Tensor(name, dtype, None if shape is None else tuple(shape), is_constant=constant,
                                    quant=quant, value=value)
        return name

    def new_const(self, value: np.ndarray | None, dtype: str, shape: Sequence[Dim], label: str,
                  quant: QuantParams | None = None) -> str:
        small = value is not None and value.nbytes <= 4096
        return self.tensor(label, dtype, shape, constant=True, quant=quant, value=value if small else None)

    def int32_operand(self, values: Iterable[int], *, scalar: bool = False) -> str:
        """An int32 constant operand (shape, axes, perm, paddings); identical ones are shared, as in a converter."""
        arr = _int32(values)
        if scalar:
            arr = arr.reshape(())
        key = ("int32", arr.shape, arr.tobytes())
        if key not in self._const_cache:
            base = (self.node.name if self.node else "const") + "/int32"
            self._const_cache[key] = self.new_const(arr, "int32", arr.shape, base)
        return self._const_cache[key]

    def shape_operand(self, shape: Sequence[Dim]) -> str:
        """Shape operand of a RESHAPE: static sizes, -1 for a dynamic one."""
        return self.int32_operand([d if isinstance(d, int) else -1 for d in shape])

    def scalar_operand(self, value: float, dtype: str = "float32") -> str:
        arr = np.asarray(value, dtype=np.float32 if dtype == "float32" else dtype)
        key = (dtype, arr.tobytes())
        if key not in self._const_cache:
            base = (self.node.name if self.node else "const") + "/scalar"
            self._const_cache[key] = self.new_const(arr, dtype, (), base)
        return self._const_cache[key]

    def emit(self, type_: str, inputs: Sequence[str], outputs: Sequence[str], attrs: dict[str, Any] | None = None,
             *, label: str | None = None) -> Op:
        node = self.node
        base = node.name if node is not None else type_.lower()
        if label is not None:
            base = f"{base}/{label}"
        name = self.op_name(base)
        domain = "flex" if type_.startswith("FLEX:") else "custom" if type_.startswith("CUSTOM:") else "tflite"
        op = Op(index=len(self.ops), name=name, type=type_, domain=domain, version=None, inputs=list(inputs),
                outputs=list(outputs), attrs=dict(attrs or {}), source_nodes=(node.name,) if node else ())
        self.ops.append(op)
        return op

    def note(self, code: str, message: str, node: Op | None = None) -> None:
        node = node or self.node
        self.notes.append(LoweringNote(code, message, node.name if node else None))

    # -- values and layouts ---------------------------------------------------------------------------------

    def output(self, name: str, perm: Perm | None = None, *, dtype: str | None = None,
               shape: Sequence[Dim] | None = None, quant: QuantParams | None = None) -> str:
        """Create the lowered tensor of ONNX output ``name`` in layout ``perm`` and record it."""
        onnx_shape = self.shape(name)
        if perm is None:
            perm = _identity(len(onnx_shape)) if onnx_shape is not None else ()
        if shape is None and onnx_shape is not None and len(onnx_shape) == len(perm):
            shape = _permute(onnx_shape, perm)
        lowered = self.tensor(name, dtype or _lowered_dtype(self.dtype(name)), shape, quant=quant)
        self.define(name, lowered, perm)
        return lowered

    def define(self, name: str, lowered: str, perm: Perm) -> None:
        self.vals[name] = _Val(lowered, perm)

    def val(self, name: str) -> _Val:
        v = self.vals.get(name)
        if v is not None:
            return v
        if name in self.consts:
            rank = self.rank(name)
            perm = _identity(rank) if rank is not None else ()
            return _Val(self.const_tensor(name, perm), perm)
        # Produced by nothing lowered (an op that failed to declare it, a dangling name): an opaque input.
        lowered = self.tensor(name, _lowered_dtype(self.dtype(name)), self.shape(name))
        self.define(name, lowered, _identity(self.rank(name) or 0))
        return self.vals[name]

    def perm_of(self, name: str) -> Perm:
        rank = self.rank(name)
        if name in self.vals:
            return self.vals[name].perm
        return _identity(rank) if rank is not None else ()

    def need(self, name: str, want: Perm | None = None) -> str:
        """Lowered tensor holding ONNX tensor ``name`` in layout ``want`` (identity by default)."""
        shape = self.shape(name)
        if want is None:
            want = _identity(len(shape)) if shape is not None else ()
        if name in self.consts and name not in self.vals:
            return self.const_tensor(name, want)
        v = self.val(name)
        if v.perm == want or shape is None or len(shape) != len(want) or len(v.perm) != len(want):
            return v.name
        key = (name, want)
        if key not in self._layout_cache:
            self._layout_cache[key] = self.relayout(v.name, shape, v.perm, want)
        return self._layout_cache[key]

    def relayout(self, lowered: str, shape: Sequence[Dim], have: Perm, want: Perm) -> str:
        """Emit what turns ``lowered`` (ONNX ``shape`` in layout ``have``) into layout ``want``."""
        if have == want:
            return lowered
        src = self.tensors[lowered]
        want_shape = _permute(shape, want)
        if _same_memory_order(have, want, shape):
            if src.shape == want_shape:
                return lowered
            out = self.tensor(f"{lowered}/reshaped", src.dtype, want_shape, quant=src.quant)
            self.emit("RESHAPE", [lowered, self.shape_operand(want_shape)], [out], label="reshape")
            return out
        perm = tuple(have.index(w) for w in want)
        quant = src.quant
        if quant is not None and quant.axis is not None:
            quant = replace(quant, axis=perm.index(quant.axis))
        out = self.tensor(f"{lowered}/transposed", src.dtype, want_shape, quant=quant)
        self.emit("TRANSPOSE", [lowered, self.int32_operand(perm)], [out], label="transpose")
        return out

    def const_tensor(self, name: str, perm: Perm | None = None, *, as_shape: Sequence[Dim] | None = None,
                     axis_shift: int | None = None) -> str:
        """Lowered constant for ONNX constant ``name``: reshaped to ``as_shape``, then laid out in ``perm``.

        ``as_shape`` pads leading axes (broadcast alignment) unless ``axis_shift`` says how far the per-channel
        quantization axis moves."""
        c = self.consts[name]
        shape = tuple(as_shape) if as_shape is not None else self.shape(name)
        if shape is None:
            shape = ()
        if perm is None or len(perm) != len(shape):
            perm = _identity(len(shape))
        key = ("onnx", name, perm, shape, axis_shift)
        if key in self._const_cache:
            return self._const_cache[key]
        value = c.value
        if value is not None:
            try:
                value = np.transpose(value.reshape(shape), perm) if shape else value
            except ValueError:
                value = None
        quant = c.quant
        if quant is not None and quant.axis is not None:
            base_rank = self.rank(name) or len(shape)
            axis = quant.axis + (len(shape) - base_rank if axis_shift is None else axis_shift)
            quant = replace(quant, axis=perm.index(axis) if 0 <= axis < len(perm) else None)
        dtype = c.dtype if c.quant is not None else _lowered_dtype(c.dtype)
        lowered = self.tensor(name, dtype, _permute(shape, perm), constant=True, quant=quant,
                              value=value if value is not None and value.nbytes <= 4096 else None)
        self._const_cache[key] = lowered
        return lowered

    def operand(self, name: str, out_rank: int, perm: Perm) -> str:
        """An elementwise operand broadcast against an output of rank ``out_rank`` laid out in ``perm``."""
        shape = self.shape(name)
        if shape is None or len(shape) == out_rank:
            return self.need(name, perm if shape is not None else None)
        if len(shape) == 0:
            return self.need(name, ())
        full = (1,) * (out_rank - len(shape)) + tuple(shape)
        if name in self.consts and name not in self.vals:
            return self.const_tensor(name, perm, as_shape=full)
        lowered = self.need(name)
        if perm == _identity(out_rank):
            return lowered  # TFLite broadcasts trailing axes like numpy
        src = self.tensors[lowered]
        expanded = self.tensor(f"{lowered}/expanded", src.dtype, full, quant=src.quant)
        self.emit("RESHAPE", [lowered, self.shape_operand(full)], [expanded], label="expand")
        return self.relayout(expanded, full, _identity(out_rank), perm)

    def common_perm(self, names: Iterable[str | None], out_rank: int) -> Perm:
        """The layout most full-rank activation operands already have (first one on a tie)."""
        votes: Counter[Perm] = Counter()
        for n in names:
            if n and n in self.vals and self.rank(n) == out_rank:
                votes[self.vals[n].perm] += 1
        if not votes:
            return _identity(out_rank)
        best = max(votes.values())
        return next(p for p, k in votes.items() if k == best)

    def lowered_axis(self, name: str, axis: int) -> int:
        """Where ONNX ``axis`` of ``name`` sits in its current lowered layout."""
        perm = self.perm_of(name)
        axis = _normalize_axis(axis, len(perm))
        return perm.index(axis)

    # -- constant folding -----------------------------------------------------------------------------------

    def try_fold(self, op: Op) -> bool:
        """Fold ``op`` away if its result is known at conversion time, as the converter's constant folding does."""
        if op.domain != "ai.onnx" or op.type in _NONDETERMINISTIC or op.bodies or op.function:
            return False
        outputs = [o for o in op.outputs if o]
        if not outputs:
            return False
        if op.type == "Constant":
            for o in outputs:
                t = self.src.tensors.get(o)
                self.consts.setdefault(o, _Const(t.dtype if t else "unknown", t.shape if t else None,
                                                 t.value if t else None))
            return True
        if op.type in ("Shape", "Size"):
            return self._fold_shape(op)
        inputs = [i for i in op.inputs if i]
        if not inputs or not all(i in self.consts for i in inputs):
            return False
        if op.type == "DequantizeLinear" and self.consts[inputs[0]].dtype not in _FLOAT_DTYPES:
            self.consts[outputs[0]] = self._dequantized_const(op)
            return True
        if op.type == "QuantizeLinear":
            values = self._evaluate(op, {i: self.consts[i].real_value() for i in inputs})
            self.consts[outputs[0]] = self._quantized_const(op, values[0] if values else None)
            return True
        first = self.consts[inputs[0]]
        if op.type in _DATA_MOVEMENT and first.quant is not None:
            values = self._evaluate(op, {i: self.consts[i].value if i == inputs[0] else self.consts[i].real_value()
                                         for i in inputs})
            folded = self._folded(outputs[0], values[0] if values else None, like=first)
            folded.quant = self._moved_quant(op, first.quant, folded.shape)
            self.consts[outputs[0]] = folded
            return True
        values = self._evaluate(op, {i: self.consts[i].real_value() for i in inputs})
        for k, o in enumerate(op.outputs):
            if o:
                self.consts[o] = self._folded(o, values[k] if values is not None and k < len(values) else None)
        return True

    def _fold_shape(self, op: Op) -> bool:
        x = self.input(op, 0)
        shape = self.shape(x) if x else None
        if not _static(shape):
            return False
        dims = list(shape)
        if op.type == "Shape":
            start, end = op.attrs.get("start", 0), op.attrs.get("end", len(dims))
            value = np.asarray(dims[start:end], dtype=np.int64)
        else:
            value = np.asarray(math.prod(dims), dtype=np.int64)
        self.consts[op.outputs[0]] = _Const("int64", value.shape, value)
        return True

    def _folded(self, name: str, value: Any, like: _Const | None = None) -> _Const:
        info = self.info.get(name) or self.src.tensors.get(name)
        if value is not None:
            value = np.asarray(value)
            keep = value if value.nbytes <= _MAX_FOLDED_BYTES else None
            return _Const(str(value.dtype), tuple(value.shape), keep)
        dtype = like.dtype if like is not None else (info.dtype if info else "unknown")
        return _Const(dtype, info.shape if info else None)

    def _quant_of(self, op: Op, rank: int | None) -> QuantParams | None:
        """Quantization given by a QuantizeLinear/DequantizeLinear node's scale and zero-point inputs (ONNX axis)."""
        scale_name = self.input(op, 1)
        scales = self.const_value(scale_name)
        zp = self.const_value(self.input(op, 2))
        if scales is not None:
            scale_t = tuple(float(s) for s in np.ravel(scales))
        else:  # a scale vector too large for the reader to keep: per-channel, values unknown
            shape = self.shape(scale_name) if scale_name else None
            if not _static(shape):
                return None
            scale_t = (_NAN,) * math.prod(shape)
        zp_t = tuple(int(z) for z in np.ravel(zp)) if zp is not None else (0,) * len(scale_t)
        axis = None
        if len(scale_t) > 1:
            axis = _normalize_axis(int(op.attrs.get("axis", 1)), rank or 1)
        return QuantParams(scale_t, zp_t, axis)

    def _dequantized_const(self, op: Op) -> _Const:
        c = self.consts[op.inputs[0]]
        quant = self._quant_of(op, len(c.shape) if c.shape is not None else None) or _placeholder_quant()
        return _Const(c.dtype, c.shape, c.value, quant)

    def _quantized_const(self, op: Op, value: Any) -> _Const:
        c = self.consts[op.inputs[0]]
        info = self.src.tensors.get(op.outputs[0])
        zp = self.const(self.input(op, 2))
        dtype = info.dtype if info is not None and info.dtype != "unknown" else zp.dtype if zp else "uint8"
        quant = self._quant_of(op, len(c.shape) if c.shape is not None else None) or _placeholder_quant()
        return _Const(dtype, c.shape, None if value is None else np.asarray(value), quant)

    def _moved_quant(self, op: Op, quant: QuantParams, shape: Sequence[Dim] | None) -> QuantParams:
        """Per-channel axis of a quantized constant after a data-movement op."""
        if quant.axis is None or shape is None:
            return quant
        if op.type == "Transpose":
            perm = op.attrs.get("perm") or list(reversed(range(len(shape))))
            return replace(quant, axis=list(perm).index(quant.axis))
        channels = len(quant.scale)
        matches = [i for i, d in enumerate(shape) if d == channels]
        axis = quant.axis if quant.axis in matches else (matches[0] if matches else None)
        return replace(quant, axis=axis)

    def _small_result(self, op: Op, values: dict[str, np.ndarray | None]) -> bool:
        """Whether folding ``op`` yields results small enough to compute (a static causal mask of a long context
        is folded to a constant, but its values are not materialized)."""
        limit = _MAX_FOLDED_BYTES
        for o in op.outputs:
            shape = self.shape(o) if o else None
            if _static(shape) and math.prod(shape) * 8 > limit:
                return False
        first = values.get(op.inputs[0]) if op.inputs and op.inputs[0] else None
        second = values.get(op.inputs[1]) if len(op.inputs) > 1 and op.inputs[1] else None
        try:
            if op.type == "ConstantOfShape" and first is not None:
                size = math.prod(int(d) for d in np.ravel(first))
            elif op.type == "Expand" and first is not None and second is not None:
                size = math.prod(np.broadcast_shapes(first.shape, tuple(int(d) for d in np.ravel(second))))
            elif op.type == "Tile" and first is not None and second is not None:
                size = first.size * math.prod(int(r) for r in np.ravel(second))
            elif op.type == "Range" and first is not None and second is not None and len(op.inputs) > 2:
                delta = values.get(op.inputs[2])
                size = int(abs((float(second) - float(first)) / float(delta))) + 1 if delta is not None else 0
            else:
                return True
        except (ValueError, TypeError, ZeroDivisionError, OverflowError):
            return False
        return size * 8 <= limit

    def _evaluate(self, op: Op, values: dict[str, np.ndarray | None]) -> list[np.ndarray] | None:
        """Run one ONNX node with the reference evaluator at the model's opset; ``None`` when that cannot be done."""
        if any(v is None for v in values.values()) or not self._small_result(op, values):
            return None
        from onnx.reference import ReferenceEvaluator

        try:
            attrs: dict[str, Any] = {}
            for k, v in op.attrs.items():
                if isinstance(v, Tensor):
                    if v.value is None:
                        return None
                    v = numpy_helper.from_array(np.asarray(v.value))
                attrs[k] = v
            node = helper.make_node(op.type, op.inputs, op.outputs, **attrs)
            arrays = {n: np.asarray(v) for n, v in values.items()}
            graph = helper.make_graph(
                [node], "fold",
                [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), None)
                 for n, a in arrays.items()],
                [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in op.outputs if o])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
            with np.errstate(all="ignore"):
                return [np.asarray(r) for r in ReferenceEvaluator(model).run(None, arrays)]
        except Exception:  # an op the reference evaluator lacks, an attribute it cannot rebuild: value unknown
            return None

    # -- the walk -------------------------------------------------------------------------------------------

    def lower_graph(self, input_layouts: dict[str, Perm]) -> None:
        for name, t in self.src.tensors.items():
            if t.is_constant and name not in self.consts:
                self.consts[name] = _Const(t.dtype, t.shape, t.value)
        for name in self.src.inputs:
            if name in self.consts:
                continue
            rank = self.rank(name)
            perm = input_layouts.get(name) or (_identity(rank) if rank is not None else ())
            self.inputs.append(self.output(name, perm))
        for op in self.src.topological_order():
            self.lower_op(op)
        self.node = None
        for name in self.src.outputs:
            lowered = self.graph_output(name)
            self.outputs.append(lowered)

    def graph_output(self, name: str) -> str:
        """The lowered graph output for ONNX output ``name``, under that name. Image outputs (4-D/5-D, or 3-D
        ones computed by channel-first ops) keep a channel-last layout, as onnx2tf leaves them; any other order is
        undone, by ops attributed to the node producing the output."""
        self.node = self.src.producer(name)
        shape = self.shape(name)
        if name in self.consts and name not in self.vals:
            lowered = self.need(name)
        else:
            v = self.val(name)
            keep = shape is None or len(v.perm) != len(shape) or _same_memory_order(
                v.perm, _identity(len(shape)), shape) or (v.perm == _channel_last(len(shape)) and (
                    len(shape) >= 4 or name in self._image_values()))
            lowered = v.name if keep else self.need(name)
        self.node = None
        if lowered != name and name not in self.inputs and lowered not in (*self.inputs, *self.outputs):
            if name in self.tensors:
                self.rename(name, self.tensor(f"{name}/internal", "unknown", None))
            self.rename(lowered, name)
            lowered = name
        return lowered

    def _image_values(self) -> set[str]:
        """ONNX values computed from the result of a channel-first op (Conv, pools, ...)."""
        reached: set[str] = set()
        for op in self.src.topological_order():
            if op.type in _CHANNEL_FIRST_OPS or any(i in reached for i in op.inputs):
                reached.update(o for o in op.outputs if o)
        return reached

    def rename(self, old: str, new: str) -> None:
        """Give lowered tensor ``old`` the name ``new`` (which may exist only as a placeholder)."""
        t = self.tensors.pop(old)
        self.tensors.pop(new, None)
        t.name = new
        self.tensors[new] = t
        for op in self.ops:
            op.inputs = [new if x == old else x for x in op.inputs]
            op.outputs = [new if x == old else x for x in op.outputs]
        self.inputs[:] = [new if x == old else x for x in self.inputs]
        self.outputs[:] = [new if x == old else x for x in self.outputs]
        for v in self.vals.values():
            if v.name == old:
                v.name = new
        for cache in (self._layout_cache, self._const_cache):
            for key, value in cache.items():
                if value == old:
                    cache[key] = new

    def lower_op(self, op: Op) -> None:
        self.node = op
        if self.try_fold(op):
            return
        _infer_missing_shapes(self, op)
        handler = self._handler(op)
        n_ops, cached = len(self.ops), set(self._layout_cache)
        try:
            handler(self, op)
            missing = [o for o in op.outputs if o not in self.vals and o not in self.consts and self.used(o)]
            if missing:
                raise RuntimeError(f"outputs {missing} were not produced")
        except Exception as e:
            if isinstance(e, _Unlowerable):
                code, reason = e.code, e.reason
            elif _STRICT:
                raise
            else:
                code, reason = LOWERING_FAILED, f"internal lowering error ({type(e).__name__}: {e})"
            del self.ops[n_ops:]
            for key in set(self._layout_cache) - cached:
                del self._layout_cache[key]
            for o in op.outputs:
                self.vals.pop(o, None)
            self.opaque(op, "FLEX", code, reason)

    def _handler(self, op: Op) -> Callable[[_GraphLowering, Op], None]:
        if op.function is not None:
            return _custom_op
        if op.domain == "ai.onnx":
            if op.type.startswith("TFL_") and op.type[4:] in _BUILTINS:
                return _tfl_passthrough
            return _HANDLERS.get(op.type, _no_builtin)
        if op.domain == "com.microsoft" and op.type in _MS_HANDLERS:
            return _MS_HANDLERS[op.type]
        return _custom_op

    def opaque(self, op: Op, kind: str, code: str, reason: str) -> Op:
        """Keep ``op`` as an op the Coral rules will reject by type: ``FLEX:<OnnxType>`` or ``CUSTOM:<OnnxType>``."""
        inputs = [self.need(i) for i in op.inputs if i]
        outputs = [self.output(o) for o in op.outputs if o]
        lowered = self.emit(f"{kind}:{op.type}", inputs, outputs, {"onnx_domain": op.domain})
        self.note(code, f"{op.type}: {reason}", op)
        return lowered

    # -- bodies, rewriting, finishing -----------------------------------------------------------------------

    def declare(self, name: str, dtype: str, shape: Sequence[Dim] | None) -> None:
        """Type an ONNX-level name the lowering invents (an intermediate of an op it expands)."""
        self.info[name] = Tensor(name, dtype, None if shape is None else tuple(shape))

    def op_name(self, base: str) -> str:
        name, k = base, 1
        while name in self._op_names:
            k += 1
            name = f"{base}#{k}"
        self._op_names.add(name)
        return name

    def replace_uses(self, old: str, new: str) -> None:
        for op in self.ops:
            if old in op.inputs:
                op.inputs = [new if t == old else t for t in op.inputs]
        self.outputs = [new if t == old else t for t in self.outputs]

    def lower_body(self, captured: list[str], outer: _GraphLowering) -> None:
        """Lower a control-flow body: its inputs, then the outer-scope values it reads, become subgraph inputs."""
        for name, t in self.src.tensors.items():
            if t.is_constant and name not in self.consts:
                self.consts[name] = _Const(t.dtype, t.shape, t.value)
        for name in captured:
            info = outer.info.get(name) or outer.src.tensors.get(name)
            if info is not None:
                self.declare(name, info.dtype, info.shape)
        for name in [*self.src.inputs, *captured]:
            if name not in self.consts and name not in self.vals:
                rank = self.rank(name)
                self.inputs.append(self.output(name, _identity(rank) if rank is not None else ()))
        for op in self.src.topological_order():
            self.lower_op(op)
        self.node = None
        self.outputs = [self.need(name) for name in self.src.outputs]

    def finish(self) -> OpGraph:
        """The converter's passes (peepholes, quantization, cleanup), then the OpGraph."""
        for rule in (_canonicalize_layout, _fuse_rsqrt, _fuse_squared_difference, _fuse_gelu, _fold_reduce_reshape,
                     _fuse_affine, _fuse_activation):
            _rewrite(self, rule)
        _dead_code(self)
        if self.quantize:
            if self.assumed_int8:
                _assume_int8(self)
            else:
                _fold_qdq(self)
            _propagate_scales(self)
            _legalize_types(self)
        for rule in (_fuse_activation, _fold_reduce_reshape, _canonicalize_layout):
            _rewrite(self, rule)
        _dead_code(self)
        return self.build()

    def build(self) -> OpGraph:
        used = set(self.inputs) | set(self.outputs)
        for i, op in enumerate(self.ops):
            op.index = i
            op.version = _op_version(op, self.tensors)
            used.update(t for t in (*op.inputs, *op.outputs) if t)
        tensors = {n: t for n, t in self.tensors.items() if n in used}
        graph = OpGraph(self.src.name, self.ops, tensors, self.inputs, self.outputs, is_body=self.parent is not None)
        if self.parent is not None:
            graph.index = len(self.registry) + 1
            self.registry.append(graph)
        return graph


# -- shapes ONNX shape inference could not give --------------------------------------------------------------------

#: ONNX ops whose (first) output has the shape of their first input.
_SHAPE_PRESERVING = frozenset({*("Relu Sigmoid Tanh Exp Log Sqrt Neg Abs HardSwish Floor Ceil Round Sin Cos Not "
                                 "Sign Reciprocal Erf Clip LeakyRelu Elu HardSigmoid Softmax LogSoftmax Gelu Cast "
                                 "CastLike Identity Dropout QuantizeLinear DequantizeLinear IsNaN IsInf "
                                 "LayerNormalization BatchNormalization InstanceNormalization LRN").split()})
_BROADCASTING = frozenset("Add Sub Mul Div Pow Max Min Sum Mean Equal Less LessOrEqual Greater GreaterOrEqual And "
                          "Or Xor Where PRelu Mod".split())


def _broadcast(shapes: Sequence[Sequence[Dim]]) -> tuple[Dim, ...]:
    rank = max(len(s) for s in shapes)
    out: list[Dim] = []
    for i in range(rank):
        dims = [s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0]
        known = [d for d in dims if d != 1]
        out.append(known[0] if known and all(d == known[0] for d in known) else
                   (1 if not known else next((d for d in known if isinstance(d, int)), known[0])))
    return tuple(out)


def _infer_reshape(lw: _GraphLowering, op: Op, x: tuple[Dim, ...]) -> tuple[Dim, ...] | None:
    target = lw.const_ints(lw.input(op, 1))
    if target is None:  # computed target: at least the rank is known from the shape vector's length
        length = (lw.shape(op.inputs[1]) or (None,))[0] if lw.input(op, 1) else None
        return (None,) * length if isinstance(length, int) else None
    dims: list[Dim] = [x[i] if d == 0 and i < len(x) else d for i, d in enumerate(target)]
    if -1 in dims and _static(x) and _static([d for d in dims if d != -1]):
        rest = math.prod(d for d in dims if d != -1)
        dims[dims.index(-1)] = math.prod(x) // rest if rest else 0
    return tuple(None if d == -1 else d for d in dims)


def _infer_window(lw: _GraphLowering, op: Op, x: tuple[Dim, ...]) -> tuple[Dim, ...]:
    """Conv/pool outputs: batch, the output channel count where the weights give it, unknown spatial sizes."""
    channels: Dim = x[1] if len(x) > 1 else None
    w = lw.shape(lw.input(op, 1) or "") if op.type in ("Conv", "ConvTranspose") else None
    if w is not None:
        channels = w[0] if op.type == "Conv" else (w[1] * int(op.attrs.get("group", 1))
                                                   if isinstance(w[1], int) else None)
    spatial: list[Dim] = [1] * (len(x) - 2) if op.type.startswith("Global") else [None] * (len(x) - 2)
    return (x[0], channels, *spatial)


def _infer_axes_op(lw: _GraphLowering, op: Op, x: tuple[Dim, ...]) -> tuple[Dim, ...] | None:
    rank = len(x)
    if op.type == "Squeeze":
        axes = op.attrs.get("axes") if "axes" in op.attrs else lw.const_ints(lw.input(op, 1))
        if axes is None:
            return None
        gone = {_normalize_axis(a, rank) for a in axes}
        return tuple(d for i, d in enumerate(x) if i not in gone)
    if op.type == "Unsqueeze":
        axes = op.attrs.get("axes") if "axes" in op.attrs else lw.const_ints(lw.input(op, 1))
        if axes is None:
            return None
        out = list(x)
        for a in sorted(_normalize_axis(a, rank + len(axes)) for a in axes):
            out.insert(a, 1)
        return tuple(out)
    if op.type == "Flatten":
        axis = _normalize_axis(int(op.attrs.get("axis", 1)), rank)
        head, tail = x[:axis], x[axis:]
        return (math.prod(head) if _static(head) else None, math.prod(tail) if _static(tail) else None)
    if op.type == "Concat":
        shapes = [lw.shape(i) for i in op.inputs if i]
        if any(s is None or len(s) != rank for s in shapes):
            return None
        axis = _normalize_axis(int(op.attrs.get("axis", 0)), rank)
        sizes = [s[axis] for s in shapes]
        return (*x[:axis], sum(sizes) if _static(sizes) else None, *x[axis + 1:])
    if op.type == "Gather":
        idx = lw.shape(op.inputs[1])
        if idx is None:
            return None
        axis = _normalize_axis(int(op.attrs.get("axis", 0)), rank)
        return (*x[:axis], *idx, *x[axis + 1:])
    if op.type == "Slice":  # sliced axes: their length when bounds and size are known
        if lw.opset >= 10:
            starts, ends = lw.const_ints(lw.input(op, 1)), lw.const_ints(lw.input(op, 2))
            axes, steps = lw.const_ints(lw.input(op, 3)), lw.const_ints(lw.input(op, 4))
        else:
            starts, ends, axes, steps = op.attrs.get("starts"), op.attrs.get("ends"), op.attrs.get("axes"), None
        out: list[Dim] = list(x)
        count = len(starts) if starts is not None else rank
        for k, a in enumerate(axes if axes is not None else range(count)):
            a = _normalize_axis(a, rank)
            size = x[a]
            if starts is None or ends is None or not isinstance(size, int):
                out[a] = None
                continue
            step = steps[k] if steps else 1
            out[a] = len(range(*slice(starts[k], ends[k], step).indices(size)))
        return tuple(out)
    if op.type == "Shape":
        start, end = (min(max(_normalize_axis(int(op.attrs.get(k, d)), rank), 0), rank)
                      for k, d in (("start", 0), ("end", rank)))
        return (max(end - start, 0),)
    return tuple(None for _ in x)  # Pad, Tile, Expand, Resize: rank only


def _infer_missing_shapes(lw: _GraphLowering, op: Op) -> None:
    """Shape (and dtype) of outputs the model does not declare, for the common ops: what follows an op ONNX
    shape inference does not know (a custom op, a tf2onnx ``TFL_*`` node, a computed reshape) still lowers."""
    outputs = [o for o in op.outputs if o and not _static(lw.shape(o))]
    inputs = [i for i in op.inputs if i]
    if not outputs or not inputs or lw.shape(inputs[0]) is None:
        return
    x = lw.shape(inputs[0])
    assert x is not None
    dtype = lw.dtype(inputs[0])
    shape: tuple[Dim, ...] | None = None
    if op.type in _SHAPE_PRESERVING or (op.type.startswith("TFL_") and len(inputs) == 1):
        shape = x
    elif op.type in _BROADCASTING and all(lw.shape(i) is not None for i in inputs):
        shape = _broadcast([lw.shape(i) for i in inputs])
        if op.type == "Where":
            dtype = lw.dtype(inputs[1])
    elif op.type == "MatMul" and len(inputs) == 2:
        b = lw.shape(inputs[1])
        if b is not None and len(x) >= 2 and len(b) >= 2:
            shape = (*_broadcast([x[:-2], b[:-2]]), x[-2], b[-1])
    elif op.type in _REDUCE or op.type in _COMPOSITE_REDUCE:
        try:
            axes = _reduce_axes(lw, op, len(x))
        except _Unlowerable:
            axes = None
        keep = op.attrs.get("keepdims", 1)
        shape = x if axes is None and op.attrs.get("noop_with_empty_axes", 0) else None
        if axes is not None:
            shape = tuple(1 if i in axes else d for i, d in enumerate(x) if keep or i not in axes)
    elif op.type == "Transpose":
        shape = _permute(x, op.attrs.get("perm", list(reversed(range(len(x))))))
    elif op.type == "Reshape":
        shape = _infer_reshape(lw, op, x)
    elif op.type in ("Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"):
        shape = _infer_window(lw, op, x)
    elif op.type in ("Squeeze", "Unsqueeze", "Flatten", "Concat", "Gather", "Slice", "Pad", "Tile", "Resize",
                     "Upsample", "Expand", "Shape"):
        shape = _infer_axes_op(lw, op, x)
    elif op.type == "Split":
        axis = _normalize_axis(int(op.attrs.get("axis", 0)), len(x))
        shape = tuple(None if i == axis else d for i, d in enumerate(x))
    if shape is None:
        return
    if op.type == "DequantizeLinear":
        dtype = "float32"
    elif op.type == "QuantizeLinear":
        zp = lw.const(lw.input(op, 2))
        dtype = zp.dtype if zp is not None else "uint8"
    elif op.type in ("Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Not",
                     "IsNaN", "IsInf"):
        dtype = "bool"
    elif op.type == "Shape":
        dtype = "int64"
    for o in outputs if op.type == "Split" else outputs[:1]:
        known = lw.info.get(o) or lw.src.tensors.get(o)
        declared = known.shape if known is not None else None
        if declared is not None:  # keep what the model says; fill in only the sizes it leaves unknown
            if len(declared) != len(shape):
                continue
            shape = tuple(d if isinstance(d, int) or not isinstance(e, int) else e for d, e in zip(declared, shape))
            if shape == tuple(declared):
                continue
        lw.declare(o, known.dtype if known is not None and known.dtype != "unknown" else dtype, shape)


# -- op handlers: one small function per ONNX op family ---------------------------------------------------------

Handler = Callable[[_GraphLowering, Op], None]
_HANDLERS: dict[str, Handler] = {}
#: Handlers for the com.microsoft ops ONNX Runtime's optimizer writes into saved models.
_MS_HANDLERS: dict[str, Handler] = {}

_ADD_OPTIONS = {"fused_activation_function": "NONE", "pot_scale_int16": True}
_MUL_OPTIONS = {"fused_activation_function": "NONE"}
_FC_OPTIONS = {"fused_activation_function": "NONE", "weights_format": 0, "keep_num_dims": False,
               "asymmetric_quantize_inputs": False, "quantized_bias_type": 0}
_OPTIONS = {"ADD": _ADD_OPTIONS, "SUB": _ADD_OPTIONS, "MUL": _MUL_OPTIONS, "DIV": _MUL_OPTIONS}


def _handles(*types: str, table: dict[str, Handler] = _HANDLERS) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for t in types:
            table[t] = fn
        return fn
    return register


def _no_builtin(lw: _GraphLowering, op: Op) -> None:
    raise _Unlowerable("no TFLite builtin operator: a converter needs a Select-TF (Flex) op, or fails")


def _custom_op(lw: _GraphLowering, op: Op) -> None:
    if op.function is not None:
        reason = f"call of model-local function {op.function}: not inlined, no TFLite builtin"
    else:
        reason = f"op from domain {op.domain!r}: no TFLite builtin equivalent"
    lw.opaque(op, "CUSTOM", CUSTOM_DOMAIN, reason)


def _alias(lw: _GraphLowering, out: str, src: str) -> None:
    """``out`` is ``src`` (Identity, a no-op Cast, a folded-away op)."""
    if src in lw.consts and src not in lw.vals:
        lw.consts[out] = lw.consts[src]
    else:
        lw.vals[out] = lw.val(src)


def _emit_elementwise(lw: _GraphLowering, type_: str, operands: Sequence[str], out: str,
                      attrs: dict[str, Any] | None = None) -> Op:
    """An elementwise op in whatever layout most operands already have; constants are laid out to match."""
    rank = lw.rank(out)
    if attrs is None:
        attrs = dict(_OPTIONS.get(type_, {}))
    if rank is None:
        return lw.emit(type_, [lw.need(x) for x in operands], [lw.output(out)], attrs)
    perm = lw.common_perm(operands, rank)
    inputs = [lw.operand(x, rank, perm) for x in operands]
    return lw.emit(type_, inputs, [lw.output(out, perm)], attrs)


def _intermediate(lw: _GraphLowering, like: str, label: str, shape: Sequence[Dim] | None = None,
                  dtype: str | None = None) -> str:
    """A fresh tensor shaped like lowered tensor ``like`` (for ops a single ONNX node expands into)."""
    src = lw.tensors[like]
    return lw.tensor(f"{lw.node.name if lw.node else like}/{label}", dtype or src.dtype,
                     src.shape if shape is None else shape)


_UNARY = {"Relu": "RELU", "Sigmoid": "LOGISTIC", "Tanh": "TANH", "Exp": "EXP", "Log": "LOG", "Sqrt": "SQRT",
          "Neg": "NEG", "Abs": "ABS", "HardSwish": "HARD_SWISH", "Floor": "FLOOR", "Ceil": "CEIL",
          "Round": "ROUND", "Sin": "SIN", "Cos": "COS", "Not": "LOGICAL_NOT", "Sign": "SIGN"}


@_handles(*_UNARY)
def _unary(lw: _GraphLowering, op: Op) -> None:
    perm = lw.perm_of(op.inputs[0])
    lw.emit(_UNARY[op.type], [lw.need(op.inputs[0], perm)], [lw.output(op.outputs[0], perm)])


_BINARY = {"Add": "ADD", "Sub": "SUB", "Mul": "MUL", "Equal": "EQUAL", "Less": "LESS", "LessOrEqual": "LESS_EQUAL",
           "Greater": "GREATER", "GreaterOrEqual": "GREATER_EQUAL", "And": "LOGICAL_AND", "Or": "LOGICAL_OR",
           "Xor": "NOT_EQUAL", "BitwiseXor": "BITWISE_XOR", "PRelu": "PRELU"}


@_handles(*_BINARY)
def _binary(lw: _GraphLowering, op: Op) -> None:
    _emit_elementwise(lw, _BINARY[op.type], op.inputs[:2], op.outputs[0])


@_handles("Div")
def _div(lw: _GraphLowering, op: Op) -> None:
    """Division by a float constant is a multiplication by its reciprocal (int8-friendly, what converters do)."""
    a, b = op.inputs[0], op.inputs[1]
    divisor = lw.const(b)
    if divisor is not None and lw.dtype(b) in _FLOAT_DTYPES:
        value = divisor.real_value()
        shape = lw.shape(b) or ()
        name = f"{b}/reciprocal"
        with np.errstate(divide="ignore"):
            lw.consts[name] = _Const("float32", shape, None if value is None else (1.0 / value).astype(np.float32))
        _emit_elementwise(lw, "MUL", [a, name], op.outputs[0])
        return
    _emit_elementwise(lw, "DIV", [a, b], op.outputs[0])


@_handles("Pow")
def _pow(lw: _GraphLowering, op: Op) -> None:
    """Constant exponents become what the TFLite optimizer rewrites POW into (x*x, identity, sqrt)."""
    x, y = op.inputs[0], op.outputs[0]
    exponent = lw.const_value(op.inputs[1])
    e = float(np.ravel(exponent)[0]) if exponent is not None and np.unique(exponent).size == 1 else None
    if e == 1.0 and lw.shape(x) == lw.shape(y):
        _alias(lw, y, x)
    elif e == 2.0:
        _emit_elementwise(lw, "MUL", [x, x], y)
    elif e == 0.5:
        perm = lw.perm_of(x)
        lw.emit("SQRT", [lw.need(x, perm)], [lw.output(y, perm)])
    else:
        _emit_elementwise(lw, "POW", op.inputs[:2], y, {})


@_handles("Reciprocal")
def _reciprocal(lw: _GraphLowering, op: Op) -> None:
    perm = lw.perm_of(op.inputs[0])
    lw.emit("DIV", [lw.scalar_operand(1.0), lw.need(op.inputs[0], perm)], [lw.output(op.outputs[0], perm)],
            dict(_MUL_OPTIONS))


@_handles("Max", "Min", "Sum", "Mean")
def _variadic(lw: _GraphLowering, op: Op) -> None:
    """N-ary elementwise ops are a chain of binary ones (Mean: a sum times 1/N)."""
    type_ = {"Max": "MAXIMUM", "Min": "MINIMUM", "Sum": "ADD", "Mean": "ADD"}[op.type]
    operands = [x for x in op.inputs if x]
    y = op.outputs[0]
    if len(operands) == 1:
        _alias(lw, y, operands[0])
        return
    acc = operands[0]
    for k, x in enumerate(operands[1:]):
        last = k == len(operands) - 2 and op.type != "Mean"
        target = y if last else f"{y}/partial{k}"
        if not last:
            shapes = [lw.shape(acc), lw.shape(x)]
            lw.declare(target, lw.dtype(y), _broadcast(shapes) if None not in shapes else lw.shape(y))
        _emit_elementwise(lw, type_, [acc, x], target)
        acc = target
    if op.type == "Mean":
        n = f"{y}/count"
        lw.consts[n] = _Const("float32", (), np.asarray(1.0 / len(operands), np.float32))
        _emit_elementwise(lw, "MUL", [acc, n], y)


@_handles("Mod")
def _mod(lw: _GraphLowering, op: Op) -> None:
    if op.attrs.get("fmod", 0):
        raise _Unlowerable("fmod=1 (C fmod semantics): TFLite only has FLOOR_MOD")
    _emit_elementwise(lw, "FLOOR_MOD", op.inputs[:2], op.outputs[0], {})


@_handles("BitShift")
def _bitshift(lw: _GraphLowering, op: Op) -> None:
    if op.attrs.get("direction") != "RIGHT":
        raise _Unlowerable("left shift: TFLite only has RIGHT_SHIFT")
    _emit_elementwise(lw, "RIGHT_SHIFT", op.inputs[:2], op.outputs[0], {})


@_handles("Where")
def _where(lw: _GraphLowering, op: Op) -> None:
    _emit_elementwise(lw, "SELECT_V2", op.inputs[:3], op.outputs[0], {})


@_handles("Identity", "Dropout")
def _identity_op(lw: _GraphLowering, op: Op) -> None:
    if op.type == "Dropout" and len(op.outputs) > 1 and lw.used(op.outputs[1]):
        raise _Unlowerable("Dropout mask output is used")
    _alias(lw, op.outputs[0], op.inputs[0])


@_handles("Cast", "CastLike")
def _cast(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    if _lowered_dtype(lw.dtype(x)) == _lowered_dtype(lw.dtype(y)):
        _alias(lw, y, x)  # float16 <-> float32 and same-type casts vanish: TFLite computes in float32
        return
    perm = lw.perm_of(x)
    lw.emit("CAST", [lw.need(x, perm)], [lw.output(y, perm)])


# -- activations --------------------------------------------------------------------------------------------------

def _clip_bounds(lw: _GraphLowering, op: Op) -> tuple[float | str | None, float | str | None]:
    """Clip's (min, max): floats when constant, tensor names when computed, None when absent."""
    if lw.opset < 11:
        return op.attrs.get("min"), op.attrs.get("max")
    bounds: list[float | str | None] = []
    for i in (1, 2):
        name = lw.input(op, i)
        value = lw.const_float(name) if name else None
        bounds.append(value if value is not None else name)
    return bounds[0], bounds[1]


_RELU_RANGES = {(0.0, 6.0): "RELU6", (0.0, None): "RELU", (-1.0, 1.0): "RELU_N1_TO_1", (0.0, 1.0): "RELU_0_TO_1"}


@_handles("Clip")
def _clip(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    lo, hi = _clip_bounds(lw, op)
    if not isinstance(lo, str) and not isinstance(hi, str) and (lo, hi) in _RELU_RANGES:
        perm = lw.perm_of(x)
        lw.emit(_RELU_RANGES[(lo, hi)], [lw.need(x, perm)], [lw.output(y, perm)])
        return
    if lo is None and hi is None:
        _alias(lw, y, x)
        return
    current = x
    for type_, bound, label in (("MINIMUM", hi, "max"), ("MAXIMUM", lo, "min")):
        if bound is None:
            continue
        if not isinstance(bound, str):
            name = f"{y}/{label}"
            lw.consts[name] = _Const("float32", (), np.asarray(bound, np.float32))
            bound = name
        last = type_ == "MAXIMUM" or lo is None
        target = y if last else f"{y}/clipped_max"
        if not last:
            lw.declare(target, lw.dtype(y), lw.shape(y))
        _emit_elementwise(lw, type_, [current, bound], target, {})
        current = target


@_handles("LeakyRelu")
def _leaky_relu(lw: _GraphLowering, op: Op) -> None:
    perm = lw.perm_of(op.inputs[0])
    lw.emit("LEAKY_RELU", [lw.need(op.inputs[0], perm)], [lw.output(op.outputs[0], perm)],
            {"alpha": float(op.attrs.get("alpha", 0.01))})


@_handles("Elu")
def _elu(lw: _GraphLowering, op: Op) -> None:
    if float(op.attrs.get("alpha", 1.0)) != 1.0:
        raise _Unlowerable("Elu with alpha != 1: TFLite ELU has no alpha")
    perm = lw.perm_of(op.inputs[0])
    lw.emit("ELU", [lw.need(op.inputs[0], perm)], [lw.output(op.outputs[0], perm)])


@_handles("HardSigmoid")
def _hard_sigmoid(lw: _GraphLowering, op: Op) -> None:
    """max(0, min(1, alpha*x + beta)): MUL, ADD, then the TFLite optimizer's clamp-to-[0,1] op."""
    x, y = op.inputs[0], op.outputs[0]
    perm = lw.perm_of(x)
    xl = lw.need(x, perm)
    scaled = _intermediate(lw, xl, "scaled")
    lw.emit("MUL", [xl, lw.scalar_operand(float(op.attrs.get("alpha", 0.2)))], [scaled], dict(_MUL_OPTIONS))
    shifted = _intermediate(lw, xl, "shifted")
    lw.emit("ADD", [scaled, lw.scalar_operand(float(op.attrs.get("beta", 0.5)))], [shifted], dict(_ADD_OPTIONS))
    lw.emit("RELU_0_TO_1", [shifted], [lw.output(y, perm)])


@_handles("Softmax", "LogSoftmax")
def _softmax(lw: _GraphLowering, op: Op) -> None:
    """TFLite normalizes over the last axis: the axis is moved last by choosing the layout (a TRANSPOSE if the
    tensor is not already in one); opset < 13 coerces to 2-D around the axis, which is a RESHAPE pair."""
    x, y = op.inputs[0], op.outputs[0]
    type_ = "SOFTMAX" if op.type == "Softmax" else "LOG_SOFTMAX"
    attrs = {"beta": 1.0} if type_ == "SOFTMAX" else {}
    shape = lw.shape(x)
    if shape is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    rank = len(shape)
    axis = _normalize_axis(int(op.attrs.get("axis", -1 if lw.opset >= 13 else 1)), rank)
    if lw.opset < 13 and axis != rank - 1:
        xl = lw.need(x)
        rows = math.prod(shape[:axis]) if _static(shape[:axis]) else -1
        cols = math.prod(shape[axis:]) if _static(shape[axis:]) else -1
        flat = _intermediate(lw, xl, "as_2d", (rows, cols))
        lw.emit("RESHAPE", [xl, lw.int32_operand([rows, cols])], [flat], label="as_2d")
        normalized = _intermediate(lw, flat, "normalized")
        lw.emit(type_, [flat], [normalized], attrs)
        lw.emit("RESHAPE", [normalized, lw.shape_operand(shape)], [lw.output(y)], label="restore")
        return
    perm = lw.perm_of(x)
    if perm[-1] != axis:
        perm = tuple(p for p in perm if p != axis) + (axis,)
    lw.emit(type_, [lw.need(x, perm)], [lw.output(y, perm)], attrs)


@_handles("Swish")
def _swish(lw: _GraphLowering, op: Op) -> None:
    """x * sigmoid(alpha * x): LOGISTIC and MUL (the scale a MUL when alpha != 1), as SiLU is in TFLite."""
    x, y = op.inputs[0], op.outputs[0]
    perm = lw.perm_of(x)
    xl = lw.need(x, perm)
    alpha = float(op.attrs.get("alpha", 1.0))
    gate_in = xl
    if alpha != 1.0:
        gate_in = _intermediate(lw, xl, "scaled")
        lw.emit("MUL", [xl, lw.scalar_operand(alpha)], [gate_in], dict(_MUL_OPTIONS))
    gate = _intermediate(lw, xl, "gate")
    lw.emit("LOGISTIC", [gate_in], [gate])
    lw.emit("MUL", [xl, gate], [lw.output(y, perm)], dict(_MUL_OPTIONS))


@_handles("ReverseSequence")
def _reverse_sequence(lw: _GraphLowering, op: Op) -> None:
    lw.emit("REVERSE_SEQUENCE", [lw.need(op.inputs[0]), lw.need(op.inputs[1])], [lw.output(op.outputs[0])],
            {"seq_dim": int(op.attrs.get("time_axis", 0)), "batch_dim": int(op.attrs.get("batch_axis", 1))})


@_handles("Gelu")
def _gelu(lw: _GraphLowering, op: Op) -> None:
    perm = lw.perm_of(op.inputs[0])
    lw.emit("GELU", [lw.need(op.inputs[0], perm)], [lw.output(op.outputs[0], perm)],
            {"approximate": op.attrs.get("approximate", "none") == "tanh"})


def _tfl_passthrough(lw: _GraphLowering, op: Op) -> None:
    """tf2onnx leaves TFLite ops it cannot express as ``TFL_<BUILTIN>`` nodes: they are that builtin."""
    builtin = op.type[4:]
    inputs = [x for x in op.inputs if x]
    if len(inputs) == 1 and len([o for o in op.outputs if o]) == 1:
        perm = lw.perm_of(inputs[0])
        lowered = [lw.need(inputs[0], perm)]
        outputs = [lw.output(op.outputs[0], perm)]
    else:
        lowered = [lw.need(x) for x in inputs]
        outputs = [lw.output(o) for o in op.outputs if o]
    attrs = {k: bool(v) if k == "approximate" else v for k, v in op.attrs.items() if not isinstance(v, Tensor)}
    lw.emit(builtin, lowered, outputs, attrs)
    lw.note(TF2ONNX_PASSTHROUGH, f"{op.type} is tf2onnx's pass-through of TFLite {builtin}, not a valid ONNX op "
            f"(ONNX Runtime rejects the model); lowered to {builtin}")


# -- convolution and pooling ----------------------------------------------------------------------------------------

def _tf_same_pads(size: Dim, kernel: int, stride: int, dilation: int) -> tuple[int, int] | None:
    """(begin, end) padding of TensorFlow's SAME along one axis; ``None`` when it depends on an unknown size."""
    effective = (kernel - 1) * dilation + 1
    if isinstance(size, int):
        out = -(-size // stride)
        total = max((out - 1) * stride + effective - size, 0)
    elif stride == 1:
        total = effective - 1
    else:
        return None
    return total // 2, total - total // 2


def _window_padding(op: Op, sizes: Sequence[Dim], kernel: Sequence[int], strides: Sequence[int],
                    dilations: Sequence[int]) -> tuple[str, list[int] | None]:
    """TFLite padding of a windowed op: ``SAME``/``VALID``, plus explicit ``[begin..., end...]`` pads for a PAD op in
    front when the ONNX pads are neither."""
    n = len(kernel)
    auto = op.attrs.get("auto_pad", "NOTSET")
    if auto == "VALID":
        return "VALID", None
    if auto == "SAME_UPPER":
        return "SAME", None
    if auto == "SAME_LOWER":
        same = [_tf_same_pads(sizes[i], kernel[i], strides[i], dilations[i]) for i in range(n)]
        if any(p is None for p in same):
            raise _Unlowerable("SAME_LOWER padding of a dynamic-size input", DYNAMIC_SHAPE)
        pads = [p[1] for p in same] + [p[0] for p in same]
    else:
        pads = [int(p) for p in op.attrs.get("pads", [0] * (2 * n))]
    if not any(pads):
        return "VALID", None
    if all(_tf_same_pads(sizes[i], kernel[i], strides[i], dilations[i]) == (pads[i], pads[n + i])
           for i in range(n)):
        return "SAME", None
    return "VALID", pads


def _as_nhwc(lw: _GraphLowering, x: str) -> str:
    """ONNX N,C,spatial... activation as a lowered NHWC tensor; a 1-D one gets H=1 (the converter's ExpandDims)."""
    shape = lw.shape(x)
    assert shape is not None
    lowered = lw.need(x, _channel_last(len(shape)))
    if len(shape) == 4:
        return lowered
    shape4 = (shape[0], 1, shape[2], shape[1])
    out = _intermediate(lw, lowered, "as_2d", shape4)
    lw.emit("RESHAPE", [lowered, lw.shape_operand(shape4)], [out], label="as_2d")
    return out


def _define_nhwc(lw: _GraphLowering, y: str, produced_rank: int) -> tuple[str, Callable[[str], None]]:
    """The NHWC tensor a 2-D op writes for ONNX output ``y``, and a callback finishing it (1-D ops: RESHAPE back)."""
    shape = lw.shape(y)
    if shape is None or len(shape) != produced_rank:
        raise _Unlowerable("output rank unknown", DYNAMIC_SHAPE)
    if produced_rank == 4:
        return lw.output(y, _channel_last(4)), lambda _t: None
    shape4 = (shape[0], 1, shape[2], shape[1])
    out4 = lw.tensor(f"{y}/2d", _lowered_dtype(lw.dtype(y)), shape4)

    def finish(_t: str) -> None:
        lw.emit("RESHAPE", [out4, lw.shape_operand(_permute(shape, _channel_last(3)))],
                [lw.output(y, _channel_last(3))], label="squeeze_h")
    return out4, finish


def _spatial_params(op: Op, spatial: int, kernel: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
    strides = [int(s) for s in op.attrs.get("strides", [1] * spatial)]
    dilations = [int(d) for d in op.attrs.get("dilations", [1] * spatial)]
    return list(kernel), strides, dilations


def _pad_nhwc(lw: _GraphLowering, x4: str, pads: list[int], value: float | None = None) -> str:
    """A PAD (PADV2 with a fill value) on the NHWC input of a window op whose padding is not SAME/VALID."""
    n = len(pads) // 2
    begin, end = pads[:n], pads[n:]
    if n == 1:  # 1-D op running as 2-D with H=1
        begin, end = [0, *begin], [0, *end]
    src = lw.tensors[x4]
    shape = list(src.shape or (None,) * 4)
    for i in range(2):
        if isinstance(shape[1 + i], int):
            shape[1 + i] = shape[1 + i] + begin[i] + end[i]
    padded = lw.tensor(f"{x4}/padded", src.dtype, shape, quant=src.quant)
    paddings = lw.int32_operand([0, 0, begin[0], end[0], begin[1], end[1], 0, 0])
    lw.tensors[paddings].shape = (4, 2)
    if value is None:
        lw.emit("PAD", [x4, paddings], [padded], label="pad")
    else:
        lw.emit("PADV2", [x4, paddings, lw.scalar_operand(value)], [padded], label="pad")
    return padded


def _filter(lw: _GraphLowering, w: str, onnx_shape: Sequence[Dim], perm: Perm) -> str:
    """Weights in a TFLite filter layout: constants are transposed at conversion time, activations need an op."""
    if w in lw.consts and w not in lw.vals:
        return lw.const_tensor(w, perm, as_shape=onnx_shape, axis_shift=0)
    if lw.rank(w) != len(onnx_shape):
        raise _Unlowerable("computed (non-constant) weights of a 1-D convolution")
    return lw.need(w, perm)


def _bias(lw: _GraphLowering, b: str | None, channels: Dim) -> str:
    """The bias operand; a zero bias when the ONNX op has none (the TFLite converter always adds one)."""
    if b is not None:
        return lw.need(b)
    value = np.zeros(channels, np.float32) if isinstance(channels, int) else None
    return lw.new_const(value, "float32", (channels,), f"{lw.node.name if lw.node else 'conv'}/zero_bias")


@_handles("Conv")
def _conv(lw: _GraphLowering, op: Op) -> None:
    """Conv -> CONV_2D, DEPTHWISE_CONV_2D (group == input channels) or CONV_3D; 1-D via an H=1 2-D convolution."""
    x, w, b = op.inputs[0], op.inputs[1], lw.input(op, 2)
    xs, ws = lw.shape(x), lw.shape(w)
    if xs is None or ws is None or len(xs) != len(ws):
        raise _Unlowerable("input or weight rank unknown", DYNAMIC_SHAPE)
    rank = len(ws)
    if rank not in (3, 4, 5):
        raise _Unlowerable(f"{rank - 2}-D convolution")
    spatial = rank - 2
    kernel, strides, dilations = _spatial_params(op, spatial, [int(k) if isinstance(k, int) else 1 for k in ws[2:]])
    group = int(op.attrs.get("group", 1))
    cin, cout = xs[1], ws[0]
    if rank == 5:
        _conv3d(lw, op, group, kernel, strides, dilations)
        return
    depthwise = group > 1 and group == cin and ws[1] == 1
    padding, explicit = _window_padding(op, xs[2:], kernel, strides, dilations)
    x4 = _as_nhwc(lw, x)
    if explicit:
        x4 = _pad_nhwc(lw, x4, explicit)
    w4 = tuple(ws) if rank == 4 else (ws[0], ws[1], 1, ws[2])
    if spatial == 1:
        kernel, strides, dilations = [1, *kernel], [1, *strides], [1, *dilations]
    y4, finish = _define_nhwc(lw, op.outputs[0], rank)
    attrs: dict[str, Any] = {"padding": padding, "stride_w": strides[1], "stride_h": strides[0]}
    if depthwise:
        filt = _filter(lw, w, w4, (1, 2, 3, 0))  # [O,1,kh,kw] -> [1,kh,kw,O]
        attrs.update(depth_multiplier=int(cout // cin) if isinstance(cout, int) and isinstance(cin, int) else 1,
                     fused_activation_function="NONE", dilation_wfactor=dilations[1], dilation_hfactor=dilations[0])
        lw.emit("DEPTHWISE_CONV_2D", [x4, filt, _bias(lw, b, cout)], [y4], attrs)
    else:
        filt = _filter(lw, w, w4, (0, 2, 3, 1))  # [O,I,kh,kw] -> [O,kh,kw,I]; I = C/group when grouped
        attrs.update(fused_activation_function="NONE", dilation_wfactor=dilations[1], dilation_hfactor=dilations[0],
                     quantized_bias_type=0)
        lw.emit("CONV_2D", [x4, filt, _bias(lw, b, cout)], [y4], attrs)
    finish(y4)


def _conv3d(lw: _GraphLowering, op: Op, group: int, kernel: list[int], strides: list[int],
            dilations: list[int]) -> None:
    if group != 1:
        raise _Unlowerable("grouped 3-D convolution: TFLite CONV_3D has no groups")
    x, w = op.inputs[0], op.inputs[1]
    padding, explicit = _window_padding(op, lw.shape(x)[2:], kernel, strides, dilations)
    if explicit:
        raise _Unlowerable("3-D convolution with explicit (non-SAME) padding")
    ws = lw.shape(w)
    assert ws is not None
    filt = _filter(lw, w, ws, (2, 3, 4, 1, 0))  # [O,I,kd,kh,kw] -> [kd,kh,kw,I,O]
    y = op.outputs[0]
    lw.emit("CONV_3D", [lw.need(x, _channel_last(5)), filt, _bias(lw, lw.input(op, 2), ws[0])],
            [lw.output(y, _channel_last(5))],
            {"padding": padding, "stride_d": strides[0], "stride_w": strides[2], "stride_h": strides[1],
             "fused_activation_function": "NONE", "dilation_dfactor": dilations[0],
             "dilation_wfactor": dilations[2], "dilation_hfactor": dilations[1]})


@_handles("ConvTranspose")
def _conv_transpose(lw: _GraphLowering, op: Op) -> None:
    """ConvTranspose -> TRANSPOSE_CONV: SAME when the output is input x stride, else VALID (full size) followed
    by a STRIDED_SLICE cropping the ONNX pads, as converters do."""
    x, w, b, y = op.inputs[0], op.inputs[1], lw.input(op, 2), op.outputs[0]
    xs, ws = lw.shape(x), lw.shape(w)
    if xs is None or ws is None or len(xs) not in (3, 4):
        raise _Unlowerable("only 1-D/2-D transposed convolutions with known ranks are lowered")
    if int(op.attrs.get("group", 1)) != 1:
        raise _Unlowerable("grouped transposed convolution: TFLite TRANSPOSE_CONV has no groups")
    spatial = len(xs) - 2
    kernel, strides, dilations = _spatial_params(op, spatial, [int(k) if isinstance(k, int) else 1 for k in ws[2:]])
    if any(d != 1 for d in dilations):
        raise _Unlowerable("dilated transposed convolution")
    if op.attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID") or "output_shape" in op.attrs:
        raise _Unlowerable("auto_pad/output_shape form of ConvTranspose")
    pads = [int(p) for p in op.attrs.get("pads", [0] * (2 * spatial))]
    extra = [int(p) for p in op.attrs.get("output_padding", [0] * spatial)]
    begin, end = pads[:spatial], pads[spatial:]
    same = all(begin[i] == max(kernel[i] - strides[i], 0) // 2
               and begin[i] + end[i] - extra[i] == kernel[i] - strides[i] for i in range(spatial))
    end = [end[i] - extra[i] for i in range(spatial)]  # what to crop at the end of the full (VALID) result
    if not same and any(e < 0 for e in end):
        raise _Unlowerable("output_padding larger than the end padding")
    crop = not same and (any(begin) or any(end))
    x4 = _as_nhwc(lw, x)
    w4 = tuple(ws) if spatial == 2 else (ws[0], ws[1], 1, ws[2])
    filt = _filter(lw, w, w4, (1, 2, 3, 0))  # [I,O,kh,kw] -> [O,kh,kw,I]
    if spatial == 1:
        kernel, strides, begin, end = [1, *kernel], [1, *strides], [0, *begin], [0, *end]
    y4, finish = _define_nhwc(lw, y, len(xs))
    in_hw = lw.tensors[x4].shape[1:3]
    produced = [in_hw[i] * strides[i] if same else (in_hw[i] - 1) * strides[i] + kernel[i]
                if isinstance(in_hw[i], int) else None for i in range(2)]
    produced_shape = (lw.tensors[y4].shape[0], *produced, lw.tensors[y4].shape[3])
    if _static(produced_shape):
        out_shape = lw.int32_operand(produced_shape)
    else:
        out_shape = lw.int32_operand([-1] * 4)
        lw.note(DYNAMIC_SHAPE, "ConvTranspose: output size computed at run time; the lowered output_shape operand "
                "is unknown")
    target = lw.tensor(f"{y}/uncropped", lw.tensors[y4].dtype, produced_shape) if crop else y4
    lw.emit("TRANSPOSE_CONV", [out_shape, filt, x4, _bias(lw, b, ws[1])], [target],
            {"padding": "SAME" if same else "VALID", "stride_w": strides[1], "stride_h": strides[0],
             "fused_activation_function": "NONE", "quantized_bias_type": 0})
    if crop:
        ends = [0, -end[0], -end[1], 0]
        end_mask = 0b1001 | sum(1 << (1 + i) for i in range(2) if end[i] == 0)
        lw.emit("STRIDED_SLICE", [target, lw.int32_operand([0, begin[0], begin[1], 0]), lw.int32_operand(ends),
                                  lw.int32_operand([1, 1, 1, 1])], [y4],
                {"begin_mask": 0b1001, "end_mask": end_mask, **_SLICE_OPTIONS}, label="crop")
    finish(y4)


@_handles("MaxPool", "AveragePool")
def _pool(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    if len(op.outputs) > 1 and op.outputs[1]:
        raise _Unlowerable("MaxPool indices output: TFLite MAX_POOL_2D has none")
    xs = lw.shape(x)
    if xs is None or len(xs) not in (3, 4):
        raise _Unlowerable("only 1-D/2-D pooling is lowered (TFLite has 2-D pools only)")
    spatial = len(xs) - 2
    kernel, strides, dilations = _spatial_params(op, spatial, op.attrs.get("kernel_shape", [1] * spatial))
    if any(d != 1 for d in dilations):
        raise _Unlowerable("dilated pooling")
    padding, explicit = _window_padding(op, xs[2:], kernel, strides, dilations)
    explicit = _ceil_mode_pads(lw, op, xs[2:], kernel, strides, padding, explicit)
    if explicit is not None:
        padding = "VALID"
    x4 = _as_nhwc(lw, x)
    if explicit:
        x4 = _pad_nhwc(lw, x4, explicit, -3.4028234663852886e38 if op.type == "MaxPool" else None)
    if spatial == 1:
        kernel, strides = [1, *kernel], [1, *strides]
    y4, finish = _define_nhwc(lw, y, len(xs))
    type_ = "MAX_POOL_2D" if op.type == "MaxPool" else "AVERAGE_POOL_2D"
    lw.emit(type_, [x4], [y4], {"padding": padding, "stride_w": strides[1], "stride_h": strides[0],
                                "filter_width": kernel[1], "filter_height": kernel[0],
                                "fused_activation_function": "NONE"})
    finish(y4)


def _ceil_mode_pads(lw: _GraphLowering, op: Op, sizes: Sequence[Dim], kernel: list[int], strides: list[int],
                    padding: str, explicit: list[int] | None) -> list[int] | None:
    """ceil_mode (or any output larger than TFLite's) becomes extra end padding: TFLite pools floor."""
    out = lw.shape(op.outputs[0])
    if out is None or not _static(sizes) or not _static(out[2:]):
        return explicit
    n = len(kernel)
    if padding == "SAME" and explicit is None:
        same = [_tf_same_pads(sizes[i], kernel[i], strides[i], 1) for i in range(n)]
        pads = [p[0] for p in same] + [p[1] for p in same]
    else:
        pads = list(explicit or [0] * (2 * n))
    grown = False
    for i in range(n):
        padded = sizes[i] + pads[i] + pads[n + i]
        produced = (padded - kernel[i]) // strides[i] + 1
        if out[2 + i] > produced:
            pads[n + i] += (out[2 + i] - produced) * strides[i]
            grown = True
    if not grown:
        return explicit
    return pads


@_handles("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    rank = lw.rank(x)
    if rank is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    perm = lw.perm_of(x)
    axes = sorted(perm.index(a) for a in range(2, rank))
    lw.emit("MEAN" if op.type == "GlobalAveragePool" else "REDUCE_MAX",
            [lw.need(x, perm), lw.int32_operand(axes)], [lw.output(y, perm)], {"keep_dims": True})


# -- reductions -----------------------------------------------------------------------------------------------------

_REDUCE = {"ReduceMean": "MEAN", "ReduceSum": "SUM", "ReduceMax": "REDUCE_MAX", "ReduceMin": "REDUCE_MIN",
           "ReduceProd": "REDUCE_PROD"}
#: Reductions TFLite lacks, as (op applied first, builtin reduction, op applied after).
_COMPOSITE_REDUCE = {"ReduceSumSquare": ("SQUARE", "SUM", None), "ReduceL2": ("SQUARE", "SUM", "SQRT"),
                     "ReduceL1": ("ABS", "SUM", None), "ReduceLogSum": (None, "SUM", "LOG"),
                     "ReduceLogSumExp": ("EXP", "SUM", "LOG")}


def _reduce_axes(lw: _GraphLowering, op: Op, rank: int) -> list[int] | None:
    """ONNX axes of a reduction; ``None`` for a no-op (empty axes with noop_with_empty_axes)."""
    axes = lw.attr_or_input_ints(op, "axes", 1)
    if not axes:
        return None if op.attrs.get("noop_with_empty_axes", 0) else list(range(rank))
    return sorted({_normalize_axis(a, rank) for a in axes})


@_handles(*_REDUCE, *_COMPOSITE_REDUCE)
def _reduce(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    rank = lw.rank(x)
    if rank is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    axes = _reduce_axes(lw, op, rank)
    if axes is None:
        _alias(lw, y, x)
        return
    keep = bool(op.attrs.get("keepdims", 1))
    perm = lw.perm_of(x)
    out_perm = perm if keep else _drop_axes(perm, axes)
    before, builtin, after = _COMPOSITE_REDUCE.get(op.type, (None, _REDUCE.get(op.type), None))
    src = lw.need(x, perm)
    if before == "SQUARE":  # x*x: the TFLite optimizer's form of Square/Pow 2
        squared = _intermediate(lw, src, "squared")
        lw.emit("MUL", [src, src], [squared], dict(_MUL_OPTIONS))
        src = squared
    elif before is not None:
        pre = _intermediate(lw, src, before.lower())
        lw.emit(before, [src], [pre])
        src = pre
    out = lw.output(y, out_perm)
    target = _intermediate(lw, out, "reduced") if after else out
    lw.emit(builtin, [src, lw.int32_operand(sorted(perm.index(a) for a in axes))], [target],
            {"keep_dims": keep})
    if after:
        lw.emit(after, [target], [out])


@_handles("ArgMax", "ArgMin")
def _arg_reduce(lw: _GraphLowering, op: Op) -> None:
    if op.attrs.get("select_last_index", 0):
        raise _Unlowerable("select_last_index=1: TFLite ARG_MAX/ARG_MIN return the first index")
    x, y = op.inputs[0], op.outputs[0]
    rank = lw.rank(x)
    if rank is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    axis = _normalize_axis(int(op.attrs.get("axis", 0)), rank)
    perm = lw.perm_of(x)
    xl = lw.need(x, perm)
    dtype = lw.dtype(y)
    attrs = {"output_type": _TFLITE_TYPE.get(dtype, TensorType.INT64)}
    builtin = "ARG_MAX" if op.type == "ArgMax" else "ARG_MIN"
    axis_operand = lw.int32_operand([perm.index(axis)])
    if not op.attrs.get("keepdims", 1):
        lw.emit(builtin, [xl, axis_operand], [lw.output(y, _drop_axes(perm, [axis]))], attrs)
        return
    out = lw.output(y, perm)
    reduced_shape = [d for i, d in enumerate(lw.tensors[out].shape or ()) if i != perm.index(axis)]
    reduced = _intermediate(lw, out, "reduced", reduced_shape)
    lw.emit(builtin, [xl, axis_operand], [reduced], attrs)
    lw.emit("RESHAPE", [reduced, lw.shape_operand(lw.tensors[out].shape or ())], [out], label="keepdims")


# -- shape and layout ops ---------------------------------------------------------------------------------------------

@_handles("Transpose")
def _transpose(lw: _GraphLowering, op: Op) -> None:
    """A Transpose only changes which ONNX axis each lowered axis holds; a TRANSPOSE op is emitted later, only if
    a consumer needs an order the data does not have."""
    x, y = op.inputs[0], op.outputs[0]
    v = lw.val(x)
    rank = len(v.perm)
    q = [int(p) for p in op.attrs.get("perm", list(reversed(range(rank))))]
    if len(q) != rank:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    inv = _inverse(tuple(q))
    lw.define(y, v.name, tuple(inv[p] for p in v.perm))


def _reshape_to(lw: _GraphLowering, x: str, y: str, target: Sequence[Dim]) -> None:
    """Reshape ``x`` into ONNX shape ``target``. A RESHAPE is emitted only if the data is not already laid out as
    the result (identity or channel-last), and a TRANSPOSE back to ONNX order first only if the layout is not a
    mere placement of size-1 axes."""
    xs = lw.shape(x)
    v = lw.val(x)
    if xs is not None and len(v.perm) == len(xs) and not _same_memory_order(v.perm, _identity(len(xs)), xs):
        src = lw.need(x)
    else:
        src = v.name
    src_shape = lw.tensors[src].shape
    rank = len(target)
    for perm in (_identity(rank), _channel_last(rank)):
        if _same_memory_order(perm, _identity(rank), target) and src_shape == _permute(target, perm):
            lw.define(y, src, perm)
            return
    lw.emit("RESHAPE", [src, lw.shape_operand(target)], [lw.output(y, _identity(rank), shape=target)])


def _dynamic_dims(shape: Sequence[Dim]) -> int:
    return sum(not isinstance(d, int) for d in shape)


@_handles("Reshape")
def _reshape(lw: _GraphLowering, op: Op) -> None:
    x, shape_in, y = op.inputs[0], lw.input(op, 1), op.outputs[0]
    ys = lw.shape(y)
    if ys is not None and _dynamic_dims(ys) <= 1:
        _reshape_to(lw, x, y, ys)
        return
    if shape_in is None:
        raise _Unlowerable("no target shape", DYNAMIC_SHAPE)
    # Run-time target shape: a RESHAPE reading the computed shape tensor, as the converter emits.
    rank = len(ys) if ys is not None else (lw.shape(shape_in) or [None])[0]
    perm = _identity(rank) if isinstance(rank, int) else ()
    lw.emit("RESHAPE", [lw.need(x), lw.need(shape_in)], [lw.output(y, perm)])


@_handles("Flatten")
def _flatten(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    xs = lw.shape(x)
    if xs is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    axis = _normalize_axis(int(op.attrs.get("axis", 1)), len(xs))
    head, tail = xs[:axis], xs[axis:]
    target = (math.prod(head) if _static(head) else -1, math.prod(tail) if _static(tail) else -1)
    _reshape_to(lw, x, y, target)


@_handles("Squeeze")
def _squeeze(lw: _GraphLowering, op: Op) -> None:
    """Dropping size-1 axes never moves data: the layout is kept, minus those axes."""
    x, y = op.inputs[0], op.outputs[0]
    xs = lw.shape(x)
    if xs is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    axes = lw.attr_or_input_ints(op, "axes", 1)
    if axes is None:
        if not _static(xs):
            raise _Unlowerable("Squeeze without axes of a dynamic-shape input", DYNAMIC_SHAPE)
        axes = [i for i, d in enumerate(xs) if d == 1]
    axes = sorted({_normalize_axis(a, len(xs)) for a in axes})
    perm = lw.perm_of(x)
    out_perm = _drop_axes(perm, axes)
    target = _permute(tuple(d for i, d in enumerate(xs) if i not in axes), out_perm)
    src = lw.need(x, perm)
    if _dynamic_dims(target) > 1:
        lw.emit("SQUEEZE", [src], [lw.output(y, out_perm, shape=target)],
                {"squeeze_dims": sorted(perm.index(a) for a in axes)})
    elif lw.tensors[src].shape == target:
        lw.define(y, src, out_perm)
    else:
        lw.emit("RESHAPE", [src, lw.shape_operand(target)], [lw.output(y, out_perm, shape=target)])


@_handles("Unsqueeze")
def _unsqueeze(lw: _GraphLowering, op: Op) -> None:
    """Inserting size-1 axes never moves data: an image (channel-last) layout is kept, with the new axes placed
    in it. Any other pending transpose is done first, on the smaller tensor, where the ONNX graph has it (so it is
    not carried into a broadcast)."""
    x, y = op.inputs[0], op.outputs[0]
    xs = lw.shape(x)
    if xs is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    axes = lw.attr_or_input_ints(op, "axes", 1) or []
    out_rank = len(xs) + len(axes)
    axes = sorted({_normalize_axis(a, out_rank) for a in axes})
    perm = lw.perm_of(x)
    if perm != _channel_last(len(perm)) and not _same_memory_order(perm, _identity(len(perm)), xs):
        perm = _identity(len(perm))
    out_perm = _insert_axes(perm, axes)
    full = list(xs)
    for a in axes:
        full.insert(a, 1)
    target = _permute(full, out_perm)
    src = lw.need(x, perm)
    if _dynamic_dims(target) > 1 and len(axes) == 1:
        lw.emit("EXPAND_DIMS", [src, lw.int32_operand([out_perm.index(axes[0])], scalar=True)],
                [lw.output(y, out_perm, shape=target)])
    else:
        lw.emit("RESHAPE", [src, lw.shape_operand(target)], [lw.output(y, out_perm, shape=target)])


@_handles("Concat")
def _concat(lw: _GraphLowering, op: Op) -> None:
    y = op.outputs[0]
    rank = lw.rank(y)
    if rank is None:
        raise _Unlowerable("output rank unknown", DYNAMIC_SHAPE)
    axis = _normalize_axis(int(op.attrs.get("axis", 0)), rank)
    parts = [x for x in op.inputs if x and (lw.shape(x) is None or len(lw.shape(x)) != rank
                                            or lw.shape(x)[axis] != 0)]
    if len(parts) == 1:
        _alias(lw, y, parts[0])
        return
    perm = lw.common_perm(parts, rank)
    lw.emit("CONCATENATION", [lw.need(x, perm) for x in parts], [lw.output(y, perm)],
            {"axis": perm.index(axis), "fused_activation_function": "NONE"})


@_handles("Split")
def _split(lw: _GraphLowering, op: Op) -> None:
    x = op.inputs[0]
    rank = lw.rank(x)
    if rank is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    axis = _normalize_axis(int(op.attrs.get("axis", 0)), rank)
    sizes = lw.attr_or_input_ints(op, "split", 1)
    outputs = [o for o in op.outputs if o]
    perm = lw.perm_of(x)
    la = perm.index(axis)
    xl = lw.need(x, perm)
    outs = [lw.output(o, perm) for o in outputs]
    if not sizes or len(set(sizes)) == 1:
        lw.emit("SPLIT", [lw.int32_operand([la], scalar=True), xl], outs, {"num_splits": len(outs)})
    else:
        lw.emit("SPLIT_V", [xl, lw.int32_operand(sizes), lw.int32_operand([la], scalar=True)], outs,
                {"num_splits": len(outs)})


_SLICE_OPTIONS = {"ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0, "offset": False}


@_handles("Slice")
def _slice(lw: _GraphLowering, op: Op) -> None:
    """Slice -> STRIDED_SLICE over every lowered axis; untouched axes are masked."""
    x, y = op.inputs[0], op.outputs[0]
    rank = lw.rank(x)
    if rank is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    if lw.opset < 10:
        starts, ends = op.attrs.get("starts", []), op.attrs.get("ends", [])
        axes, steps = op.attrs.get("axes"), None
        dynamic = False
    else:
        starts, ends = lw.const_ints(op.inputs[1]), lw.const_ints(op.inputs[2])
        axes = lw.attr_or_input_ints(op, "axes", 3)
        steps = lw.attr_or_input_ints(op, "steps", 4)
        dynamic = starts is None or ends is None
    count = len(starts) if starts is not None else (lw.shape(op.inputs[1]) or [rank])[0]
    if not isinstance(count, int):
        raise _Unlowerable("slice bounds of unknown length", DYNAMIC_SHAPE)
    axes = [_normalize_axis(a, rank) for a in (axes if axes is not None else range(count))]
    steps = steps or [1] * count
    perm = lw.perm_of(x)
    where = {a: i for i, a in enumerate(axes)}
    begin_mask = end_mask = 0
    begin, end, strides = [0] * rank, [0] * rank, [1] * rank
    for la, a in enumerate(perm):
        if a not in where:
            begin_mask |= 1 << la
            end_mask |= 1 << la
            continue
        i = where[a]
        strides[la] = steps[i]
        if not dynamic:
            begin[la], end[la] = starts[i], ends[i]
    if dynamic:
        begin_t = _gathered_bounds(lw, op.inputs[1], starts, perm, where)
        end_t = _gathered_bounds(lw, op.inputs[2], ends, perm, where)
    else:
        begin_t, end_t = lw.int32_operand(begin), lw.int32_operand(end)
    lw.emit("STRIDED_SLICE", [lw.need(x, perm), begin_t, end_t, lw.int32_operand(strides)],
            [lw.output(y, perm)], {"begin_mask": begin_mask, "end_mask": end_mask, **_SLICE_OPTIONS})


def _gathered_bounds(lw: _GraphLowering, name: str, values: list[int] | None, perm: Perm,
                     where: dict[int, int]) -> str:
    """A full-rank STRIDED_SLICE bound in lowered axis order, from ONNX bounds given for some axes: the run-time
    ones are picked out with a GATHER (what a converter builds for dynamic slice bounds)."""
    if values is not None:
        full = [values[where[a]] if a in where else 0 for a in perm]
        return lw.int32_operand(full)
    order = [where.get(a, -1) for a in perm]
    src = lw.need(name)
    if order == list(range(len(order))):
        return src
    # Axes without a bound read a 0 appended after the given ones.
    padded = lw.tensor(f"{src}/with_zero", lw.tensors[src].dtype, (len(where) + 1,))
    zero = lw.new_const(np.zeros(1, np.int64), lw.tensors[src].dtype, (1,), f"{src}/zero")
    lw.emit("CONCATENATION", [src, zero], [padded], {"axis": 0, "fused_activation_function": "NONE"},
            label="bounds")
    out = lw.tensor(f"{src}/lowered_order", lw.tensors[src].dtype, (len(perm),))
    lw.emit("GATHER", [padded, lw.int32_operand([i if i >= 0 else len(where) for i in order])], [out],
            {"axis": 0, "batch_dims": 0}, label="bounds")
    return out


@_handles("Pad")
def _pad(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    rank = lw.rank(x)
    if rank is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    mode = op.attrs.get("mode", "constant")
    if lw.opset < 11:
        pads = [int(p) for p in op.attrs.get("pads", op.attrs.get("paddings", []))]
        value: float | None = float(op.attrs.get("value", 0.0))
        axes = list(range(rank))
    else:
        pads = lw.const_ints(op.inputs[1])
        if pads is None:
            raise _Unlowerable("pads computed at run time", DYNAMIC_SHAPE)
        value = lw.const_float(lw.input(op, 2)) if lw.input(op, 2) else 0.0
        axes = [_normalize_axis(a, rank) for a in (lw.attr_or_input_ints(op, "axes", 3) or range(rank))]
    n = len(axes)
    if any(p < 0 for p in pads):
        raise _Unlowerable("negative pads (cropping)")
    per_axis = {a: (pads[i], pads[n + i]) for i, a in enumerate(axes)}
    if not any(pads):
        _alias(lw, y, x)
        return
    perm = lw.perm_of(x)
    paddings = lw.int32_operand([p for a in perm for p in per_axis.get(a, (0, 0))])
    lw.tensors[paddings].shape = (rank, 2)
    xl, out = lw.need(x, perm), lw.output(y, perm)
    if mode == "constant":
        if value is None:
            raise _Unlowerable("pad value computed at run time", DYNAMIC_SHAPE)
        if value == 0.0:
            lw.emit("PAD", [xl, paddings], [out])
        else:
            lw.emit("PADV2", [xl, paddings, lw.scalar_operand(value)], [out])
    elif mode == "reflect":
        lw.emit("MIRROR_PAD", [xl, paddings], [out], {"mode": 0})  # MirrorPadMode.REFLECT
    else:
        raise _Unlowerable(f"{mode!r} padding: TFLite pads with a constant or by reflection only")


def _resize_inputs(lw: _GraphLowering, op: Op) -> tuple[list[float] | None, str | None]:
    """(constant scales, run-time sizes tensor) of Resize/Upsample, whichever the op uses."""
    if op.type == "Upsample" or lw.opset < 11:
        scales = op.attrs.get("scales") if "scales" in op.attrs else lw.const_value(lw.input(op, 1))
        return (None if scales is None else [float(s) for s in np.ravel(scales)]), None
    scales_in, sizes_in = lw.input(op, 2), lw.input(op, 3)
    scales = lw.const_value(scales_in)
    if scales is not None and scales.size:
        return [float(s) for s in np.ravel(scales)], None
    return None, sizes_in


@_handles("Resize", "Upsample")
def _resize(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    xs, ys = lw.shape(x), lw.shape(y)
    if xs is None or len(xs) != 4:
        raise _Unlowerable("only 4-D (N,C,H,W) resizes are lowered: TFLite resizes the H, W axes of NHWC data")
    scales, sizes = _resize_inputs(lw, op)
    if scales is not None and (len(scales) != 4 or scales[0] != 1.0 or scales[1] != 1.0):
        raise _Unlowerable("resize along the batch or channel axis")
    if ys is not None and any(isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(xs[:2], ys[:2])):
        raise _Unlowerable("resize along the batch or channel axis")
    mode = op.attrs.get("mode", "nearest")
    if op.attrs.get("antialias", 0):
        raise _Unlowerable("antialiased resize")
    builtin = {"nearest": "RESIZE_NEAREST_NEIGHBOR", "linear": "RESIZE_BILINEAR",
               "bilinear": "RESIZE_BILINEAR"}.get(mode)
    if builtin is None:
        raise _Unlowerable(f"{mode} interpolation: TFLite has nearest-neighbour and bilinear only")
    default_ctm = "half_pixel" if op.type == "Resize" and lw.opset >= 11 else "asymmetric"
    ctm = op.attrs.get("coordinate_transformation_mode", default_ctm)
    if ctm == "tf_crop_and_resize":
        raise _Unlowerable("tf_crop_and_resize coordinate mode")
    xl = lw.need(x, _channel_last(4))
    if ys is not None and _static(ys[2:]):
        size = lw.int32_operand(ys[2:])
    else:
        size = _runtime_resize_size(lw, xl, scales, sizes)
    lw.emit(builtin, [xl, size], [lw.output(y, _channel_last(4))],
            {"align_corners": ctm == "align_corners",
             "half_pixel_centers": ctm in ("half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn")})


def _runtime_resize_size(lw: _GraphLowering, xl: str, scales: list[float] | None, sizes: str | None) -> str:
    """The [H, W] size operand of a resize whose input size is only known at run time: the input's spatial shape
    times the (integer) scales, or the spatial part of the ONNX sizes tensor (what a converter computes)."""
    slice_attrs = {"begin_mask": 0, "end_mask": 0, **_SLICE_OPTIONS}
    source = lw.need(sizes) if sizes is not None else None
    if source is None:
        if scales is None or any(s != int(s) for s in scales[2:]):
            raise _Unlowerable("resize of a run-time size by non-integer scales", DYNAMIC_SHAPE)
        source = lw.tensor(f"{xl}/shape", "int32", (4,))
        lw.emit("SHAPE", [xl], [source], {"out_type": TensorType.INT32}, label="size")
    spatial = lw.tensor(f"{source}/spatial", lw.tensors[source].dtype, (2,))
    lw.emit("STRIDED_SLICE", [source, lw.int32_operand([2 if sizes else 1]), lw.int32_operand([4 if sizes else 3]),
                              lw.int32_operand([1])], [spatial], slice_attrs, label="size")
    if lw.tensors[spatial].dtype != "int32":
        cast = lw.tensor(f"{spatial}/int32", "int32", (2,))
        lw.emit("CAST", [spatial], [cast], label="size")
        spatial = cast
    if sizes is not None:
        return spatial
    scaled = lw.tensor(f"{spatial}/scaled", "int32", (2,))
    lw.emit("MUL", [spatial, lw.int32_operand([int(s) for s in scales[2:]])], [scaled],
            dict(_MUL_OPTIONS), label="size")
    return scaled


@_handles("Gather")
def _gather(lw: _GraphLowering, op: Op) -> None:
    x, idx, y = op.inputs[0], op.inputs[1], op.outputs[0]
    xs, index_rank = lw.shape(x), lw.rank(idx)
    if xs is None or index_rank is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    axis = _normalize_axis(int(op.attrs.get("axis", 0)), len(xs))
    perm = lw.perm_of(x)
    if index_rank == 0:
        out_perm = _drop_axes(perm, [axis])
    elif index_rank == 1:
        out_perm = perm
    else:
        perm = _identity(len(xs))
        out_perm = _identity(len(xs) - 1 + index_rank)
    indices = lw.const_value(idx)
    if indices is not None:
        if isinstance(xs[axis], int):
            indices = np.where(indices < 0, indices + xs[axis], indices)  # TFLite GATHER takes no negatives
        name = f"{idx}/int32"
        lw.consts[name] = _Const("int32", tuple(indices.shape), indices.astype(np.int32))
        index_operand = lw.need(name, _identity(index_rank))
    else:
        index_operand = lw.need(idx)
    lw.emit("GATHER", [lw.need(x, perm), index_operand], [lw.output(y, out_perm)],
            {"axis": perm.index(axis), "batch_dims": 0})


@_handles("GatherND")
def _gather_nd(lw: _GraphLowering, op: Op) -> None:
    if op.attrs.get("batch_dims", 0):
        raise _Unlowerable("batch_dims != 0: TFLite GATHER_ND has no batch dimensions")
    lw.emit("GATHER_ND", [lw.need(op.inputs[0]), lw.need(op.inputs[1])], [lw.output(op.outputs[0])])


@_handles("Expand")
def _expand(lw: _GraphLowering, op: Op) -> None:
    x, shape_in, y = op.inputs[0], op.inputs[1], op.outputs[0]
    ys = lw.shape(y)
    if ys is not None and _dynamic_dims(ys) <= 1:
        rank = len(ys)
        perm = lw.common_perm([x], rank)
        lw.emit("BROADCAST_TO", [lw.operand(x, rank, perm), lw.shape_operand(_permute(ys, perm))],
                [lw.output(y, perm)])
        return
    rank = len(ys) if ys is not None else None
    lw.emit("BROADCAST_TO", [lw.need(x), lw.need(shape_in)],
            [lw.output(y, _identity(rank) if rank is not None else ())])


@_handles("Tile")
def _tile(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    repeats = lw.const_ints(op.inputs[1])
    perm = lw.perm_of(x)
    if repeats is None:
        lw.emit("TILE", [lw.need(x), lw.need(op.inputs[1])], [lw.output(y)])
        return
    lw.emit("TILE", [lw.need(x, perm), lw.int32_operand(_permute(repeats, perm))], [lw.output(y, perm)])


@_handles("Shape")
def _shape(lw: _GraphLowering, op: Op) -> None:
    """SHAPE of the lowered tensor; a GATHER puts its entries back in ONNX order (and applies start/end)."""
    x, y = op.inputs[0], op.outputs[0]
    v = lw.val(x)
    rank = len(v.perm)
    start, end = (min(max(_normalize_axis(int(op.attrs.get(k, d)), rank), 0), rank)
                  for k, d in (("start", 0), ("end", rank)))
    dtype = lw.dtype(y)
    attrs = {"out_type": _TFLITE_TYPE.get(dtype, TensorType.INT64)}
    wanted = [v.perm.index(a) for a in range(start, end)]
    if wanted == list(range(rank)):
        lw.emit("SHAPE", [v.name], [lw.output(y)], attrs)
        return
    full = lw.tensor(f"{y}/lowered_shape", dtype, (rank,))
    lw.emit("SHAPE", [v.name], [full], attrs)
    lw.emit("GATHER", [full, lw.int32_operand(wanted)], [lw.output(y)], {"axis": 0, "batch_dims": 0},
            label="onnx_order")


@_handles("Size")
def _size(lw: _GraphLowering, op: Op) -> None:
    v = lw.val(op.inputs[0])
    shape = lw.tensor(f"{op.outputs[0]}/shape", lw.dtype(op.outputs[0]), (len(v.perm),))
    lw.emit("SHAPE", [v.name], [shape], {"out_type": _TFLITE_TYPE.get(lw.dtype(op.outputs[0]), 4)})
    lw.emit("REDUCE_PROD", [shape, lw.int32_operand([0])], [lw.output(op.outputs[0])], {"keep_dims": False})


@_handles("Range")
def _range(lw: _GraphLowering, op: Op) -> None:
    lw.emit("RANGE", [lw.need(x) for x in op.inputs[:3]], [lw.output(op.outputs[0])])


@_handles("ConstantOfShape")
def _constant_of_shape(lw: _GraphLowering, op: Op) -> None:
    value = op.attrs.get("value")
    fill = np.asarray(value.value).reshape(()) if isinstance(value, Tensor) and value.value is not None \
        else np.asarray(0.0, np.float32)
    name = f"{op.outputs[0]}/fill_value"
    lw.consts[name] = _Const(str(fill.dtype), (), fill)
    lw.emit("FILL", [lw.need(op.inputs[0]), lw.need(name)], [lw.output(op.outputs[0])])


@_handles("OneHot")
def _one_hot(lw: _GraphLowering, op: Op) -> None:
    indices, depth, values, y = op.inputs[0], op.inputs[1], op.inputs[2], op.outputs[0]
    pair = lw.const_value(values)
    if pair is None or pair.size != 2:
        raise _Unlowerable("on/off values computed at run time", DYNAMIC_SHAPE)
    operands = []
    for k, label in ((1, "on"), (0, "off")):
        name = f"{y}/{label}_value"
        lw.consts[name] = _Const(str(pair.dtype), (), np.asarray(np.ravel(pair)[k]))
        operands.append(lw.need(name))
    depth_value = lw.const_ints(depth)
    depth_operand = lw.int32_operand(depth_value, scalar=True) if depth_value else lw.need(depth)
    rank = lw.rank(y)
    lw.emit("ONE_HOT", [lw.need(indices), depth_operand, *operands], [lw.output(y)],
            {"axis": int(op.attrs.get("axis", -1)) if rank is None
             else _normalize_axis(int(op.attrs.get("axis", -1)), rank)})


@_handles("CumSum")
def _cumsum(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    axis = lw.const_ints(op.inputs[1])
    if axis is None:
        raise _Unlowerable("axis computed at run time", DYNAMIC_SHAPE)
    perm = lw.perm_of(x)
    lw.emit("CUMSUM", [lw.need(x, perm), lw.int32_operand([lw.lowered_axis(x, axis[0])], scalar=True)],
            [lw.output(y, perm)], {"exclusive": bool(op.attrs.get("exclusive", 0)),
                                   "reverse": bool(op.attrs.get("reverse", 0))})


@_handles("TopK")
def _topk(lw: _GraphLowering, op: Op) -> None:
    """TOPK_V2 works on the last axis (chosen by layout); smallest-k is top-k of the negation."""
    x = op.inputs[0]
    rank = lw.rank(x)
    if rank is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    k = [int(op.attrs["k"])] if "k" in op.attrs else lw.const_ints(op.inputs[1])
    axis = _normalize_axis(int(op.attrs.get("axis", -1)), rank)
    perm = lw.perm_of(x)
    if perm[-1] != axis:
        perm = tuple(p for p in perm if p != axis) + (axis,)
    xl = lw.need(x, perm)
    largest = op.attrs.get("largest", 1)
    if not largest:
        negated = _intermediate(lw, xl, "negated")
        lw.emit("NEG", [xl], [negated])
        xl = negated
    k_operand = lw.int32_operand(k, scalar=True) if k else lw.need(op.inputs[1])
    values = lw.output(op.outputs[0], perm)
    target = _intermediate(lw, values, "negated_values") if not largest else values
    indices = lw.output(op.outputs[1], perm) if len(op.outputs) > 1 and op.outputs[1] else \
        lw.tensor(f"{values}/indices", "int32", lw.tensors[values].shape)
    lw.emit("TOPK_V2", [xl, k_operand], [target, indices])
    if not largest:
        lw.emit("NEG", [target], [values])


@_handles("NonZero")
def _non_zero(lw: _GraphLowering, op: Op) -> None:
    """TFLite WHERE yields [count, rank] coordinates; ONNX NonZero [rank, count]."""
    y = op.outputs[0]
    out = lw.output(y)
    shape = lw.tensors[out].shape
    coords = lw.tensor(f"{y}/coordinates", lw.tensors[out].dtype, tuple(reversed(shape)) if shape else None)
    lw.emit("WHERE", [lw.need(op.inputs[0])], [coords])
    lw.emit("TRANSPOSE", [coords, lw.int32_operand([1, 0])], [out], label="transpose")


@_handles("DepthToSpace", "SpaceToDepth")
def _depth_space(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    xs = lw.shape(x)
    if xs is None or len(xs) != 4:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    block = int(op.attrs["blocksize"])
    xl = lw.need(x, _channel_last(4))
    out = lw.output(y, _channel_last(4))
    if op.type == "SpaceToDepth":
        lw.emit("SPACE_TO_DEPTH", [xl], [out], {"block_size": block})
    elif op.attrs.get("mode", "DCR") == "DCR":
        lw.emit("DEPTH_TO_SPACE", [xl], [out], {"block_size": block})
    else:
        # CRD (PyTorch's pixel shuffle): channel c*b*b + i*b + j goes to (h*b+i, w*b+j, c). The converter spells it
        # as RESHAPE, TRANSPOSE, RESHAPE.
        n, c, h, w = xs
        c_out = c // (block * block) if isinstance(c, int) else -1
        split = (n, h, w, c_out, block, block)
        a = _intermediate(lw, xl, "split_channels", split)
        lw.emit("RESHAPE", [xl, lw.shape_operand(split)], [a], label="split_channels")
        moved = (n, h, block, w, block, c_out)
        t = _intermediate(lw, xl, "interleaved", moved)
        lw.emit("TRANSPOSE", [a, lw.int32_operand([0, 1, 4, 2, 5, 3])], [t], label="interleave")
        lw.emit("RESHAPE", [t, lw.shape_operand(lw.tensors[out].shape or ())], [out], label="merge")


@_handles("LRN")
def _lrn(lw: _GraphLowering, op: Op) -> None:
    size = int(op.attrs["size"])
    lw.emit("LOCAL_RESPONSE_NORMALIZATION", [lw.need(op.inputs[0], _channel_last(4))],
            [lw.output(op.outputs[0], _channel_last(4))],
            {"radius": (size - 1) // 2, "bias": float(op.attrs.get("bias", 1.0)),
             "alpha": float(op.attrs.get("alpha", 1e-4)) / size, "beta": float(op.attrs.get("beta", 0.75))})


@_handles("LpNormalization")
def _lp_normalization(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    rank = lw.rank(x)
    if int(op.attrs.get("p", 2)) != 2 or rank is None:
        raise _Unlowerable("only L2 normalization has a TFLite builtin")
    axis = _normalize_axis(int(op.attrs.get("axis", -1)), rank)
    perm = lw.perm_of(x)
    if perm[-1] != axis:
        perm = tuple(p for p in perm if p != axis) + (axis,)
    lw.emit("L2_NORMALIZATION", [lw.need(x, perm)], [lw.output(y, perm)], {"fused_activation_function": "NONE"})


# -- normalizations -------------------------------------------------------------------------------------------------

def _channel_const(lw: _GraphLowering, value: np.ndarray | None, x: str, label: str) -> str:
    """A per-channel (ONNX axis 1) constant shaped to broadcast against ``x`` in its lowered layout."""
    xs = lw.shape(x)
    assert xs is not None
    onnx_shape = tuple(xs[1] if i == 1 else 1 for i in range(len(xs)))
    name = f"{lw.node.name if lw.node else x}/{label}"
    lw.consts[name] = _Const("float32", onnx_shape,
                             None if value is None else value.astype(np.float32).reshape(onnx_shape))
    return name


@_handles("BatchNormalization")
def _batch_norm(lw: _GraphLowering, op: Op) -> None:
    """Inference BatchNormalization is x*a + b with per-channel constants; after a convolution the converter
    folds both into its weights and bias (see ``_fuse_affine``)."""
    if op.attrs.get("training_mode", 0) or any(o for o in op.outputs[1:]):
        raise _Unlowerable("training-mode BatchNormalization (running statistics outputs)")
    x, y = op.inputs[0], op.outputs[0]
    if lw.rank(x) is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    scale, bias, mean, var = (lw.const_value(n) for n in op.inputs[1:5])
    if any(n not in lw.consts for n in op.inputs[1:5]):
        raise _Unlowerable("BatchNormalization with computed statistics")
    eps = float(op.attrs.get("epsilon", 1e-5))
    a = b = None
    if scale is not None and var is not None:
        a = scale / np.sqrt(var + eps)
        if bias is not None and mean is not None:
            b = bias - mean * a
    scaled = f"{y}/scaled"
    lw.declare(scaled, lw.dtype(y), lw.shape(y))
    _emit_elementwise(lw, "MUL", [x, _channel_const(lw, a, x, "bn_scale")], scaled)
    _emit_elementwise(lw, "ADD", [scaled, _channel_const(lw, b, x, "bn_offset")], y)


def _emit_normalization(lw: _GraphLowering, x: str, y: str, axes: list[int], eps: float, scale: str | None,
                        offset: str | None) -> None:
    """(x - mean) * rsqrt(var + eps) * scale + offset, spelled as TensorFlow's batch_normalization emits it (what
    Keras LayerNormalization becomes in TFLite): MEAN, SQUARED_DIFFERENCE, MEAN, ADD, RSQRT, MUL, MUL, then
    MUL+SUB with an offset or NEG+MUL without one, and a final ADD."""
    perm = lw.perm_of(x)
    rank = len(perm)
    xl = lw.need(x, perm)
    full = lw.tensors[xl].shape
    lowered_axes = sorted(perm.index(a) for a in axes)
    reduced = tuple(1 if i in lowered_axes else d for i, d in enumerate(full or ()))
    axes_operand = lw.int32_operand(lowered_axes)
    mean = _intermediate(lw, xl, "mean", reduced)
    lw.emit("MEAN", [xl, axes_operand], [mean], {"keep_dims": True}, label="mean")
    sq = _intermediate(lw, xl, "squared_difference")
    lw.emit("SQUARED_DIFFERENCE", [xl, mean], [sq])
    var = _intermediate(lw, xl, "variance", reduced)
    lw.emit("MEAN", [sq, axes_operand], [var], {"keep_dims": True}, label="variance")
    var_eps = _intermediate(lw, var, "variance_eps")
    lw.emit("ADD", [var, lw.scalar_operand(eps)], [var_eps], dict(_ADD_OPTIONS), label="epsilon")
    inv = _intermediate(lw, var, "rsqrt")
    lw.emit("RSQRT", [var_eps], [inv])
    if scale is not None:
        scaled = _intermediate(lw, xl, "inv_scaled")
        lw.emit("MUL", [inv, lw.operand(scale, rank, perm)], [scaled], dict(_MUL_OPTIONS), label="scale")
        inv = scaled
    x_scaled = _intermediate(lw, xl, "x_scaled")
    lw.emit("MUL", [xl, inv], [x_scaled], dict(_MUL_OPTIONS), label="normalize")
    shift = _intermediate(lw, xl, "shift")
    if offset is not None:
        mean_scaled = _intermediate(lw, xl, "mean_scaled")
        lw.emit("MUL", [mean, inv], [mean_scaled], dict(_MUL_OPTIONS), label="mean_scale")
        lw.emit("SUB", [lw.operand(offset, rank, perm), mean_scaled], [shift], dict(_ADD_OPTIONS), label="offset")
    else:
        negated = _intermediate(lw, mean, "neg_mean")
        lw.emit("NEG", [mean], [negated])
        lw.emit("MUL", [negated, inv], [shift], dict(_MUL_OPTIONS), label="mean_scale")
    lw.emit("ADD", [x_scaled, shift], [lw.output(y, perm)], dict(_ADD_OPTIONS), label="shift")


@_handles("LayerNormalization")
def _layer_norm(lw: _GraphLowering, op: Op) -> None:
    if any(lw.used(o) for o in op.outputs[1:]):
        raise _Unlowerable("LayerNormalization Mean/InvStdDev outputs are used")
    x = op.inputs[0]
    rank = lw.rank(x)
    if rank is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    axis = _normalize_axis(int(op.attrs.get("axis", -1)), rank)
    _emit_normalization(lw, x, op.outputs[0], list(range(axis, rank)), float(op.attrs.get("epsilon", 1e-5)),
                        lw.input(op, 1), lw.input(op, 2))


@_handles("InstanceNormalization")
def _instance_norm(lw: _GraphLowering, op: Op) -> None:
    x = op.inputs[0]
    rank = lw.rank(x)
    if rank is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    scale = _channel_const(lw, lw.const_value(op.inputs[1]), x, "scale") if op.inputs[1] in lw.consts else None
    offset = _channel_const(lw, lw.const_value(op.inputs[2]), x, "offset") if op.inputs[2] in lw.consts else None
    if scale is None or offset is None:
        raise _Unlowerable("InstanceNormalization with computed scale/bias")
    _emit_normalization(lw, x, op.outputs[0], list(range(2, rank)), float(op.attrs.get("epsilon", 1e-5)),
                        scale, offset)


@_handles("RMSNormalization")
def _rms_norm(lw: _GraphLowering, op: Op) -> None:
    """x * rsqrt(mean(x*x) + eps) * scale: MUL, MEAN, ADD, RSQRT, MUL, MUL."""
    x, y = op.inputs[0], op.outputs[0]
    rank = lw.rank(x)
    if rank is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    axis = _normalize_axis(int(op.attrs.get("axis", -1)), rank)
    perm = lw.perm_of(x)
    xl = lw.need(x, perm)
    axes = sorted(perm.index(a) for a in range(axis, rank))
    reduced = tuple(1 if i in axes else d for i, d in enumerate(lw.tensors[xl].shape or ()))
    sq = _intermediate(lw, xl, "squared")
    lw.emit("MUL", [xl, xl], [sq], dict(_MUL_OPTIONS), label="square")
    ms = _intermediate(lw, xl, "mean_square", reduced)
    lw.emit("MEAN", [sq, lw.int32_operand(axes)], [ms], {"keep_dims": True})
    eps = _intermediate(lw, ms, "mean_square_eps")
    lw.emit("ADD", [ms, lw.scalar_operand(float(op.attrs.get("epsilon", 1e-5)))], [eps], dict(_ADD_OPTIONS))
    inv = _intermediate(lw, ms, "rsqrt")
    lw.emit("RSQRT", [eps], [inv])
    normalized = _intermediate(lw, xl, "normalized")
    lw.emit("MUL", [xl, inv], [normalized], dict(_MUL_OPTIONS), label="normalize")
    lw.emit("MUL", [normalized, lw.operand(op.inputs[1], rank, perm)], [lw.output(y, perm)], dict(_MUL_OPTIONS),
            label="scale")


# -- matrix products ------------------------------------------------------------------------------------------------

def _fully_connected(lw: _GraphLowering, a: str, weights: str, bias: str | None, y: str) -> None:
    """FULLY_CONNECTED over ``a``'s last axis; inputs of rank > 2 keep their leading axes (keep_num_dims)."""
    rank = lw.rank(a)
    if rank is None:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    perm = lw.perm_of(a)
    if perm and perm[-1] != rank - 1:
        perm = _identity(rank)
    attrs = dict(_FC_OPTIONS, keep_num_dims=rank > 2)
    inputs = [lw.need(a, perm), weights, bias or ""]
    y_rank = lw.rank(y)
    if rank >= 2 and y_rank == rank:
        lw.emit("FULLY_CONNECTED", inputs, [lw.output(y, perm)], attrs)
        return
    # A vector input (or output): TFLite FULLY_CONNECTED works on [batch, K] -> [batch, N]; reshape around it.
    out = lw.output(y)
    n = lw.tensors[weights].shape[0] if lw.tensors[weights].shape else None
    fc_out = lw.tensor(f"{y}/fc", lw.tensors[out].dtype, (1, n))
    lw.emit("FULLY_CONNECTED", inputs, [fc_out], attrs)
    lw.emit("RESHAPE", [fc_out, lw.shape_operand(lw.tensors[out].shape or ())], [out], label="squeeze")


def _matmul_operand(lw: _GraphLowering, name: str) -> tuple[str, bool]:
    """A BATCH_MATMUL operand and its adjoint flag: a layout that only swaps the last two axes is free."""
    rank = lw.rank(name)
    if rank is None or rank < 2:
        raise _Unlowerable("matrix product with a vector or unknown-rank activation operand", DYNAMIC_SHAPE)
    ident = _identity(rank)
    swapped = ident[:-2] + (rank - 1, rank - 2)
    if name in lw.vals and lw.vals[name].perm == swapped:
        return lw.vals[name].name, True
    return lw.need(name, ident), False


def _batch_matmul(lw: _GraphLowering, a: str, b: str, y: str) -> None:
    al, adj_x = _matmul_operand(lw, a)
    bl, adj_y = _matmul_operand(lw, b)
    lw.emit("BATCH_MATMUL", [al, bl], [lw.output(y)],
            {"adj_x": adj_x, "adj_y": adj_y, "asymmetric_quantize_inputs": False})


@_handles("MatMul")
def _matmul(lw: _GraphLowering, op: Op) -> None:
    """MatMul with constant 2-D weights -> FULLY_CONNECTED (weights stored [N, K]); of two activations ->
    BATCH_MATMUL."""
    a, b, y = op.inputs[0], op.inputs[1], op.outputs[0]
    if b in lw.consts and b not in lw.vals and lw.rank(b) == 2:
        _fully_connected(lw, a, lw.const_tensor(b, (1, 0)), None, y)
    else:
        _batch_matmul(lw, a, b, y)


@_handles("Gemm")
def _gemm(lw: _GraphLowering, op: Op) -> None:
    """Gemm with constant B -> FULLY_CONNECTED (alpha, beta fold into the constants); a C that is not a per-output
    bias is added afterwards."""
    a, b, c, y = op.inputs[0], op.inputs[1], lw.input(op, 2), op.outputs[0]
    trans_a, trans_b = op.attrs.get("transA", 0), op.attrs.get("transB", 0)
    if trans_a:
        name = f"{a}/transposed"
        lw.define(name, lw.val(a).name, tuple(reversed(lw.perm_of(a))))
        shape = lw.shape(a)
        lw.declare(name, lw.dtype(a), tuple(reversed(shape)) if shape else None)
        a = name
    ys = lw.shape(y)
    n = ys[1] if ys else None
    alpha, beta = float(op.attrs.get("alpha", 1.0)), float(op.attrs.get("beta", 1.0))
    if c is not None and beta != 1.0:
        c = _scaled_const(lw, c, beta) if c in lw.consts and c not in lw.vals else _scaled_value(lw, c, beta, y)
    bias = None
    if c is not None and c in lw.consts and c not in lw.vals and lw.shape(c) in ((n,), (1, n)):
        bias = lw.const_tensor(c, None, as_shape=(n,))
    if alpha != 1.0:
        b = _scaled_const(lw, b, alpha) if b in lw.consts and b not in lw.vals else _scaled_value(lw, b, alpha, y)
    if b in lw.consts and b not in lw.vals:
        weights = lw.const_tensor(b, (0, 1) if trans_b else (1, 0))
        if c is None or bias is not None:
            _fully_connected(lw, a, weights, bias, y)
            return
        partial = f"{y}/product"
        lw.declare(partial, lw.dtype(y), ys)
        _fully_connected(lw, a, weights, None, partial)
    else:
        partial = f"{y}/product" if c else y
        lw.declare(partial, lw.dtype(y), ys)
        bl = lw.need(b, (1, 0) if trans_b else (0, 1))
        lw.emit("BATCH_MATMUL", [lw.need(a, _identity(2)), bl], [lw.output(partial)],
                {"adj_x": False, "adj_y": False, "asymmetric_quantize_inputs": False})
        if not c:
            return
    _emit_elementwise(lw, "ADD", [partial, c], y)


def _scaled_const(lw: _GraphLowering, name: str, factor: float) -> str:
    """A Gemm alpha/beta folded into a constant operand (as the converter's constant folding does)."""
    c = lw.consts[name]
    value = c.real_value()
    scaled = f"{name}/scaled"
    lw.consts[scaled] = _Const("float32", c.shape, None if value is None else (value * factor).astype(np.float32))
    return scaled


def _scaled_value(lw: _GraphLowering, name: str, factor: float, like: str) -> str:
    """A Gemm alpha/beta on a computed operand: a MUL by the factor."""
    scaled = f"{name}/scaled"
    lw.declare(scaled, lw.dtype(name), lw.shape(name))
    factor_name = f"{scaled}/factor"
    lw.consts[factor_name] = _Const("float32", (), np.asarray(factor, np.float32))
    _emit_elementwise(lw, "MUL", [name, factor_name], scaled)
    return scaled


# -- quantization ---------------------------------------------------------------------------------------------------

def _lowered_quant(lw: _GraphLowering, op: Op, x: str) -> QuantParams | None:
    """A Q/DQ node's quantization with the per-channel axis moved to ``x``'s lowered layout."""
    quant = lw._quant_of(op, lw.rank(x))
    if quant is not None and quant.axis is not None:
        quant = replace(quant, axis=lw.perm_of(x).index(quant.axis))
    return quant


@_handles("DequantizeLinear")
def _dequantize(lw: _GraphLowering, op: Op) -> None:
    """DEQUANTIZE for now; quantized consumers read the int8 tensor directly once ``_fold_qdq`` runs."""
    x, y = op.inputs[0], op.outputs[0]
    perm = lw.perm_of(x)
    xl = lw.need(x, perm)
    if lw.tensors[xl].quant is None:
        lw.tensors[xl].quant = _lowered_quant(lw, op, x) or _placeholder_quant()
    lw.emit("DEQUANTIZE", [xl], [lw.output(y, perm, dtype="float32")])


@_handles("QuantizeLinear")
def _quantize(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    perm = lw.perm_of(x)
    zp = lw.const(lw.input(op, 2))
    dtype = lw.dtype(y)
    if dtype in ("unknown", "float32"):
        dtype = zp.dtype if zp is not None else "uint8"
    lw.emit("QUANTIZE", [lw.need(x, perm)],
            [lw.output(y, perm, dtype=dtype, quant=_lowered_quant(lw, op, x) or _placeholder_quant())])


def _requantized_operand(lw: _GraphLowering, op: Op, x: str, scale: int, zero_point: int) -> None:
    """Attach a QLinear op's input quantization to its lowered input."""
    xl = lw.need(x, lw.perm_of(x))
    if lw.tensors[xl].quant is None:
        s, z = lw.const_value(op.inputs[scale]), lw.const_value(op.inputs[zero_point])
        if s is not None:
            lw.tensors[xl].quant = QuantParams(tuple(float(v) for v in np.ravel(s)),
                                               tuple(int(v) for v in np.ravel(z)) if z is not None else (0,))


def _quantized_const(lw: _GraphLowering, op: Op, w: str, scale: int, zero_point: int, axis: int) -> str:
    """A QLinear op's integer weights as a quantized constant."""
    c = lw.consts[w]
    s, z = lw.const_value(op.inputs[scale]), lw.const_value(op.inputs[zero_point])
    scales = tuple(float(v) for v in np.ravel(s)) if s is not None else (_NAN,)
    zps = tuple(int(v) for v in np.ravel(z)) if z is not None else (0,) * len(scales)
    name = f"{w}/quantized"
    lw.consts[name] = _Const(c.dtype, c.shape, c.value, QuantParams(scales, zps, axis if len(scales) > 1 else None))
    return name


def _finish_qlinear(lw: _GraphLowering, op: Op, scale: int, zero_point: int) -> None:
    y = op.outputs[0]
    t = lw.tensors[lw.vals[y].name]
    s, z = lw.const_value(op.inputs[scale]), lw.const_value(op.inputs[zero_point])
    t.dtype = lw.dtype(y)
    t.quant = QuantParams((float(np.ravel(s)[0]),) if s is not None else (_NAN,),
                          (int(np.ravel(z)[0]),) if z is not None else (0,))


@_handles("QLinearConv")
def _qlinear_conv(lw: _GraphLowering, op: Op) -> None:
    if op.inputs[3] not in lw.consts:
        raise _Unlowerable("QLinearConv with computed weights")
    _requantized_operand(lw, op, op.inputs[0], 1, 2)
    weights = _quantized_const(lw, op, op.inputs[3], 4, 5, 0)
    inner = replace(op, inputs=[op.inputs[0], weights] + ([op.inputs[8]] if lw.input(op, 8) else []))
    _conv(lw, inner)
    _finish_qlinear(lw, op, 6, 7)


@_handles("QLinearMatMul")
def _qlinear_matmul(lw: _GraphLowering, op: Op) -> None:
    _requantized_operand(lw, op, op.inputs[0], 1, 2)
    b = op.inputs[3]
    if b in lw.consts:
        b = _quantized_const(lw, op, b, 4, 5, 1)
    else:
        _requantized_operand(lw, op, b, 4, 5)
    _matmul(lw, replace(op, inputs=[op.inputs[0], b]))
    _finish_qlinear(lw, op, 6, 7)


@_handles("DynamicQuantizeLinear", "MatMulInteger", "ConvInteger")
def _dynamic_quantization(lw: _GraphLowering, op: Op) -> None:
    raise _Unlowerable("run-time (dynamic) quantization: TFLite has no integer-accumulator builtin for it; its "
                       "dynamic-range kernels keep float activations")


# -- recurrent and control flow ---------------------------------------------------------------------------------------

@_handles("LSTM")
def _lstm(lw: _GraphLowering, op: Op) -> None:
    """A one-direction LSTM -> UNIDIRECTIONAL_SEQUENCE_LSTM (time-major), with the gate weights split per gate
    and the states as variable tensors, as the converter lays it out."""
    direction = op.attrs.get("direction", "forward")
    if direction == "bidirectional":
        raise _Unlowerable("bidirectional LSTM is not lowered (a converter emits two sequence LSTMs and a concat)")
    if op.attrs.get("input_forget", 0):
        raise _Unlowerable("coupled input/forget gate (input_forget=1)")
    acts = [a.lower() if isinstance(a, str) else a for a in op.attrs.get("activations", ["Sigmoid", "Tanh", "Tanh"])]
    if acts not in (["sigmoid", "tanh", "tanh"], []):
        raise _Unlowerable(f"LSTM activations {acts}: TFLite's LSTM kernel is sigmoid/tanh")
    if len(op.outputs) > 2 and lw.used(op.outputs[2]):
        raise _Unlowerable("final cell state Y_c is used: TFLite's LSTM does not output it (a converter keeps a "
                           "WHILE loop or Flex ops)")
    if any(lw.input(op, i) and lw.input(op, i) not in lw.consts for i in (4, 5, 6)):
        raise _Unlowerable("sequence lengths or initial states computed at run time: TFLite's LSTM keeps its "
                           "states in zero-initialized variable tensors")
    x, w = op.inputs[0], op.inputs[1]
    xs, ws = lw.shape(x), lw.shape(w)
    if xs is None or ws is None or len(xs) != 3:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    hidden = int(op.attrs.get("hidden_size", ws[1] // 4 if isinstance(ws[1], int) else 0))
    time_major = int(op.attrs.get("layout", 0)) == 0
    batch = xs[1] if time_major else xs[0]
    n_input = xs[2]
    label = lw.node.name if lw.node else "lstm"

    def weight(kind: str, cols: Dim) -> str:
        return lw.new_const(None, "float32", (hidden, cols), f"{label}/{kind}")

    def vector(kind: str) -> str:
        return lw.new_const(None, "float32", (hidden,), f"{label}/{kind}")

    peephole = lw.input(op, 7) is not None
    gates = ("input", "forget", "cell", "output")
    inputs = [lw.need(x)]
    inputs += [weight(f"{g}_input_weights", n_input) for g in gates]
    inputs += [weight(f"{g}_recurrent_weights", hidden) for g in gates]
    inputs += [vector(f"cell_to_{g}_weights") if peephole else "" for g in ("input", "forget", "output")]
    inputs += [vector(f"{g}_gate_bias") for g in gates]
    inputs += ["", ""]  # no projection
    for kind in ("activation_state", "cell_state"):
        state = lw.tensor(f"{label}/{kind}", "float32", (batch, hidden))
        lw.tensors[state].is_variable = True
        inputs.append(state)
    inputs += ["", "", "", ""]  # no layer-norm coefficients
    if direction == "reverse":
        inputs[0] = _reverse_time(lw, inputs[0], 0 if time_major else 1)
    y_name = op.outputs[0] if op.outputs and op.outputs[0] else None
    seq_shape = (xs[0], xs[1], hidden)
    seq = lw.tensor(f"{label}/sequence", "float32", seq_shape)
    lw.emit("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, [seq],
            {"fused_activation_function": "TANH", "cell_clip": float(op.attrs.get("clip", 0.0)), "proj_clip": 0.0,
             "time_major": time_major, "asymmetric_quantize_inputs": False, "diagonal_recurrent_tensors": False})
    if direction == "reverse":
        seq = _reverse_time(lw, seq, 0 if time_major else 1)
    if y_name:  # ONNX Y has a direction axis: [seq, 1, batch, hidden] (layout 0) or [batch, seq, 1, hidden]
        out = lw.output(y_name)
        lw.emit("RESHAPE", [seq, lw.shape_operand(lw.tensors[out].shape or ())], [out], label="directions")
    if len(op.outputs) > 1 and op.outputs[1]:  # Y_h: the last time step
        out = lw.output(op.outputs[1])
        step = lw.tensor(f"{label}/last_step", "float32", (batch, hidden))
        t_axis = 0 if time_major else 1
        begin = [0, 0, 0]
        begin[t_axis] = -1
        lw.emit("STRIDED_SLICE", [seq, lw.int32_operand(begin), lw.int32_operand([0, 0, 0]),
                                  lw.int32_operand([1, 1, 1])], [step],
                {"begin_mask": 0b111 ^ (1 << t_axis), "end_mask": 0b111, "ellipsis_mask": 0, "new_axis_mask": 0,
                 "shrink_axis_mask": 1 << t_axis, "offset": False}, label="last_step")
        lw.emit("RESHAPE", [step, lw.shape_operand(lw.tensors[out].shape or ())], [out], label="final_state")
    if len(op.outputs) > 2 and op.outputs[2]:
        lw.output(op.outputs[2])  # unused (checked above): declared so the graph stays well-formed


def _reverse_time(lw: _GraphLowering, lowered: str, axis: int) -> str:
    out = lw.tensor(f"{lowered}/reversed", lw.tensors[lowered].dtype, lw.tensors[lowered].shape)
    lw.emit("REVERSE_V2", [lowered, lw.int32_operand([axis])], [out], label="reverse")
    return out


def _free_names(graph: OpGraph) -> list[str]:
    """Outer-scope names a body reads (nested bodies included), in first-use order."""
    defined = set(graph.inputs) | {n for n, t in graph.tensors.items() if t.is_constant}
    defined |= {o for op in graph.ops for o in op.outputs if o}
    free: list[str] = []
    for op in graph.ops:
        names = [i for i in op.inputs if i]
        for body in op.bodies.values():
            names += _free_names(body)
        for n in names:
            if n not in defined and n not in free:
                free.append(n)
    return free


@_handles("If", "Loop")
def _control_flow(lw: _GraphLowering, op: Op) -> None:
    """If -> IF, Loop -> WHILE, each body lowered as its own subgraph; outer-scope values it reads become extra
    operands (TFLite subgraphs see only their inputs)."""
    roles = {"If": (("then_branch", "then"), ("else_branch", "else")), "Loop": (("body", "body"),)}[op.type]
    bodies = [(op.bodies[key], role) for key, role in roles if key in op.bodies]
    if len(bodies) != len(roles):
        raise _Unlowerable("missing body graph")
    if op.type == "Loop" and len([o for o in op.outputs if o]) > len([i for i in op.inputs[2:] if i]):
        raise _Unlowerable("Loop scan outputs: TFLite WHILE carries loop variables only")
    captured: list[str] = []
    for body, _ in bodies:
        captured += [n for n in _free_names(body) if n not in captured and n not in lw.consts]
    operands = [lw.need(i) for i in op.inputs if i] + [lw.need(n) for n in captured]
    attrs: dict[str, Any] = {}
    lowered_bodies: dict[str, OpGraph] = {}
    for body, role in bodies:
        child = _GraphLowering(body, lw.opsets, lw.notes, parent=lw)
        child.lower_body(captured, outer=lw)
        graph = child.finish()
        lowered_bodies[role] = graph
        attrs[f"{role}_subgraph_index"] = graph.index
    lowered = lw.emit("IF" if op.type == "If" else "WHILE", operands, [lw.output(o) for o in op.outputs if o], attrs)
    lowered.bodies = lowered_bodies
    if op.type == "Loop":
        lw.note(CONTROL_FLOW, "Loop lowered to WHILE: the loop condition is computed in the body (as in ONNX), "
                "there is no separate condition subgraph")


# -- com.microsoft ops (ONNX Runtime's fused ops) ---------------------------------------------------------------------

@_handles("Gelu", "FastGelu", "BiasGelu", table=_MS_HANDLERS)
def _ms_gelu(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    bias = lw.input(op, 1)
    if bias is not None:
        biased = f"{y}/biased"
        lw.declare(biased, lw.dtype(y), lw.shape(y))
        _emit_elementwise(lw, "ADD", [x, bias], biased)
        x = biased
    perm = lw.perm_of(x)
    lw.emit("GELU", [lw.need(x, perm)], [lw.output(y, perm)], {"approximate": op.type == "FastGelu"})


@_handles("QuickGelu", table=_MS_HANDLERS)
def _ms_quick_gelu(lw: _GraphLowering, op: Op) -> None:
    """x * sigmoid(alpha * x): MUL, LOGISTIC, MUL."""
    x, y = op.inputs[0], op.outputs[0]
    perm = lw.perm_of(x)
    xl = lw.need(x, perm)
    scaled = _intermediate(lw, xl, "scaled")
    lw.emit("MUL", [xl, lw.scalar_operand(float(op.attrs.get("alpha", 1.702)))], [scaled], dict(_MUL_OPTIONS))
    gate = _intermediate(lw, xl, "gate")
    lw.emit("LOGISTIC", [scaled], [gate])
    lw.emit("MUL", [xl, gate], [lw.output(y, perm)], dict(_MUL_OPTIONS))


# -- converter peepholes on the lowered graph -------------------------------------------------------------------------

class _Uses:
    """Producer and consumers of every lowered tensor, for one sweep of a rewrite pass."""

    def __init__(self, lw: _GraphLowering):
        self.producer: dict[str, Op] = {t: op for op in lw.ops for t in op.outputs if t}
        self.consumers: dict[str, list[Op]] = defaultdict(list)
        for op in lw.ops:
            for t in dict.fromkeys(op.inputs):
                if t:
                    self.consumers[t].append(op)
        self.graph_outputs = set(lw.outputs)

    def only_consumer(self, tensor: str) -> Op | None:
        """The single op reading ``tensor`` (which must not be a graph output), else ``None``."""
        users = self.consumers.get(tensor, [])
        return users[0] if len(users) == 1 and tensor not in self.graph_outputs else None


def _merge_sources(*ops: Op) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for op in ops for n in op.source_nodes))


def _const_scalar(lw: _GraphLowering, tensor: str) -> float | None:
    """The value of a constant tensor whose elements are all equal, else ``None``."""
    t = lw.tensors.get(tensor)
    if t is None or not t.is_constant or t.value is None or t.value.size == 0:
        return None
    if t.quant is not None:
        return None
    values = np.unique(np.asarray(t.value, dtype=np.float64))
    return float(values[0]) if values.size == 1 else None


def _close(value: float | None, target: float, tol: float = 1e-3) -> bool:
    return value is not None and abs(value - target) <= tol * max(1.0, abs(target))


def _other_operand(op: Op, tensor: str) -> str | None:
    if len(op.inputs) < 2:
        return None
    return op.inputs[1] if op.inputs[0] == tensor else op.inputs[0] if op.inputs[1] == tensor else None


class _Sweep:
    """One pass over the ops: which ones a rewrite changed (not matched again this sweep) or removed."""

    def __init__(self) -> None:
        self.touched: set[int] = set()
        self.removed: set[int] = set()

    def touch(self, op: Op) -> None:
        self.touched.add(id(op))

    def remove(self, op: Op) -> None:
        self.touched.add(id(op))
        self.removed.add(id(op))

    def untouched(self, *ops: Op | None) -> bool:
        return all(op is not None and id(op) not in self.touched for op in ops)


def _rewrite(lw: _GraphLowering, rule: Callable[[_GraphLowering, _Uses, Op, _Sweep], bool]) -> None:
    """Apply ``rule`` to every op until nothing changes; a sweep skips ops it already changed."""
    changed = True
    while changed:
        changed = False
        uses, sweep = _Uses(lw), _Sweep()
        for op in list(lw.ops):
            if sweep.untouched(op) and rule(lw, uses, op, sweep):
                changed = True
        lw.ops = [op for op in lw.ops if id(op) not in sweep.removed]


def _fuse_activation(lw: _GraphLowering, uses: _Uses, act: Op, sweep: _Sweep) -> bool:
    """RELU/RELU6/RELU_N1_TO_1/TANH after a conv, FC or arithmetic op becomes its fused activation."""
    if act.type not in _FUSED_ACTIVATION:
        return False
    src = act.inputs[0]
    host = uses.producer.get(src)
    if host is None or not sweep.untouched(host) or host.type not in _ACTIVATION_HOSTS[act.type]:
        return False
    if host.attrs.get("fused_activation_function") != "NONE" or uses.only_consumer(src) is not act:
        return False
    host.attrs["fused_activation_function"] = _FUSED_ACTIVATION[act.type]
    host.outputs[host.outputs.index(src)] = act.outputs[0]
    host.source_nodes = _merge_sources(host, act)
    sweep.touch(host)
    sweep.remove(act)
    return True


def _fuse_rsqrt(lw: _GraphLowering, uses: _Uses, div: Op, sweep: _Sweep) -> bool:
    """1/sqrt(x) -> RSQRT(x); y/sqrt(x) -> y * RSQRT(x) (the RMSNorm/LayerNorm spelling of torch and tf2onnx)."""
    if div.type != "DIV" or div.attrs.get("fused_activation_function", "NONE") != "NONE":
        return False
    root = uses.producer.get(div.inputs[1])
    if root is None or root.type != "SQRT" or not sweep.untouched(root) or uses.only_consumer(div.inputs[1]) is not div:
        return False
    root.type = "RSQRT"
    sweep.touch(root)
    if _close(_const_scalar(lw, div.inputs[0]), 1.0, 1e-6):
        root.outputs = list(div.outputs)
        root.source_nodes = _merge_sources(root, div)
        sweep.remove(div)
    else:
        div.type = "MUL"
        sweep.touch(div)
    return True


def _fuse_squared_difference(lw: _GraphLowering, uses: _Uses, mul: Op, sweep: _Sweep) -> bool:
    """(a - b) * (a - b) -> SQUARED_DIFFERENCE(a, b), as Keras LayerNormalization's variance is written."""
    if mul.type != "MUL" or len(mul.inputs) != 2 or mul.inputs[0] != mul.inputs[1]:
        return False
    if mul.attrs.get("fused_activation_function") != "NONE":
        return False
    sub = uses.producer.get(mul.inputs[0])
    if sub is None or sub.type != "SUB" or sub.attrs.get("fused_activation_function") != "NONE" \
            or not sweep.untouched(sub):
        return False
    if uses.only_consumer(mul.inputs[0]) is not mul:
        return False
    sub.type, sub.attrs, sub.outputs = "SQUARED_DIFFERENCE", {}, list(mul.outputs)
    sub.source_nodes = _merge_sources(sub, mul)
    sweep.touch(sub)
    sweep.remove(mul)
    return True


def _scaled_operand(lw: _GraphLowering, uses: _Uses, tensor: str, factor: float) -> tuple[str, Op] | None:
    """(x, op) when ``tensor`` is x*factor or x/(1/factor) computed by ``op`` for this one use."""
    op = uses.producer.get(tensor)
    if op is None or uses.only_consumer(tensor) is None:
        return None
    if op.type == "MUL":
        for i in (0, 1):
            if _close(_const_scalar(lw, op.inputs[1 - i]), factor):
                return op.inputs[i], op
    if op.type == "DIV" and _close(_const_scalar(lw, op.inputs[1]), 1.0 / factor):
        return op.inputs[0], op
    return None


def _gelu_tail(lw: _GraphLowering, uses: _Uses, gate: str, x: str) -> tuple[list[Op], Op] | None:
    """The ``0.5 * x * gate`` part of a GELU, in any of its spellings: (ops, the op producing the result)."""
    m1 = uses.only_consumer(gate)
    if m1 is None or m1.type != "MUL" or m1.attrs.get("fused_activation_function") != "NONE":
        return None
    other = _other_operand(m1, gate)
    if other is None:
        return None
    if other == x or _close(_const_scalar(lw, other), 0.5):
        m2 = uses.only_consumer(m1.outputs[0])
        want_const = other == x
        if m2 is None or m2.type != "MUL":
            return None
        second = _other_operand(m2, m1.outputs[0])
        if (want_const and _close(_const_scalar(lw, second or ""), 0.5)) or (not want_const and second == x):
            return [m1, m2], m2
        return None
    half = _scaled_operand(lw, uses, other, 0.5)
    if half is not None and half[0] == x:
        return [half[1], m1], m1
    return None


def _one_plus(lw: _GraphLowering, uses: _Uses, tensor: str) -> Op | None:
    add = uses.only_consumer(tensor)
    if add is None or add.type != "ADD" or add.attrs.get("fused_activation_function") != "NONE":
        return None
    other = _other_operand(add, tensor)
    return add if other is not None and _close(_const_scalar(lw, other), 1.0) else None


def _fuse_gelu(lw: _GraphLowering, uses: _Uses, op: Op, sweep: _Sweep) -> bool:
    """The exact (Erf) and tanh-approximated GELU decompositions -> GELU, as TFLite's optimizer does."""
    if op.type == "FLEX:Erf":
        scaled = _scaled_operand(lw, uses, op.inputs[0], 1 / math.sqrt(2))
        if scaled is None:
            return False
        x, head = scaled[0], [scaled[1], op]
        approximate = False
    elif op.type == "TANH":
        inner = _scaled_operand(lw, uses, op.inputs[0], math.sqrt(2 / math.pi))
        if inner is None:
            return False
        cubic = _cubic_term(lw, uses, inner[0])
        if cubic is None:
            return False
        x, head = cubic[0], [*cubic[1], inner[1], op]
        approximate = True
    else:
        return False
    add = _one_plus(lw, uses, op.outputs[0])
    tail = _gelu_tail(lw, uses, add.outputs[0], x) if add is not None else None
    if tail is None:
        return False
    ops = [*head, add, *tail[0]]
    if not sweep.untouched(*ops):
        return False
    op.type, op.domain, op.inputs, op.outputs = "GELU", "tflite", [x], list(tail[1].outputs)
    op.attrs = {"approximate": approximate}
    op.source_nodes = _merge_sources(*ops)
    for other in ops:
        if other is not op:
            sweep.remove(other)
    sweep.touch(op)
    erf_nodes = set(op.source_nodes)
    lw.notes[:] = [n for n in lw.notes if not (n.code == NO_BUILTIN and n.source_node in erf_nodes)]
    return True


def _cubic_term(lw: _GraphLowering, uses: _Uses, tensor: str) -> tuple[str, list[Op]] | None:
    """(x, ops) when ``tensor`` is x + 0.044715 * x^3 (x^3 as POW 3 or two MULs)."""
    add = uses.producer.get(tensor)
    if add is None or add.type != "ADD" or uses.only_consumer(tensor) is None:
        return None
    for i in (0, 1):
        x, term = add.inputs[i], add.inputs[1 - i]
        scaled = _scaled_operand(lw, uses, term, 0.044715)
        if scaled is None:
            continue
        cube_t, scale_op = scaled
        cube = uses.producer.get(cube_t)
        if cube is None or uses.only_consumer(cube_t) is None:
            continue
        if cube.type == "POW" and cube.inputs[0] == x and _close(_const_scalar(lw, cube.inputs[1]), 3.0):
            return x, [cube, scale_op, add]
        if cube.type == "MUL" and x in cube.inputs:
            square_t = _other_operand(cube, x)
            square = uses.producer.get(square_t or "")
            if square is not None and square.type == "MUL" and square.inputs == [x, x] \
                    and uses.only_consumer(square_t) is cube:
                return x, [square, cube, scale_op, add]
    return None


_REDUCTIONS = frozenset({"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"})


def _fold_reduce_reshape(lw: _GraphLowering, uses: _Uses, reduce: Op, sweep: _Sweep) -> bool:
    """A keep_dims reduction whose result is only reshaped to drop the reduced axes is one keep_dims=False
    reduction (ReduceMean/GlobalAveragePool followed by Squeeze/Flatten)."""
    if reduce.type not in _REDUCTIONS or not reduce.attrs.get("keep_dims"):
        return False
    out = reduce.outputs[0]
    reshape = uses.only_consumer(out)
    if reshape is None or reshape.type not in ("RESHAPE", "SQUEEZE") or not sweep.untouched(reshape):
        return False
    axes = lw.tensors[reduce.inputs[1]].value if len(reduce.inputs) > 1 else None
    in_shape, final = lw.tensors[reduce.inputs[0]].shape, lw.tensors[reshape.outputs[0]].shape
    if axes is None or in_shape is None or final is None:
        return False
    gone = {_normalize_axis(int(a), len(in_shape)) for a in np.ravel(axes)}
    if tuple(d for i, d in enumerate(in_shape) if i not in gone) != tuple(final):
        return False
    reduce.attrs["keep_dims"] = False
    reduce.outputs = list(reshape.outputs)
    reduce.source_nodes = _merge_sources(reduce, reshape)
    sweep.touch(reduce)
    sweep.remove(reshape)
    return True


def _per_channel(shape: tuple[Dim, ...] | None, channels: Dim) -> bool:
    """Whether a constant of ``shape`` broadcasts along the last (channel) axis only."""
    if shape is None:
        return False
    if all(d == 1 for d in shape):
        return True
    return shape[-1] == channels and all(d == 1 for d in shape[:-1])


def _fuse_affine(lw: _GraphLowering, uses: _Uses, op: Op, sweep: _Sweep) -> bool:
    """A per-channel constant ADD/SUB after a conv/FC folds into its bias, a MUL into its weights and bias (what
    the TFLite optimizer does, e.g. to an inference BatchNormalization)."""
    if op.type not in ("ADD", "SUB", "MUL") or op.attrs.get("fused_activation_function") != "NONE":
        return False
    for k in (0, 1):
        act, const = op.inputs[k], op.inputs[1 - k]
        host = uses.producer.get(act)
        if host is None or host.type not in _WEIGHT_OPERAND or not lw.tensors[const].is_constant:
            continue
        if op.type == "SUB" and k != 0:
            continue
        if not sweep.untouched(host) or host.attrs.get("fused_activation_function") != "NONE" \
                or uses.only_consumer(act) is not op or lw.tensors[act].shape is None:
            continue
        channels = lw.tensors[act].shape[-1]
        if not _per_channel(lw.tensors[const].shape, channels):
            continue
        _fold_into_affine(lw, host, op, const, channels)
        host.outputs[host.outputs.index(act)] = op.outputs[0]
        host.source_nodes = _merge_sources(host, op)
        sweep.touch(host)
        sweep.remove(op)
        return True
    return False


def _fold_into_affine(lw: _GraphLowering, host: Op, op: Op, const: str, channels: Dim) -> None:
    """New weights/bias constants for ``host`` with ``op`` (x*c, x+c, x-c per output channel) folded in; values are
    computed when the constants' values are known."""
    c = lw.tensors[const]
    factor = None if c.value is None else np.ravel(np.asarray(c.value, np.float32))
    bias_index = _BIAS_OPERAND[host.type]
    while len(host.inputs) <= bias_index:
        host.inputs.append("")
    old_bias = lw.tensors.get(host.inputs[bias_index]) if host.inputs[bias_index] else None
    base = old_bias.value if old_bias is not None and old_bias.value is not None and old_bias.quant is None \
        else (np.zeros(channels, np.float32) if old_bias is None and isinstance(channels, int) else None)
    label = host.name
    if op.type == "MUL":
        w = lw.tensors[host.inputs[1]]
        axis = _WEIGHT_OPERAND[host.type][1]
        value = None
        if w.value is not None and factor is not None and w.quant is None and w.shape is not None:
            shape = [1] * len(w.shape)
            shape[axis] = -1
            value = (np.asarray(w.value, np.float32) * np.broadcast_to(factor, (w.shape[axis],)).reshape(shape))
        host.inputs[1] = lw.new_const(value, w.dtype, w.shape or (), f"{label}/scaled_weights", quant=w.quant)
        bias = None if base is None or factor is None else base * factor
        if old_bias is None:
            return
    else:
        sign = -1.0 if op.type == "SUB" else 1.0
        bias = None if base is None or factor is None else base + sign * factor
    value = None if bias is None else np.broadcast_to(bias, (channels,)).astype(np.float32) \
        if isinstance(channels, int) else None
    host.inputs[bias_index] = lw.new_const(value, "float32", (channels,), f"{label}/folded_bias")


def _canonicalize_layout(lw: _GraphLowering, uses: _Uses, op: Op, sweep: _Sweep) -> bool:
    """No-op RESHAPE/TRANSPOSE disappear, chains of them collapse (the converter's canonicalization)."""
    if op.type not in ("RESHAPE", "TRANSPOSE"):
        return False
    src = uses.producer.get(op.inputs[0])
    if op.type == "RESHAPE":
        in_shape, out_shape = lw.tensors[op.inputs[0]].shape, lw.tensors[op.outputs[0]].shape
        if in_shape is not None and in_shape == out_shape and _dynamic_dims(in_shape) <= 1:
            return _bypass(lw, op, sweep)
        if src is not None and src.type == "RESHAPE" and sweep.untouched(src) \
                and uses.only_consumer(op.inputs[0]) is op:
            op.inputs[0] = src.inputs[0]
            op.source_nodes = _merge_sources(src, op)
            sweep.touch(op)
            sweep.remove(src)
            return True
        return False
    perm = lw.tensors[op.inputs[1]].value if len(op.inputs) > 1 else None
    if perm is None:
        return False
    perm = [int(p) for p in np.ravel(perm)]
    if perm == sorted(perm):
        return _bypass(lw, op, sweep)
    if src is not None and src.type == "TRANSPOSE" and sweep.untouched(src) and uses.only_consumer(op.inputs[0]) is op:
        first = lw.tensors[src.inputs[1]].value
        if first is None:
            return False
        first = [int(p) for p in np.ravel(first)]
        op.inputs = [src.inputs[0], lw.int32_operand([first[p] for p in perm])]
        op.source_nodes = _merge_sources(src, op)
        sweep.touch(op)
        sweep.remove(src)
        return True
    return False


def _bypass(lw: _GraphLowering, op: Op, sweep: _Sweep) -> bool:
    """Remove a no-op: its readers read its input instead."""
    lw.replace_uses(op.outputs[0], op.inputs[0])
    sweep.remove(op)
    return True


def _dead_code(lw: _GraphLowering) -> None:
    while True:
        used = set(lw.outputs) | {t for op in lw.ops for t in op.inputs if t}
        alive = [op for op in lw.ops if any(t in used for t in op.outputs if t)]
        if len(alive) == len(lw.ops):
            return
        lw.ops = alive


# -- quantization ---------------------------------------------------------------------------------------------------

def _is_real(t: Tensor) -> bool:
    """Whether a tensor holds real numbers (float, or quantized integers), as opposed to indices, shapes, masks."""
    return t.dtype in _FLOAT_DTYPES or (t.dtype in _QUANT_DTYPES and t.quant is not None)


def _runs_int8(lw: _GraphLowering, op: Op) -> bool | None:
    """True if the op computes in int8, False in float, None if it has no real-valued output."""
    real = [lw.tensors[t] for t in op.outputs if t and _is_real(lw.tensors[t])]
    if not real:
        return None
    return any(t.dtype in _QUANT_DTYPES for t in real)


def _same_quant(a: Tensor, b: Tensor) -> bool:
    if a.dtype != b.dtype or a.quant is None or b.quant is None:
        return False
    qa, qb = a.quant, b.quant
    return qa.zero_point == qb.zero_point and len(qa.scale) == len(qb.scale) and all(
        math.isclose(x, y, rel_tol=1e-6) or (math.isnan(x) and math.isnan(y)) for x, y in zip(qa.scale, qb.scale))


def _fold_qdq(lw: _GraphLowering) -> None:
    """QuantizeLinear/DequantizeLinear pairs around an op become an int8 op reading and writing int8 tensors.

    A QUANTIZE of a quantizable op's only (float) result becomes that op's int8 result; DEQUANTIZE -> QUANTIZE is
    a requantization (one QUANTIZE, or nothing when the parameters match); an op that computes in int8 reads the
    int8 input of a DEQUANTIZE directly. What is left is where the TFLite model has them too: at float inputs and
    outputs, and around ops that stay float."""

    def fold_quantize(lw: _GraphLowering, uses: _Uses, q: Op, sweep: _Sweep) -> bool:
        if q.type != "QUANTIZE":
            return False
        x = q.inputs[0]
        p = uses.producer.get(x)
        if p is None or not sweep.untouched(p):
            return False
        out = lw.tensors[q.outputs[0]]
        if p.type == "DEQUANTIZE":
            src = p.inputs[0]
            if _same_quant(lw.tensors[src], out):
                lw.replace_uses(q.outputs[0], src)
                sweep.remove(q)
            else:
                q.inputs[0] = src
                q.source_nodes = _merge_sources(p, q)
                sweep.touch(q)
            return True
        if p.type not in _INT8_OPS or x in uses.graph_outputs:
            return False
        readers = uses.consumers[x]
        if not all(r.type == "QUANTIZE" and _same_quant(lw.tensors[r.outputs[0]], out) for r in readers):
            return False
        p.outputs[p.outputs.index(x)] = q.outputs[0]
        p.source_nodes = _merge_sources(p, *readers)
        sweep.touch(p)
        for r in readers:
            if r is not q:
                lw.replace_uses(r.outputs[0], q.outputs[0])
            sweep.remove(r)
        return True

    def sink_dequantize(lw: _GraphLowering, uses: _Uses, op: Op, sweep: _Sweep) -> bool:
        """A scale-preserving op (a layout TRANSPOSE the lowering placed after a DEQUANTIZE, a reshape, a pool)
        runs on the int8 data instead, keeping its scale: what the quantizer does with such ops."""
        if op.type not in _SAME_SCALE_OPS or _runs_int8(lw, op) is not False:
            return False
        real = [i for i, t in enumerate(op.inputs) if t and _is_real(lw.tensors[t])]
        if len(real) != 1:
            return False
        dq = uses.producer.get(op.inputs[real[0]])
        if dq is None or dq.type != "DEQUANTIZE":
            return False
        src = lw.tensors[dq.inputs[0]]
        op.inputs[real[0]] = dq.inputs[0]
        for name in op.outputs:
            t = lw.tensors.get(name) if name else None
            if t is not None and t.dtype in _FLOAT_DTYPES:
                t.dtype = src.dtype
                t.quant = src.quant if src.quant is None or src.quant.axis is None else QuantParams(
                    (src.quant.scale[0],), (src.quant.zero_point[0],))
        op.source_nodes = _merge_sources(op, dq)
        sweep.touch(op)
        return True

    def hoist_quantize(lw: _GraphLowering, uses: _Uses, op: Op, sweep: _Sweep) -> bool:
        """The reverse: a scale-preserving op that now writes int8 (a RESHAPE the lowering put after a 1-D conv)
        makes the quantizable op feeding it write int8 too, at the same scale."""
        if op.type not in _SAME_SCALE_OPS or not _runs_int8(lw, op):
            return False
        real = [t for t in op.inputs if t and _is_real(lw.tensors[t])]
        if len(real) != 1 or lw.tensors[real[0]].dtype not in _FLOAT_DTYPES or lw.tensors[real[0]].is_constant:
            return False
        producer = uses.producer.get(real[0])
        if producer is None or producer.type not in _INT8_OPS or uses.only_consumer(real[0]) is not op:
            return False
        out = lw.tensors[op.outputs[0]]
        lw.tensors[real[0]].dtype, lw.tensors[real[0]].quant = out.dtype, out.quant
        sweep.touch(op)
        return True

    _rewrite(lw, fold_quantize)
    _rewrite(lw, sink_dequantize)
    _rewrite(lw, hoist_quantize)
    _rewrite(lw, fold_quantize)
    uses = _Uses(lw)
    for dq in [op for op in lw.ops if op.type == "DEQUANTIZE"]:
        src, out = dq.inputs[0], dq.outputs[0]
        for reader in uses.consumers.get(out, []):
            if reader.type in ("QUANTIZE", "DEQUANTIZE"):
                continue
            mode = _runs_int8(lw, reader)
            if mode or (mode is None and reader.type in _INT8_INPUT_OPS):
                reader.inputs = [src if t == out else t for t in reader.inputs]
                reader.source_nodes = _merge_sources(reader, dq)
    _dead_code(lw)


def _assume_int8(lw: _GraphLowering) -> None:
    """Post-training int8 quantization of a float graph: int8 I/O and every activation a quantizable op writes.
    Scales are unknown without calibration (NaN), except where the kernel fixes them."""
    for name in lw.inputs:
        t = lw.tensors[name]
        if t.dtype in _FLOAT_DTYPES:
            t.dtype, t.quant = "int8", _placeholder_quant()
    for op in lw.ops:
        if op.type not in _INT8_OPS:
            continue
        for name in op.outputs:
            t = lw.tensors.get(name) if name else None
            if t is not None and t.dtype in _FLOAT_DTYPES and not t.is_variable:
                fixed = _FIXED_OUTPUT_QUANT.get(op.type)
                t.dtype = "int8"
                t.quant = QuantParams((fixed[0],), (fixed[1],)) if fixed else _placeholder_quant()


def _propagate_scales(lw: _GraphLowering) -> None:
    """Int8 results of scale-preserving ops (reshape, transpose, pool, ...) share their input's quantization."""
    for op in lw.ops:
        if op.type not in _SAME_SCALE_OPS:
            continue
        data = op.inputs[1] if op.type == "SPLIT" else op.inputs[0]
        src = lw.tensors.get(data) if data else None
        if src is None or src.quant is None:
            continue
        for name in op.outputs:
            t = lw.tensors.get(name) if name else None
            if t is not None and t.dtype in _QUANT_DTYPES and t.quant is None:
                t.quant = src.quant if src.quant.axis is None else QuantParams((src.quant.scale[0],),
                                                                              (src.quant.zero_point[0],))


def _operand_role(op: Op, index: int) -> str:
    """How a constant operand is quantized: ``weight`` (int8 per channel), ``bias`` (int32), ``lstm_*``, ``data``."""
    if op.type == "UNIDIRECTIONAL_SEQUENCE_LSTM":
        if index in (12, 13, 14, 15, 17):
            return "bias"
        return "lstm_weight" if 1 <= index <= 16 else "data"
    weight = _WEIGHT_OPERAND.get(op.type)
    if weight is not None and index == weight[0]:
        return "weight"
    if _BIAS_OPERAND.get(op.type) == index:
        return "bias"
    return "data"


def _int8_constant(lw: _GraphLowering, op: Op, index: int) -> str:
    """The int8 (int32 for biases) form of a float constant operand of an int8 op, quantized as the converter
    would: weights symmetric per output channel, biases at input scale x weight scale."""
    name = op.inputs[index]
    t = lw.tensors[name]
    role = _operand_role(op, index)
    shape = t.shape or ()
    if role == "weight":
        axis = _WEIGHT_OPERAND[op.type][1]
        channels = shape[axis] if len(shape) > axis and isinstance(shape[axis], int) else None
        return lw.tensor(f"{name}/int8", "int8", shape, constant=True, quant=_placeholder_quant(channels, axis))
    if role == "bias":
        data_index = 2 if op.type == "TRANSPOSE_CONV" else 0
        x = lw.tensors.get(op.inputs[data_index])
        w = lw.tensors.get(op.inputs[1]) if op.type != "UNIDIRECTIONAL_SEQUENCE_LSTM" else None
        in_scale = x.quant.scale[0] if x is not None and x.quant is not None else _NAN
        w_scales = w.quant.scale if w is not None and w.quant is not None else (_NAN,)
        quant = QuantParams(tuple(in_scale * s for s in w_scales), (0,) * len(w_scales),
                            0 if len(w_scales) > 1 else None)
        return lw.tensor(f"{name}/int32", "int32", shape, constant=True, quant=quant)
    return lw.tensor(f"{name}/int8", "int8", shape, constant=True, quant=_placeholder_quant())


def _legalize_types(lw: _GraphLowering) -> None:
    """Make every op's operands match the precision it computes in: int8 ops get int8 (QUANTIZE before float
    activations, int8/int32 constants), float ops get float (DEQUANTIZE after int8 ones). Notes every op that
    stays float inside an int8 graph."""
    if not any(t.dtype in _QUANT_DTYPES and _is_real(t) for t in lw.tensors.values()):
        return  # a float graph (a weight-free float QDQ-less body): nothing to legalize
    dequantized: dict[str, str] = {}
    quantized: dict[str, str] = {}
    converted: dict[tuple[str, str], str] = {}
    ops: list[Op] = []

    def insert(type_: str, src: str, dst: str, before: Op) -> None:
        ops.append(Op(index=0, name=lw.op_name(f"{before.name}/{type_.lower()}"), type=type_, domain="tflite",
                      version=None, inputs=[src], outputs=[dst], source_nodes=before.source_nodes))

    for op in lw.ops:
        if op.type in ("QUANTIZE", "DEQUANTIZE"):
            ops.append(op)
            continue
        mode = _runs_int8(lw, op)
        wants_float = mode is False or (mode is None and op.type not in _INT8_INPUT_OPS)
        for i, name in enumerate(op.inputs):
            t = lw.tensors.get(name) if name else None
            if t is None or not _is_real(t):
                continue
            if mode and t.dtype in _FLOAT_DTYPES:
                if t.is_variable:
                    t.dtype = "int16" if i == 19 else "int8"
                    t.quant = _placeholder_quant()
                elif t.is_constant:
                    key = (name, f"{op.type}:{_operand_role(op, i)}")
                    if key not in converted:
                        converted[key] = _int8_constant(lw, op, i)
                    op.inputs[i] = converted[key]
                else:
                    if name not in quantized:
                        quantized[name] = lw.tensor(f"{name}/quantized", "int8", t.shape, quant=_placeholder_quant())
                        insert("QUANTIZE", name, quantized[name], op)
                    op.inputs[i] = quantized[name]
            elif wants_float and t.dtype in _QUANT_DTYPES:
                if t.is_constant and op.type in _HYBRID_OPS and _operand_role(op, i) == "weight":
                    continue  # dynamic-range kernel: int8 weights, float activations
                if name not in dequantized:
                    dequantized[name] = lw.tensor(f"{name}/dequantized", "float32", t.shape)
                    insert("DEQUANTIZE", name, dequantized[name], op)
                op.inputs[i] = dequantized[name]
        ops.append(op)
        if lw.assumed_int8:
            _quantize_float_outputs(lw, op, ops)
        if mode is False and op.domain == "tflite":
            why = "the ONNX graph leaves it unquantized" if op.type in _INT8_OPS \
                else "the TFLite quantizer has no int8 kernel for it"
            lw.notes.append(LoweringNote(FLOAT_FALLBACK, f"{op.type} runs in float inside the int8 model ({why}); "
                                         "DEQUANTIZE/QUANTIZE surround it", op.source_nodes[0] if op.source_nodes
                                         else None))
    lw.ops = ops


def _quantize_float_outputs(lw: _GraphLowering, op: Op, ops: list[Op]) -> None:
    """With int8 I/O, a float result that is a graph output goes through a QUANTIZE (the graph output keeps its
    name; readers of the float value read it under a new one)."""
    for k, name in enumerate(op.outputs):
        t = lw.tensors.get(name) if name else None
        if t is None or name not in lw.outputs or t.dtype not in _FLOAT_DTYPES:
            continue
        float_name = lw.tensor(f"{name}/float", t.dtype, t.shape)
        op.outputs[k] = float_name
        for other in lw.ops:
            if other is not op:
                other.inputs = [float_name if x == name else x for x in other.inputs]
        t.dtype, t.quant = "int8", _placeholder_quant()
        ops.append(Op(index=0, name=lw.op_name(f"{op.name}/quantize"), type="QUANTIZE", domain="tflite",
                      version=None, inputs=[float_name], outputs=[name], source_nodes=op.source_nodes))


# -- finishing a graph ------------------------------------------------------------------------------------------------

def _op_version(op: Op, tensors: dict[str, Tensor]) -> int:
    """The operator-code version the converter writes, for the kernels lowered ops use."""
    if op.domain != "tflite":
        return 1
    if op.type == "FULLY_CONNECTED" and op.attrs.get("keep_num_dims"):
        return 5
    if op.type.startswith("RESIZE_") and op.attrs.get("half_pixel_centers"):
        return 3
    int8 = any(t and t in tensors and tensors[t].dtype in _QUANT_DTYPES and tensors[t].quant is not None
               for t in (*op.inputs, *op.outputs))
    return _INT8_VERSION.get(op.type, 2) if int8 else 1


def _unify_versions(graphs: list[OpGraph]) -> None:
    """A TFLite file has one operator code per builtin, at the highest version any of its ops needs."""
    highest: dict[str, int] = {}
    for graph in graphs:
        for op in graph.ops:
            highest[op.type] = max(highest.get(op.type, 1), op.version or 1)
    for graph in graphs:
        for op in graph.ops:
            op.version = highest[op.type]


_CHANNEL_FIRST_OPS = frozenset({"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool",
                                "GlobalMaxPool", "BatchNormalization", "InstanceNormalization", "Resize", "Upsample",
                                "DepthToSpace", "SpaceToDepth", "LRN", "QLinearConv"})
_LAYOUT_NEUTRAL_OPS = frozenset({"DequantizeLinear", "QuantizeLinear", "Cast", "Identity", "Relu", "Clip",
                                 "LeakyRelu", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "Add", "Sub", "Mul",
                                 "Div", "Neg", "Abs", "Exp", "Pad", "PRelu", "Elu"})


def _input_layouts(graph: OpGraph) -> dict[str, Perm]:
    """Channel-last for the inputs that feed channel-first ops (Conv, pools, ...) through layout-neutral ops, as
    onnx2tf gives a converted model NHWC inputs; inputs that go through a Transpose first (an NHWC model exported
    with a layout transpose) or into anything else keep the ONNX order."""
    layouts: dict[str, Perm] = {}
    for name in graph.inputs:
        t = graph.tensors.get(name)
        if t is None or t.shape is None or not 3 <= len(t.shape) <= 5:
            continue
        frontier, seen = [name], set()
        while frontier and name not in layouts:
            current = frontier.pop(0)
            for op in graph.consumers(current):
                if op.index in seen:
                    continue
                seen.add(op.index)
                if op.type in _CHANNEL_FIRST_OPS and op.inputs and op.inputs[0] == current:
                    layouts[name] = _channel_last(len(t.shape))
                    break
                if op.type in _LAYOUT_NEUTRAL_OPS:
                    frontier.extend(o for o in op.outputs if o)
    return layouts


def _has_quantization(graph: OpGraph) -> bool:
    quant_ops = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul"}
    return any(op.type in quant_ops or op.type.startswith("QLinear") for _, op in graph.walk())


def lower_onnx_to_tflite(model: Model, *, quantize: bool = True) -> LoweredGraph:
    """Lower an ONNX model's main graph (and its control-flow bodies) into the TFLite builtin dialect.

    ``quantize=False`` stops before quantization: the float graph the converter optimizes, with constant values
    kept (tests run it numerically); the Coral rules want the default."""
    notes: list[LoweringNote] = []
    main = model.main
    lw = _GraphLowering(main, model.opsets, notes)
    lw.quantize = quantize
    lw.assumed_int8 = quantize and not _has_quantization(main)
    lw.lower_graph(_input_layouts(main))
    graph = lw.finish()
    _unify_versions([graph, *lw.registry])
    if lw.assumed_int8 and any(_is_real(t) for t in graph.tensors.values()):
        notes.insert(0, LoweringNote(ASSUMED_INT8, "float model: lowered as if full-integer int8 post-training "
                                     "quantized (int8 inputs, outputs and activations, int8 per-channel weights, int32 "
                                     "biases); quantization scales are unknown (NaN) without calibration"))
    return LoweredGraph(dialect="tflite", source_format="onnx", graphs=[graph, *lw.registry], notes=notes,
                        assumed_int8=lw.assumed_int8)
