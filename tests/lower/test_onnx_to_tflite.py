"""ONNX -> TFLite lowering: tiny ONNX graphs built in memory (saved, read with edgefit's reader, lowered).

Structure is checked on the default (int8) lowering; layout and arithmetic are checked numerically on the float
lowering (``quantize=False``) with a small numpy interpreter of the TFLite ops, against ONNX Runtime. The corpus
checks compare real Keras int8 TFLite files with their tf2onnx conversions, and need ``../shared/corpus``.
"""

from __future__ import annotations

import glob
import math
import os
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgefit.graph import OpGraph
from edgefit.lower import LoweredGraph, lower
from edgefit.lower import onnx_to_tflite as L
from edgefit.lower.onnx_to_tflite import core as lowering_core
from edgefit.read import read_model

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus (../shared/corpus) not present")

F = TensorProto.FLOAT
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    """Lowering bugs raise in tests instead of becoming LOWER-FAILED notes."""
    monkeypatch.setattr(lowering_core, "_STRICT", True)


# -- building and lowering tiny models ----------------------------------------------------------------------------

def vi(name: str, shape, dtype: int = F):
    return helper.make_tensor_value_info(name, dtype, shape)


def w(*shape: int, scale: float = 0.5) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def save(tmp_path: Path, nodes, inputs, outputs, inits: dict | None = None, opset: int = 17,
         name: str = "m") -> Path:
    graph = helper.make_graph(nodes, name, inputs, outputs,
                              initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset < 19 else 9
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def lowered(path: Path, **kw) -> LoweredGraph:
    if kw:
        return L.lower_onnx_to_tflite(read_model(path), **kw)
    return lower(read_model(path), "tflite")


def types(g: OpGraph) -> list[str]:
    return [op.type for op in g.ops]


def only(g: OpGraph, type_: str):
    ops = [op for op in g.ops if op.type == type_]
    assert len(ops) == 1, types(g)
    return ops[0]


def tensor(g: OpGraph, name: str):
    return g.tensors[name]


def codes(lg: LoweredGraph) -> Counter:
    return Counter(n.code for n in lg.notes)


# -- a numpy interpreter of the (float) TFLite ops the lowering emits ---------------------------------------------

def _act(x: np.ndarray, fused: str | None) -> np.ndarray:
    return {None: x, "NONE": x, "RELU": np.maximum(x, 0), "RELU6": np.clip(x, 0, 6),
            "RELU_N1_TO_1": np.clip(x, -1, 1), "TANH": np.tanh(x)}[fused]


def _same_pad(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


def _windows(x: np.ndarray, kh: int, kw: int, attrs: dict, pad_value: float = 0.0):
    """Padded input and, per kernel tap (i, j), the strided NHWC patch it sees."""
    sh, sw = attrs["stride_h"], attrs["stride_w"]
    dh, dw = attrs.get("dilation_hfactor", 1), attrs.get("dilation_wfactor", 1)
    n, h, wd, c = x.shape
    if attrs["padding"] == "SAME":
        (pt, pb), (pl, pr) = _same_pad(h, kh, sh, dh), _same_pad(wd, kw, sw, dw)
    else:
        pt = pb = pl = pr = 0
    xp = np.pad(x, [(0, 0), (pt, pb), (pl, pr), (0, 0)], constant_values=pad_value)
    oh = (xp.shape[1] - ((kh - 1) * dh + 1)) // sh + 1
    ow = (xp.shape[2] - ((kw - 1) * dw + 1)) // sw + 1
    valid = np.pad(np.ones((1, h, wd, 1)), [(0, 0), (pt, pb), (pl, pr), (0, 0)])
    taps = {(i, j): (xp[:, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw, :],
                     valid[:, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw, :])
            for i in range(kh) for j in range(kw)}
    return taps, (n, oh, ow)


def _conv(x, wt, b, a):
    o, kh, kw, cin_g = wt.shape
    groups = x.shape[3] // cin_g
    taps, (n, oh, ow) = _windows(x, kh, kw, a)
    out = np.zeros((n, oh, ow, o), np.float64)
    per = o // groups
    for (i, j), (patch, _) in taps.items():
        for g in range(groups):
            out[..., g * per:(g + 1) * per] += np.einsum(
                "nhwc,oc->nhwo", patch[..., g * cin_g:(g + 1) * cin_g], wt[g * per:(g + 1) * per, i, j, :])
    return out + (0 if b is None else b)


def _depthwise(x, wt, b, a):
    _, kh, kw, o = wt.shape
    taps, (n, oh, ow) = _windows(x, kh, kw, a)
    out = np.zeros((n, oh, ow, o), np.float64)
    for (i, j), (patch, _) in taps.items():
        out += np.repeat(patch, a["depth_multiplier"], axis=3) * wt[0, i, j, :]
    return out + (0 if b is None else b)


def _transpose_conv(out_shape, wt, x, b, a):
    """Scatter every input pixel through the kernel into the full output, then TF's SAME/VALID window of it."""
    o, kh, kw, _ = wt.shape
    sh, sw = a["stride_h"], a["stride_w"]
    n, h, wd, _ = x.shape
    full = np.zeros((n, (h - 1) * sh + kh, (wd - 1) * sw + kw, o))
    for i in range(kh):
        for j in range(kw):
            full[:, i:i + (h - 1) * sh + 1:sh, j:j + (wd - 1) * sw + 1:sw, :] += np.einsum("nhwc,oc->nhwo", x,
                                                                                          wt[:, i, j, :])
    if a["padding"] == "SAME":
        top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
        full = full[:, top:top + h * sh, left:left + wd * sw, :]
    return full + (0 if b is None else b)


def _pool(x, a, kind):
    taps, _ = _windows(x, a["filter_height"], a["filter_width"], a, -np.inf if kind == "max" else 0.0)
    if kind == "max":
        return np.max([p for p, _ in taps.values()], axis=0)
    return np.sum([p for p, _ in taps.values()], axis=0) / np.sum([v for _, v in taps.values()], axis=0)


def _strided_slice(x, begin, end, strides, a):
    index = []
    for i in range(x.ndim):
        b = None if a["begin_mask"] >> i & 1 else int(begin[i])
        e = None if a["end_mask"] >> i & 1 else int(end[i])
        if a["shrink_axis_mask"] >> i & 1:
            index.append(int(begin[i]))
        else:
            index.append(slice(b, e, int(strides[i])))
    return x[tuple(index)]


def _reduce(fn):
    return lambda o, x, axes: fn(x, axis=tuple(int(v) for v in np.ravel(axes)), keepdims=o.attrs["keep_dims"])


def _softmax(x, beta=1.0):
    e = np.exp(beta * (x - x.max(-1, keepdims=True)))
    return e / e.sum(-1, keepdims=True)


_erf = np.vectorize(math.erf)
KERNELS = {
    "CONV_2D": lambda o, x, wt, b=None: _conv(x, wt, b, o.attrs),
    "DEPTHWISE_CONV_2D": lambda o, x, wt, b=None: _depthwise(x, wt, b, o.attrs),
    "TRANSPOSE_CONV": lambda o, shape, wt, x, b=None: _transpose_conv(shape, wt, x, b, o.attrs),
    "FULLY_CONNECTED": lambda o, x, wt, b=None: (x if o.attrs["keep_num_dims"] else x.reshape(-1, x.shape[-1]))
    @ wt.T + (0 if b is None else b),
    "BATCH_MATMUL": lambda o, x, y: np.matmul(np.swapaxes(x, -1, -2) if o.attrs["adj_x"] else x,
                                              np.swapaxes(y, -1, -2) if o.attrs["adj_y"] else y),
    "ADD": lambda o, x, y: x + y, "SUB": lambda o, x, y: x - y, "MUL": lambda o, x, y: x * y,
    "DIV": lambda o, x, y: x / y, "MAXIMUM": lambda o, x, y: np.maximum(x, y),
    "MINIMUM": lambda o, x, y: np.minimum(x, y), "POW": lambda o, x, y: x ** y,
    "SQUARED_DIFFERENCE": lambda o, x, y: (x - y) ** 2, "SELECT_V2": lambda o, c, x, y: np.where(c, x, y),
    "RELU": lambda o, x: np.maximum(x, 0), "RELU6": lambda o, x: np.clip(x, 0, 6),
    "RELU_0_TO_1": lambda o, x: np.clip(x, 0, 1), "LOGISTIC": lambda o, x: 1 / (1 + np.exp(-x)),
    "TANH": lambda o, x: np.tanh(x), "EXP": lambda o, x: np.exp(x), "SQRT": lambda o, x: np.sqrt(x),
    "RSQRT": lambda o, x: 1 / np.sqrt(x), "NEG": lambda o, x: -x, "ABS": lambda o, x: np.abs(x),
    "HARD_SWISH": lambda o, x: x * np.clip(x + 3, 0, 6) / 6,
    "LEAKY_RELU": lambda o, x: np.where(x >= 0, x, o.attrs["alpha"] * x),
    "GELU": lambda o, x: 0.5 * x * (1 + _erf(x / np.sqrt(2))) if not o.attrs["approximate"]
    else 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
    "RESHAPE": lambda o, x, shape: x.reshape([int(v) for v in shape]),
    "TRANSPOSE": lambda o, x, perm: np.transpose(x, [int(v) for v in perm]),
    "CONCATENATION": lambda o, *xs: np.concatenate(xs, axis=o.attrs["axis"]),
    "SPLIT": lambda o, axis, x: np.split(x, o.attrs["num_splits"], axis=int(axis)),
    "SPLIT_V": lambda o, x, sizes, axis: np.split(x, np.cumsum(sizes)[:-1], axis=int(axis)),
    "STRIDED_SLICE": lambda o, x, b, e, s: _strided_slice(x, b, e, s, o.attrs),
    "PAD": lambda o, x, p: np.pad(x, np.asarray(p).reshape(-1, 2)),
    "PADV2": lambda o, x, p, v: np.pad(x, np.asarray(p).reshape(-1, 2), constant_values=float(v)),
    "MIRROR_PAD": lambda o, x, p: np.pad(x, np.asarray(p).reshape(-1, 2), mode="reflect"),
    "MEAN": _reduce(np.mean), "SUM": _reduce(np.sum), "REDUCE_MAX": _reduce(np.max),
    "SOFTMAX": lambda o, x: _softmax(x, o.attrs["beta"]),
    "LOG_SOFTMAX": lambda o, x: np.log(_softmax(x)),
    "MAX_POOL_2D": lambda o, x: _pool(x, o.attrs, "max"),
    "AVERAGE_POOL_2D": lambda o, x: _pool(x, o.attrs, "avg"),
    "GATHER": lambda o, x, i: np.take(x, i, axis=o.attrs["axis"]),
    "BROADCAST_TO": lambda o, x, s: np.broadcast_to(x, [int(v) for v in s]),
    "TILE": lambda o, x, m: np.tile(x, [int(v) for v in m]),
    "CAST": lambda o, x: x,
    "RESIZE_NEAREST_NEIGHBOR": lambda o, x, size: x.repeat(int(size[0]) // x.shape[1], 1)
    .repeat(int(size[1]) // x.shape[2], 2),
    "DEPTH_TO_SPACE": lambda o, x: _depth_to_space(x, o.attrs["block_size"]),
}


def _depth_to_space(x, b):
    n, h, wd, c = x.shape
    return x.reshape(n, h, wd, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * b, wd * b, c // (b * b))


def interpret(g: OpGraph, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    env = dict(feeds)

    def value(name):
        if not name:
            return None
        if name in env:
            return env[name]
        t = g.tensors[name]
        assert t.is_constant and t.value is not None, f"no value for {name}"
        return np.asarray(t.value)

    for op in g.ops:
        results = KERNELS[op.type](op, *[value(t) for t in op.inputs])
        results = results if isinstance(results, list) else [results]
        for name, r in zip(op.outputs, results):
            env[name] = _act(np.asarray(r, np.float64), op.attrs.get("fused_activation_function"))
    return {name: env[name] for name in g.outputs}


def check_numerics(path: Path, feeds: dict[str, np.ndarray], *, atol: float = 1e-4) -> LoweredGraph:
    """Float lowering run with the numpy interpreter equals ONNX Runtime; 4-D tensors may be NHWC."""
    import onnxruntime as ort

    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    lg = lowered(path, quantize=False)
    g = lg.graph
    lowered_feeds = {}
    for name, value in feeds.items():
        shape = g.tensors[name].shape
        lowered_feeds[name] = value if shape == value.shape else np.transpose(value, L._channel_last(value.ndim))
        assert lowered_feeds[name].shape == shape
    got = interpret(g, lowered_feeds)
    for name, want in zip(g.outputs, expected):
        value = got[name]
        if value.shape != want.shape:
            value = np.transpose(value, L._inverse(L._channel_last(value.ndim)))
        np.testing.assert_allclose(value, want, atol=atol, rtol=1e-4)
    return lg


# -- convolutions -------------------------------------------------------------------------------------------------

def conv_model(tmp_path, *, group=1, cin=4, cout=6, k=3, pads=(1, 1, 1, 1), strides=(1, 1), act=None, opset=17,
               size=8, bias=True):
    nodes = [helper.make_node("Conv", ["x", "w", "b"] if bias else ["x", "w"], ["c"], name="conv", group=group,
                              pads=list(pads), strides=list(strides), kernel_shape=[k, k])]
    inits = {"w": w(cout, cin // group, k, k)}
    if bias:
        inits["b"] = w(cout)
    out = "c"
    if act == "relu":
        nodes.append(helper.make_node("Relu", ["c"], ["y"], name="relu"))
        out = "y"
    elif act == "relu6":
        nodes.append(helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="clip"))
        inits.update(lo=np.array(0, np.float32), hi=np.array(6, np.float32))
        out = "y"
    return save(tmp_path, nodes, [vi("x", [1, cin, size, size])], [vi(out, None)], inits, opset=opset)


def test_conv_relu_becomes_int8_conv2d_with_fused_relu_in_nhwc(tmp_path):
    lg = lowered(conv_model(tmp_path, act="relu"))
    g = lg.graph
    assert types(g) == ["CONV_2D"]
    conv = g.ops[0]
    assert conv.attrs == {"padding": "SAME", "stride_w": 1, "stride_h": 1, "fused_activation_function": "RELU",
                          "dilation_wfactor": 1, "dilation_hfactor": 1, "quantized_bias_type": 0}
    assert conv.source_nodes == ("conv", "relu") and conv.domain == "tflite" and conv.version == 3
    x, filt, bias = (g.tensors[t] for t in conv.inputs)
    assert x.shape == (1, 8, 8, 4) and x.dtype == "int8" and g.inputs == ["x"]
    assert filt.shape == (6, 3, 3, 4) and filt.dtype == "int8" and filt.is_constant
    assert filt.quant.axis == 0 and len(filt.quant.scale) == 6 and set(filt.quant.zero_point) == {0}
    assert bias.dtype == "int32" and bias.shape == (6,)
    assert g.tensors[g.outputs[0]].shape == (1, 8, 8, 6) and g.tensors[g.outputs[0]].dtype == "int8"
    assert lg.assumed_int8 and codes(lg)[L.ASSUMED_INT8] == 1


def test_clip_0_6_fuses_as_relu6(tmp_path):
    conv = only(lowered(conv_model(tmp_path, act="relu6", opset=13)).graph, "CONV_2D")
    assert conv.attrs["fused_activation_function"] == "RELU6" and conv.source_nodes == ("conv", "clip")


def test_group_equal_channels_is_depthwise(tmp_path):
    g = lowered(conv_model(tmp_path, group=4, cin=4, cout=8)).graph
    dw = only(g, "DEPTHWISE_CONV_2D")
    assert dw.attrs["depth_multiplier"] == 2 and "quantized_bias_type" not in dw.attrs
    filt = g.tensors[dw.inputs[1]]
    assert filt.shape == (1, 3, 3, 8) and filt.quant.axis == 3


def test_grouped_conv_keeps_a_grouped_filter(tmp_path):
    conv = only(lowered(conv_model(tmp_path, group=2, cin=4, cout=8)).graph, "CONV_2D")
    assert lowered(conv_model(tmp_path, group=2, cin=4, cout=8)).graph.tensors[conv.inputs[1]].shape == (8, 3, 3, 2)


@pytest.mark.parametrize("pads,strides,size,expect", [
    ((0, 0, 0, 0), (1, 1), 8, ("VALID", False)),
    ((1, 1, 1, 1), (1, 1), 8, ("SAME", False)),
    ((0, 0, 1, 1), (2, 2), 8, ("SAME", False)),   # TF SAME puts the extra row/column at the end
    ((1, 1, 1, 1), (2, 2), 8, ("VALID", True)),   # PyTorch-style padding: an explicit PAD first
])
def test_conv_padding(tmp_path, pads, strides, size, expect):
    g = lowered(conv_model(tmp_path, pads=pads, strides=strides, size=size)).graph
    conv = only(g, "CONV_2D")
    assert conv.attrs["padding"] == expect[0] and ("PAD" in types(g)) == expect[1]


@pytest.mark.parametrize("group,cout,pads,strides,act", [
    (1, 6, (1, 1, 1, 1), (1, 1), "relu"), (4, 8, (0, 0, 1, 1), (2, 2), None), (4, 8, (1, 1, 1, 1), (2, 2), None),
    (2, 6, (1, 1, 1, 1), (2, 2), "relu6"), (1, 6, (0, 0, 0, 0), (1, 1), None)])
def test_conv_numerics(tmp_path, group, cout, pads, strides, act):
    x = RNG.standard_normal((1, 4, 9, 9)).astype(np.float32)
    path = conv_model(tmp_path, group=group, cout=cout, pads=pads, strides=strides, act=act, opset=13, size=9)
    check_numerics(path, {"x": x})


def test_conv1d_runs_as_2d_convolution(tmp_path):
    path = save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1], kernel_shape=[3])],
                [vi("x", [1, 4, 16])], [vi("y", None)], {"w": w(6, 4, 3)})
    g = lowered(path).graph
    assert types(g) == ["RESHAPE", "CONV_2D", "RESHAPE"]
    assert g.tensors["x"].shape == (1, 16, 4)  # N, L, C
    check_numerics(path, {"x": RNG.standard_normal((1, 4, 16)).astype(np.float32)})


def test_conv_transpose(tmp_path):
    path = save(tmp_path, [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], kernel_shape=[2, 2])],
                [vi("x", [1, 4, 5, 5])], [vi("y", None)], {"w": w(4, 3, 2, 2)})
    g = lowered(path).graph
    tc = only(g, "TRANSPOSE_CONV")
    assert tc.attrs["padding"] == "SAME" and tc.attrs["stride_h"] == 2
    out_shape, filt, x, _ = (g.tensors[t] for t in tc.inputs)
    assert out_shape.value.tolist() == [1, 10, 10, 3] and filt.shape == (3, 2, 2, 4) and x.shape == (1, 5, 5, 4)


@pytest.mark.parametrize("k,stride,pads,extra,expect", [
    (2, 2, (0, 0, 0, 0), (0, 0), ["TRANSPOSE_CONV"]),
    (4, 2, (1, 1, 1, 1), (0, 0), ["TRANSPOSE_CONV"]),
    (3, 2, (1, 1, 1, 1), (1, 1), ["TRANSPOSE_CONV", "STRIDED_SLICE"]),  # PyTorch's k3 s2 p1 output_padding 1
    (3, 1, (1, 1, 1, 1), (0, 0), ["TRANSPOSE_CONV"]),
    (3, 2, (0, 0, 0, 0), (0, 0), ["TRANSPOSE_CONV"])])
def test_conv_transpose_numerics(tmp_path, k, stride, pads, extra, expect):
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[stride, stride], kernel_shape=[k, k],
                            pads=list(pads), output_padding=list(extra))
    path = save(tmp_path, [node], [vi("x", [1, 4, 5, 6])], [vi("y", None)], {"w": w(4, 3, k, k), "b": w(3)})
    assert types(lowered(path).graph) == expect
    check_numerics(path, {"x": RNG.standard_normal((1, 4, 5, 6)).astype(np.float32)})


def test_batchnorm_after_conv_folds_into_it(tmp_path):
    c = 8
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"], name="bn")]
    inits = {"w": w(c, 4, 1, 1), "s": w(c) + 2, "b": w(c), "m": w(c), "v": np.abs(w(c)) + 1}
    path = save(tmp_path, nodes, [vi("x", [1, 4, 6, 6])], [vi("y", None)], inits)
    g = lowered(path).graph
    assert types(g) == ["CONV_2D"] and g.ops[0].source_nodes == ("conv", "bn")
    check_numerics(path, {"x": RNG.standard_normal((1, 4, 6, 6)).astype(np.float32)})


# -- layout -------------------------------------------------------------------------------------------------------

def test_layout_transposes_of_an_nhwc_model_disappear(tmp_path):
    """tf2onnx-style graph: NHWC input, Transpose to NCHW around each Conv; the converter keeps none of them."""
    nodes = [helper.make_node("Transpose", ["x"], ["t0"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["t0", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Transpose", ["c"], ["t1"], perm=[0, 2, 3, 1]),
             helper.make_node("Relu", ["t1"], ["r"]),
             helper.make_node("Transpose", ["r"], ["t2"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["t2", "w2"], ["c2"], kernel_shape=[1, 1]),
             helper.make_node("Transpose", ["c2"], ["y"], perm=[0, 2, 3, 1])]
    path = save(tmp_path, nodes, [vi("x", [1, 8, 8, 3])], [vi("y", [1, 8, 8, 5])], {"w": w(4, 3, 3, 3),
                                                                                     "w2": w(5, 4, 1, 1)})
    g = lowered(path).graph
    assert types(g) == ["CONV_2D", "CONV_2D"]
    assert g.tensors["x"].shape == (1, 8, 8, 3) and g.tensors[g.outputs[0]].shape == (1, 8, 8, 5)
    assert g.ops[0].attrs["fused_activation_function"] == "RELU"
    check_numerics(path, {"x": RNG.standard_normal((1, 8, 8, 3)).astype(np.float32)})


def test_symbolic_dims_stay_symbolic(tmp_path):
    path = save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[1, 1])],
                [vi("x", ["N", 3, "H", "W"])], [vi("y", None)], {"w": w(2, 3, 1, 1)})
    g = lowered(path).graph
    assert g.tensors["x"].shape == ("N", "H", "W", 3)
    assert g.tensors[g.outputs[0]].shape[0] == "N" and g.tensors[g.outputs[0]].shape[3] == 2


def test_flatten_of_nchw_features_transposes_back_first(tmp_path):
    """Flattening NCHW data with H, W > 1 needs ONNX (channel-major) order: TRANSPOSE then RESHAPE, as onnx2tf."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
             helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1)]
    path = save(tmp_path, nodes, [vi("x", [1, 3, 4, 4])], [vi("y", None)],
                {"w": w(2, 3, 1, 1), "fw": w(5, 32), "fb": w(5)})
    g = lowered(path).graph
    assert types(g) == ["CONV_2D", "TRANSPOSE", "RESHAPE", "FULLY_CONNECTED"]
    check_numerics(path, {"x": RNG.standard_normal((1, 3, 4, 4)).astype(np.float32)})


def test_channel_shuffle_numerics(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
             helper.make_node("Reshape", ["c", "s1"], ["r1"]),
             helper.make_node("Transpose", ["r1"], ["t"], perm=[0, 2, 1, 3, 4]),
             helper.make_node("Reshape", ["t", "s2"], ["r2"]),
             helper.make_node("Conv", ["r2", "w2"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    inits = {"w": w(8, 4, 1, 1), "w2": w(4, 8, 3, 3), "s1": np.array([1, 2, 4, 6, 6], np.int64),
             "s2": np.array([1, 8, 6, 6], np.int64)}
    path = save(tmp_path, nodes, [vi("x", [1, 4, 6, 6])], [vi("y", None)], inits)
    check_numerics(path, {"x": RNG.standard_normal((1, 4, 6, 6)).astype(np.float32)})


def test_small_cnn_numerics(tmp_path):
    """Concat, pools, resize, depth-to-space, pad, slice, split, reduce and softmax on NHWC data, all at once."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("AveragePool", ["r1"], ["p2"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                         count_include_pad=1),
        helper.make_node("Concat", ["p1", "p2"], ["cat"], axis=1),
        helper.make_node("Resize", ["cat", "", "scales"], ["up"], mode="nearest"),
        helper.make_node("Pad", ["up", "pads"], ["padded"], mode="constant"),
        helper.make_node("Slice", ["padded", "st", "en", "ax"], ["sl"]),
        helper.make_node("Split", ["sl", "sizes"], ["s1", "s2"], axis=1),
        helper.make_node("Mul", ["s1", "s2"], ["m"]),
        helper.make_node("DepthToSpace", ["m", ], ["d2s"], blocksize=2, mode="DCR"),
        helper.make_node("ReduceMean", ["d2s"], ["mean"], axes=[2, 3], keepdims=0),
        helper.make_node("Softmax", ["mean"], ["y"], axis=-1),
    ]
    inits = {"w1": w(4, 3, 3, 3), "scales": np.array([1, 1, 2, 2], np.float32),
             "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "st": np.array([1, 1], np.int64),
             "en": np.array([9, 9], np.int64), "ax": np.array([2, 3], np.int64), "sizes": np.array([4, 4], np.int64)}
    path = save(tmp_path, nodes, [vi("x", [1, 3, 8, 8])], [vi("y", None)], inits, opset=13)
    lg = check_numerics(path, {"x": RNG.standard_normal((1, 3, 8, 8)).astype(np.float32)})
    assert "TRANSPOSE" not in types(lg.graph)
    assert {"CONCATENATION", "RESIZE_NEAREST_NEIGHBOR", "PAD", "STRIDED_SLICE", "DEPTH_TO_SPACE", "MEAN",
            "SOFTMAX", "MAX_POOL_2D", "AVERAGE_POOL_2D"} <= set(types(lg.graph))
    cat = only(lg.graph, "CONCATENATION")
    assert cat.attrs["axis"] == 3  # ONNX channel axis 1 is the last NHWC axis


def test_softmax_over_a_non_last_axis_transposes(tmp_path):
    path = save(tmp_path, [helper.make_node("Softmax", ["x"], ["y"], axis=1)], [vi("x", [2, 5, 3])], [vi("y", None)],
                opset=13)
    assert types(lowered(path).graph) == ["TRANSPOSE", "SOFTMAX", "TRANSPOSE"]
    check_numerics(path, {"x": RNG.standard_normal((2, 5, 3)).astype(np.float32)})


# -- matrix products ------------------------------------------------------------------------------------------------

def test_gemm_and_matmul_with_constant_weights_are_fully_connected(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1, name="gemm"),
             helper.make_node("MatMul", ["h3", "w2"], ["y"], name="matmul"),
             helper.make_node("Reshape", ["h", "shape"], ["h3"])]
    inits = {"w1": w(12, 6), "b1": w(12), "w2": w(4, 5), "shape": np.array([2, 3, 4], np.int64)}
    path = save(tmp_path, [nodes[0], nodes[2], nodes[1]], [vi("x", [2, 6])], [vi("y", None)], inits)
    g = lowered(path).graph
    fc1, fc2 = [op for op in g.ops if op.type == "FULLY_CONNECTED"]
    assert g.tensors[fc1.inputs[1]].shape == (12, 6) and g.tensors[fc1.inputs[2]].dtype == "int32"
    assert fc1.attrs["keep_num_dims"] is False and fc1.version == 5  # one operator code: the highest version
    assert g.tensors[fc2.inputs[1]].shape == (5, 4) and fc2.attrs["keep_num_dims"] is True
    assert g.tensors[fc2.inputs[1]].quant.axis == 0
    check_numerics(path, {"x": RNG.standard_normal((2, 6)).astype(np.float32)})


@pytest.mark.parametrize("attrs,weights_const", [({"alpha": 0.5, "beta": 2.0, "transA": 1}, True),
                                                  ({"alpha": 0.5, "beta": 2.0, "transB": 1}, False)])
def test_gemm_variants_numerics(tmp_path, attrs, weights_const):
    a_shape = [6, 2] if attrs.get("transA") else [2, 6]
    inputs = [vi("a", a_shape)] + ([] if weights_const else [vi("b", [5, 6])])
    inits = {"c": w(5)} | ({"b": w(6, 5)} if weights_const else {})
    path = save(tmp_path, [helper.make_node("Gemm", ["a", "b", "c"], ["y"], **attrs)], inputs, [vi("y", None)], inits)
    feeds = {"a": RNG.standard_normal(a_shape).astype(np.float32)}
    if not weights_const:
        feeds["b"] = RNG.standard_normal((5, 6)).astype(np.float32)
    lg = check_numerics(path, feeds)
    assert ("FULLY_CONNECTED" if weights_const else "BATCH_MATMUL") in types(lg.graph)


def test_matmul_of_activations_is_batch_matmul_and_a_last_axes_transpose_is_adj(tmp_path):
    nodes = [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
             helper.make_node("MatMul", ["q", "kt"], ["y"])]
    path = save(tmp_path, nodes, [vi("q", [1, 2, 5, 4]), vi("k", [1, 2, 5, 4])], [vi("y", None)])
    g = lowered(path).graph
    bmm = only(g, "BATCH_MATMUL")
    assert types(g) == ["BATCH_MATMUL"] and bmm.attrs["adj_y"] is True and bmm.attrs["adj_x"] is False
    feeds = {n: RNG.standard_normal((1, 2, 5, 4)).astype(np.float32) for n in ("q", "k")}
    check_numerics(path, feeds)


def test_attention_block_numerics(tmp_path):
    """Head split (Reshape/Transpose), scaled scores, softmax, merge: the transformer attention layout dance."""
    d, heads = 8, 2
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"]), helper.make_node("MatMul", ["x", "wk"], ["k"]),
        helper.make_node("MatMul", ["x", "wv"], ["v"]),
        helper.make_node("Reshape", ["q", "split"], ["q4"]), helper.make_node("Transpose", ["q4"], ["qh"],
                                                                              perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["k", "split"], ["k4"]), helper.make_node("Transpose", ["k4"], ["kh"],
                                                                              perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["v", "split"], ["v4"]), helper.make_node("Transpose", ["v4"], ["vh"],
                                                                              perm=[0, 2, 1, 3]),
        helper.make_node("MatMul", ["qh", "kh"], ["s"]), helper.make_node("Div", ["s", "scale"], ["ss"]),
        helper.make_node("Softmax", ["ss"], ["p"], axis=-1), helper.make_node("MatMul", ["p", "vh"], ["o"]),
        helper.make_node("Transpose", ["o"], ["ot"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["ot", "merge"], ["y"])]
    inits = {"wq": w(d, d), "wk": w(d, d), "wv": w(d, d), "split": np.array([1, 6, heads, d // heads], np.int64),
             "merge": np.array([1, 6, d], np.int64), "scale": np.array(2.0, np.float32)}
    path = save(tmp_path, nodes, [vi("x", [1, 6, d])], [vi("y", None)], inits, opset=13)
    lg = check_numerics(path, {"x": RNG.standard_normal((1, 6, d)).astype(np.float32)})
    hist = Counter(types(lg.graph))
    assert hist["FULLY_CONNECTED"] == 3 and hist["BATCH_MATMUL"] == 2 and hist["SOFTMAX"] == 1
    assert hist["DIV"] == 0 and hist["MUL"] == 1  # division by a constant is a multiplication


# -- elementwise and activations ------------------------------------------------------------------------------------

@pytest.mark.parametrize("onnx_type,builtin", [
    ("Relu", "RELU"), ("Sigmoid", "LOGISTIC"), ("Tanh", "TANH"), ("HardSwish", "HARD_SWISH"), ("Exp", "EXP"),
    ("Log", "LOG"), ("Sqrt", "SQRT"), ("Neg", "NEG"), ("Abs", "ABS"), ("Cos", "COS"), ("Sin", "SIN"),
    ("Floor", "FLOOR"), ("Ceil", "CEIL"), ("LeakyRelu", "LEAKY_RELU"), ("Softmax", "SOFTMAX"),
    ("LogSoftmax", "LOG_SOFTMAX"), ("Elu", "ELU"), ("Round", "ROUND"), ("Sign", "SIGN"), ("Reciprocal", "DIV")])
def test_unary_ops(tmp_path, onnx_type, builtin):
    path = save(tmp_path, [helper.make_node(onnx_type, ["x"], ["y"], name="op")], [vi("x", [1, 4, 6])],
                [vi("y", None)], opset=14)
    g = lowered(path).graph
    op = only(g, builtin)
    assert op.source_nodes == ("op",)
    assert not [t for t in types(g) if t.startswith(("FLEX", "CUSTOM"))]


@pytest.mark.parametrize("onnx_type,builtin,quantizable", [
    ("Add", "ADD", True), ("Sub", "SUB", True), ("Mul", "MUL", True), ("Div", "DIV", False), ("Pow", "POW", False),
    ("Max", "MAXIMUM", True), ("Min", "MINIMUM", True), ("Less", "LESS", True), ("Greater", "GREATER", True),
    ("Equal", "EQUAL", True), ("LessOrEqual", "LESS_EQUAL", True), ("GreaterOrEqual", "GREATER_EQUAL", True),
    ("PRelu", "PRELU", True)])
def test_binary_ops_and_float_fallback(tmp_path, onnx_type, builtin, quantizable):
    path = save(tmp_path, [helper.make_node(onnx_type, ["a", "b"], ["y"], name="op")],
                [vi("a", [2, 4]), vi("b", [2, 4])], [vi("y", None)], opset=16)
    lg = lowered(path)
    assert only(lg.graph, builtin)
    if quantizable:
        assert codes(lg)[L.FLOAT_FALLBACK] == 0
    else:  # no int8 kernel: the quantizer leaves it float between DEQUANTIZE and QUANTIZE
        assert Counter(types(lg.graph)) == Counter({builtin: 1, "DEQUANTIZE": 2, "QUANTIZE": 1})
        assert codes(lg)[L.FLOAT_FALLBACK] == 1


def test_logical_ops(tmp_path):
    nodes = [helper.make_node("And", ["a", "b"], ["c"]), helper.make_node("Or", ["c", "b"], ["d"]),
             helper.make_node("Not", ["d"], ["y"])]
    g = lowered(save(tmp_path, nodes, [vi("a", [3], TensorProto.BOOL), vi("b", [3], TensorProto.BOOL)],
                     [vi("y", None)])).graph
    assert types(g) == ["LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT"]


def test_div_by_constant_is_mul_and_clip_ranges(tmp_path):
    nodes = [helper.make_node("Div", ["x", "c"], ["d"]),
             helper.make_node("Clip", ["d", "lo", "hi"], ["y"])]
    path = save(tmp_path, nodes, [vi("x", [1, 8])], [vi("y", None)],
                {"c": np.array(4.0, np.float32), "lo": np.array(-1, np.float32), "hi": np.array(1, np.float32)})
    g = lowered(path).graph
    assert types(g) == ["MUL"] and g.ops[0].attrs["fused_activation_function"] == "RELU_N1_TO_1"
    path = save(tmp_path, [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], [vi("x", [1, 8])], [vi("y", None)],
                {"lo": np.array(-2, np.float32), "hi": np.array(3, np.float32)}, name="clip")
    assert types(lowered(path).graph) == ["MINIMUM", "MAXIMUM"]
    check_numerics(path, {"x": RNG.standard_normal((1, 8)).astype(np.float32) * 4})


def test_hard_sigmoid(tmp_path):
    path = save(tmp_path, [helper.make_node("HardSigmoid", ["x"], ["y"], alpha=0.2, beta=0.5)], [vi("x", [1, 8])],
                [vi("y", None)])
    assert types(lowered(path).graph) == ["MUL", "ADD", "RELU_0_TO_1"]
    check_numerics(path, {"x": RNG.standard_normal((1, 8)).astype(np.float32) * 4})


# -- fused patterns -------------------------------------------------------------------------------------------------

def gelu_nodes(kind: str) -> tuple[list, dict]:
    if kind == "erf":
        nodes = [helper.make_node("Div", ["x", "sqrt2"], ["a"], name="g_div"),
                 helper.make_node("Erf", ["a"], ["e"], name="g_erf"),
                 helper.make_node("Add", ["e", "one"], ["p"], name="g_add"),
                 helper.make_node("Mul", ["x", "p"], ["m"], name="g_mul"),
                 helper.make_node("Mul", ["m", "half"], ["y"], name="g_half")]
        return nodes, {"sqrt2": np.array(math.sqrt(2), np.float32), "one": np.array(1, np.float32),
                       "half": np.array(0.5, np.float32)}
    nodes = [helper.make_node("Pow", ["x", "three"], ["cube"]), helper.make_node("Mul", ["cube", "k"], ["kc"]),
             helper.make_node("Add", ["x", "kc"], ["inner"]), helper.make_node("Mul", ["inner", "c"], ["ic"]),
             helper.make_node("Tanh", ["ic"], ["t"]), helper.make_node("Add", ["t", "one"], ["p"]),
             helper.make_node("Mul", ["half", "x"], ["hx"]), helper.make_node("Mul", ["hx", "p"], ["y"])]
    return nodes, {"three": np.array(3, np.float32), "k": np.array(0.044715, np.float32),
                   "c": np.array(math.sqrt(2 / math.pi), np.float32), "one": np.array(1, np.float32),
                   "half": np.array(0.5, np.float32)}


@pytest.mark.parametrize("kind", ["erf", "tanh"])
def test_gelu_patterns_become_gelu(tmp_path, kind):
    nodes, inits = gelu_nodes(kind)
    path = save(tmp_path, nodes, [vi("x", [1, 4, 8])], [vi("y", None)], inits)
    lg = lowered(path)
    gelu = only(lg.graph, "GELU")
    assert types(lg.graph) == ["GELU"] and gelu.attrs["approximate"] is (kind == "tanh")
    assert len(gelu.source_nodes) == len(nodes) and not lg.notes[1:]  # the Erf note went with the Erf
    check_numerics(path, {"x": RNG.standard_normal((1, 4, 8)).astype(np.float32)})


def test_gelu_op(tmp_path):
    path = save(tmp_path, [helper.make_node("Gelu", ["x"], ["y"], approximate="tanh")], [vi("x", [2, 3])],
                [vi("y", None)], opset=20)
    assert only(lowered(path).graph, "GELU").attrs == {"approximate": True}


def test_lone_erf_is_flex(tmp_path):
    lg = lowered(save(tmp_path, [helper.make_node("Erf", ["x"], ["y"], name="erf")], [vi("x", [4])],
                      [vi("y", None)]))
    assert "FLEX:Erf" in types(lg.graph) and lg.graph.ops[types(lg.graph).index("FLEX:Erf")].domain == "flex"
    assert [n.source_node for n in lg.notes if n.code == L.NO_BUILTIN] == ["erf"]


def test_layer_normalization_is_the_keras_primitive_sequence(tmp_path):
    path = save(tmp_path, [helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], epsilon=1e-3)],
                [vi("x", [1, 6, 8])], [vi("y", None)], {"g": w(8) + 1, "b": w(8)})
    lg = lowered(path)
    hist = Counter(t for t in types(lg.graph) if t not in ("QUANTIZE", "DEQUANTIZE"))
    assert hist == Counter({"MEAN": 2, "SQUARED_DIFFERENCE": 1, "ADD": 2, "RSQRT": 1, "MUL": 3, "SUB": 1})
    check_numerics(path, {"x": RNG.standard_normal((1, 6, 8)).astype(np.float32)}, atol=1e-3)


def test_rms_norm_pattern(tmp_path):
    """torch's RMSNorm export: Pow 2, ReduceMean, Add eps, Sqrt, Reciprocal, Mul, Mul weight."""
    nodes = [helper.make_node("Pow", ["x", "two"], ["sq"]),
             helper.make_node("ReduceMean", ["sq", "axes"], ["ms"], keepdims=1),
             helper.make_node("Add", ["ms", "eps"], ["mse"]), helper.make_node("Sqrt", ["mse"], ["rms"]),
             helper.make_node("Reciprocal", ["rms"], ["inv"]), helper.make_node("Mul", ["x", "inv"], ["n"]),
             helper.make_node("Mul", ["n", "g"], ["y"])]
    inits = {"two": np.array(2, np.float32), "axes": np.array([-1], np.int64), "eps": np.array(1e-6, np.float32),
             "g": w(8) + 1}
    path = save(tmp_path, nodes, [vi("x", [1, "seq", 8])], [vi("y", None)], inits, opset=18)
    lg = lowered(path)
    assert types(lg.graph) == ["MUL", "MEAN", "ADD", "RSQRT", "MUL", "MUL"]
    assert not lg.notes[1:] and lg.graph.tensors["x"].shape == (1, "seq", 8)
    sized = save(tmp_path, nodes, [vi("x", [1, 5, 8])], [vi("y", None)], inits, opset=18, name="sized")
    check_numerics(sized, {"x": RNG.standard_normal((1, 5, 8)).astype(np.float32)}, atol=1e-3)


def test_rms_normalization_op(tmp_path):
    path = save(tmp_path, [helper.make_node("RMSNormalization", ["x", "g"], ["y"], axis=-1)], [vi("x", [2, 8])],
                [vi("y", None)], {"g": w(8)}, opset=23)
    assert types(lowered(path).graph) == ["MUL", "MEAN", "ADD", "RSQRT", "MUL", "MUL"]


def test_global_average_pool_then_flatten_is_one_mean(tmp_path):
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["p"]), helper.make_node("Flatten", ["p"], ["y"])]
    g = lowered(save(tmp_path, nodes, [vi("x", [1, 8, 4, 4])], [vi("y", None)])).graph
    mean = only(g, "MEAN")
    assert types(g) == ["MEAN"] and mean.attrs["keep_dims"] is False
    assert g.tensors[mean.inputs[1]].value.tolist() == [1, 2] and mean.source_nodes == (g.ops[0].source_nodes)


# -- shape ops, constants, folding ------------------------------------------------------------------------------------

def test_shape_arithmetic_on_static_shapes_is_folded(tmp_path):
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["r"]), helper.make_node("Identity", ["r"], ["i"]),
             helper.make_node("Dropout", ["i"], ["y"])]
    inits = {"zero": np.array(0, np.int64), "ax0": np.array([0], np.int64), "minus1": np.array([-1], np.int64)}
    g = lowered(save(tmp_path, nodes, [vi("x", [2, 3, 4])], [vi("y", None)], inits, opset=13)).graph
    assert types(g) == ["RESHAPE"] and g.tensors[g.ops[0].inputs[1]].value.tolist() == [2, 12]


def test_folds_of_one_op_signature_each_compute_their_own_values(tmp_path):
    """Constant folds of the same op type and input dtypes share one reference evaluator; each still gets the
    values of its own inputs, and a different attribute (Gather's axis) is a different fold."""
    nodes = [helper.make_node("Slice", ["a", "s0", "s1"], ["a0"]), helper.make_node("Slice", ["b", "s1", "s2"], ["b1"]),
             helper.make_node("Concat", ["a0", "b1"], ["t1"], axis=0),
             helper.make_node("Concat", ["b1", "a0"], ["t2"], axis=0),
             helper.make_node("Gather", ["m", "s0"], ["t3"], axis=0),
             helper.make_node("Gather", ["m", "s0"], ["t4"], axis=1),
             *(helper.make_node("Add", [x, t], [y]) for x, t, y in
               (("x1", "t1", "y1"), ("x2", "t2", "y2"), ("x3", "t3", "y3"), ("x4", "t4", "y4")))]
    inits = {"a": np.array([2, 12, 5], np.float32), "b": np.array([4, 6, 7], np.float32),
             "m": np.array([[2, 6], [12, 1]], np.float32),
             "s0": np.array([0], np.int64), "s1": np.array([1], np.int64), "s2": np.array([2], np.int64)}
    inputs = [vi("x1", [2]), vi("x2", [2]), vi("x3", [1, 2]), vi("x4", [2, 1])]
    g = lowered(save(tmp_path, nodes, inputs, [vi(y, None) for y in ("y1", "y2", "y3", "y4")], inits),
                quantize=False).graph
    added = {op.outputs[0]: g.tensors[op.inputs[1]].value.tolist() for op in g.ops if op.type == "ADD"}
    assert added == {"y1": [2, 6], "y2": [6, 2], "y3": [[2, 6]], "y4": [[2], [12]]}


def test_dynamic_shape_ops_stay(tmp_path):
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "one"], ["n"], axis=0),
             helper.make_node("Range", ["zero", "n", "step"], ["pos"]),
             helper.make_node("Cast", ["pos"], ["posf"], to=F), helper.make_node("Cos", ["posf"], ["y"])]
    inits = {"one": np.array(1, np.int64), "zero": np.array(0, np.int64), "step": np.array(1, np.int64)}
    lg = lowered(save(tmp_path, nodes, [vi("x", [1, "seq"], TensorProto.INT64)], [vi("y", None)], inits))
    hist = Counter(types(lg.graph))
    assert hist["SHAPE"] == 1 and hist["GATHER"] == 1 and hist["RANGE"] == 1 and hist["CAST"] == 1
    assert hist["COS"] == 1 and not isinstance(lg.graph.tensors[lg.graph.outputs[0]].shape[0], int)


@pytest.mark.parametrize("node,inits,builtin", [
    (helper.make_node("Squeeze", ["x", "a"], ["y"]), {"a": np.array([0], np.int64)}, "RESHAPE"),
    (helper.make_node("Unsqueeze", ["x", "a"], ["y"]), {"a": np.array([1], np.int64)}, "RESHAPE"),
    (helper.make_node("Flatten", ["x"], ["y"], axis=2), {}, "RESHAPE"),
    (helper.make_node("Reshape", ["x", "a"], ["y"]), {"a": np.array([4, 3], np.int64)}, "RESHAPE"),
    (helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1]), {}, "TRANSPOSE"),
    (helper.make_node("Expand", ["x", "a"], ["y"]), {"a": np.array([2, 1, 3, 4], np.int64)}, "BROADCAST_TO"),
    (helper.make_node("Tile", ["x", "a"], ["y"]), {"a": np.array([1, 2, 1], np.int64)}, "TILE"),
    (helper.make_node("Gather", ["x", "a"], ["y"], axis=2), {"a": np.array([3, 0], np.int64)}, "GATHER"),
    (helper.make_node("Split", ["x", "a"], ["y", "z"], axis=2), {"a": np.array([1, 3], np.int64)}, "STRIDED_SLICE"),
    (helper.make_node("Slice", ["x", "s", "e", "a", "st"], ["y"]),
     {"s": np.array([3], np.int64), "e": np.array([0], np.int64), "a": np.array([2], np.int64),
      "st": np.array([-2], np.int64)}, "STRIDED_SLICE"),
    (helper.make_node("Pad", ["x", "a", "v"], ["y"]), {"a": np.array([0, 1, 0, 0, 1, 0], np.int64),
                                                       "v": np.array(2.5, np.float32)}, "PADV2"),
    (helper.make_node("Pad", ["x", "a"], ["y"], mode="reflect"), {"a": np.array([0, 1, 1, 0, 1, 1], np.int64)},
     "MIRROR_PAD"),
    (helper.make_node("ReduceSum", ["x", "a"], ["y"], keepdims=0), {"a": np.array([1], np.int64)}, "SUM"),
    (helper.make_node("ReduceMax", ["x"], ["y"], axes=[2]), {}, "REDUCE_MAX"),
    (helper.make_node("ReduceMean", ["x"], ["y"], axes=[2]), {}, "MEAN"),
])
def test_shape_and_data_movement_ops(tmp_path, node, inits, builtin):
    path = save(tmp_path, [node], [vi("x", [1, 3, 4])], [vi(o, None) for o in node.output], inits, opset=13)
    g = lowered(path).graph
    assert builtin in types(g) and not [t for t in types(g) if ":" in t]
    outputs = {o: None for o in node.output}
    check_numerics(path, {"x": RNG.standard_normal((1, 3, 4)).astype(np.float32)})
    assert set(g.outputs) == set(outputs)


def test_where_gathernd_and_comparisons(tmp_path):
    nodes = [helper.make_node("Greater", ["x", "zero"], ["c"]), helper.make_node("Where", ["c", "x", "zero"], ["r"]),
             helper.make_node("GatherND", ["r", "idx"], ["y"])]
    inits = {"zero": np.array(0, np.float32), "idx": np.array([[0, 1], [1, 2]], np.int64)}
    g = lowered(save(tmp_path, nodes, [vi("x", [2, 3])], [vi("y", None)], inits)).graph
    assert types(g) == ["GREATER", "SELECT_V2", "GATHER_ND"]


def test_resize_bilinear_attrs(tmp_path):
    node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear",
                            coordinate_transformation_mode="align_corners")
    g = lowered(save(tmp_path, [node], [vi("x", [1, 3, 4, 4])], [vi("y", None)],
                     {"sizes": np.array([1, 3, 8, 6], np.int64)}, opset=13)).graph
    rb = only(g, "RESIZE_BILINEAR")
    assert rb.attrs == {"align_corners": True, "half_pixel_centers": False}
    assert g.tensors[rb.inputs[1]].value.tolist() == [8, 6] and g.tensors[rb.outputs[0]].shape == (1, 8, 6, 3)


def test_embedding_gather_and_lstm(tmp_path):
    nodes = [helper.make_node("Gather", ["table", "ids"], ["e"]),
             helper.make_node("LSTM", ["e", "W", "R"], ["Y", "Yh"], hidden_size=4)]
    inits = {"table": w(10, 3), "W": w(1, 16, 3), "R": w(1, 16, 4)}
    g = lowered(save(tmp_path, nodes, [vi("ids", [5, 1], TensorProto.INT64)], [vi("Y", None), vi("Yh", None)],
                     inits)).graph
    assert {"GATHER", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE"} <= set(types(g))
    lstm = only(g, "UNIDIRECTIONAL_SEQUENCE_LSTM")
    assert len(lstm.inputs) == 24 and g.tensors[lstm.inputs[18]].is_variable


# -- quantization -----------------------------------------------------------------------------------------------------

def qdq_conv_model(tmp_path, *, float_io: bool) -> Path:
    """ONNX Runtime / tf2onnx QDQ format around one Conv with per-channel int8 weights and an int32 bias."""
    in_dtype = F if float_io else TensorProto.INT8
    nodes = []
    x = "x"
    if float_io:
        nodes.append(helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="q_in"))
        x = "xq"
    nodes += [helper.make_node("DequantizeLinear", [x, "xs", "xz"], ["xf"], name="dq_in"),
              helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wf"], name="dq_w", axis=0),
              helper.make_node("DequantizeLinear", ["bq", "bs"], ["bf"], name="dq_b", axis=0),
              helper.make_node("Conv", ["xf", "wf", "bf"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["c"], ["r"], name="relu"),
              helper.make_node("QuantizeLinear", ["r", "ys", "yz"], ["yq"], name="q_out")]
    out = "yq"
    if float_io:
        nodes.append(helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"], name="dq_out"))
        out = "y"
    inits = {"xs": np.array(0.05, np.float32), "xz": np.array(3, np.int8),
             "wq": RNG.integers(-127, 127, (6, 4, 3, 3)).astype(np.int8),
             "ws": np.linspace(0.01, 0.06, 6).astype(np.float32), "wz": np.zeros(6, np.int8),
             "bq": np.arange(6, dtype=np.int32), "bs": (np.linspace(0.01, 0.06, 6) * 0.05).astype(np.float32),
             "ys": np.array(0.1, np.float32), "yz": np.array(-128, np.int8)}
    return save(tmp_path, nodes, [vi("x", [1, 4, 8, 8], in_dtype)], [vi(out, None)], inits, opset=13)


def test_qdq_pairs_fold_into_an_int8_op(tmp_path):
    lg = lowered(qdq_conv_model(tmp_path, float_io=False))
    g = lg.graph
    assert types(g) == ["CONV_2D"] and not lg.assumed_int8 and not lg.notes
    conv = g.ops[0]
    assert conv.attrs["fused_activation_function"] == "RELU"
    x, filt, bias = (g.tensors[t] for t in conv.inputs)
    assert x.dtype == "int8" and x.quant.scale == pytest.approx((0.05,)) and x.quant.zero_point == (3,)
    assert x.shape == (1, 8, 8, 4)
    assert filt.dtype == "int8" and filt.quant.axis == 0 and filt.quant.scale[1] == pytest.approx(0.02)
    assert bias.dtype == "int32" and len(bias.quant.scale) == 6
    out = g.tensors[conv.outputs[0]]
    assert out.dtype == "int8" and out.quant.scale == pytest.approx((0.1,)) and out.quant.zero_point == (-128,)
    assert set(conv.source_nodes) == {"conv", "relu", "q_out", "dq_in"}


def test_float_io_qdq_model_keeps_quantize_and_dequantize_at_the_boundary(tmp_path):
    g = lowered(qdq_conv_model(tmp_path, float_io=True)).graph
    assert types(g) == ["QUANTIZE", "CONV_2D", "DEQUANTIZE"]
    assert g.tensors["x"].dtype == "float32" and g.tensors[g.outputs[0]].dtype == "float32"
    assert g.ops[0].source_nodes == ("q_in",) and g.ops[2].source_nodes == ("dq_out",)


def test_float_model_is_lowered_as_int8_with_unknown_scales(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Sigmoid", ["h"], ["s"]),
             helper.make_node("Neg", ["s"], ["n"], name="neg"), helper.make_node("Add", ["n", "s"], ["y"])]
    lg = lowered(save(tmp_path, nodes, [vi("x", [1, 4])], [vi("y", None)], {"w": w(4, 3)}))
    g = lg.graph
    assert types(g) == ["FULLY_CONNECTED", "LOGISTIC", "DEQUANTIZE", "NEG", "QUANTIZE", "ADD"]
    assert all(g.tensors[t].dtype == "int8" for t in (*g.inputs, *g.outputs))
    logistic = only(g, "LOGISTIC")
    assert g.tensors[logistic.outputs[0]].quant.scale == (1 / 256,)  # fixed by the int8 kernel
    assert math.isnan(g.tensors[g.outputs[0]].quant.scale[0])
    assert codes(lg) == Counter({L.ASSUMED_INT8: 1, L.FLOAT_FALLBACK: 1})
    assert [n.source_node for n in lg.notes if n.code == L.FLOAT_FALLBACK] == ["neg"]
    assert {op.type: op.version for op in g.ops}["NEG"] == 1 and only(g, "ADD").version == 2


# -- what does not lower ------------------------------------------------------------------------------------------------

def test_unknown_and_custom_ops_become_opaque_with_notes(tmp_path):
    nodes = [helper.make_node("IsInf", ["x"], ["m"], name="isinf"),
             helper.make_node("Where", ["m", "zero", "x"], ["c"]),
             helper.make_node("FancyOp", ["c"], ["f"], name="fancy", domain="com.example"),
             helper.make_node("Relu", ["f"], ["y"])]
    graph = helper.make_graph(nodes, "g", [vi("x", [2, 3])], [vi("y", [2, 3])],
                              initializer=[numpy_helper.from_array(np.array(0, np.float32), "zero")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    path = tmp_path / "custom.onnx"
    onnx.save(model, str(path))
    lg = lowered(path)
    assert only(lg.graph, "FLEX:IsInf").domain == "flex" and "CUSTOM:FancyOp" in types(lg.graph)
    custom = only(lg.graph, "CUSTOM:FancyOp")
    assert custom.domain == "custom" and custom.source_nodes == ("fancy",)
    assert "RELU" in types(lg.graph) and "SELECT_V2" in types(lg.graph)
    notes = {n.source_node: n.code for n in lg.notes}
    assert notes["isinf"] == L.NO_BUILTIN and notes["fancy"] == L.CUSTOM_DOMAIN


def test_tf2onnx_passthrough_op(tmp_path):
    node = helper.make_node("TFL_GELU", ["x"], ["y"], approximate=0)
    g = lowered(save(tmp_path, [node], [vi("x", [1, 4])], [vi("y", None)])).graph
    assert only(g, "GELU").attrs == {"approximate": False}


def test_control_flow_bodies_are_lowered(tmp_path):
    then_g = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [], [vi("t", [2])])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [], [vi("e", [2])])
    nodes = [helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)]
    lg = lowered(save(tmp_path, nodes, [vi("cond", [], TensorProto.BOOL), vi("x", [2])], [vi("y", [2])]))
    op = only(lg.graph, "IF")
    assert set(op.bodies) == {"then", "else"} and len(lg.graphs) == 3
    assert types(op.bodies["then"]) == ["RELU"] and op.bodies["then"].is_body
    assert lg.graphs[op.attrs["else_subgraph_index"]] is op.bodies["else"]


# -- consistency with the TFLite reader ------------------------------------------------------------------------------

#: The options table of the builtins the lowering gives options to (TFLite schema names).
OPTIONS_TABLE = {"CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
                 "TRANSPOSE_CONV": "TransposeConvOptions", "FULLY_CONNECTED": "FullyConnectedOptions",
                 "BATCH_MATMUL": "BatchMatMulOptions", "ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions",
                 "DIV": "DivOptions", "MAX_POOL_2D": "Pool2DOptions", "AVERAGE_POOL_2D": "Pool2DOptions",
                 "MEAN": "ReducerOptions", "SUM": "ReducerOptions", "REDUCE_MAX": "ReducerOptions",
                 "CONCATENATION": "ConcatenationOptions", "SPLIT": "SplitOptions", "SPLIT_V": "SplitVOptions",
                 "STRIDED_SLICE": "StridedSliceOptions", "SOFTMAX": "SoftmaxOptions",
                 "LEAKY_RELU": "LeakyReluOptions", "GATHER": "GatherOptions",
                 "RESIZE_BILINEAR": "ResizeBilinearOptions", "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions",
                 "SHAPE": "ShapeOptions", "GELU": "GeluOptions", "SQUEEZE": "SqueezeOptions",
                 "MIRROR_PAD": "MirrorPadOptions", "DEPTH_TO_SPACE": "DepthToSpaceOptions",
                 "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions", "IF": "IfOptions"}


def test_option_names_match_the_tflite_reader(tmp_path):
    from edgefit.read.tflite import _option_fields

    paths = [conv_model(tmp_path, act="relu"), qdq_conv_model(tmp_path, float_io=True)]
    nodes, inits = gelu_nodes("erf")
    paths.append(save(tmp_path, nodes, [vi("x", [1, 4, 8])], [vi("y", None)], inits, name="gelu"))
    seen = set()
    for path in paths:
        for op in lowered(path).graph.ops:
            if op.type in OPTIONS_TABLE:
                fields = {name for _, name, _ in _option_fields(OPTIONS_TABLE[op.type])[1]}
                assert set(op.attrs) <= fields, (op.type, set(op.attrs) - fields)
                seen.add(op.type)
    for options in OPTIONS_TABLE.values():  # every table entry names a real options class
        assert _option_fields(options)
    assert {"CONV_2D", "GELU"} <= seen


def test_tflite_model_lowers_to_itself(tmp_path):
    from tflite_writer import G, O, T, write_tflite  # sample_models/, put on sys.path by tests/conftest.py

    path = write_tflite(tmp_path / "r.tflite", G([T("in", [1, 4], "float32"), T("out", [1, 4], "float32")],
                                                 [O("RELU", [0], [1])], inputs=[0], outputs=[1]))
    model = read_model(path)
    lg = lower(model, "tflite")
    assert lg.graph is model.main and lg.source_format == "tflite" and not lg.notes
    assert [op.source_nodes for op in lg.graph.ops] == [(op.name,) for op in model.main.ops]
    with pytest.raises(ValueError, match="cannot lower"):
        lower(model, "hailo")


# -- robustness and the corpus ----------------------------------------------------------------------------------------

def assert_well_formed(lg: LoweredGraph) -> None:
    for g in lg.graphs:
        produced = Counter(t for op in g.ops for t in op.outputs)
        assert all(k == 1 for k in produced.values())
        for op in g.ops:
            assert all(not t or t in g.tensors for t in op.inputs) and op.source_nodes
        assert all(t in g.tensors for t in (*g.inputs, *g.outputs))
    assert not [n for n in lg.notes if n.code == L.LOWERING_FAILED]


LIGHT = sorted(glob.glob(os.path.join(os.path.dirname(onnx.__file__), "backend/test/data/light/*.onnx")))


@pytest.mark.parametrize("path", LIGHT, ids=[Path(p).stem for p in LIGHT])
def test_onnx_light_models_lower(path):
    lg = lowered(Path(path))
    assert_well_formed(lg)
    assert not [t for t in types(lg.graph) if ":" in t]


KERAS_PAIRS = ["mobilenetv2_035_96_int8", "mobilenetv3small_224_int8", "tiny_transformer_int8"]


@needs_corpus
@pytest.mark.parametrize("stem", KERAS_PAIRS)
def test_keras_tflite_and_tf2onnx_pair_lower_to_the_same_ops(stem):
    """The tf2onnx QDQ conversion of a Keras int8 model lowers to the op histogram of the TFLite file itself,
    and to the same ops one by one: type, version, and the dtypes and shapes of their inputs and outputs."""
    tflite = read_model(CORPUS / "keras" / f"{stem}.tflite").main
    lg = lower(read_model(CORPUS / "keras" / f"{stem}_tf2onnx.onnx"), "tflite")
    assert_well_formed(lg)
    assert Counter(types(lg.graph)) == Counter(types(tflite))

    def signature(g: OpGraph, op) -> tuple:
        def t(name):
            return (g.tensors[name].dtype, g.tensors[name].shape) if name else None
        return op.type, op.version, tuple(t(n) for n in op.outputs), t(op.inputs[0])

    assert Counter(signature(lg.graph, op) for op in lg.graph.ops) == Counter(signature(tflite, op) for op in tflite.ops)


@needs_corpus
def test_qwen3_tiny_lowers():
    lg = lower(read_model(CORPUS / "qwen3" / "qwen3-tiny.onnx"), "tflite")
    assert_well_formed(lg)
    hist = Counter(types(lg.graph))
    assert hist["GATHER"] >= 1 and hist["BATCH_MATMUL"] == 4 and hist["FULLY_CONNECTED"] == 15
    assert hist["RSQRT"] == 9 and hist["SQRT"] == 0 and hist["POW"] == 0  # RMSNorm in converter form
    assert lg.graph.tensors["input_ids"].shape == (1, "seq") and lg.assumed_int8


@needs_corpus
def test_every_corpus_onnx_model_lowers():
    paths = sorted(CORPUS.glob("*/*.onnx")) + sorted(CORPUS.glob("wheels/*/*.onnx"))
    assert paths
    for path in paths:
        assert_well_formed(lower(read_model(path), "tflite"))


def test_variadic_ops_numerics(tmp_path):
    nodes = [helper.make_node("Sum", ["a", "b", "c"], ["s"]), helper.make_node("Mean", ["s", "b"], ["m"]),
             helper.make_node("Max", ["m", "c", "a"], ["y"])]
    path = save(tmp_path, nodes, [vi("a", [2, 3]), vi("b", [3]), vi("c", [2, 1])], [vi("y", None)])
    g = check_numerics(path, {"a": RNG.standard_normal((2, 3)).astype(np.float32),
                              "b": RNG.standard_normal(3).astype(np.float32),
                              "c": RNG.standard_normal((2, 1)).astype(np.float32)}).graph
    assert Counter(types(g)) == Counter({"ADD": 3, "MUL": 1, "MAXIMUM": 2})


def test_qdq_conv1d_stays_int8_through_its_reshapes(tmp_path):
    nodes = [helper.make_node("DequantizeLinear", ["x", "s", "z"], ["xf"]),
             helper.make_node("DequantizeLinear", ["wq", "ws"], ["wf"]),
             helper.make_node("Conv", ["xf", "wf"], ["c"], kernel_shape=[3], pads=[1, 1]),
             helper.make_node("QuantizeLinear", ["c", "s", "z"], ["y"])]
    inits = {"s": np.array(0.1, np.float32), "z": np.array(0, np.int8),
             "wq": RNG.integers(-127, 127, (6, 4, 3)).astype(np.int8), "ws": np.array(0.02, np.float32)}
    g = lowered(save(tmp_path, nodes, [vi("x", [1, 4, 16], TensorProto.INT8)], [vi("y", None)], inits)).graph
    assert types(g) == ["RESHAPE", "CONV_2D", "RESHAPE"]
    assert all(g.tensors[t].dtype == "int8" for op in g.ops for t in (op.inputs[0], op.outputs[0]))


def test_slice_with_run_time_bounds(tmp_path):
    nodes = [helper.make_node("Slice", ["x", "start", "end", "axes"], ["y"])]
    inits = {"end": np.array([4], np.int64), "axes": np.array([1], np.int64)}
    path = save(tmp_path, nodes, [vi("x", [2, 5, 4]), vi("start", [1], TensorProto.INT64)], [vi("y", None)], inits)
    g = lowered(path).graph
    assert types(g) == ["CONCATENATION", "GATHER", "STRIDED_SLICE"]
    check_numerics(path, {"x": RNG.standard_normal((2, 5, 4)).astype(np.float32), "start": np.array([1], np.int64)})
