"""Coral Edge TPU prediction in one call: rules -> partition -> parameter memory.

``predict(graph, spec)`` answers what ``edgetpu_compiler`` would do with a quantized TFLite graph: the findings
per op and for the model, where every op runs (with the compiler's status text) and which parameters stay in
the on-chip cache. ``spec`` is anything with ``.get(dotted_key, default)`` (a ``DeviceSpec``, or ``MappingSpec``
below).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edgefit.graph import OpGraph
from edgefit.memory import MemoryPlan, plan_memory
from edgefit.partition import Partition, partition_graph
from edgefit.rules import Finding, evaluate, first_error
from edgefit.rules.coral import CoralContext, coral_rules


class MappingSpec:
    """A spec over a plain dict keyed by dotted names, for callers without a device file."""

    def __init__(self, values: Mapping[str, Any] | None = None):
        self.values = dict(values or {})

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def predict(graph: OpGraph, spec: Any) -> tuple[dict[int, list[Finding]], list[Finding], Partition, MemoryPlan]:
    """(findings per op index, model-level findings, partition, memory plan) for one TFLite graph."""
    ctx = CoralContext.from_spec(spec)
    op_findings, model_findings = evaluate(coral_rules(), graph, ctx)
    fatal = first_error(model_findings)
    blocked = {index: (f.code, f.status) for index, findings in op_findings.items()
               if (f := first_error(findings)) is not None}
    failure = (fatal.code, fatal.status or fatal.message) if fatal else None
    partition = partition_graph(graph, blocked, spec, failure=failure)
    return op_findings, model_findings, partition, plan_memory(graph, partition, spec)
