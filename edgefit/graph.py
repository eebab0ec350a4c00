"""The op graph: one representation for every model format edgefit reads.

Ops keep their type in the dialect of the format they came from (ONNX ``Conv``, TFLite ``CONV_2D``,
``CUSTOM:<code>`` for TFLite custom ops); lowering to a device toolchain's dialect is a later stage.
Tensors carry shape (static ints, symbolic names, or ``None`` for unknown), dtype, quantization and where
their constant bytes live, but never the bytes themselves: readers record sizes from dims x dtype.
Connectivity (producers, consumers, op-level edges, a topological order) is computed from plain dicts on first
use and cached: a graph is not modified once built. A networkx DiGraph of the same edges is available as
``OpGraph.nx`` for callers that want graph algorithms; networkx is imported only then (it costs a tenth of a
second at start-up).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterator, Union

from edgefit.errors import CorruptModelError

if TYPE_CHECKING:
    import networkx as nx

#: A dimension: a static size, a symbolic name (``"seq"``), or ``None`` when nothing is known about it.
Dim = Union[int, str, None]

#: Storage width in bits of every dtype the readers produce. Names follow numpy where numpy has one.
DTYPE_BITS: dict[str, int] = {
    "bool": 8, "int4": 4, "uint4": 4, "int2": 2, "uint2": 2, "int8": 8, "uint8": 8, "int16": 16, "uint16": 16,
    "int32": 32, "uint32": 32, "int64": 64, "uint64": 64, "float16": 16, "bfloat16": 16, "float32": 32,
    "float64": 64, "complex64": 64, "complex128": 128, "float8e4m3fn": 8, "float8e4m3fnuz": 8,
    "float8e5m2": 8, "float8e5m2fnuz": 8, "float8e8m0": 8, "float4e2m1": 4, "float6e2m3": 6, "float6e3m2": 6,
}


@dataclass(slots=True, frozen=True)
class QuantParams:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per channel along ``axis``."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int | None = None

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass(slots=True, frozen=True)
class ExternalData:
    """Where a constant's bytes live outside the model's own message (ONNX external data)."""

    location: str
    offset: int
    length: int | None


@dataclass(slots=True)
class Tensor:
    name: str
    dtype: str
    #: ``None`` when even the rank is unknown.
    shape: tuple[Dim, ...] | None
    is_constant: bool = False
    #: Bytes of the stored constant when the file says so (TFLite buffer length); else derived from shape.
    stored_bytes: int | None = None
    quant: QuantParams | None = None
    external: ExternalData | None = None
    is_variable: bool = False
    #: TFLite buffer index: tensors that share a buffer share their bytes.
    buffer: int | None = None
    #: Contents of small constants only (shape vectors, axes, pads, quantization scales); never weights.
    value: Any = None

    @property
    def is_static(self) -> bool:
        return self.shape is not None and all(isinstance(d, int) for d in self.shape)

    @property
    def num_elements(self) -> int | None:
        if not self.is_static:
            return None
        return math.prod(self.shape)  # type: ignore[arg-type]

    @property
    def byte_size(self) -> int | None:
        """Bytes the tensor occupies: the stored size for constants, else elements x dtype width."""
        if self.stored_bytes is not None:
            return self.stored_bytes
        n = self.num_elements
        bits = DTYPE_BITS.get(self.dtype)
        if n is None or bits is None:
            return None
        return (n * bits + 7) // 8


@dataclass(slots=True)
class Op:
    index: int
    name: str
    #: Op type in the source format's dialect: ``Conv``, ``CONV_2D``, ``CUSTOM:TFLite_Detection_PostProcess``.
    type: str
    #: ONNX domain (``ai.onnx`` for the default one); ``tflite`` for builtins, ``custom`` for TFLite custom ops.
    domain: str
    #: ONNX: the opset version of the op's domain. TFLite: the operator-code version.
    version: int | None
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    #: Control-flow bodies (ONNX If/Loop/Scan attributes, TFLite WHILE/IF/CALL_ONCE subgraphs), by role.
    bodies: dict[str, "OpGraph"] = field(default_factory=dict)
    #: For ONNX calls of model-local functions: the function's ``domain::name`` key in ``Model.functions``.
    function: str | None = None
    #: Names of the source-model nodes this op was lowered from (the op's own name for an unlowered graph).
    source_nodes: tuple[str, ...] = ()


class OpGraph:
    """One computation graph: ops in model order, the tensors they exchange, graph inputs and outputs."""

    def __init__(self, name: str, ops: list[Op], tensors: dict[str, Tensor], inputs: list[str],
                 outputs: list[str], *, is_body: bool = False, index: int = 0):
        self.name = name
        self.ops = ops
        self.tensors = tensors
        self.inputs = inputs
        self.outputs = outputs
        self.is_body = is_body
        self.index = index

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __repr__(self) -> str:
        return f"OpGraph({self.name!r}, {len(self.ops)} ops, {len(self.tensors)} tensors)"

    @cached_property
    def producers(self) -> dict[str, int]:
        """Tensor name -> index of the op that writes it (graph inputs and constants have none)."""
        return {t: op.index for op in self.ops for t in op.outputs if t}

    @cached_property
    def predecessors(self) -> dict[int, tuple[int, ...]]:
        """Op index -> indices of the ops whose outputs it reads, each once, in the order of its inputs."""
        producers = self.producers
        return {op.index: tuple(dict.fromkeys(p for t in op.inputs if (p := producers.get(t)) is not None))
                for op in self.ops}

    @cached_property
    def successors(self) -> dict[int, tuple[int, ...]]:
        """Op index -> indices of the ops that read its outputs, each once, in model order."""
        out: dict[int, list[int]] = {op.index: [] for op in self.ops}
        for op in self.ops:
            for p in self.predecessors[op.index]:
                out[p].append(op.index)
        return {i: tuple(v) for i, v in out.items()}

    @cached_property
    def nx(self) -> nx.DiGraph:
        """Op-level data-flow graph: node = op index, edge = at least one tensor from producer to consumer.

        Edge attribute ``tensors`` lists the tensors that flow along it.
        """
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(range(len(self.ops)))
        producers = self.producers
        for op in self.ops:
            for t in op.inputs:
                src = producers.get(t)
                if src is None:
                    continue
                if g.has_edge(src, op.index):
                    g.edges[src, op.index]["tensors"].append(t)
                else:
                    g.add_edge(src, op.index, tensors=[t])
        return g

    def producer(self, tensor: str) -> Op | None:
        i = self.producers.get(tensor)
        return None if i is None else self.ops[i]

    def consumers(self, tensor: str) -> list[Op]:
        return [self.ops[i] for i in self._consumers.get(tensor, ())]

    @cached_property
    def _consumers(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for op in self.ops:
            for t in op.inputs:
                if t:
                    out.setdefault(t, []).append(op.index)
        return out

    def topological_order(self) -> list[Op]:
        """Ops in a data-flow order, ties broken by model order so the result is deterministic."""
        return [self.ops[i] for i in self._topological_indices]

    @cached_property
    def _topological_indices(self) -> tuple[int, ...]:
        # Kahn's algorithm with a min-heap: among the ready ops the one first in model order goes next (the
        # order networkx's lexicographical_topological_sort gives on integer nodes).
        successors = self.successors
        pending = {i: len(p) for i, p in self.predecessors.items() if p}
        ready = [op.index for op in self.ops if op.index not in pending]
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for j in successors[i]:
                pending[j] -= 1
                if pending[j] == 0:
                    del pending[j]
                    heapq.heappush(ready, j)
        if pending:
            import networkx as nx

            cycle = [self.ops[u].name for u, _ in nx.find_cycle(self.nx)]
            raise CorruptModelError(f"graph {self.name!r} has a data-flow cycle through ops {', '.join(cycle[:5])}"
                                    + (" ..." if len(cycle) > 5 else ""))
        return tuple(order)

    def descendants(self, op: Op) -> set[int]:
        """Indices of every op that depends on ``op`` through data flow."""
        successors = self.successors
        seen = {op.index}
        stack = list(successors[op.index])
        while stack:
            i = stack.pop()
            if i not in seen:
                seen.add(i)
                stack.extend(successors[i])
        seen.discard(op.index)
        return seen

    def walk(self) -> Iterator[tuple[OpGraph, Op]]:
        """Every op of this graph and, depth first, of its control-flow bodies."""
        for op in self.ops:
            yield self, op
            for body in op.bodies.values():
                yield from body.walk()


@dataclass
class Signature:
    """A TFLite SignatureDef: named entry point onto one subgraph."""

    key: str
    subgraph: int
    inputs: dict[str, str]
    outputs: dict[str, str]


@dataclass
class Model:
    """A whole model file: its graphs, plus facts about the file that no single graph owns."""

    path: str
    format: str  # "onnx" | "tflite"
    #: ONNX: the main graph only (bodies hang off their ops). TFLite: every subgraph, in file order.
    graphs: list[OpGraph]
    #: ONNX domain -> opset version (``ai.onnx`` for the default domain); TFLite: {"tflite": schema version}.
    opsets: dict[str, int] = field(default_factory=dict)
    producer: str = ""
    #: ONNX model-local functions by ``domain::name``.
    functions: dict[str, OpGraph] = field(default_factory=dict)
    signatures: list[Signature] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    #: What the reader could not describe fully: reported to the user, never fatal.
    notes: list[str] = field(default_factory=list)

    @property
    def main(self) -> OpGraph:
        return self.graphs[0]

    @property
    def entry_graphs(self) -> list[OpGraph]:
        """Graphs that run on their own (not as a control-flow body of some op)."""
        return [g for g in self.graphs if not g.is_body]
