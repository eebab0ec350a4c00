"""The lowering of one ONNX graph. ``_GraphLowering`` answers what the ONNX graph says, builds the lowered graph,
tracks layouts lazily, folds constants, walks the ops and finishes the graph with the peephole and
quantization passes; with it are the shapes ONNX shape inference could not give and the handler registry
(``_handles`` fills ``_HANDLERS`` and ``_MS_HANDLERS``) with the helpers all handler families share. Handler
modules import from here; this module imports none of them.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import onnx
from onnx import helper, numpy_helper

from edgefit.graph import Dim, Op, OpGraph, QuantParams, Tensor
from edgefit.lower import LoweringNote
from edgefit.lower.onnx_to_tflite.facts import (
    _BUILTINS, _DATA_MOVEMENT, _FLOAT_DTYPES, _MAX_FOLDED_BYTES, _NAN, _NONDETERMINISTIC, CUSTOM_DOMAIN, DYNAMIC_SHAPE,
    LOWERING_FAILED, TF2ONNX_PASSTHROUGH, _op_version, _Unlowerable
)
from edgefit.lower.onnx_to_tflite.layout import (
    _CHANNEL_FIRST_OPS, Perm, _channel_last, _identity, _int32, _lowered_dtype, _normalize_axis, _permute,
    _placeholder_quant, _same_memory_order, _static
)
from edgefit.lower.onnx_to_tflite.peepholes import (
    _canonicalize_layout, _dead_code, _fold_reduce_reshape, _fuse_activation, _fuse_affine, _fuse_gelu, _fuse_rsqrt,
    _drop_flatten_before_fc, _fuse_squared_difference, _int8_pool_pad, _rewrite
)
from edgefit.lower.onnx_to_tflite.quantize import (
    _assume_int8, _fold_qdq, _legalize_types, _propagate_scales, _requantize_concat_inputs
)


#: Where the lowering's own errors go: set EDGEFIT_LOWER_STRICT=1 to raise them instead of noting them (tests).
_STRICT = os.environ.get("EDGEFIT_LOWER_STRICT", "") not in ("", "0")


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
        #: Names read inside If branches inlined into this graph (their condition was constant).
        self.inlined_uses: set[str] = set()
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        #: (ONNX tensor, layout) -> lowered tensor already holding it in that layout.
        self._layout_cache: dict[tuple[str, Perm], str] = {}
        self._const_cache: dict[tuple[Any, ...], str] = {}
        #: One-node reference evaluators for constant folding, by op signature (see ``_evaluate``).
        self._evaluators: dict[tuple[Any, ...], Any] = parent._evaluators if parent else {}
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

    def known_shape(self, name: str) -> tuple[Dim, ...]:
        """The shape, for handlers that cannot lower an op whose input rank is unknown."""
        s = self.shape(name)
        if s is None:
            raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
        return s

    def known_rank(self, name: str) -> int:
        return len(self.known_shape(name))

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
        return bool(name) and (bool(self.src.consumers(name)) or name in self.src.outputs
                               or name in self.inlined_uses)

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
        if v.perm == want or shape is None or len(shape) != len(want) or sorted(v.perm) != sorted(want):
            return v.name  # (a perm that is no permutation of the same axes comes from a malformed Transpose)
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
        else:  # a scale without a value (external data, or computed): per-channel, values unknown
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
            # The one-node model names its values i0, i1, ... and o0, o1, ...: folds of the same op type with
            # the same attributes and input dtypes (the 143 Slice/Concat of a static Qwen3) share one evaluator.
            names = {n: f"i{k}" for k, n in enumerate(values)}
            arrays = {names[n]: np.asarray(v) for n, v in values.items()}
            outputs = [f"o{k}" if o else "" for k, o in enumerate(op.outputs)]
            key = (op.type, self.opset, tuple(names.get(i, "") for i in op.inputs), tuple(outputs),
                   tuple(a.dtype for a in arrays.values()), repr(sorted(op.attrs.items())))
            evaluator = None if any(isinstance(v, Tensor) for v in op.attrs.values()) else self._evaluators.get(key)
            if evaluator is None:
                node = helper.make_node(op.type, [names.get(i, "") for i in op.inputs], outputs, **attrs)
                graph = helper.make_graph(
                    [node], "fold",
                    [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), None)
                     for n, a in arrays.items()],
                    [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in outputs if o])
                model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
                evaluator = ReferenceEvaluator(model)
                if not any(isinstance(v, Tensor) for v in op.attrs.values()):
                    self._evaluators[key] = evaluator
            with np.errstate(all="ignore"):
                return [np.asarray(r) for r in evaluator.run(None, arrays)]
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
        n_ops, n_cached = len(self.ops), len(self._layout_cache)  # the handler only adds to the cache
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
            for key in list(self._layout_cache)[n_cached:]:
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
                     _fuse_affine, _fuse_activation, _drop_flatten_before_fc):
            _rewrite(self, rule)
        _dead_code(self)
        if self.quantize:
            if self.assumed_int8:
                _assume_int8(self)
            else:
                _fold_qdq(self)
            _propagate_scales(self)
            _legalize_types(self)
            _requantize_concat_inputs(self)
        for rule in (_fuse_activation, _int8_pool_pad, _fold_reduce_reshape, _canonicalize_layout):
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
    if w is not None and len(w) >= 2:  # a weight of rank < 2 is malformed: leave the channels unknown
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


# -- reduction tables (shared by shape inference and the reduction handlers) ------------------------------------

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
_SLICE_OPTIONS = {"ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0, "offset": False}


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
