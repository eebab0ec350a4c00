"""Handlers for matrix products: ``MatMul`` (FULLY_CONNECTED with constant 2-D weights, else BATCH_MATMUL) and
``Gemm`` (alpha and beta folded into the constants, a non-bias C added afterwards).
"""

from __future__ import annotations

import numpy as np

from edgefit.graph import Op
from edgefit.lower.onnx_to_tflite.core import _FC_OPTIONS, _Const, _emit_elementwise, _GraphLowering, _handles
from edgefit.lower.onnx_to_tflite.facts import DYNAMIC_SHAPE, _Unlowerable
from edgefit.lower.onnx_to_tflite.layout import _identity

# -- matrix products ------------------------------------------------------------------------------------------------

def _fully_connected(lw: _GraphLowering, a: str, weights: str, bias: str | None, y: str) -> None:
    """FULLY_CONNECTED over ``a``'s last axis; inputs of rank > 2 keep their leading axes (keep_num_dims)."""
    rank = lw.known_rank(a)
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
