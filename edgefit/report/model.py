"""The one result model of `edgefit analyze`: every renderer (text, JSON, edgetpu-log) formats a Report.

Renderers never recompute: anything they show is a field here. The JSON layout (``to_dict``) is documented
in docs/analyze-json.md and is deterministic (ops in model order, findings in op order then rule order).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1

FULL, PARTIAL, CPU_ONLY, REJECTED = "full", "partial", "cpu_only", "rejected"
VERDICTS = (FULL, PARTIAL, CPU_ONLY, REJECTED)


@dataclass
class OpResult:
    index: int
    name: str
    type: str
    #: "accelerator" | "cpu" | "removed" (dropped by the toolchain as dead code)
    placement: str
    subgraph: int | None
    source_nodes: list[str]
    #: Codes of every finding on this op, in rule order.
    findings: list[str]
    #: The toolchain's own status text for the op (e.g. edgetpu_compiler's "Mapped to Edge TPU").
    status: str
    #: Code of the finding (or partitioner reason) that put the op on the CPU; None when on the accelerator.
    reason: str | None = None
    segment: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"index": self.index, "name": self.name, "type": self.type, "placement": self.placement,
             "subgraph": self.subgraph, "source_nodes": self.source_nodes, "findings": self.findings,
             "status": self.status, "reason": self.reason}
        if self.segment is not None:
            d["segment"] = self.segment
        return d


@dataclass
class Report:
    model_path: str
    model_format: str
    #: Ops of the source model (ONNX nodes or TFLite ops, entry graphs).
    model_op_count: int
    model_param_count: int
    model_param_bytes: int
    device_id: str
    device_name: str
    toolchain: dict[str, Any]
    verdict: str
    #: Ops in the toolchain's dialect: the TFLite model's own ops, or the lowered ONNX graph.
    ops: list[OpResult]
    #: Every finding: model-level ones first (op None), then per op in op order.
    findings: list[dict[str, Any]]
    accelerator_subgraphs: int
    memory: dict[str, Any]
    #: Parameter bytes as the device would store them (int8 for a model analysed as if quantized).
    device_param_bytes: int
    lowered: bool
    input_shapes: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def cpu_ops_by_type(self) -> dict[str, int]:
        counts = Counter(op.type for op in self.ops if op.placement == "cpu")
        return dict(sorted(counts.items()))

    def summary(self) -> dict[str, Any]:
        on_acc = sum(op.placement == "accelerator" for op in self.ops)
        on_cpu = sum(op.placement == "cpu" for op in self.ops)
        return {
            "ops_total": len(self.ops),
            "ops_on_accelerator": on_acc,
            "ops_on_cpu": on_cpu,
            "ops_removed": len(self.ops) - on_acc - on_cpu,
            "cpu_ops_by_type": self.cpu_ops_by_type,
            "accelerator_subgraphs": self.accelerator_subgraphs,
            "param_bytes_at_8bit": self.model_param_count,
            "param_bytes_on_device": self.device_param_bytes,
            "param_bytes_cached": self.memory.get("cached_bytes", 0),
            "param_bytes_streamed": self.memory.get("streamed_bytes", 0),
            "param_cache_budget_bytes": self.memory.get("budget_bytes"),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "model": {"path": self.model_path, "format": self.model_format, "op_count": self.model_op_count,
                      "param_count": self.model_param_count, "param_bytes": self.model_param_bytes,
                      "input_shapes": self.input_shapes},
            "device": {"id": self.device_id, "name": self.device_name, "toolchain": self.toolchain},
            "verdict": self.verdict,
            "summary": self.summary(),
            "ops": [op.to_dict() for op in self.ops],
            "findings": self.findings,
            "memory": self.memory,
            "lowered": self.lowered,
            "notes": self.notes,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)
