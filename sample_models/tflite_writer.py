"""A minimal TFLite flatbuffer writer, for edgefit's sample models and test fixtures.

TensorFlow is not needed (nor wanted) to make small real .tflite files: this writes the official schema
through the flatbuffer builders of the PyPI ``tflite`` package. It also writes the large-model layout where
buffer data lives past the flatbuffer and ``Buffer.offset``/``Buffer.size`` point at it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType

TYPES = {"float32": TensorType.FLOAT32, "float16": TensorType.FLOAT16, "int8": TensorType.INT8,
         "uint8": TensorType.UINT8, "int16": TensorType.INT16, "int32": TensorType.INT32,
         "int64": TensorType.INT64, "bool": TensorType.BOOL}


@dataclass
class T:
    """A tensor: ``data`` (a numpy array) makes it a constant."""

    name: str
    shape: list[int]
    dtype: str = "int8"
    data: np.ndarray | None = None
    scale: list[float] | None = None
    zero_point: list[int] | None = None
    axis: int = 0
    shape_signature: list[int] | None = None


@dataclass
class O:
    """An operator: builtin name (``CONV_2D``) or ``CUSTOM:<code>``; options as {FieldName: value}."""

    type: str
    inputs: list[int]
    outputs: list[int]
    options_type: str | None = None  # e.g. "Conv2DOptions"
    options: dict[str, Any] = field(default_factory=dict)
    version: int = 1


@dataclass
class G:
    tensors: list[T]
    ops: list[O]
    inputs: list[int]
    outputs: list[int]
    name: str = ""


def _mod(name: str) -> Any:
    return importlib.import_module(f"tflite.{name}")


def _vector(b: flatbuffers.Builder, table: str, field_name: str, items: list[Any], kind: str) -> int:
    getattr(_mod(table), f"{table}Start{field_name}Vector")(b, len(items))
    prepend = {"i32": b.PrependInt32, "f32": b.PrependFloat32, "i64": b.PrependInt64, "u8": b.PrependUint8,
               "off": b.PrependUOffsetTRelative}[kind]
    for x in reversed(items):
        prepend(x)
    return b.EndVector()


def _build(graphs: list[G], description: str, offsets: list[int] | None) -> tuple[bytes, list[bytes]]:
    b = flatbuffers.Builder(1024)
    blobs: list[bytes] = [b""]  # buffer 0 is the empty sentinel by convention
    opcodes: list[tuple[str, int]] = []
    graph_offsets = []
    for g in graphs:
        tensor_offsets = []
        for t in g.tensors:
            buffer_index = 0
            if t.data is not None:
                blobs.append(np.ascontiguousarray(t.data).tobytes())
                buffer_index = len(blobs) - 1
            name = b.CreateString(t.name)
            shape = _vector(b, "Tensor", "Shape", list(t.shape), "i32")
            sig = _vector(b, "Tensor", "ShapeSignature", t.shape_signature, "i32") if t.shape_signature else None
            quant = None
            if t.scale is not None:
                scale = _vector(b, "QuantizationParameters", "Scale", t.scale, "f32")
                zp = _vector(b, "QuantizationParameters", "ZeroPoint", t.zero_point or [0] * len(t.scale), "i64")
                q = _mod("QuantizationParameters")
                q.QuantizationParametersStart(b)
                q.QuantizationParametersAddScale(b, scale)
                q.QuantizationParametersAddZeroPoint(b, zp)
                q.QuantizationParametersAddQuantizedDimension(b, t.axis)
                quant = q.QuantizationParametersEnd(b)
            m = _mod("Tensor")
            m.TensorStart(b)
            m.TensorAddShape(b, shape)
            if sig is not None:
                m.TensorAddShapeSignature(b, sig)
            m.TensorAddType(b, TYPES[t.dtype])
            m.TensorAddBuffer(b, buffer_index)
            m.TensorAddName(b, name)
            if quant is not None:
                m.TensorAddQuantization(b, quant)
            tensor_offsets.append(m.TensorEnd(b))
        op_offsets = []
        for o in g.ops:
            key = (o.type, o.version)
            if key not in opcodes:
                opcodes.append(key)
            options = None
            if o.options_type:
                om = _mod(o.options_type)
                getattr(om, f"{o.options_type}Start")(b)
                for k, v in o.options.items():
                    getattr(om, f"{o.options_type}Add{k}")(b, v)
                options = getattr(om, f"{o.options_type}End")(b)
            ins = _vector(b, "Operator", "Inputs", o.inputs, "i32")
            outs = _vector(b, "Operator", "Outputs", o.outputs, "i32")
            m = _mod("Operator")
            m.OperatorStart(b)
            m.OperatorAddOpcodeIndex(b, opcodes.index(key))
            m.OperatorAddInputs(b, ins)
            m.OperatorAddOutputs(b, outs)
            if options is not None:
                m.OperatorAddBuiltinOptionsType(b, getattr(BuiltinOptions, o.options_type))
                m.OperatorAddBuiltinOptions(b, options)
            op_offsets.append(m.OperatorEnd(b))
        tensors = _vector(b, "SubGraph", "Tensors", tensor_offsets, "off")
        ops = _vector(b, "SubGraph", "Operators", op_offsets, "off")
        ins = _vector(b, "SubGraph", "Inputs", g.inputs, "i32")
        outs = _vector(b, "SubGraph", "Outputs", g.outputs, "i32")
        name = b.CreateString(g.name) if g.name else None
        m = _mod("SubGraph")
        m.SubGraphStart(b)
        m.SubGraphAddTensors(b, tensors)
        m.SubGraphAddOperators(b, ops)
        m.SubGraphAddInputs(b, ins)
        m.SubGraphAddOutputs(b, outs)
        if name is not None:
            m.SubGraphAddName(b, name)
        graph_offsets.append(m.SubGraphEnd(b))

    code_offsets = []
    for type_, version in opcodes:
        custom = b.CreateString(type_.split(":", 1)[1]) if type_.startswith("CUSTOM:") else None
        code = BuiltinOperator.CUSTOM if custom is not None else getattr(BuiltinOperator, type_)
        m = _mod("OperatorCode")
        m.OperatorCodeStart(b)
        m.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        m.OperatorCodeAddBuiltinCode(b, code)
        m.OperatorCodeAddVersion(b, version)
        if custom is not None:
            m.OperatorCodeAddCustomCode(b, custom)
        code_offsets.append(m.OperatorCodeEnd(b))

    buffer_offsets = []
    for i, blob in enumerate(blobs):
        m = _mod("Buffer")
        data = None
        if blob and offsets is None:
            data = b.CreateNumpyVector(np.frombuffer(blob, dtype=np.uint8))
        m.BufferStart(b)
        if data is not None:
            m.BufferAddData(b, data)
        elif blob:
            m.BufferAddOffset(b, offsets[i] if offsets else 2)  # type: ignore[index]
            m.BufferAddSize(b, len(blob))
        buffer_offsets.append(m.BufferEnd(b))

    codes = _vector(b, "Model", "OperatorCodes", code_offsets, "off")
    subgraphs = _vector(b, "Model", "Subgraphs", graph_offsets, "off")
    buffers = _vector(b, "Model", "Buffers", buffer_offsets, "off")
    desc = b.CreateString(description)
    m = _mod("Model")
    m.ModelStart(b)
    m.ModelAddVersion(b, 3)
    m.ModelAddOperatorCodes(b, codes)
    m.ModelAddSubgraphs(b, subgraphs)
    m.ModelAddDescription(b, desc)
    m.ModelAddBuffers(b, buffers)
    b.Finish(m.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output()), blobs


def write_tflite(path: str | Path, graphs: G | list[G], description: str = "edgefit sample model",
                 data_past_flatbuffer: bool = False) -> Path:
    """Write a .tflite file. ``data_past_flatbuffer`` uses the >2 GB layout (Buffer.offset/size)."""
    graphs = [graphs] if isinstance(graphs, G) else graphs
    flat, blobs = _build(graphs, description, None)
    out = flat
    if data_past_flatbuffer:
        # Placeholder offsets give the flatbuffer its final size (the fields are fixed width); then place
        # each blob 16-byte aligned after it and rebuild with the real offsets.
        flat, blobs = _build(graphs, description, [2] * len(blobs))
        pos, offsets, tail = len(flat), [0] * len(blobs), b""
        for i, blob in enumerate(blobs):
            if not blob:
                continue
            pad = (-pos) % 16
            tail += b"\0" * pad
            pos += pad
            offsets[i] = pos
            tail += blob
            pos += len(blob)
        flat2, _ = _build(graphs, description, offsets)
        assert len(flat2) == len(flat), "offset placeholders changed the flatbuffer size"
        out = flat2 + tail
    path = Path(path)
    path.write_bytes(out)
    return path
