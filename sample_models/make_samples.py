"""Regenerate edgefit's bundled sample models (deterministic: fixed seeds, no TensorFlow needed).

    python sample_models/make_samples.py

- ``tiny_cnn_int8.tflite``: a full-integer int8 CNN as the TFLite converter lays one out (QUANTIZE on a
  float input, CONV_2D, DEPTHWISE_CONV_2D, ADD, MEAN, FULLY_CONNECTED, SOFTMAX, DEQUANTIZE), with per-channel
  int8 weights and int32 biases.
- ``tiny_cnn.onnx``: the float32 ONNX version of the same network (NCHW).
- ``tiny_decoder.onnx``: a small dynamic-sequence decoder block (Gather embedding, MatMul attention, Softmax,
  RMSNorm pattern) with a symbolic ``seq`` dim: the LLM-shaped case.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from tflite_writer import G, O, T, write_tflite  # noqa: E402


def _q(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-127, 128, size=shape, dtype=np.int8)


def tiny_cnn_tflite(path: Path) -> None:
    rng = np.random.default_rng(0)
    s = 0.02
    tensors = [
        T("input", [1, 32, 32, 3], "float32"),                                                     # 0
        T("input_int8", [1, 32, 32, 3], "int8", scale=[1 / 128], zero_point=[0]),                  # 1
        T("conv1/w", [8, 3, 3, 3], "int8", _q(rng, (8, 3, 3, 3)), scale=[s] * 8, zero_point=[0] * 8),  # 2
        T("conv1/b", [8], "int32", rng.integers(-100, 100, 8, dtype=np.int32), scale=[s / 128] * 8,
          zero_point=[0] * 8),                                                                       # 3
        T("conv1", [1, 16, 16, 8], "int8", scale=[0.05], zero_point=[-128]),                         # 4
        T("dw/w", [1, 3, 3, 8], "int8", _q(rng, (1, 3, 3, 8)), scale=[s] * 8, zero_point=[0] * 8, axis=3),  # 5
        T("dw/b", [8], "int32", rng.integers(-100, 100, 8, dtype=np.int32), scale=[s * 0.05] * 8,
          zero_point=[0] * 8),                                                                       # 6
        T("dw", [1, 16, 16, 8], "int8", scale=[0.05], zero_point=[-128]),                            # 7
        T("add", [1, 16, 16, 8], "int8", scale=[0.08], zero_point=[-128]),                           # 8
        T("mean/axes", [2], "int32", np.array([1, 2], dtype=np.int32)),                              # 9
        T("mean", [1, 8], "int8", scale=[0.05], zero_point=[-128]),                                  # 10
        T("fc/w", [10, 8], "int8", _q(rng, (10, 8)), scale=[s], zero_point=[0]),                     # 11
        T("fc/b", [10], "int32", rng.integers(-100, 100, 10, dtype=np.int32), scale=[s * 0.05], zero_point=[0]),  # 12
        T("logits", [1, 10], "int8", scale=[0.1], zero_point=[0]),                                   # 13
        T("probs_int8", [1, 10], "int8", scale=[1 / 256], zero_point=[-128]),                        # 14
        T("probs", [1, 10], "float32"),                                                              # 15
    ]
    ops = [
        O("QUANTIZE", [0], [1]),
        O("CONV_2D", [1, 2, 3], [4], "Conv2DOptions", {"Padding": 0, "StrideW": 2, "StrideH": 2,
                                                         "FusedActivationFunction": 3}, version=3),
        O("DEPTHWISE_CONV_2D", [4, 5, 6], [7], "DepthwiseConv2DOptions",
          {"Padding": 0, "StrideW": 1, "StrideH": 1, "DepthMultiplier": 1, "FusedActivationFunction": 3}, version=3),
        O("ADD", [4, 7], [8], "AddOptions", {"FusedActivationFunction": 0}, version=2),
        O("MEAN", [8, 9], [10], "ReducerOptions", {"KeepDims": False}, version=2),
        O("FULLY_CONNECTED", [10, 11, 12], [13], "FullyConnectedOptions", {"FusedActivationFunction": 0}, version=4),
        O("SOFTMAX", [13], [14], "SoftmaxOptions", {"Beta": 1.0}, version=2),
        O("DEQUANTIZE", [14], [15], version=2),
    ]
    write_tflite(path, G(tensors, ops, inputs=[0], outputs=[15], name="main"),
                 description="edgefit sample: tiny int8 CNN (random weights)")


def tiny_cnn_onnx(path: Path) -> None:
    rng = np.random.default_rng(0)
    w = lambda *shape: numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.1)  # noqa: E731
    inits = []
    for name, shape in (("conv1.w", (8, 3, 3, 3)), ("conv1.b", (8,)), ("dw.w", (8, 1, 3, 3)), ("dw.b", (8,)),
                        ("fc.w", (8, 10)), ("fc.b", (10,))):
        t = w(*shape)
        t.name = name
        inits.append(t)
    nodes = [
        helper.make_node("Conv", ["input", "conv1.w", "conv1.b"], ["conv1"], name="conv1", strides=[2, 2],
                         pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("Conv", ["relu1", "dw.w", "dw.b"], ["dw"], name="dw", group=8, pads=[1, 1, 1, 1],
                         kernel_shape=[3, 3]),
        helper.make_node("Relu", ["dw"], ["relu2"], name="relu2"),
        helper.make_node("Add", ["relu1", "relu2"], ["add"], name="add"),
        helper.make_node("GlobalAveragePool", ["add"], ["pool"], name="pool"),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], name="fc"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(nodes, "tiny_cnn", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edgefit-samples")
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def tiny_decoder_onnx(path: Path) -> None:
    rng = np.random.default_rng(1)
    vocab, hidden = 256, 32

    def init(name: str, arr: np.ndarray) -> TensorProto:
        return numpy_helper.from_array(arr, name)

    f = lambda *shape: (rng.standard_normal(shape) * 0.05).astype(np.float32)  # noqa: E731
    inits = [init("embed", f(vocab, hidden)), init("wq", f(hidden, hidden)), init("wk", f(hidden, hidden)),
             init("wv", f(hidden, hidden)), init("wo", f(hidden, hidden)), init("norm.w", np.ones(hidden, np.float32)),
             init("two", np.array(2.0, np.float32)), init("eps", np.array(1e-6, np.float32)),
             init("one", np.array(1.0, np.float32)), init("perm_scale", np.array(hidden ** -0.5, np.float32)),
             init("lm_head", f(hidden, vocab))]
    nodes = [
        helper.make_node("Gather", ["embed", "input_ids"], ["x"], name="embed"),
        # RMSNorm as exporters decompose it: x * 1/sqrt(mean(x^2) + eps) * w
        helper.make_node("Pow", ["x", "two"], ["x2"], name="norm.pow"),
        helper.make_node("ReduceMean", ["x2"], ["ms"], name="norm.mean", axes=[-1], keepdims=1),
        helper.make_node("Add", ["ms", "eps"], ["ms_eps"], name="norm.add"),
        helper.make_node("Sqrt", ["ms_eps"], ["rms"], name="norm.sqrt"),
        helper.make_node("Reciprocal", ["rms"], ["inv"], name="norm.recip"),
        helper.make_node("Mul", ["x", "inv"], ["xn"], name="norm.mul"),
        helper.make_node("Mul", ["xn", "norm.w"], ["h"], name="norm.scale"),
        helper.make_node("MatMul", ["h", "wq"], ["q"], name="attn.q"),
        helper.make_node("MatMul", ["h", "wk"], ["k"], name="attn.k"),
        helper.make_node("MatMul", ["h", "wv"], ["v"], name="attn.v"),
        helper.make_node("Transpose", ["k"], ["kt"], name="attn.kt", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"], name="attn.scores"),
        helper.make_node("Mul", ["scores", "perm_scale"], ["scaled"], name="attn.scale"),
        helper.make_node("Softmax", ["scaled"], ["probs"], name="attn.softmax", axis=-1),
        helper.make_node("MatMul", ["probs", "v"], ["ctx"], name="attn.ctx"),
        helper.make_node("MatMul", ["ctx", "wo"], ["o"], name="attn.o"),
        helper.make_node("Add", ["x", "o"], ["res"], name="residual"),
        helper.make_node("MatMul", ["res", "lm_head"], ["logits"], name="lm_head"),
    ]
    graph = helper.make_graph(
        nodes, "tiny_decoder", [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "seq", vocab])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edgefit-samples")
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def main() -> None:
    tiny_cnn_tflite(HERE / "tiny_cnn_int8.tflite")
    tiny_cnn_onnx(HERE / "tiny_cnn.onnx")
    tiny_decoder_onnx(HERE / "tiny_decoder.onnx")
    for p in sorted(HERE.glob("*.onnx")) + sorted(HERE.glob("*.tflite")):
        print(f"{p.name}: {p.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
