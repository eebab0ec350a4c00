"""Handlers for convolution and pooling: ``Conv`` (CONV_2D, DEPTHWISE_CONV_2D or CONV_3D; 1-D as 2-D with H=1),
``ConvTranspose`` (TRANSPOSE_CONV), ``MaxPool``/``AveragePool`` and the global pools, with the NHWC,
padding, filter and bias helpers they share.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from edgefit.graph import Dim, Op
from edgefit.lower.onnx_to_tflite.core import _SLICE_OPTIONS, _GraphLowering, _handles, _intermediate
from edgefit.lower.onnx_to_tflite.facts import DYNAMIC_SHAPE, _Unlowerable
from edgefit.lower.onnx_to_tflite.layout import Perm, _channel_last, _lowered_dtype, _permute, _static

# -- convolution and pooling ----------------------------------------------------------------------------------------

def _tf_same_pads(size: Dim, kernel: int, stride: int, dilation: int) -> tuple[int, int] | None:
    """(begin, end) padding of TensorFlow's SAME along one axis; ``None`` when it depends on an unknown size."""
    effective = (kernel - 1) * dilation + 1
    if isinstance(size, int):
        out = -(-size // stride)
        total = max((out - 1) * stride + effective - size, 0)
    elif stride == 1:
        total = effective - 1
    else:
        return None
    return total // 2, total - total // 2


def _window_padding(op: Op, sizes: Sequence[Dim], kernel: Sequence[int], strides: Sequence[int],
                    dilations: Sequence[int]) -> tuple[str, list[int] | None]:
    """TFLite padding of a windowed op: ``SAME``/``VALID``, plus explicit ``[begin..., end...]`` pads for a PAD op in
    front when the ONNX pads are neither."""
    n = len(kernel)
    auto = op.attrs.get("auto_pad", "NOTSET")
    if auto == "VALID":
        return "VALID", None
    if auto == "SAME_UPPER":
        return "SAME", None
    if auto == "SAME_LOWER":
        same = [_tf_same_pads(sizes[i], kernel[i], strides[i], dilations[i]) for i in range(n)]
        if any(p is None for p in same):
            raise _Unlowerable("SAME_LOWER padding of a dynamic-size input", DYNAMIC_SHAPE)
        pads = [p[1] for p in same] + [p[0] for p in same]
    else:
        pads = [int(p) for p in op.attrs.get("pads", [0] * (2 * n))]
    if not any(pads):
        return "VALID", None
    if all(_tf_same_pads(sizes[i], kernel[i], strides[i], dilations[i]) == (pads[i], pads[n + i])
           for i in range(n)):
        return "SAME", None
    return "VALID", pads


def _as_nhwc(lw: _GraphLowering, x: str) -> str:
    """ONNX N,C,spatial... activation as a lowered NHWC tensor; a 1-D one gets H=1 (the converter's ExpandDims)."""
    shape = lw.shape(x)
    assert shape is not None
    lowered = lw.need(x, _channel_last(len(shape)))
    if len(shape) == 4:
        return lowered
    shape4 = (shape[0], 1, shape[2], shape[1])
    out = _intermediate(lw, lowered, "as_2d", shape4)
    lw.emit("RESHAPE", [lowered, lw.shape_operand(shape4)], [out], label="as_2d")
    return out


def _define_nhwc(lw: _GraphLowering, y: str, produced_rank: int) -> tuple[str, Callable[[str], None]]:
    """The NHWC tensor a 2-D op writes for ONNX output ``y``, and a callback finishing it (1-D ops: RESHAPE back)."""
    shape = lw.shape(y)
    if shape is None or len(shape) != produced_rank:
        raise _Unlowerable("output rank unknown", DYNAMIC_SHAPE)
    if produced_rank == 4:
        return lw.output(y, _channel_last(4)), lambda _t: None
    shape4 = (shape[0], 1, shape[2], shape[1])
    out4 = lw.tensor(f"{y}/2d", _lowered_dtype(lw.dtype(y)), shape4)

    def finish(_t: str) -> None:
        lw.emit("RESHAPE", [out4, lw.shape_operand(_permute(shape, _channel_last(3)))],
                [lw.output(y, _channel_last(3))], label="squeeze_h")
    return out4, finish


def _spatial_params(op: Op, spatial: int, kernel: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
    strides = [int(s) for s in op.attrs.get("strides", [1] * spatial)]
    dilations = [int(d) for d in op.attrs.get("dilations", [1] * spatial)]
    return list(kernel), strides, dilations


def _pad_nhwc(lw: _GraphLowering, x4: str, pads: list[int], value: float | None = None) -> str:
    """A PAD (PADV2 with a fill value) on the NHWC input of a window op whose padding is not SAME/VALID."""
    n = len(pads) // 2
    begin, end = pads[:n], pads[n:]
    if n == 1:  # 1-D op running as 2-D with H=1
        begin, end = [0, *begin], [0, *end]
    src = lw.tensors[x4]
    shape = list(src.shape or (None,) * 4)
    for i in range(2):
        if isinstance(shape[1 + i], int):
            shape[1 + i] = shape[1 + i] + begin[i] + end[i]
    padded = lw.tensor(f"{x4}/padded", src.dtype, shape, quant=src.quant)
    paddings = lw.int32_operand([0, 0, begin[0], end[0], begin[1], end[1], 0, 0])
    lw.tensors[paddings].shape = (4, 2)
    if value is None:
        lw.emit("PAD", [x4, paddings], [padded], label="pad")
    else:
        lw.emit("PADV2", [x4, paddings, lw.scalar_operand(value)], [padded], label="pad")
    return padded


def _filter(lw: _GraphLowering, w: str, onnx_shape: Sequence[Dim], perm: Perm) -> str:
    """Weights in a TFLite filter layout: constants are transposed at conversion time, activations need an op."""
    if w in lw.consts and w not in lw.vals:
        return lw.const_tensor(w, perm, as_shape=onnx_shape, axis_shift=0)
    if lw.rank(w) != len(onnx_shape):
        raise _Unlowerable("computed (non-constant) weights of a 1-D convolution")
    return lw.need(w, perm)


def _bias(lw: _GraphLowering, b: str | None, channels: Dim) -> str:
    """The bias operand; a zero bias when the ONNX op has none (the TFLite converter always adds one)."""
    if b is not None:
        return lw.need(b)
    value = np.zeros(channels, np.float32) if isinstance(channels, int) else None
    return lw.new_const(value, "float32", (channels,), f"{lw.node.name if lw.node else 'conv'}/zero_bias")


@_handles("Conv")
def _conv(lw: _GraphLowering, op: Op) -> None:
    """Conv -> CONV_2D, DEPTHWISE_CONV_2D (group == input channels) or CONV_3D; 1-D via an H=1 2-D convolution."""
    x, w, b = op.inputs[0], op.inputs[1], lw.input(op, 2)
    xs, ws = lw.shape(x), lw.shape(w)
    if xs is None or ws is None or len(xs) != len(ws):
        raise _Unlowerable("input or weight rank unknown", DYNAMIC_SHAPE)
    rank = len(ws)
    if rank not in (3, 4, 5):
        raise _Unlowerable(f"{rank - 2}-D convolution")
    spatial = rank - 2
    kernel, strides, dilations = _spatial_params(op, spatial, [int(k) if isinstance(k, int) else 1 for k in ws[2:]])
    group = int(op.attrs.get("group", 1))
    cin, cout = xs[1], ws[0]
    if rank == 5:
        _conv3d(lw, op, group, kernel, strides, dilations)
        return
    # TensorFlow's depthwise kernel takes equal row/column strides only (DepthwiseConv2dNative: "Current
    # implementation only supports equal length strides in the row and column dimensions"), so on the TF path a
    # 2-D depthwise conv with stride_h != stride_w is built as a grouped convolution: CONV_2D, filter [O, kh, kw, 1].
    depthwise = group > 1 and group == cin and ws[1] == 1 and (spatial != 2 or strides[0] == strides[1])
    padding, explicit = _window_padding(op, xs[2:], kernel, strides, dilations)
    x4 = _as_nhwc(lw, x)
    if explicit:
        x4 = _pad_nhwc(lw, x4, explicit)
    w4 = tuple(ws) if rank == 4 else (ws[0], ws[1], 1, ws[2])
    if spatial == 1:
        kernel, strides, dilations = [1, *kernel], [1, *strides], [1, *dilations]
    y4, finish = _define_nhwc(lw, op.outputs[0], rank)
    attrs: dict[str, Any] = {"padding": padding, "stride_w": strides[1], "stride_h": strides[0]}
    if depthwise:
        filt = _filter(lw, w, w4, (1, 2, 3, 0))  # [O,1,kh,kw] -> [1,kh,kw,O]
        attrs.update(depth_multiplier=int(cout // cin) if isinstance(cout, int) and isinstance(cin, int) else 1,
                     fused_activation_function="NONE", dilation_wfactor=dilations[1], dilation_hfactor=dilations[0])
        lw.emit("DEPTHWISE_CONV_2D", [x4, filt, _bias(lw, b, cout)], [y4], attrs)
    else:
        filt = _filter(lw, w, w4, (0, 2, 3, 1))  # [O,I,kh,kw] -> [O,kh,kw,I]; I = C/group when grouped
        attrs.update(fused_activation_function="NONE", dilation_wfactor=dilations[1], dilation_hfactor=dilations[0],
                     quantized_bias_type=0)
        lw.emit("CONV_2D", [x4, filt, _bias(lw, b, cout)], [y4], attrs)
    finish(y4)


def _conv3d(lw: _GraphLowering, op: Op, group: int, kernel: list[int], strides: list[int],
            dilations: list[int]) -> None:
    if group != 1:
        raise _Unlowerable("grouped 3-D convolution: TFLite CONV_3D has no groups")
    x, w = op.inputs[0], op.inputs[1]
    padding, explicit = _window_padding(op, lw.shape(x)[2:], kernel, strides, dilations)
    if explicit:
        raise _Unlowerable("3-D convolution with explicit (non-SAME) padding")
    ws = lw.shape(w)
    assert ws is not None
    filt = _filter(lw, w, ws, (2, 3, 4, 1, 0))  # [O,I,kd,kh,kw] -> [kd,kh,kw,I,O]
    y = op.outputs[0]
    lw.emit("CONV_3D", [lw.need(x, _channel_last(5)), filt, _bias(lw, lw.input(op, 2), ws[0])],
            [lw.output(y, _channel_last(5))],
            {"padding": padding, "stride_d": strides[0], "stride_w": strides[2], "stride_h": strides[1],
             "fused_activation_function": "NONE", "dilation_dfactor": dilations[0],
             "dilation_wfactor": dilations[2], "dilation_hfactor": dilations[1]})


@_handles("ConvTranspose")
def _conv_transpose(lw: _GraphLowering, op: Op) -> None:
    """ConvTranspose -> TRANSPOSE_CONV: SAME when the output is input x stride, else VALID (full size) followed
    by a STRIDED_SLICE cropping the ONNX pads, as converters do."""
    x, w, b, y = op.inputs[0], op.inputs[1], lw.input(op, 2), op.outputs[0]
    xs, ws = lw.shape(x), lw.shape(w)
    if xs is None or ws is None or len(xs) not in (3, 4):
        raise _Unlowerable("only 1-D/2-D transposed convolutions with known ranks are lowered")
    if int(op.attrs.get("group", 1)) != 1:
        raise _Unlowerable("grouped transposed convolution: TFLite TRANSPOSE_CONV has no groups")
    spatial = len(xs) - 2
    kernel, strides, dilations = _spatial_params(op, spatial, [int(k) if isinstance(k, int) else 1 for k in ws[2:]])
    if any(d != 1 for d in dilations):
        raise _Unlowerable("dilated transposed convolution")
    if op.attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID") or "output_shape" in op.attrs:
        raise _Unlowerable("auto_pad/output_shape form of ConvTranspose")
    pads = [int(p) for p in op.attrs.get("pads", [0] * (2 * spatial))]
    extra = [int(p) for p in op.attrs.get("output_padding", [0] * spatial)]
    begin, end = pads[:spatial], pads[spatial:]
    same = all(begin[i] == max(kernel[i] - strides[i], 0) // 2
               and begin[i] + end[i] - extra[i] == kernel[i] - strides[i] for i in range(spatial))
    end = [end[i] - extra[i] for i in range(spatial)]  # what to crop at the end of the full (VALID) result
    if not same and any(e < 0 for e in end):
        raise _Unlowerable("output_padding larger than the end padding")
    crop = not same and (any(begin) or any(end))
    x4 = _as_nhwc(lw, x)
    w4 = tuple(ws) if spatial == 2 else (ws[0], ws[1], 1, ws[2])
    filt = _filter(lw, w, w4, (1, 2, 3, 0))  # [I,O,kh,kw] -> [O,kh,kw,I]
    if spatial == 1:
        kernel, strides, begin, end = [1, *kernel], [1, *strides], [0, *begin], [0, *end]
    y4, finish = _define_nhwc(lw, y, len(xs))
    in_hw = lw.tensors[x4].shape[1:3]
    produced = [in_hw[i] * strides[i] if same else (in_hw[i] - 1) * strides[i] + kernel[i]
                if isinstance(in_hw[i], int) else None for i in range(2)]
    produced_shape = (lw.tensors[y4].shape[0], *produced, lw.tensors[y4].shape[3])
    if _static(produced_shape):
        out_shape = lw.int32_operand(produced_shape)
    else:
        out_shape = lw.int32_operand([-1] * 4)
        lw.note(DYNAMIC_SHAPE, "ConvTranspose: output size computed at run time; the lowered output_shape operand "
                "is unknown")
    target = lw.tensor(f"{y}/uncropped", lw.tensors[y4].dtype, produced_shape) if crop else y4
    lw.emit("TRANSPOSE_CONV", [out_shape, filt, x4, _bias(lw, b, ws[1])], [target],
            {"padding": "SAME" if same else "VALID", "stride_w": strides[1], "stride_h": strides[0],
             "fused_activation_function": "NONE", "quantized_bias_type": 0})
    if crop:
        ends = [0, -end[0], -end[1], 0]
        end_mask = 0b1001 | sum(1 << (1 + i) for i in range(2) if end[i] == 0)
        lw.emit("STRIDED_SLICE", [target, lw.int32_operand([0, begin[0], begin[1], 0]), lw.int32_operand(ends),
                                  lw.int32_operand([1, 1, 1, 1])], [y4],
                {"begin_mask": 0b1001, "end_mask": end_mask, **_SLICE_OPTIONS}, label="crop")
    finish(y4)


@_handles("MaxPool", "AveragePool")
def _pool(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    if len(op.outputs) > 1 and op.outputs[1]:
        raise _Unlowerable("MaxPool indices output: TFLite MAX_POOL_2D has none")
    xs = lw.shape(x)
    if xs is None or len(xs) not in (3, 4):
        raise _Unlowerable("only 1-D/2-D pooling is lowered (TFLite has 2-D pools only)")
    spatial = len(xs) - 2
    kernel, strides, dilations = _spatial_params(op, spatial, op.attrs.get("kernel_shape", [1] * spatial))
    if any(d != 1 for d in dilations):
        raise _Unlowerable("dilated pooling")
    padding, explicit = _window_padding(op, xs[2:], kernel, strides, dilations)
    explicit = _ceil_mode_pads(lw, op, xs[2:], kernel, strides, padding, explicit)
    if explicit is not None:
        padding = "VALID"
    x4 = _as_nhwc(lw, x)
    if explicit:
        x4 = _pad_nhwc(lw, x4, explicit, -3.4028234663852886e38 if op.type == "MaxPool" else None)
    if spatial == 1:
        kernel, strides = [1, *kernel], [1, *strides]
    y4, finish = _define_nhwc(lw, y, len(xs))
    type_ = "MAX_POOL_2D" if op.type == "MaxPool" else "AVERAGE_POOL_2D"
    lw.emit(type_, [x4], [y4], {"padding": padding, "stride_w": strides[1], "stride_h": strides[0],
                                "filter_width": kernel[1], "filter_height": kernel[0],
                                "fused_activation_function": "NONE"})
    finish(y4)


def _ceil_mode_pads(lw: _GraphLowering, op: Op, sizes: Sequence[Dim], kernel: list[int], strides: list[int],
                    padding: str, explicit: list[int] | None) -> list[int] | None:
    """ceil_mode (or any output larger than TFLite's) becomes extra end padding: TFLite pools floor."""
    out = lw.shape(op.outputs[0])
    if out is None or not _static(sizes) or not _static(out[2:]):
        return explicit
    n = len(kernel)
    if padding == "SAME" and explicit is None:
        same = [_tf_same_pads(sizes[i], kernel[i], strides[i], 1) for i in range(n)]
        pads = [p[0] for p in same] + [p[1] for p in same]
    else:
        pads = list(explicit or [0] * (2 * n))
    grown = False
    for i in range(n):
        padded = sizes[i] + pads[i] + pads[n + i]
        produced = (padded - kernel[i]) // strides[i] + 1
        if out[2 + i] > produced:
            pads[n + i] += (out[2 + i] - produced) * strides[i]
            grown = True
    if not grown:
        return explicit
    return pads


@_handles("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(lw: _GraphLowering, op: Op) -> None:
    x, y = op.inputs[0], op.outputs[0]
    rank = lw.known_rank(x)
    perm = lw.perm_of(x)
    axes = sorted(perm.index(a) for a in range(2, rank))
    lw.emit("MEAN" if op.type == "GlobalAveragePool" else "REDUCE_MAX",
            [lw.need(x, perm), lw.int32_operand(axes)], [lw.output(y, perm)], {"keep_dims": True})
