"""TFLite reader: a .tflite flatbuffer -> Model, through the official schema (PyPI ``tflite`` bindings).

The file is memory-mapped and read through flatbuffer accessors, so weight bytes are never copied: buffer
sizes come from vector lengths, or from the (offset, size) pair of buffers stored past the flatbuffer in
models over 2 GB. Every buffer's extent is checked against the file size, which is how truncation shows.
"""

from __future__ import annotations

import importlib
import inspect
import mmap
import re
import struct
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from flatbuffers.table import Table
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.BuiltinOptions2 import BuiltinOptions2
from tflite.Model import Model as FbModel
from tflite.Padding import Padding
from tflite.TensorType import TensorType

from edgefit.errors import CorruptModelError, ModelFileError
from edgefit.graph import Dim, Model, Op, OpGraph, QuantParams, Signature, Tensor
from edgefit.read import SMALL_CONSTANT_BYTES



def _enum_names(enum_cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


BUILTIN_NAMES = _enum_names(BuiltinOperator)
_OPTION_NAMES = _enum_names(BuiltinOptions)
_OPTION2_NAMES = _enum_names(BuiltinOptions2)
_TENSOR_TYPE_NAMES = _enum_names(TensorType)
_ENUM_FIELDS = {"padding": _enum_names(Padding), "fused_activation_function": _enum_names(ActivationFunctionType)}

DTYPES: dict[int, str] = {
    code: {"FLOAT32": "float32", "FLOAT16": "float16", "FLOAT64": "float64", "BFLOAT16": "bfloat16",
           "BOOL": "bool", "STRING": "string", "COMPLEX64": "complex64", "COMPLEX128": "complex128",
           "RESOURCE": "resource", "VARIANT": "variant"}.get(name, name.lower())
    for code, name in _TENSOR_TYPE_NAMES.items()
}
_NUMPY = {"float32": np.float32, "float16": np.float16, "float64": np.float64, "int8": np.int8, "uint8": np.uint8,
          "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32, "int64": np.int64,
          "uint64": np.uint64, "bool": np.bool_}


class _CheckedTable(Table):
    """A flatbuffer table whose strings must end inside the file: the generated accessors slice silently,
    so without this a truncated file would yield cut-off names instead of an error."""

    __slots__ = ()

    def String(self, off: int) -> bytes:
        s = super().String(off)
        length = struct.unpack_from("<I", self.Bytes, off + struct.unpack_from("<I", self.Bytes, off)[0])[0]
        if len(s) != length:
            raise struct.error(f"string at byte {off} runs past the end of the file")
        return s


def _checked(obj: Any) -> Any:
    obj._tab.__class__ = _CheckedTable
    return obj


def read_tflite(path: Path) -> Model:
    try:
        with open(path, "rb") as f:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as e:
        raise ModelFileError(f"cannot read: {getattr(e, 'strerror', None) or e}", path) from None
    try:
        if len(buf) < 8 or buf[4:8] != b"TFL3":
            raise CorruptModelError(f"not a TFLite flatbuffer: file identifier is {bytes(buf[4:8])!r}, "
                                    "expected b'TFL3'", path)
        try:
            return _Reader(buf, path).model()
        except CorruptModelError:
            raise
        except (struct.error, IndexError, ValueError, OverflowError, UnicodeDecodeError, TypeError,
                AttributeError, MemoryError) as e:
            raise CorruptModelError(f"corrupt or truncated TFLite flatbuffer ({type(e).__name__}: {e})",
                                    path) from None
    finally:
        try:
            buf.close()
        except BufferError:  # a numpy view still points into the map; the GC will close it
            pass


@lru_cache(maxsize=None)
def _option_fields(class_name: str) -> tuple[type, tuple[tuple[str, str, bool], ...]]:
    """Options class and its fields as (accessor, snake_case name, is_vector), from the generated code."""
    cls = getattr(importlib.import_module(f"tflite.{class_name}"), class_name)
    fields = []
    for attr, fn in vars(cls).items():
        if attr.startswith(("_", "GetRootAs", "Init")) or attr.endswith(("AsNumpy", "IsNone", "Length",
                                                                          "BufferHasIdentifier")):
            continue
        if not callable(fn) or isinstance(fn, (classmethod, staticmethod)):
            continue
        params = list(inspect.signature(fn).parameters)
        if params == ["self"]:
            fields.append((attr, _snake(attr), False))
        elif params == ["self", "j"] and hasattr(cls, attr + "AsNumpy"):
            fields.append((attr, _snake(attr), True))
    return cls, tuple(fields)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class _Reader:
    def __init__(self, buf: mmap.mmap, path: Path):
        self.buf = buf
        self.size = len(buf)
        self.path = path
        self.fb = _checked(FbModel.GetRootAs(buf, 0))
        self.notes: list[str] = []

    def model(self) -> Model:
        fb = self.fb
        self.opcodes = [self._opcode(_checked(fb.OperatorCodes(i))) for i in range(fb.OperatorCodesLength())]
        self.buffers = [self._buffer(i) for i in range(fb.BuffersLength())]
        graphs = [self._subgraph(k) for k in range(fb.SubgraphsLength())]
        if not graphs:
            raise CorruptModelError("TFLite model has no subgraphs", self.path)
        for g in graphs:
            for op in g.ops:
                for role, idx in list(op.attrs.items()):
                    if role.endswith("subgraph_index") and isinstance(idx, int):
                        if not 0 <= idx < len(graphs):
                            raise CorruptModelError(f"op {op.name} ({op.type}): {role} {idx} out of range", self.path)
                        graphs[idx].is_body = True
                        op.bodies[role.removesuffix("_subgraph_index").removesuffix("_index")] = graphs[idx]
        graphs[0].is_body = False  # the primary subgraph always runs on its own
        self._check_acyclic(graphs)
        signatures = [self._signature(_checked(fb.SignatureDefs(i)), graphs) for i in range(fb.SignatureDefsLength())]
        for s in signatures:
            graphs[s.subgraph].is_body = False
        desc = fb.Description()
        metadata = {}
        for i in range(fb.MetadataLength()):
            m = _checked(fb.Metadata(i))
            metadata[(m.Name() or b"").decode("utf-8", "replace")] = f"buffer {m.Buffer()}"
        return Model(path=str(self.path), format="tflite", graphs=graphs, opsets={"tflite": fb.Version()},
                     producer=(desc or b"").decode("utf-8", "replace"), signatures=signatures,
                     metadata=metadata, notes=self.notes)

    def _check_acyclic(self, graphs: list[OpGraph]) -> None:
        """Control flow may not recurse (TFLite has no recursion): a subgraph that reaches itself through
        WHILE / IF / CALL_ONCE bodies is corrupt, and would send every walk over the bodies round forever."""
        state: dict[int, int] = {}  # id(graph) -> 1 on the current path, 2 done
        for root in graphs:
            if id(root) in state:
                continue
            stack = [(root, iter([b for op in root.ops for b in op.bodies.values()]))]
            state[id(root)] = 1
            while stack:
                g, children = stack[-1]
                child = next(children, None)
                if child is None:
                    state[id(g)] = 2
                    stack.pop()
                elif state.get(id(child)) == 1:
                    raise CorruptModelError(f"subgraph {g.index} ({g.name}) calls subgraph {child.index} "
                                            f"({child.name}), which is already running: control flow recurses",
                                            self.path)
                elif id(child) not in state:
                    state[id(child)] = 1
                    stack.append((child, iter([b for op in child.ops for b in op.bodies.values()])))

    # -- tables -------------------------------------------------------------------------------------------

    def _opcode(self, oc: Any) -> tuple[str, int, str]:
        code = max(oc.DeprecatedBuiltinCode(), oc.BuiltinCode())
        name = BUILTIN_NAMES.get(code)
        if name == "CUSTOM":
            custom = (oc.CustomCode() or b"").decode("utf-8", "replace")
            return f"CUSTOM:{custom}", oc.Version(), "custom"
        if name is None:
            self.notes.append(f"builtin operator code {code} is newer than the TFLite schema edgefit knows; "
                              f"shown as BUILTIN_{code}")
            name = f"BUILTIN_{code}"
        return name, oc.Version(), "tflite"

    def _buffer(self, i: int) -> tuple[int, int]:
        """(file offset, length) of buffer i's data; length 0 for empty buffers."""
        b = self.fb.Buffers(i)
        if b.Offset() > 1:  # large models keep data past the flatbuffer; 1 is the "no data" marker
            start, length = b.Offset(), b.Size()
        else:
            length = b.DataLength()
            start = b._tab.Vector(b._tab.Offset(4)) if length else 0
        if start + length > self.size:
            raise CorruptModelError(f"buffer {i} ends at byte {start + length} but the file has only {self.size} "
                                    "bytes (truncated file?)", self.path)
        return start, length

    def _subgraph(self, k: int) -> OpGraph:
        sg = _checked(self.fb.Subgraphs(k))
        names: list[str] = []
        tensors: dict[str, Tensor] = {}
        for ti in range(sg.TensorsLength()):
            t = self._tensor(_checked(sg.Tensors(ti)), ti, tensors)
            names.append(t.name)
            tensors[t.name] = t

        def tensor_name(i: int) -> str:
            if i < 0:
                return ""  # omitted optional input
            if i >= len(names):
                raise CorruptModelError(f"subgraph {k}: tensor index {i} out of range ({len(names)} tensors)",
                                        self.path)
            return names[i]

        ops = []
        for oi in range(sg.OperatorsLength()):
            fop = sg.Operators(oi)
            opcode_index = fop.OpcodeIndex()
            if opcode_index >= len(self.opcodes):
                raise CorruptModelError(f"subgraph {k} op {oi}: opcode index {opcode_index} out of range",
                                        self.path)
            type_, version, domain = self.opcodes[opcode_index]
            outputs = [tensor_name(int(i)) for i in _ints(fop.OutputsAsNumpy())]
            op = Op(index=oi, name=outputs[0] if outputs and outputs[0] else f"{type_}_{oi}", type=type_,
                    domain=domain, version=version, inputs=[tensor_name(int(i)) for i in _ints(fop.InputsAsNumpy())],
                    outputs=outputs, attrs=self._options(fop))
            ops.append(op)
        name = (sg.Name() or b"").decode("utf-8", "replace") or ("main" if k == 0 else f"subgraph_{k}")
        return OpGraph(name, ops, tensors, [names[i] for i in _ints(sg.InputsAsNumpy()) if 0 <= i < len(names)],
                       [names[i] for i in _ints(sg.OutputsAsNumpy()) if 0 <= i < len(names)], index=k)

    def _tensor(self, ft: Any, ti: int, seen: dict[str, Tensor]) -> Tensor:
        name = (ft.Name() or b"").decode("utf-8", "replace") or f"tensor_{ti}"
        if name in seen:  # TFLite does not require unique names; edgefit keys tensors by name
            name = f"{name}#{ti}"
        shape: tuple[Dim, ...] = tuple(int(d) for d in _ints(ft.ShapeAsNumpy()))
        signature = _ints(ft.ShapeSignatureAsNumpy())
        if len(signature) == len(shape):
            shape = tuple(None if s < 0 else int(d) for d, s in zip(shape, signature))
        dtype = DTYPES.get(ft.Type(), f"tflite_type_{ft.Type()}")
        buffer_index = ft.Buffer()
        start, length = self.buffers[buffer_index] if 0 < buffer_index < len(self.buffers) else (0, 0)
        t = Tensor(name, dtype, shape, is_constant=length > 0, stored_bytes=length or None,
                   is_variable=bool(ft.IsVariable()), buffer=buffer_index if length else None)
        q = ft.Quantization()
        if q is not None and q.ScaleLength():
            scales = tuple(float(s) for s in q.ScaleAsNumpy())
            zps = tuple(int(z) for z in _ints(q.ZeroPointAsNumpy())) or (0,) * len(scales)
            t.quant = QuantParams(scales, zps, q.QuantizedDimension() if len(scales) > 1 else None)
        if ft.Sparsity() is not None:
            self.notes.append(f"tensor {name}: sparse storage; its element count is the dense shape's")
        if 0 < length <= SMALL_CONSTANT_BYTES and dtype in _NUMPY:
            arr = np.frombuffer(self.buf, dtype=_NUMPY[dtype], count=length // np.dtype(_NUMPY[dtype]).itemsize,
                                offset=start).copy()
            if t.is_static and arr.size == t.num_elements:
                arr = arr.reshape(shape)  # type: ignore[arg-type]
            t.value = arr
        return t

    def _options(self, fop: Any) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        for type_code, names, table in ((fop.BuiltinOptionsType(), _OPTION_NAMES, fop.BuiltinOptions()),
                                        (fop.BuiltinOptions2Type(), _OPTION2_NAMES, fop.BuiltinOptions2())):
            if not type_code or table is None:
                continue
            class_name = names.get(type_code)
            if class_name is None:
                self.notes.append(f"builtin options type {type_code} unknown to this TFLite schema; options skipped")
                continue
            cls, fields = _option_fields(class_name)
            opts = cls()
            opts.Init(table.Bytes, table.Pos)
            for accessor, key, is_vector in fields:
                if is_vector:
                    arr = getattr(opts, accessor + "AsNumpy")()
                    value: Any = arr.tolist() if isinstance(arr, np.ndarray) else []
                else:
                    value = getattr(opts, accessor)()
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    elif key in _ENUM_FIELDS and isinstance(value, int):
                        value = _ENUM_FIELDS[key].get(value, value)
                    elif not isinstance(value, (int, float, str, type(None))):
                        continue  # nested tables (e.g. composite attributes) are not needed downstream
                attrs[key] = value
        if fop.CustomOptionsLength():
            attrs["custom_options_bytes"] = fop.CustomOptionsLength()
        return attrs

    def _signature(self, sd: Any, graphs: list[OpGraph]) -> Signature:
        k = sd.SubgraphIndex()
        if not 0 <= k < len(graphs):
            raise CorruptModelError(f"signature subgraph index {k} out of range", self.path)
        g = graphs[k]
        names = list(g.tensors)

        def tmap(n: int, get: Any) -> dict[str, str]:
            out = {}
            for i in range(n):
                m = _checked(get(i))
                idx = m.TensorIndex()
                out[(m.Name() or b"").decode("utf-8", "replace")] = names[idx] if 0 <= idx < len(names) else "?"
            return out

        return Signature(key=(sd.SignatureKey() or b"").decode("utf-8", "replace"), subgraph=k,
                         inputs=tmap(sd.InputsLength(), sd.Inputs), outputs=tmap(sd.OutputsLength(), sd.Outputs))


def _ints(arr: Any) -> list[int]:
    """Flatbuffer vector accessor result (numpy array, or 0 when absent) -> list of ints."""
    if isinstance(arr, int) or arr is None:
        return []
    return [int(x) for x in arr]
