"""Parameter caching vs streaming on the Edge TPU (coral-edgetpu.md §1.2 and §1.3).

The model: the compiler grants the model a parameter budget in on-chip SRAM (``memory.param_cache_bytes``;
default 7.98 MiB, the largest grant observed for compiler 16 — real grants shrink with model-dependent
overhead, §1.2). Walking the Edge TPU ops in execution order, each op's parameters (its constant, quantized
inputs: weights and biases) are cached on chip as a whole when they still fit in what is left of the budget,
otherwise they are streamed from host memory on every inference. Caching is per layer, not byte-filling: a
layer larger than the rest of the budget gets nothing cached while later, smaller layers can still be cached
(an 8192x8192 Dense layer got 0 B cached with 7.88 MiB left, §1.2). Streamed ops still run on the Edge TPU;
the price is latency, not CPU fallback (§1.3, §6).

``MemoryPlan`` mirrors the compiler's three memory lines: "On-chip memory used for caching model parameters"
(``cached_bytes``), "... remaining ..." (``remaining_bytes``), "Off-chip memory used for streaming uncached
model parameters" (``streamed_bytes``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgefit.graph import OpGraph
from edgefit.partition import ACCELERATOR, Partition, is_parameter

MIB = 1024 * 1024
#: Largest "used + remaining" grant seen in compiler-16 output (tiny model, §1.2 table).
DEFAULT_PARAM_CACHE_BYTES = int(7.98 * MIB)
#: Coral's SRAM figure, "about 8 MB" (§1.2); the whole cache, of which the parameter grant is a part.
DEFAULT_SRAM_BYTES = 8 * 1000 * 1000


@dataclass(frozen=True, slots=True)
class TensorDecision:
    tensor: str
    #: The (first) Edge TPU op that reads the tensor.
    op: int
    bytes: int
    cached: bool


@dataclass
class MemoryPlan:
    cached_bytes: int
    streamed_bytes: int
    budget_bytes: int
    decisions: list[TensorDecision] = field(default_factory=list)
    sram_bytes: int = DEFAULT_SRAM_BYTES

    @property
    def remaining_bytes(self) -> int:
        return self.budget_bytes - self.cached_bytes

    @property
    def fits_on_chip(self) -> bool:
        return self.streamed_bytes == 0

    def to_dict(self) -> dict[str, Any]:
        return {"cached_bytes": self.cached_bytes, "streamed_bytes": self.streamed_bytes,
                "budget_bytes": self.budget_bytes, "remaining_bytes": self.remaining_bytes,
                "sram_bytes": self.sram_bytes,
                "tensors": [{"tensor": d.tensor, "op": d.op, "bytes": d.bytes, "cached": d.cached}
                            for d in self.decisions]}


def plan_memory(graph: OpGraph, partition: Partition, spec: Any) -> MemoryPlan:
    """Decide, layer by layer in execution order, which Edge TPU parameters are cached and which streamed."""
    budget = int(spec.get("memory.param_cache_bytes", DEFAULT_PARAM_CACHE_BYTES) or 0)
    sram = int(spec.get("memory.sram_bytes", DEFAULT_SRAM_BYTES) or DEFAULT_SRAM_BYTES)
    cached = streamed = 0
    decisions: list[TensorDecision] = []
    seen: set[str] = set()  # a tensor shared by several ops is stored once
    for index in partition.order:
        if partition.placements[index].device != ACCELERATOR:
            continue
        params = _new_parameters(graph, index, seen)
        layer_bytes = sum(size for _, size in params)
        fits = cached + layer_bytes <= budget
        if fits:
            cached += layer_bytes
        else:
            streamed += layer_bytes
        decisions += [TensorDecision(name, index, size, fits) for name, size in params]
    return MemoryPlan(cached, streamed, budget, decisions, sram)


def _new_parameters(graph: OpGraph, index: int, seen: set[str]) -> list[tuple[str, int]]:
    """The op's parameter tensors not already placed by an earlier op, with their sizes."""
    params = []
    for name in dict.fromkeys(t for t in graph.ops[index].inputs if t):
        t = graph.tensors.get(name)
        if t is None or name in seen or not is_parameter(t):
            continue
        seen.add(name)
        params.append((name, t.byte_size or 0))
    return params
