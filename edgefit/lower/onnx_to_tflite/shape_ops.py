"""Handlers for shape and layout ops: ``Transpose`` (only a layout record), ``Reshape``, ``Flatten``,
``Squeeze``, ``Unsqueeze``, ``Concat``, ``Split``, ``Slice``, ``Pad``, ``Resize``/``Upsample``, ``Gather``,
``GatherND``, ``Expand``, ``Tile``, ``Shape``, ``Size``, ``Range``, ``ConstantOfShape``, ``OneHot``,
``CumSum``, ``TopK``, ``NonZero``, ``DepthToSpace``/``SpaceToDepth``, ``LRN`` and ``LpNormalization``.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from edgefit.graph import Dim, Op, Tensor
from edgefit.lower.onnx_to_tflite.core import (
    _MUL_OPTIONS, _SLICE_OPTIONS, _alias, _Const, _GraphLowering, _handles, _intermediate
)
from edgefit.lower.onnx_to_tflite.facts import _TFLITE_TYPE, DYNAMIC_SHAPE, TensorType, _Unlowerable
from edgefit.lower.onnx_to_tflite.layout import (
    Perm, _channel_last, _drop_axes, _dynamic_dims, _identity, _insert_axes, _inverse, _normalize_axis, _permute,
    _same_memory_order, _static
)

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
    xs = lw.known_shape(x)
    axis = _normalize_axis(int(op.attrs.get("axis", 1)), len(xs))
    head, tail = xs[:axis], xs[axis:]
    target = (math.prod(head) if _static(head) else -1, math.prod(tail) if _static(tail) else -1)
    _reshape_to(lw, x, y, target)


@_handles("Squeeze")
def _squeeze(lw: _GraphLowering, op: Op) -> None:
    """Dropping size-1 axes never moves data: the layout is kept, minus those axes."""
    x, y = op.inputs[0], op.outputs[0]
    xs = lw.known_shape(x)
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
    xs = lw.known_shape(x)
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
    rank = lw.known_rank(x)
    axis = _normalize_axis(int(op.attrs.get("axis", 0)), rank)
    sizes = lw.attr_or_input_ints(op, "split", 1)
    outputs = [o for o in op.outputs if o]
    perm = lw.perm_of(x)
    la = perm.index(axis)
    xl = lw.need(x, perm)
    outs = [lw.output(o, perm) for o in outputs]
    dim = (lw.shape(x) or (None,) * rank)[axis]
    if not sizes and isinstance(dim, int) and outputs and dim % len(outputs) == 0:
        sizes = [dim // len(outputs)] * len(outputs)
    if sizes and len(sizes) == len(outs) and isinstance(dim, int) and sum(sizes) == dim:
        _split_as_slices(lw, xl, outs, sizes, la, rank)
        return
    if not sizes or len(set(sizes)) == 1:
        lw.emit("SPLIT", [lw.int32_operand([la], scalar=True), xl], outs, {"num_splits": len(outs)})
    else:
        lw.emit("SPLIT_V", [xl, lw.int32_operand(sizes), lw.int32_operand([la], scalar=True)], outs,
                {"num_splits": len(outs)})


def _split_as_slices(lw: _GraphLowering, xl: str, outs: list[str], sizes: list[int], la: int, rank: int) -> None:
    """A static Split is one STRIDED_SLICE per output on the TF path, not SPLIT/SPLIT_V. onnx2tf writes
    ``tf.strided_slice`` per output for a split into size-1 pieces ("Suppression of FlexSplitV generation",
    ``onnx2tf/ops/Split.py``), because a quantized ``tf.SplitV`` becomes a Flex op (PINTO0309/onnx2tf#290,
    tensorflow/tensorflow#59535); issue 11 measured the same one-slice-per-output form for the other static splits
    on the onnx2tf TF-converter path. Every other axis is masked (begin/end mask bits)."""
    mask = sum(1 << i for i in range(rank) if i != la)
    start = 0
    for out, size in zip(outs, sizes):
        begin, end = [0] * rank, [0] * rank
        begin[la], end[la] = start, start + size
        lw.emit("STRIDED_SLICE", [xl, lw.int32_operand(begin), lw.int32_operand(end), lw.int32_operand([1] * rank)],
                [out], {"begin_mask": mask, "end_mask": mask, **_SLICE_OPTIONS}, label="split")
        start += size


@_handles("Slice")
def _slice(lw: _GraphLowering, op: Op) -> None:
    """Slice -> STRIDED_SLICE over every lowered axis; untouched axes are masked."""
    x, y = op.inputs[0], op.outputs[0]
    rank = lw.known_rank(x)
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
    rank = lw.known_rank(x)
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
    rank = lw.known_rank(x)
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
