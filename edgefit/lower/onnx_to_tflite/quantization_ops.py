"""Handlers for the quantization ops of an ONNX graph: ``QuantizeLinear``/``DequantizeLinear`` (QUANTIZE and
DEQUANTIZE, folded into int8 ops later by the quantization passes), ``QLinearConv`` and ``QLinearMatMul``
(through the conv and matmul handlers), and the dynamic-quantization ops, which have no TFLite lowering.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edgefit.graph import Op, QuantParams
from edgefit.lower.onnx_to_tflite.conv import _conv
from edgefit.lower.onnx_to_tflite.core import _Const, _GraphLowering, _handles
from edgefit.lower.onnx_to_tflite.facts import _NAN, _Unlowerable
from edgefit.lower.onnx_to_tflite.layout import _placeholder_quant
from edgefit.lower.onnx_to_tflite.matmul import _matmul

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
