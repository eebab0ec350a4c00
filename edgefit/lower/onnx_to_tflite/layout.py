"""Layout helpers. A lowered tensor's layout is a ``Perm``: which ONNX axis each of its axes holds. These
functions build, invert and transform such permutations; with them are the small shape and dtype helpers
every part of the lowering uses (static shapes, int32 operands, axis normalization, lowered dtypes,
placeholder int8 quantization) and the ONNX ops whose activations are channel-first (NHWC when lowered).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from edgefit.graph import Dim, QuantParams
from edgefit.lower.onnx_to_tflite.facts import _FLOAT_DTYPES, _NAN

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


#: Per-channel quantization beyond this many channels (a corrupt or hostile shape; real ones, LM heads over a
#: vocabulary included, are under 2^18) is recorded per tensor, so memory stays bounded.
MAX_QUANT_CHANNELS = 1 << 24


def _placeholder_quant(channels: int | None = None, axis: int | None = None) -> QuantParams:
    """Quantization of a tensor an uncalibrated float model would get: int8, scale unknown (NaN)."""
    if channels is None or channels <= 1 or channels > MAX_QUANT_CHANNELS:
        return QuantParams((_NAN,), (0,))
    return QuantParams((_NAN,) * channels, (0,) * channels, axis)


def _dynamic_dims(shape: Sequence[Dim]) -> int:
    return sum(not isinstance(d, int) for d in shape)


_CHANNEL_FIRST_OPS = frozenset({"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool",
                                "GlobalMaxPool", "BatchNormalization", "InstanceNormalization", "Resize", "Upsample",
                                "DepthToSpace", "SpaceToDepth", "LRN", "QLinearConv"})
