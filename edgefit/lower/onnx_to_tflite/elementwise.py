"""Handlers for elementwise ONNX ops: unary and binary arithmetic, comparisons and logic, ``Div`` (by a float
constant: a multiplication by its reciprocal), ``Pow``, ``Reciprocal``, the variadic ``Max``/``Min``/``Sum``/
``Mean``, ``Mod``, ``BitShift``, ``Where``, ``Identity``/``Dropout`` and ``Cast``.
"""

from __future__ import annotations

import numpy as np

from edgefit.graph import Op
from edgefit.lower.onnx_to_tflite.core import (
    _MUL_OPTIONS, _alias, _broadcast, _Const, _emit_elementwise, _GraphLowering, _handles
)
from edgefit.lower.onnx_to_tflite.facts import _FLOAT_DTYPES, _Unlowerable
from edgefit.lower.onnx_to_tflite.layout import _lowered_dtype


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
    flat = None if exponent is None else np.ravel(exponent)
    # One value repeated (NaN, never equal to itself, matches no rewrite below either way).
    e = float(flat[0]) if flat is not None and flat.size and (flat == flat[0]).all() else None
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
    shapes = [lw.shape(x) for x in operands]
    if op.type == "Sum" and shapes[0] is not None and all(s == shapes[0] for s in shapes):
        _add_n(lw, operands, y)
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


def _add_n(lw: _GraphLowering, operands: list[str], y: str) -> None:
    """``Sum`` of equal shapes is one ADD_N: onnx2tf writes ``tf.add_n`` for it (``onnx2tf/ops/Sum.py``) and the
    TFLite converter legalizes ``tf.AddN`` to ``tfl.add_n``. ADD_N has no int8 kernel (``add_n.cc`` takes float32 and
    int32; no ``QuantizableResult`` in ``tfl_ops.td``) and no fused activation, so in an int8 model it stays float
    between DEQUANTIZE/QUANTIZE and a following Relu is a separate RELU."""
    perm = lw.common_perm(operands, len(lw.shape(operands[0]) or ()))
    lw.emit("ADD_N", [lw.need(x, perm) for x in operands], [lw.output(y, perm)])


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


@_handles("IsNaN")
def _is_nan(lw: _GraphLowering, op: Op) -> None:
    """IsNaN -> NOT_EQUAL(x, x) (only NaN differs from itself), a builtin, not a Flex op: onnx2tf writes
    ``tf.math.is_nan`` (onnx2tf/ops/IsNaN.py) and the TFLite converter lowers TF ``IsNan`` to ``x != x``."""
    perm = lw.perm_of(op.inputs[0])
    xl = lw.need(op.inputs[0], perm)
    lw.emit("NOT_EQUAL", [xl, xl], [lw.output(op.outputs[0], perm)])
