"""Handlers for reductions: ``ReduceMean``/``Sum``/``Max``/``Min``/``Prod``, the composite ones TFLite lacks
(``ReduceSumSquare``, ``ReduceL1``/``L2``, ``ReduceLogSum``/``LogSumExp``), and ``ArgMax``/``ArgMin``. The
reduction tables and ``_reduce_axes`` live in ``core``, whose shape inference uses them too.
"""

from __future__ import annotations


from edgefit.graph import Op
from edgefit.lower.onnx_to_tflite.core import (
    _COMPOSITE_REDUCE, _MUL_OPTIONS, _REDUCE, _alias, _GraphLowering, _handles, _intermediate, _reduce_axes
)
from edgefit.lower.onnx_to_tflite.facts import _TFLITE_TYPE, TensorType, _Unlowerable
from edgefit.lower.onnx_to_tflite.layout import _drop_axes, _normalize_axis

# -- reductions -----------------------------------------------------------------------------------------------------

@_handles(*_REDUCE, *_COMPOSITE_REDUCE)
def _reduce(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    rank = lw.known_rank(x)
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
    rank = lw.known_rank(x)
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
