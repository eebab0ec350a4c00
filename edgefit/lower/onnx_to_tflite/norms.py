"""Handlers for normalizations: ``BatchNormalization`` (a per-channel MUL and ADD, which the peepholes fold into
a preceding convolution), ``LayerNormalization`` and ``InstanceNormalization`` (the op sequence of
TensorFlow's batch_normalization), and ``RMSNormalization``.
"""

from __future__ import annotations

import numpy as np

from edgefit.graph import Op
from edgefit.lower.onnx_to_tflite.core import (
    _ADD_OPTIONS, _MUL_OPTIONS, _Const, _emit_elementwise, _GraphLowering, _handles, _intermediate
)
from edgefit.lower.onnx_to_tflite.facts import DYNAMIC_SHAPE, _Unlowerable
from edgefit.lower.onnx_to_tflite.layout import _normalize_axis

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
    rank = lw.known_rank(x)
    axis = _normalize_axis(int(op.attrs.get("axis", -1)), rank)
    _emit_normalization(lw, x, op.outputs[0], list(range(axis, rank)), float(op.attrs.get("epsilon", 1e-5)),
                        lw.input(op, 1), lw.input(op, 2))


@_handles("InstanceNormalization")
def _instance_norm(lw: _GraphLowering, op: Op) -> None:
    x = op.inputs[0]
    rank = lw.known_rank(x)
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
    rank = lw.known_rank(x)
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
