"""Static shapes for ONNX graphs whose shape arithmetic ONNX shape inference cannot follow.

Exporters compute many shapes at run time (``Shape -> Gather -> Range -> Unsqueeze -> Expand``). Once the
inputs are static those values are constants, but ONNX shape inference only reads initializers, so a ``Range``
fed by ``Shape`` stays ``unk__0`` and everything downstream of it unknown. ``infer_static_shapes`` evaluates such
small integer computations with numpy on a weightless copy of the graph, turns their results into
initializers, and infers again until nothing changes. The user's model itself is never modified.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

#: Only values this small are computed: shape vectors, indices, masks' sizes; never activations.
MAX_ELEMENTS = 4096
MAX_ROUNDS = 4


def _axes(node_attrs: dict[str, Any], inputs: list[Any], position: int) -> list[int] | None:
    if len(inputs) > position and inputs[position] is not None:
        return [int(a) for a in np.ravel(inputs[position])]
    return node_attrs.get("axes")


def _unsqueeze(a: dict[str, Any], x: list[Any]) -> Any:
    out = np.asarray(x[0])
    rank = out.ndim + len(_axes(a, x, 1) or [])
    for axis in sorted(ax % rank for ax in _axes(a, x, 1) or []):
        out = np.expand_dims(out, axis)
    return out


def _squeeze(a: dict[str, Any], x: list[Any]) -> Any:
    axes = _axes(a, x, 1)
    return np.squeeze(x[0], axis=None if axes is None else tuple(axes))


def _slice(a: dict[str, Any], x: list[Any]) -> Any:
    data = np.asarray(x[0])
    starts, ends = np.ravel(x[1]), np.ravel(x[2])
    axes = np.ravel(x[3]) if len(x) > 3 and x[3] is not None else range(len(starts))
    steps = np.ravel(x[4]) if len(x) > 4 and x[4] is not None else [1] * len(starts)
    index = [slice(None)] * data.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        index[int(ax)] = slice(int(s), int(e), int(st))
    return data[tuple(index)]


def _reshape(a: dict[str, Any], x: list[Any]) -> Any:
    data, shape = np.asarray(x[0]), [int(d) for d in np.ravel(x[1])]
    if not a.get("allowzero"):
        shape = [data.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return data.reshape(shape)


def _div(a: dict[str, Any], x: list[Any]) -> Any:
    p, q = np.asarray(x[0]), np.asarray(x[1])
    return (np.trunc(p / q).astype(p.dtype)) if p.dtype.kind in "iu" else p / q


EVALUATORS: dict[str, Callable[[dict[str, Any], list[Any]], Any]] = {
    "Identity": lambda a, x: x[0],
    "Gather": lambda a, x: np.take(x[0], np.asarray(x[1]), axis=a.get("axis", 0)),
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": lambda a, x: np.concatenate([np.atleast_1d(v) for v in x], axis=a.get("axis", 0)),
    "Cast": lambda a, x: np.asarray(x[0]).astype(onnx.helper.tensor_dtype_to_np_dtype(a["to"])),
    "Slice": _slice,
    "Reshape": _reshape,
    "Transpose": lambda a, x: np.transpose(x[0], a.get("perm")),
    "Add": lambda a, x: np.add(x[0], x[1]),
    "Sub": lambda a, x: np.subtract(x[0], x[1]),
    "Mul": lambda a, x: np.multiply(x[0], x[1]),
    "Div": _div,
    "Neg": lambda a, x: np.negative(x[0]),
    "Max": lambda a, x: np.maximum.reduce([np.asarray(v) for v in x]),
    "Min": lambda a, x: np.minimum.reduce([np.asarray(v) for v in x]),
    "Equal": lambda a, x: np.equal(x[0], x[1]),
    "Less": lambda a, x: np.less(x[0], x[1]),
    "Greater": lambda a, x: np.greater(x[0], x[1]),
    "Not": lambda a, x: np.logical_not(x[0]),
    "Where": lambda a, x: np.where(x[0], x[1], x[2]),
    "Range": lambda a, x: np.arange(np.asarray(x[0]).item(), np.asarray(x[1]).item(), np.asarray(x[2]).item(),
                                    dtype=np.asarray(x[0]).dtype),
    "ConstantOfShape": lambda a, x: np.full([int(d) for d in np.ravel(x[0])],
                                            numpy_helper.to_array(a["value"]).ravel()[0] if "value" in a else 0.0,
                                            dtype=numpy_helper.to_array(a["value"]).dtype if "value" in a else np.float32),
    "Expand": lambda a, x: np.broadcast_to(x[0], np.broadcast_shapes(np.shape(x[0]),
                                                                     tuple(int(d) for d in np.ravel(x[1])))),
}


def _static(shape: tuple[Any, ...] | None) -> bool:
    return shape is not None and all(isinstance(d, int) for d in shape)


def _shape_of(type_proto: Any) -> tuple[Any, ...] | None:
    if type_proto.WhichOneof("value") != "tensor_type" or not type_proto.tensor_type.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") and d.dim_value >= 0 else None
                 for d in type_proto.tensor_type.shape.dim)


def _result_small(node: onnx.NodeProto, values: list[Any]) -> bool:
    """Refuse to materialise big results (a long causal mask) before computing them."""
    try:
        if node.op_type == "ConstantOfShape":
            return math.prod(int(d) for d in np.ravel(values[0])) <= MAX_ELEMENTS
        if node.op_type == "Expand":
            return math.prod(np.broadcast_shapes(np.shape(values[0]), tuple(int(d) for d in np.ravel(values[1])))) \
                <= MAX_ELEMENTS
        if node.op_type == "Range":
            start, limit, delta = (float(np.asarray(v).item()) for v in values)
            return delta != 0 and abs((limit - start) / delta) <= MAX_ELEMENTS
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def infer_static_shapes(work: onnx.ModelProto) -> onnx.ModelProto:
    """Shape inference with small integer computations folded; ``work`` (a weightless copy) is consumed."""
    from onnx.helper import get_attribute_value

    # Before IR 4 an initializer counts for inference only when it is also a graph input; the folded values
    # added below are not, so the weightless copy is read under IR 4 rules (same opsets, same meaning).
    work.ir_version = max(work.ir_version, 4)
    values: dict[str, np.ndarray] = {}
    for init in work.graph.initializer:
        if init.data_location != TensorProto.EXTERNAL and math.prod(init.dims) <= MAX_ELEMENTS:
            values[init.name] = numpy_helper.to_array(init)
    # The graph's nodes in order (removed from ``work`` as they are folded) and, of them, those ``_evaluate``
    # can compute at all, with their attributes (every node's is decoded: one that cannot be fails inference
    # as a whole, as it always has).
    nodes = list(work.graph.node)
    attributes = [{a.name: get_attribute_value(a) for a in node.attribute} for node in nodes]
    pending = [(node, attrs) for node, attrs in zip(nodes, attributes) if _evaluable(node)]
    # ... and of those, the ones whose inputs can all become known (an op reading an activation never folds).
    computable = set(values)
    viable: set[int] = set()
    grew = True
    while grew:  # one pass for a graph in topological order (as ONNX requires), a second to see nothing grows
        grew = False
        for node, _ in pending:
            if id(node) not in viable and (node.op_type in ("Constant", "Shape") or (
                    any(node.input) and all(i in computable for i in node.input if i))):
                viable.add(id(node))
                computable.add(node.output[0])
                grew = True
    pending = [(node, attrs) for node, attrs in pending if id(node) in viable]
    inferred = onnx.shape_inference.infer_shapes(work, data_prop=True)
    folded_types: list[onnx.ValueInfoProto] = []
    for _ in range(MAX_ROUNDS):
        g = inferred.graph
        types = {v.name: v.type for v in (*g.input, *g.value_info, *g.output)}
        keep, new, folded = [], {}, set()
        for node, attrs in pending:
            result = _evaluate(node, attrs, values, types)
            if result is not None:
                values[node.output[0]] = new[node.output[0]] = result  # later nodes of this pass can use it
                folded.add(id(node))
            else:
                keep.append((node, attrs))
        if not new:
            break
        pending = keep
        # Remove the folded nodes in place (back to front), not by clearing and copying every other node back.
        for position in reversed([k for k, node in enumerate(nodes) if id(node) in folded]):
            del work.graph.node[position]
        nodes = [node for node in nodes if id(node) not in folded]
        for name, value in new.items():
            work.graph.initializer.append(numpy_helper.from_array(value, name))
            folded_types.append(onnx.helper.make_tensor_value_info(
                name, onnx.helper.np_dtype_to_tensor_dtype(value.dtype), list(value.shape)))
        inferred = onnx.shape_inference.infer_shapes(work, data_prop=True)
    inferred.graph.value_info.extend(folded_types)
    return inferred


def _evaluable(node: onnx.NodeProto) -> bool:
    """Whether ``_evaluate`` can ever compute the node (it returns None at once for any other)."""
    return not node.domain and len(node.output) == 1 and (
        node.op_type in ("Constant", "Shape") or node.op_type in EVALUATORS)


def _evaluate(node: onnx.NodeProto, attrs: dict[str, Any], values: dict[str, np.ndarray],
              types: dict[str, Any]) -> np.ndarray | None:
    """The node's single output as a small constant, or None when it is not computable here."""
    if node.domain or len(node.output) != 1:
        return None
    result = None
    if any(isinstance(v, TensorProto) and v.data_location == TensorProto.EXTERNAL for v in attrs.values()):
        return None  # numpy_helper.to_array would open the external file (relative to the working directory)
    if node.op_type == "Constant" and isinstance(attrs.get("value"), TensorProto):
        if math.prod(attrs["value"].dims) <= MAX_ELEMENTS:
            result = numpy_helper.to_array(attrs["value"])
    elif node.op_type == "Shape":
        dims = _shape_of(types[node.input[0]]) if node.input[0] in types else None
        if _static(dims):
            result = np.asarray(dims[attrs.get("start", 0):attrs.get("end", len(dims))], dtype=np.int64)
    elif node.op_type in EVALUATORS:
        args = [values.get(i) if i else None for i in node.input]
        required = [a for i, a in zip(node.input, args) if i]
        if required and all(a is not None for a in required) and _result_small(node, args):
            try:
                with np.errstate(all="ignore"):
                    result = np.asarray(EVALUATORS[node.op_type](attrs, args))
            except (ValueError, TypeError, IndexError, KeyError, OverflowError):
                return None
    if result is None or result.size > MAX_ELEMENTS or result.dtype == object:
        return None
    return result
