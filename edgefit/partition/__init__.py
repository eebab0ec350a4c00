"""Partitioning as ``edgetpu_compiler`` does it: which ops run inside Edge TPU subgraphs, which on the CPU.

Rules decide whether each op *could* map; this module decides where each op *does* run, with the strategy
chosen by the spec (``toolchain.partitioning``, ``toolchain.segments``), never by rules. Reference:
coral-edgetpu.md §3.

Stages, all on the op-level data-flow graph (not file order):

1. **Dead ops are dropped.** An op none of whose outputs is consumed or a graph output is removed from the
   compiled model (observed: PoseNet builds with 31 ``PosenetDecoderOp``, 30 of them dead, compile to one).
   Only one pass: the DEQUANTIZE ops that fed a dead decoder stay in the compiled model as CPU ops.
2. **Levels.** Every op gets a level = the number of Edge TPU -> CPU hand-offs on the longest path into it.
   A CPU op with no Edge TPU op upstream (the float -> int8 input QUANTIZE) is level 0 and runs *before* the
   Edge TPU subgraph without cutting it (ref §3.1). A mappable op downstream of an unmappable op that itself
   follows an Edge TPU op gets a higher level. Ops on parallel branches keep level 0, so only the data-flow
   descendants of the cut leave the first subgraph (ref §3.1, Tiny-YOLO log).
3. **Strategy.** ``single_subgraph`` (default): only level 0 maps; mappable ops at higher levels run on the CPU
   with "More than one subgraph is not supported". ``multi_subgraph`` (``-a``): every mappable op maps and
   level k forms Edge TPU subgraph k. The set of mapped ops at one level is convex (no path leaves it through
   the CPU and comes back), so each level is one valid subgraph.
4. **Segments** (``-n N``): the Edge TPU ops, in execution order, are cut into N consecutive pipeline segments
   with about equal parameter bytes each.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

from edgefit.graph import Op, OpGraph, Tensor

ACCELERATOR = "accelerator"
CPU = "cpu"
#: Dropped by the compiler: the op is absent from the compiled model.
REMOVED = "removed"

SINGLE_SUBGRAPH = "single_subgraph"
MULTI_SUBGRAPH = "multi_subgraph"
STRATEGIES = (SINGLE_SUBGRAPH, MULTI_SUBGRAPH)

#: edgetpu_compiler's texts for a mapped op and for a mappable op cut off by the single-subgraph rule.
MAPPED_STATUS = "Mapped to Edge TPU"
CUT_STATUS = "More than one subgraph is not supported"
DEAD_STATUS = "Removed: no output is used"
#: Reason code for ops placed on the CPU by the partitioner rather than by a rule.
CUT_REASON = "PARTITION-CUT"
DEAD_REASON = "PARTITION-DEAD"
#: What the partitioner's reason codes mean, for `edgefit explain`.
REASON_TEXT = {
    CUT_REASON: ("The op could map, but it depends (through data flow) on an op that runs on the CPU, and the "
                 "compiler builds a single Edge TPU subgraph by default, so everything downstream of the first "
                 "unmappable op stays on the CPU. Compiler status: " + CUT_STATUS + ". Fix: replace or remove "
                 "the unmappable op, move it to the end of the graph, or compile with -a "
                 "(--set toolchain.partitioning=multi_subgraph) to allow several Edge TPU subgraphs."),
    DEAD_REASON: ("None of the op's outputs is used by another op or returned by the model, so the compiler "
                  "drops it from the compiled model (observed for PoseNet decoder ops with unused outputs)."),
}


@dataclass(slots=True)
class Placement:
    op: int
    #: "accelerator" | "cpu" | "removed"
    device: str
    #: Edge TPU subgraph index for accelerator ops, else None.
    subgraph: int | None = None
    #: Pipeline segment (``-n``) for accelerator ops, else None.
    segment: int | None = None
    #: The compiler's status text for this op.
    status: str = MAPPED_STATUS
    #: Rule code (or PARTITION-*) that put the op on the CPU; None for mapped ops.
    reason: str | None = None


@dataclass
class Partition:
    strategy: str
    placements: list[Placement]
    #: Set when the compile fails as a whole (every op is then on the CPU and no Edge TPU model exists).
    failure: str | None = None
    num_segments: int = 1
    #: Op indices in execution order (data-flow order, ties broken by model order).
    order: list[int] = field(default_factory=list)

    def __getitem__(self, op_index: int) -> Placement:
        return self.placements[op_index]

    def on(self, device: str) -> list[Placement]:
        return [p for p in self.placements if p.device == device]

    @property
    def num_subgraphs(self) -> int:
        return len({p.subgraph for p in self.on(ACCELERATOR)})

    def counts(self, graph: OpGraph, device: str = CPU) -> Counter[str]:
        """Op types on ``device``, counted: the compiled model's CPU ops for ``device="cpu"``."""
        return Counter(graph.ops[p.op].type for p in self.on(device))


def partition_graph(graph: OpGraph, blocked: Mapping[int, tuple[str, str | None]], spec: Any, *,
                    failure: tuple[str, str] | None = None) -> Partition:
    """Place every op of ``graph``.

    ``blocked`` maps op index -> (reason code, compiler status) for ops that cannot map (their first error
    finding). ``failure`` = (reason code, compiler output) marks a compile that fails as a whole. Strategy and
    segment count come from ``spec.get("toolchain.partitioning")`` and ``spec.get("toolchain.segments")``.
    """
    strategy = spec.get("toolchain.partitioning", SINGLE_SUBGRAPH) or SINGLE_SUBGRAPH
    if strategy not in STRATEGIES:
        raise ValueError(f"toolchain.partitioning must be one of {STRATEGIES}, not {strategy!r}")
    segments = max(1, int(spec.get("toolchain.segments", 1) or 1))
    order = [op.index for op in graph.topological_order()]
    if failure is not None:
        code, status = failure
        placements = [Placement(op.index, CPU, status=status, reason=code) for op in graph.ops]
        return Partition(strategy, placements, failure=status, num_segments=segments, order=order)

    dead = dead_ops(graph)
    levels = subgraph_levels(graph, order, blocked, dead)
    placements = []
    for op in graph.ops:
        if op.index in dead:
            placements.append(Placement(op.index, REMOVED, status=DEAD_STATUS, reason=DEAD_REASON))
        elif op.index in blocked:
            reason, blocked_status = blocked[op.index]
            placements.append(Placement(op.index, CPU, status=blocked_status or reason, reason=reason))
        elif strategy == SINGLE_SUBGRAPH and levels[op.index] > 0:
            placements.append(Placement(op.index, CPU, status=CUT_STATUS, reason=CUT_REASON))
        else:
            placements.append(Placement(op.index, ACCELERATOR, subgraph=levels[op.index]))
    _renumber_subgraphs(placements)
    part = Partition(strategy, placements, num_segments=segments, order=order)
    if segments > 1:
        assign_segments(part, graph, segments)
    return part


def dead_ops(graph: OpGraph) -> set[int]:
    """Ops with outputs none of which is read by another op or returned by the graph (one pass, see module doc)."""
    used = {t for op in graph.ops for t in op.inputs if t} | set(graph.outputs)
    return {op.index for op in graph.ops if any(op.outputs) and not any(t in used for t in op.outputs if t)}


def subgraph_levels(graph: OpGraph, order: list[int], blocked: Mapping[int, Any], dead: set[int]) -> dict[int, int]:
    """Per op: how many Edge TPU -> CPU hand-offs lie on the longest data-flow path into it.

    A mappable op's level is the highest level among its producers, where crossing a CPU op that follows an
    Edge TPU op adds one. CPU ops at the very front (nothing mapped upstream) stay at level 0.
    """
    level: dict[int, int] = {}
    #: For CPU ops: whether an Edge TPU op lies upstream, so a mappable consumer is past a hand-off.
    after_tpu: dict[int, bool] = {}
    predecessors = graph.predecessors
    for i in order:
        if i in dead:
            continue
        producers = [p for p in predecessors[i] if p not in dead]
        if i in blocked:
            level[i] = max((level[p] for p in producers), default=0)
            after_tpu[i] = any(p not in blocked or after_tpu[p] for p in producers)
        else:
            level[i] = max((level[p] + (1 if p in blocked and after_tpu[p] else 0) for p in producers), default=0)
    return level


def _renumber_subgraphs(placements: list[Placement]) -> None:
    """Subgraph ids 0..n-1 in level order (levels can skip numbers when a level holds only CPU ops)."""
    levels = sorted({p.subgraph for p in placements if p.subgraph is not None})
    ids = {level: k for k, level in enumerate(levels)}
    for p in placements:
        if p.subgraph is not None:
            p.subgraph = ids[p.subgraph]


def parameter_bytes(op: Op, graph: OpGraph) -> int:
    """Bytes of the op's parameters: constant, quantized inputs (weights, biases), not shape/axis vectors."""
    total = 0
    for name in dict.fromkeys(t for t in op.inputs if t):
        t = graph.tensors.get(name)
        if t is not None and is_parameter(t):
            total += t.byte_size or 0
    return total


def is_parameter(t: Tensor) -> bool:
    """Weights and biases carry quantization parameters; shape, axis and padding vectors do not."""
    return bool(t.is_constant and (t.quant is not None or t.dtype in ("int8", "uint8")))


def assign_segments(part: Partition, graph: OpGraph, segments: int) -> None:
    """Cut the Edge TPU ops, in execution order, into ``segments`` runs of about equal parameter bytes."""
    tpu = [i for i in part.order if part.placements[i].device == ACCELERATOR]
    if not tpu:
        return
    sizes = [parameter_bytes(graph.ops[i], graph) for i in tpu]
    total = sum(sizes)
    done = 0
    for position, (i, size) in enumerate(zip(tpu, sizes, strict=True)):
        # Segment by the parameter bytes before this op's midpoint; fall back to op counts for weightless graphs.
        share = (done + size / 2) / total if total else position / len(tpu)
        part.placements[i].segment = min(segments - 1, int(share * segments))
        done += size
