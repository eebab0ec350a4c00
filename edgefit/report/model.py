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
    #: Multiply-accumulates of the op when its shapes are static and it does MACs (convolutions, matmuls).
    macs: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"index": self.index, "name": self.name, "type": self.type, "placement": self.placement,
             "subgraph": self.subgraph, "source_nodes": self.source_nodes, "findings": self.findings,
             "status": self.status, "reason": self.reason}
        if self.segment is not None:
            d["segment"] = self.segment
        if self.macs is not None:
            d["macs"] = self.macs
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
    #: What runs the accelerated part and what runs the rest, in words ("Edge TPU", "host CPU (TFLite)").
    accelerator: str = "accelerator"
    host: str = "CPU"
    #: Memory fit in common terms (docs/analyze-json.md, "fit").
    fit: dict[str, Any] = field(default_factory=dict)
    #: The decoder-only LLM architecture found in the model (``LlmArchitecture.to_dict()``), else None.
    llm: dict[str, Any] | None = None
    #: Family-specific sections by name (Hailo: "cut"), shown in JSON as top-level keys.
    sections: dict[str, Any] = field(default_factory=dict)

    @property
    def cpu_ops_by_type(self) -> dict[str, int]:
        counts = Counter(op.type for op in self.ops if op.placement == "cpu")
        return dict(sorted(counts.items()))

    @property
    def accelerated_op_share(self) -> float:
        """Share of the ops that stay in the compiled model (removed ones excluded) running on the accelerator."""
        kept = [op for op in self.ops if op.placement != "removed"]
        return sum(op.placement == "accelerator" for op in kept) / len(kept) if kept else 0.0

    @property
    def accelerated_mac_share(self) -> float | None:
        """Share of the counted MACs on the accelerator; None when no op has a static MAC count."""
        total = sum(op.macs or 0 for op in self.ops if op.placement != "removed")
        if not total:
            return None
        return sum(op.macs or 0 for op in self.ops if op.placement == "accelerator") / total

    def summary(self) -> dict[str, Any]:
        on_acc = sum(op.placement == "accelerator" for op in self.ops)
        on_cpu = sum(op.placement == "cpu" for op in self.ops)
        mac_share = self.accelerated_mac_share
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
            "accelerated_op_share": round(self.accelerated_op_share, 4),
            "accelerated_mac_share": None if mac_share is None else round(mac_share, 4),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "model": {"path": self.model_path, "format": self.model_format, "op_count": self.model_op_count,
                      "param_count": self.model_param_count, "param_bytes": self.model_param_bytes,
                      "input_shapes": self.input_shapes},
            "device": {"id": self.device_id, "name": self.device_name, "toolchain": self.toolchain,
                       "accelerator": self.accelerator, "host": self.host},
            "verdict": self.verdict,
            "summary": self.summary(),
            "ops": [op.to_dict() for op in self.ops],
            "findings": self.findings,
            "memory": self.memory,
            "fit": self.fit,
            "llm": self.llm,
            **self.sections,
            "lowered": self.lowered,
            "notes": self.notes,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)
