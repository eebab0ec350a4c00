"""ONNX reader: ModelProto -> Model, never loading external data.

Shapes come from the model's own value_info; ONNX shape inference (with data propagation) fills the gaps
only when some op output has no declared shape, and when every input is static the run-time shape arithmetic
is folded too (``onnx_shapes``). Inference runs on the graph without the weight bytes: large inline
initializers are detached for the duration, so memory and time do not grow with the weights.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import AttributeProto, TensorProto, numpy_helper

from edgefit.errors import CorruptModelError, ExternalDataError, ModelFileError, UsageError
from edgefit.graph import DTYPE_BITS, Dim, ExternalData, Model, Op, OpGraph, QuantParams, Tensor
from edgefit.read import SMALL_CONSTANT_BYTES
from edgefit.read.onnx_shapes import infer_static_shapes


_ONNX_DTYPE_NAMES = {"FLOAT": "float32", "DOUBLE": "float64", "STRING": "string"}
DTYPES: dict[int, str] = {
    v: _ONNX_DTYPE_NAMES.get(k, k.lower()) for k, v in TensorProto.DataType.items() if k != "UNDEFINED"
}
DTYPES[0] = "undefined"
#: Opset versions are small positive numbers (ai.onnx is at 2x); anything past int32 is a corrupt header, and
#: the ONNX schema lookups take a C++ int.
MAX_OPSET_VERSION = (1 << 31) - 1
#: A constant declaring more elements than this is corrupt (its byte size would not fit in an int64).
MAX_ELEMENTS = 1 << 62
_SCHEMA_DOMAINS = {"ai.onnx": "", "ai.onnx.ml": "ai.onnx.ml", "com.microsoft": "com.microsoft"}

def read_onnx(path: Path, input_shapes: dict[str, Any] | None = None) -> Model:
    """Read an ONNX file; ``input_shapes`` fixes dynamic dims first (see ``fix_input_shapes``)."""
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except DecodeError as e:
        raise CorruptModelError(f"not a valid ONNX protobuf (truncated or corrupt): {e}", path) from None
    except OSError as e:
        raise ModelFileError(f"cannot read: {e.strerror or e}", path) from None
    except Exception as e:  # protobuf and onnx raise assorted types for garbage input
        raise CorruptModelError(f"not a valid ONNX model: {type(e).__name__}: {e}", path) from None
    if proto.ir_version <= 0 or not proto.HasField("graph") or not (proto.graph.node or proto.graph.output):
        raise CorruptModelError("not an ONNX model: no ir_version or no graph (truncated, corrupt or another "
                                "format)", path)
    if input_shapes:
        fix_input_shapes(proto, input_shapes, path)
    return _ModelBuilder(proto, path).build()


def fix_input_shapes(proto: onnx.ModelProto, shapes: dict[str, Any], path: Path) -> None:
    """Make dynamic inputs static, then let shape inference recompute every downstream shape.

    A key is either a graph input name (value: the full shape, e.g. ``[1, 128]``) or a symbolic dim name
    (value: one int, e.g. ``seq=128``), which fixes that dim in every input that uses it.
    """
    inits = {i.name for i in proto.graph.initializer}
    inputs = [v for v in proto.graph.input if v.name not in inits]
    symbols = {d.dim_param for v in inputs for d in v.type.tensor_type.shape.dim if d.dim_param}
    by_name = {v.name: v for v in inputs}
    #: symbol -> the values the user's shapes give it (a symbol given two values, like Paddle's "?", is no binding).
    bound: dict[str, set[int]] = {}
    for key, value in shapes.items():
        if key in by_name:
            dims = by_name[key].type.tensor_type.shape.dim
            shape = [int(x) for x in (value if isinstance(value, (list, tuple)) else [value])]
            if len(shape) != len(dims):
                raise UsageError(f"--input-shape {key}: the input has rank {len(dims)}, got {len(shape)} dims "
                                 f"({'x'.join(map(str, shape))})", path)
            for d, n in zip(dims, shape):
                # dim_value <= 0 (Paddle exports write -1) is a dynamic dim, as converters read it
                if d.HasField("dim_value") and d.dim_value > 0 and d.dim_value != n:
                    raise UsageError(f"--input-shape {key}: dim {d.dim_value} is static in the model, got {n}", path)
                if d.dim_param:
                    bound.setdefault(d.dim_param, set()).add(n)
                d.dim_value = n
        elif key in symbols:
            if isinstance(value, (list, tuple)) and len(value) != 1:
                raise UsageError(f"--input-shape {key}: {key!r} is a single dim, give one number", path)
            n = int(value[0] if isinstance(value, (list, tuple)) else value)
            bound.setdefault(key, set()).add(n)
            for v in inputs:
                for d in v.type.tensor_type.shape.dim:
                    if d.dim_param == key:
                        d.dim_value = n
        else:
            known = ", ".join([*by_name, *sorted(symbols)]) or "none"
            raise UsageError(f"--input-shape {key}: no input or symbolic dim of that name (inputs and dims: {known})",
                             path)
    # A fixed symbol is fixed everywhere it appears: in the other inputs and in control-flow bodies' declared
    # types (an If/Loop body's outputs name the same "batch" as the inputs; left symbolic they stay dynamic).
    fixed = {sym: next(iter(ns)) for sym, ns in bound.items() if len(ns) == 1}
    if fixed:
        _substitute_symbols(inputs, fixed)
        for body in _bodies(proto.graph):
            _substitute_symbols((*body.input, *body.output, *body.value_info), fixed)
    # Every recorded intermediate shape may mention the old symbols: drop them and infer afresh.
    del proto.graph.value_info[:]
    for out in proto.graph.output:
        if out.type.HasField("tensor_type"):
            out.type.tensor_type.ClearField("shape")


def _substitute_symbols(values: Any, fixed: dict[str, int]) -> None:
    for v in values:
        if v.type.HasField("tensor_type"):
            for d in v.type.tensor_type.shape.dim:
                if d.dim_param in fixed:
                    d.dim_value = fixed[d.dim_param]


def _bodies(graph: onnx.GraphProto) -> list[onnx.GraphProto]:
    """Every control-flow body under ``graph`` (If branches, Loop/Scan bodies), nested ones included."""
    out, stack = [], [graph]
    while stack:
        for node in stack.pop().node:
            for a in node.attribute:
                found = [a.g] if a.type == AttributeProto.GRAPH else list(a.graphs)
                out.extend(found)
                stack.extend(found)
    return out


def _dims(shape_proto: Any) -> tuple[Dim, ...]:
    """Dims: an int, a symbol or None (unknown). A negative dim_value (Paddle exports write -1) is a dynamic dim,
    as converters read it; 0 stays a real empty dim (exporters write empty shape operands)."""
    out: list[Dim] = []
    for d in shape_proto.dim:
        which = d.WhichOneof("value")
        if which == "dim_value":
            out.append(d.dim_value if d.dim_value >= 0 else None)
        else:
            out.append(d.dim_param if which == "dim_param" else None)
    return tuple(out)


def _type_info(type_proto: Any) -> tuple[str, tuple[Dim, ...] | None] | None:
    """(dtype, shape) of a TypeProto; ``None`` when it says nothing usable."""
    which = type_proto.WhichOneof("value")
    if which in ("tensor_type", "sparse_tensor_type"):
        tt = getattr(type_proto, which)
        shape = _dims(tt.shape) if tt.HasField("shape") else None
        return DTYPES.get(tt.elem_type, f"onnx_type_{tt.elem_type}"), shape
    if which is None:
        return None
    return which.replace("_type", ""), None  # sequence / map / optional: no tensor shape


def _infos(values: Any) -> dict[str, tuple[str, tuple[Dim, ...] | None]]:
    """(dtype, shape) by name of the ValueInfoProtos that declare a type."""
    out = {}
    for v in values:
        info = _type_info(v.type)
        if info is not None:
            out[v.name] = info
    return out


_ATTRIBUTE_TYPES = set(AttributeProto.AttributeType.values())


@lru_cache(maxsize=4096)
def _schema_attribute_types(op_type: str, domain: str, version: int | None) -> dict[str, int] | None:
    """Attribute name -> AttributeProto type of the op's ONNX schema at ``version``; None without a schema."""
    schema_domain = _SCHEMA_DOMAINS.get(domain)
    if schema_domain is None or not op_type or version is None:
        return None
    try:
        schema = onnx.defs.get_schema(op_type, version, schema_domain)
    except Exception:  # no such op, or none at that opset: nothing to check against
        return None
    return {name: int(a.type) for name, a in schema.attributes.items()}


class _ModelBuilder:
    def __init__(self, proto: onnx.ModelProto, path: Path):
        self.proto = proto
        self.path = path
        self.notes: list[str] = []
        self.opsets = {(o.domain or "ai.onnx"): o.version for o in proto.opset_import}
        for domain, version in self.opsets.items():
            if not 0 < version <= MAX_OPSET_VERSION:
                raise CorruptModelError(f"opset_import: version {version} of domain {domain!r} is not a valid "
                                        "opset version (corrupt file)", path)
        self.function_keys = {f"{f.domain}::{f.name}" for f in proto.functions}

    def build(self) -> Model:
        proto = self.proto
        header = (proto.producer_name, proto.producer_version, *(o.domain for o in proto.opset_import),
                  *(x for p in proto.metadata_props for x in (p.key, p.value)),
                  *(x for f in proto.functions for x in (f.name, f.domain, *f.input, *f.output)))
        if bytes in {type(x) for x in header}:
            raise CorruptModelError("the model header is not valid UTF-8 text (corrupt file)", self.path)
        value_infos = self._value_infos()
        main = self._graph(proto.graph, value_infos, is_body=False)
        functions = {f"{f.domain}::{f.name}": self._function(f) for f in proto.functions}
        self._check_external_locations(main)
        return Model(
            path=str(self.path), format="onnx", graphs=[main], opsets=self.opsets,
            producer=" ".join(x for x in (proto.producer_name, proto.producer_version) if x),
            functions=functions, metadata={p.key: p.value for p in proto.metadata_props}, notes=self.notes,
        )

    # -- shapes -------------------------------------------------------------------------------------------

    def _value_infos(self) -> dict[str, tuple[str, tuple[Dim, ...] | None]]:
        """(dtype, shape) of every main-graph value, from the file or, where it is silent, shape inference."""
        g = self.proto.graph
        known = _infos((*g.input, *g.output, *g.value_info))
        if all(o in known and known[o][1] is not None for n in g.node for o in n.output if o):
            return known
        inferred = self._infer_shapes()
        if inferred is not None:
            ig = inferred.graph
            for name, info in _infos((*ig.input, *ig.output, *ig.value_info)).items():
                if name not in known or known[name][1] is None:
                    known[name] = info
        return known

    def _infer_shapes(self) -> onnx.ModelProto | None:
        """ONNX shape inference on the graph with large inline weights detached (only dims matter)."""
        detached: list[tuple[TensorProto, bytes]] = []
        for init in self.proto.graph.initializer:
            if len(init.raw_data) > SMALL_CONSTANT_BYTES:
                detached.append((init, init.raw_data))
                init.ClearField("raw_data")
                init.data_location = TensorProto.EXTERNAL
        inputs_static = all(
            v.type.WhichOneof("value") == "tensor_type" and v.type.tensor_type.HasField("shape")
            and all(d.HasField("dim_value") and d.dim_value > 0 for d in v.type.tensor_type.shape.dim)
            for v in self.proto.graph.input)
        try:
            if inputs_static:  # then every shape computation is a constant: fold them for exact shapes
                work = onnx.ModelProto()
                work.CopyFrom(self.proto)
                return infer_static_shapes(work)
            return onnx.shape_inference.infer_shapes(self.proto, data_prop=True)
        except Exception as e:  # an op without a schema, an inconsistent graph: keep the declared shapes
            self.notes.append(f"ONNX shape inference failed, declared shapes only: {' '.join(str(e).split())}")
            return None
        finally:
            for init, raw in detached:
                init.data_location = TensorProto.DEFAULT
                init.raw_data = raw

    # -- graphs -------------------------------------------------------------------------------------------

    def _graph(self, g: onnx.GraphProto, infos: dict[str, tuple[str, tuple[Dim, ...] | None]], *,
               is_body: bool) -> OpGraph:
        tensors: dict[str, Tensor] = {}
        # Quantization parameters are read whatever their size: a per-channel scale vector of a wide layer
        # passes the small-constant limit, but it is no weight and the quantization is unknown without it.
        qdq_params = {i for n in g.node if n.op_type in ("QuantizeLinear", "DequantizeLinear") for i in n.input[1:3]}
        for init in g.initializer:
            tensors[init.name] = self._constant(init, init.name, read_value=init.name in qdq_params)
        for sp in g.sparse_initializer:
            tensors[sp.values.name] = self._sparse_constant(sp)
        if bytes in {type(name) for name in (g.name, *tensors, *infos)}:
            raise CorruptModelError(f"graph {g.name!r}: its name or a tensor name is not valid UTF-8 text (corrupt "
                                    "file)", self.path)
        for name, (dtype, shape) in infos.items():
            if name not in tensors:
                tensors[name] = Tensor(name, dtype, shape)

        ops: list[Op] = []
        for i, node in enumerate(g.node):
            op = self._op(i, node)
            if node.op_type == "Constant" and not node.domain:
                self._constant_node(node, op, tensors)
            for t in (*node.input, *node.output):
                if t and t not in tensors:
                    tensors[t] = Tensor(t, "unknown", None)
            ops.append(op)

        inits = {i.name for i in g.initializer}
        inputs = [v.name for v in g.input if v.name not in inits]
        for v in g.input:
            tensors.setdefault(v.name, Tensor(v.name, "unknown", None))
        outputs = [v.name for v in g.output]
        for name in outputs:
            tensors.setdefault(name, Tensor(name, "unknown", None))
        graph = OpGraph(g.name or "main", ops, tensors, inputs, outputs, is_body=is_body)
        self._attach_qdq(graph)
        return graph

    def _function(self, f: onnx.FunctionProto) -> OpGraph:
        ops = [self._op(i, n) for i, n in enumerate(f.node)]
        tensors = {t: Tensor(t, "unknown", None) for op in ops for t in (*op.inputs, *op.outputs) if t}
        for t in (*f.input, *f.output):
            tensors.setdefault(t, Tensor(t, "unknown", None))
        return OpGraph(f"{f.domain}::{f.name}", ops, tensors, list(f.input), list(f.output), is_body=True)

    def _op(self, index: int, node: onnx.NodeProto) -> Op:
        domain = node.domain or "ai.onnx"
        key = f"{node.domain}::{node.op_type}"
        op = Op(index=index, name=node.name or f"{node.op_type}_{index}", type=node.op_type, domain=domain,
                version=self.opsets.get(domain), inputs=list(node.input), outputs=list(node.output),
                function=key if key in self.function_keys else None)
        if bytes in {type(x) for x in (op.name, op.type, node.domain, *op.inputs, *op.outputs)}:
            # protobuf hands back bytes for a string holding invalid UTF-8, which only a corrupt file has
            raise CorruptModelError(f"node {index}: a name or type is not valid UTF-8 text (corrupt file)", self.path)
        schema = _schema_attribute_types(node.op_type, domain, op.version) if not op.function else None
        for a in node.attribute:
            expected = schema.get(a.name) if schema else None
            if expected is not None and a.type not in (expected, AttributeProto.UNDEFINED) and not a.ref_attr_name:
                raise CorruptModelError(
                    f"node {op.name!r} ({node.op_type}): attribute {a.name!r} is of type "
                    f"{AttributeProto.AttributeType.Name(a.type) if a.type in _ATTRIBUTE_TYPES else a.type}, the "
                    f"ONNX schema says {AttributeProto.AttributeType.Name(expected)}", self.path)
            if a.type == AttributeProto.GRAPH:
                op.bodies[a.name] = self._body(a.g)
            elif a.type == AttributeProto.GRAPHS:
                for k, body in enumerate(a.graphs):
                    op.bodies[f"{a.name}[{k}]"] = self._body(body)
            elif a.type == AttributeProto.TENSOR:
                op.attrs[a.name] = self._constant(a.t, f"{op.name}.{a.name}")
            elif a.type in (AttributeProto.SPARSE_TENSOR, AttributeProto.SPARSE_TENSORS, AttributeProto.TENSORS,
                            AttributeProto.TYPE_PROTO, AttributeProto.TYPE_PROTOS):
                op.attrs[a.name] = AttributeProto.AttributeType.Name(a.type).lower()
            elif a.ref_attr_name:
                op.attrs[a.name] = f"@{a.ref_attr_name}"  # function attribute reference
            else:
                try:
                    v = onnx.helper.get_attribute_value(a)
                except Exception:
                    self.notes.append(f"op {op.name} ({node.op_type}): attribute {a.name!r} could not be decoded")
                    continue
                if isinstance(v, bytes):
                    v = v.decode("utf-8", "replace")
                elif isinstance(v, list) and v and isinstance(v[0], bytes):
                    v = [x.decode("utf-8", "replace") for x in v]
                op.attrs[a.name] = v
        if (node.domain and key not in self.function_keys and node.domain not in ("ai.onnx", "ai.onnx.ml")
                and not onnx.defs.has(node.op_type, node.domain)):
            self.notes.append(f"op {op.name}: {node.domain}::{node.op_type} is a custom op with no ONNX schema; "
                              "shapes downstream of it may be unknown")
        return op

    def _body(self, g: onnx.GraphProto) -> OpGraph:
        return self._graph(g, _infos((*g.input, *g.output, *g.value_info)), is_body=True)

    # -- constants ----------------------------------------------------------------------------------------

    def _constant(self, t: TensorProto, name: str, read_value: bool = False) -> Tensor:
        dtype = DTYPES.get(t.data_type, f"onnx_type_{t.data_type}")
        tensor = Tensor(name, dtype, tuple(t.dims), is_constant=True)
        if any(d < 0 for d in t.dims) or math.prod(t.dims) > MAX_ELEMENTS:
            raise CorruptModelError(f"constant {name!r}: dims {list(t.dims)} are not a tensor shape (a dim is "
                                    "negative or the element count passes 2^62)", self.path)
        if t.raw_data and t.data_location != TensorProto.EXTERNAL and tensor.byte_size is not None \
                and DTYPE_BITS.get(dtype, 0) >= 8 and len(t.raw_data) != tensor.byte_size:
            raise CorruptModelError(f"constant {name!r}: dims {list(t.dims)} of {dtype} need {tensor.byte_size:,} "
                                    f"bytes but its raw_data holds {len(t.raw_data):,}", self.path)
        if t.data_location == TensorProto.EXTERNAL:
            ext = {e.key: e.value for e in t.external_data}
            length = self._external_int(name, ext, "length")
            tensor.external = ExternalData(ext.get("location", ""), self._external_int(name, ext, "offset") or 0,
                                           length)
        elif (read_value or (tensor.byte_size or 0) <= SMALL_CONSTANT_BYTES) and dtype != "string":
            try:
                tensor.value = numpy_helper.to_array(t)
            except Exception:
                self.notes.append(f"constant {name}: data does not match its dims/dtype")
        return tensor

    def _external_int(self, name: str, ext: dict[str, str], key: str) -> int | None:
        """The external-data ``offset`` / ``length`` entry as a byte count (None when absent)."""
        text = ext.get(key)
        if text is None or text == "":
            return None
        if not text.isascii() or not text.isdigit() or len(text) > 20:
            raise CorruptModelError(f"tensor {name!r}: external data {key} {text[:40]!r} is not a byte count "
                                    "(corrupt file)", self.path)
        return int(text)

    def _sparse_constant(self, sp: onnx.SparseTensorProto) -> Tensor:
        values = self._constant(sp.values, sp.values.name)
        indices = self._constant(sp.indices, sp.values.name + ".indices")
        dtype = values.dtype
        stored = (values.byte_size or 0) + (indices.byte_size or 0)
        return Tensor(sp.values.name, dtype, tuple(sp.dims), is_constant=True, stored_bytes=stored)

    def _constant_node(self, node: onnx.NodeProto, op: Op, tensors: dict[str, Tensor]) -> None:
        """A Constant node's output is a constant tensor, with shape and (when small) value from its attribute."""
        if not node.output:
            return
        name = node.output[0]
        for key, v in op.attrs.items():
            if isinstance(v, Tensor):
                tensors[name] = Tensor(name, v.dtype, v.shape, is_constant=True, value=v.value)
                return
            if key in ("value_float", "value_int", "value_floats", "value_ints"):
                arr = np.asarray(v, dtype=np.float32 if "float" in key else np.int64)
                tensors[name] = Tensor(name, str(arr.dtype), arr.shape, is_constant=True, value=arr)
                return
        tensors.setdefault(name, Tensor(name, "unknown", None, is_constant=True))

    def _attach_qdq(self, graph: OpGraph) -> None:
        """QuantizeLinear outputs and DequantizeLinear inputs carry the quantization of their node."""
        for op in graph.ops:
            if op.domain not in ("ai.onnx", "com.microsoft") or op.type not in ("QuantizeLinear", "DequantizeLinear"):
                continue
            if len(op.inputs) < 2 or not op.outputs:
                continue
            scale = graph.tensors.get(op.inputs[1])
            zp = graph.tensors.get(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] else None
            if scale is None or scale.value is None:
                continue
            scales = tuple(float(s) for s in np.ravel(scale.value))
            zps = tuple(int(z) for z in np.ravel(zp.value)) if zp is not None and zp.value is not None else (0,) * len(scales)
            axis = op.attrs.get("axis", 1) if len(scales) > 1 else None
            q = QuantParams(scales, zps, axis)
            quantized = op.outputs[0] if op.type == "QuantizeLinear" else op.inputs[0]
            t = graph.tensors.get(quantized)
            if t is not None and t.quant is None:
                t.quant = q

    def _check_external_locations(self, graph: OpGraph) -> None:
        """One note per external data file that edgefit would refuse to read (nothing is opened here)."""
        base = self.path.resolve().parent
        first: dict[str, str] = {}  # location -> first tensor naming it: each file once, not once per tensor
        for g in _with_bodies(graph):
            for t in g.tensors.values():
                if t.external is not None:
                    first.setdefault(t.external.location, t.name)
        for loc in sorted(first):
            problem = external_location_problem(base, loc)
            if problem is not None:
                self.notes.append(f"tensor {first[loc]!r}: external data location {_show(loc)} {problem}; "
                                  "edgefit will never read it")


def _with_bodies(graph: OpGraph) -> list[OpGraph]:
    out, stack = [], [graph]
    while stack:
        g = stack.pop()
        out.append(g)
        stack.extend(body for op in g.ops for body in op.bodies.values())
    return out


def _show(location: str) -> str:
    text = repr(location)
    return text if len(text) <= 80 else text[:77] + "...'"


#: Longest path and file-name component POSIX systems accept (PATH_MAX, NAME_MAX).
_PATH_MAX, _NAME_MAX = 4096, 255
NOT_A_REGULAR_FILE = "is not a regular file (a directory, device, FIFO or socket)"


def external_location_problem(base: Path, location: str) -> str | None:
    """Why the external data file ``location`` (relative to the model's folder ``base``) must not be read, or None
    when it may be: it must be a relative path that stays inside ``base`` once every symlink is resolved, and
    what is there (if anything) must be a regular file, not a device, FIFO or socket. Only ``lstat``/``stat``
    metadata calls are made; the file is never opened."""
    import stat

    if not location:
        return "is empty"
    if "\0" in location or len(location.encode("utf-8", "surrogatepass")) > _PATH_MAX or any(
            len(part.encode("utf-8", "surrogatepass")) > _NAME_MAX for part in location.split("/")):
        return "is not a valid file name"
    if Path(location).is_absolute():
        return "is an absolute path, outside the model's directory"
    try:
        target = (base / location).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, an unreadable directory
        return "cannot be resolved (symlink loop or unreadable directory)"
    if not target.is_relative_to(base):
        return "points outside the model's directory"
    try:
        mode = target.stat().st_mode
    except (OSError, ValueError):
        return None  # missing: said when (and only if) the bytes are needed
    if not stat.S_ISREG(mode):
        return NOT_A_REGULAR_FILE
    return None


def _inside(base: Path, location: str) -> bool:
    """Whether ``location`` may be read as external data of a model in ``base`` (see external_location_problem)."""
    return external_location_problem(base, location) is None


def external_data_path(model: Model, tensor: Tensor) -> Path:
    """The file holding ``tensor``'s external bytes, checked to lie inside the model's directory and exist."""
    assert tensor.external is not None
    base = Path(model.path).resolve().parent
    loc = tensor.external.location
    problem = external_location_problem(base, loc)
    if problem is not None:
        raise ExternalDataError(f"tensor {tensor.name!r}: external data location {_show(loc)} {problem}; refusing "
                                "to read it", model.path)
    p = base / loc
    if not p.is_file():
        raise ExternalDataError(f"tensor {tensor.name!r} needs external data file {loc!r}, which is missing "
                                f"(expected at {p})", model.path)
    return p
