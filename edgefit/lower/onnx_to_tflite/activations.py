"""Handlers for activation functions: ``Clip`` (a RELU variant, else MINIMUM/MAXIMUM), ``LeakyRelu``, ``Elu``,
``HardSigmoid``, ``Softmax``/``LogSoftmax``, ``Swish``, ``Gelu``, and ``ReverseSequence``.
"""

from __future__ import annotations

import math

import numpy as np

from edgefit.graph import Op
from edgefit.lower.onnx_to_tflite.core import (
    _ADD_OPTIONS, _MUL_OPTIONS, _alias, _Const, _emit_elementwise, _GraphLowering, _handles, _intermediate
)
from edgefit.lower.onnx_to_tflite.facts import _Unlowerable
from edgefit.lower.onnx_to_tflite.layout import _normalize_axis, _static

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
    shape = lw.known_shape(x)
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
