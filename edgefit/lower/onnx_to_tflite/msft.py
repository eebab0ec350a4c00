"""Handlers for the com.microsoft ops ONNX Runtime's optimizer writes into saved models (``Gelu``,
``FastGelu``, ``BiasGelu``, ``QuickGelu``), registered in ``_MS_HANDLERS``.
"""

from __future__ import annotations

from edgefit.graph import Op
from edgefit.lower.onnx_to_tflite.core import (
    _MS_HANDLERS, _MUL_OPTIONS, _emit_elementwise, _GraphLowering, _handles, _intermediate
)

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
