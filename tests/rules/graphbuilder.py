"""Tiny in-memory OpGraphs for rule, partition and memory tests (Vela's testutil idea: no model files).

    b = GraphBuilder()
    x = b.input("x", (1, 8, 8, 3))
    y = b.op("CONV_2D", [x, b.const("w", (4, 3, 3, 3)), b.const("b", (4,), "int32")], (1, 8, 8, 4))
    b.output(y)
    graph = b.build()
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgefit.graph import Dim, Op, OpGraph, QuantParams, Tensor

EIGHT_BIT = ("int8", "uint8")
_NUMPY = {"int8": np.int8, "uint8": np.uint8, "int32": np.int32, "int64": np.int64, "float32": np.float32}


class GraphBuilder:
    def __init__(self, name: str = "test") -> None:
        self.name = name
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.inputs: list[str] = []
        self.outputs: list[str] = []

    def tensor(self, name: str, shape: tuple[Dim, ...] | None, dtype: str = "int8", *, constant: bool = False,
               value: Any = None, quantized: bool | None = None, variable: bool = False,
               byte_size: int | None = None) -> str:
        """Add a tensor; 8-bit and int32 constant tensors get quantization parameters unless told otherwise."""
        if quantized is None:
            quantized = dtype in EIGHT_BIT or (constant and dtype == "int32" and value is None)
        arr = None if value is None else np.asarray(value, dtype=_NUMPY.get(dtype))
        self.tensors[name] = Tensor(name, dtype, shape, is_constant=constant, stored_bytes=byte_size,
                                    quant=QuantParams((0.05,), (0,)) if quantized else None,
                                    is_variable=variable, value=arr)
        return name

    def input(self, name: str, shape: tuple[Dim, ...], dtype: str = "int8") -> str:
        self.inputs.append(self.tensor(name, shape, dtype))
        return name

    def const(self, name: str, shape: tuple[int, ...], dtype: str = "int8", value: Any = None, *,
              quantized: bool | None = None, byte_size: int | None = None) -> str:
        return self.tensor(name, shape, dtype, constant=True, value=value, quantized=quantized, byte_size=byte_size)

    def vector(self, name: str, value: Any, dtype: str = "int32") -> str:
        """A small unquantized constant (shape, axes, paddings, strides)."""
        arr = np.asarray(value)
        return self.tensor(name, tuple(arr.shape), dtype, constant=True, value=arr, quantized=False)

    def op(self, op_type: str, inputs: list[str], out_shape: tuple[Dim, ...] | None = None, out_dtype: str = "int8",
           *, outputs: list[str] | None = None, version: int = 1, domain: str | None = None, **attrs: Any) -> str:
        """Add an op; creates one output tensor (named ``t<index>``) unless ``outputs`` are given."""
        index = len(self.ops)
        if outputs is None:
            outputs = [self.tensor(f"t{index}", out_shape, out_dtype)]
        if domain is None:
            domain = "custom" if op_type.startswith("CUSTOM:") else "tflite"
        self.ops.append(Op(index=index, name=outputs[0] if outputs else f"{op_type}_{index}", type=op_type,
                           domain=domain, version=version, inputs=list(inputs), outputs=list(outputs), attrs=attrs))
        return outputs[0] if outputs else ""

    def output(self, *names: str) -> None:
        self.outputs.extend(names)

    def build(self) -> OpGraph:
        if not self.outputs and self.ops:  # default: the last op's output is the graph output
            self.outputs = [t for t in self.ops[-1].outputs if t]
        return OpGraph(self.name, self.ops, self.tensors, self.inputs, self.outputs)


def conv(b: GraphBuilder, x: str, shape_out: tuple[int, ...], *, weights_bytes: int | None = None,
         name: str | None = None, **attrs: Any) -> str:
    """A 1x1 CONV_2D from ``x`` to ``shape_out`` with constant weights and bias."""
    k = len(b.ops) if name is None else name
    channels_in = b.tensors[x].shape[-1]
    channels_out = shape_out[-1]
    w = b.const(f"w{k}", (channels_out, 1, 1, channels_in), byte_size=weights_bytes)
    bias = b.const(f"b{k}", (channels_out,), "int32")
    attrs.setdefault("padding", "SAME")
    attrs.setdefault("fused_activation_function", "NONE")
    return b.op("CONV_2D", [x, w, bias], shape_out, version=3, **attrs)


class DictSpec:
    """Stand-in for edgefit.devices.DeviceSpec: ``get(dotted_key, default)`` over a dict."""

    def __init__(self, **values: Any) -> None:
        self.values = {key.replace("__", "."): v for key, v in values.items()}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)
