"""Multiply-accumulate counts of the compute-heavy ops, exact for static shapes, symbolic for dynamic ones.

A count is a polynomial in the model's symbolic dims (``Poly``): Qwen3 at a dynamic ``seq`` has
``~0.44 G·seq + 28·... ·seq^2`` MACs, which is more useful than "unknown". Ops whose shapes are not known
at all are listed as uncounted instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from edgefit.graph import Dim, Op, OpGraph

Monomial = tuple[str, ...]  # sorted symbol names, repeated for powers: ("seq", "seq") = seq^2


class Poly(dict[Monomial, int]):
    """Sum of integer-coefficient monomials over symbolic dims; ``{(): n}`` is the constant n."""

    @classmethod
    def of_dims(cls, dims: list[Dim]) -> Poly | None:
        """Product of dims; None if any dim is unknown."""
        const, syms = 1, []
        for d in dims:
            if d is None:
                return None
            if isinstance(d, int):
                const *= d
            else:
                syms.append(d)
        return cls({tuple(sorted(syms)): const}) if const else cls()

    def __add__(self, other: Poly) -> Poly:  # type: ignore[override]
        out = Poly(self)
        for m, c in other.items():
            out[m] = out.get(m, 0) + c
        return out

    @property
    def constant(self) -> int | None:
        """The value when there are no symbols, else None."""
        if all(m == () for m in self):
            return self.get((), 0)
        return None

    def to_json(self) -> list[dict[str, object]]:
        return [{"coefficient": c, "dims": list(m)} for m, c in sorted(self.items(), key=lambda kv: (len(kv[0]), kv[0]))]

    def __str__(self) -> str:
        if not self:
            return "0"
        terms = []
        for m, c in sorted(self.items(), key=lambda kv: (len(kv[0]), kv[0])):
            powers = Counter(m)
            sym = "·".join(s if p == 1 else f"{s}^{p}" for s, p in sorted(powers.items()))
            terms.append(f"{c:,}" + (f"·{sym}" if sym else ""))
        return " + ".join(terms)


def _shape(graph: OpGraph, name: str) -> list[Dim] | None:
    t = graph.tensors.get(name) if name else None
    return None if t is None or t.shape is None else list(t.shape)


def _conv(op: Op, graph: OpGraph, weight_input: int = 1) -> Poly | None:
    # ONNX weight [M, C/group, *k]: each output element takes C/group * prod(k) MACs.
    out, w = _shape(graph, op.outputs[0]), _shape(graph, op.inputs[weight_input])
    if out is None or w is None or len(w) < 2:
        return None
    return Poly.of_dims(out + w[1:])


def _conv_transpose(op: Op, graph: OpGraph) -> Poly | None:
    # ONNX weight [C, M/group, *k]: each input element scatters into M/group * prod(k) outputs.
    x, w = _shape(graph, op.inputs[0]), _shape(graph, op.inputs[1])
    if x is None or w is None or len(w) < 2:
        return None
    return Poly.of_dims(x + w[1:])


def _matmul(op: Op, graph: OpGraph, a_input: int = 0) -> Poly | None:
    out, a = _shape(graph, op.outputs[0]), _shape(graph, op.inputs[a_input])
    if out is None or not a:
        return None
    return Poly.of_dims(out + [a[-1]])


def _gemm(op: Op, graph: OpGraph) -> Poly | None:
    out, a = _shape(graph, op.outputs[0]), _shape(graph, op.inputs[0])
    if out is None or a is None or len(a) != 2:
        return None
    return Poly.of_dims(out + [a[0] if op.attrs.get("transA") else a[1]])


def _tfl_conv(op: Op, graph: OpGraph) -> Poly | None:
    # TFLite filter [O, kh, kw, I] (CONV_2D) / [kd, kh, kw, I, O] (CONV_3D) / [1, kh, kw, O] (DEPTHWISE).
    out, w = _shape(graph, op.outputs[0]), _shape(graph, op.inputs[1])
    if out is None or w is None:
        return None
    if op.type == "DEPTHWISE_CONV_2D":
        return Poly.of_dims(out + w[1:3])
    if op.type == "CONV_3D":
        return Poly.of_dims(out + w[:4])
    return Poly.of_dims(out + w[1:])


def _tfl_transpose_conv(op: Op, graph: OpGraph) -> Poly | None:
    w, x = _shape(graph, op.inputs[1]), _shape(graph, op.inputs[2])  # inputs: output_shape, weights, input
    if w is None or x is None:
        return None
    return Poly.of_dims(x + w[:3])


def _tfl_fully_connected(op: Op, graph: OpGraph) -> Poly | None:
    out, w = _shape(graph, op.outputs[0]), _shape(graph, op.inputs[1])
    if out is None or w is None or len(w) != 2:
        return None
    return Poly.of_dims(out + [w[1]])


def _tfl_batch_matmul(op: Op, graph: OpGraph) -> Poly | None:
    out, a = _shape(graph, op.outputs[0]), _shape(graph, op.inputs[0])
    if out is None or not a or len(a) < 2:
        return None
    return Poly.of_dims(out + [a[-2] if op.attrs.get("adj_x") else a[-1]])


COUNTERS = {
    "Conv": _conv, "ConvInteger": _conv, "QLinearConv": lambda op, g: _conv(op, g, weight_input=3),
    "ConvTranspose": _conv_transpose,
    "MatMul": _matmul, "MatMulInteger": _matmul, "QLinearMatMul": _matmul, "Gemm": _gemm,
    "CONV_2D": _tfl_conv, "DEPTHWISE_CONV_2D": _tfl_conv, "CONV_3D": _tfl_conv,
    "TRANSPOSE_CONV": _tfl_transpose_conv, "FULLY_CONNECTED": _tfl_fully_connected,
    "BATCH_MATMUL": _tfl_batch_matmul,
}


@dataclass
class MacCount:
    total: Poly = field(default_factory=Poly)
    by_op_type: dict[str, Poly] = field(default_factory=dict)
    #: Ops that do MACs but whose shapes are too unknown to count.
    uncounted: list[str] = field(default_factory=list)


def macs_of(op: Op, graph: OpGraph) -> Poly | None:
    """The op's MACs; None when the op does none or its shapes are too unknown to count (see ``does_macs``)."""
    counter = COUNTERS.get(op.type)
    if counter is None or not op.outputs:
        return None
    try:
        return counter(op, graph)
    except IndexError:  # fewer inputs than the op type has: malformed, so not countable
        return None


def does_macs(op: Op) -> bool:
    return op.type in COUNTERS and bool(op.outputs)


def count_macs(graphs: list[OpGraph]) -> MacCount:
    result = MacCount()
    for graph in graphs:
        for op in graph.ops:
            if not does_macs(op):
                continue
            macs = macs_of(op, graph)
            if macs is None:
                result.uncounted.append(op.name)
                continue
            result.total = result.total + macs
            result.by_op_type[op.type] = result.by_op_type.get(op.type, Poly()) + macs
    return result


def format_count(n: float) -> str:
    """1234567 -> '1.23 M'."""
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(int(n)) if float(n).is_integer() else f"{n:.2f}"


def op_macs(graph: OpGraph) -> dict[int, int]:
    """MACs per op index of one graph, for the ops that do MACs and whose count is a plain number."""
    counts = ((op.index, macs_of(op, graph)) for op in graph.ops if does_macs(op))
    return {i: m.constant for i, m in counts if m is not None and m.constant is not None}
