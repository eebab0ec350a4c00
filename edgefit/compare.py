"""`edgefit compare`: one model against many devices, one row each, best realistic choice first.

The model is read once and lowered once per dialect (``api.Analysis``), then every device's target analyses
it; a row is a digest of that device's Report, so ``compare`` and ``analyze`` can never disagree. The JSON
layout is documented in docs/compare-json.md.

Order: devices that run the model entirely on their accelerator first, then partial, CPU-only and refused
ones; within a verdict, a memory fit beats an unknown fit beats a miss, then a larger accelerated share of the
MACs (and of the ops), then more memory headroom.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Mapping

from edgefit.api import Analysis, resolve_device
from edgefit.devices import DeviceSpec, list_devices
from edgefit.graph import Model
from edgefit.report.model import CPU_ONLY, FULL, PARTIAL, REJECTED, Report
from edgefit.targets import DEFAULT_CONTEXT, analyzed_families

SCHEMA_VERSION = 1
_VERDICT_RANK = {FULL: 0, PARTIAL: 1, CPU_ONLY: 2, REJECTED: 3}
#: How many reasons a row lists (the rest are in ``edgefit analyze``).
MAX_REASONS = 5
#: ... of which at most this many model-level warnings and this many op-blocking codes.
MAX_EACH = 2
#: Partitioner reasons that follow from another op's placement (the cut, dead code), never a cause.
_CONSEQUENCES = ("PARTITION-CUT", "PARTITION-DEAD")


@dataclass
class CompareRow:
    device: str
    name: str
    verdict: str
    accelerated_op_share: float
    accelerated_mac_share: float | None
    partitions: int
    weight_bytes: int | None
    memory_capacity_bytes: int | None
    #: What the capacity is ("on-chip parameter cache ...", "usable share of 8.0 GiB LPDDR5 ...").
    memory_capacity: str
    fits_memory: bool | None
    #: The best precision that fits (None when none fits or the capacity is unknown).
    precision: str | None
    reasons: list[str]
    accelerator: str
    report: Report = field(repr=False, compare=False)

    @property
    def headroom(self) -> float:
        required = (self.report.fit or {}).get("required_bytes") or self.weight_bytes
        if not self.memory_capacity_bytes or not required:
            return 0.0
        return self.memory_capacity_bytes / required

    def sort_key(self) -> tuple[Any, ...]:
        fit_rank = {True: 0, None: 1, False: 2}[self.fits_memory]
        return (_VERDICT_RANK[self.verdict], fit_rank, -(self.accelerated_mac_share or 0.0),
                -self.accelerated_op_share, -self.headroom, self.device)

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "name": self.name, "verdict": self.verdict,
                "accelerated_op_share": round(self.accelerated_op_share, 4),
                "accelerated_mac_share": None if self.accelerated_mac_share is None
                else round(self.accelerated_mac_share, 4),
                "partitions": self.partitions, "weight_bytes": self.weight_bytes,
                "memory_capacity_bytes": self.memory_capacity_bytes, "memory_capacity": self.memory_capacity,
                "fits_memory": self.fits_memory, "precision": self.precision, "reasons": self.reasons,
                "accelerator": self.accelerator}


@dataclass
class Comparison:
    model: dict[str, Any]
    rows: list[CompareRow]

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "model": self.model, "rows": [r.to_dict() for r in self.rows]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def catalog_devices() -> list[DeviceSpec]:
    """Every catalog device whose family edgefit analyses."""
    families = analyzed_families()
    return [s for s in list_devices() if s.family in families]


def compare(model: str | os.PathLike[str] | Model, devices: Iterable[str | DeviceSpec] | None = None,
            overrides: Mapping[str, Any] | None = None, input_shapes: Mapping[str, Any] | None = None,
            context: int = DEFAULT_CONTEXT,
            progress: Callable[[str], None] | None = None) -> Comparison:
    """Analyse ``model`` on each of ``devices`` (default: the whole catalog) and rank the devices.

    ``overrides`` apply to every device (dotted keys a spec does not have are an error for that spec, as with
    ``--set``); ``progress`` is called with each device id before it is analysed.
    """
    specs = [resolve_device(d, overrides) for d in devices] if devices is not None else \
        [resolve_device(s, overrides) for s in catalog_devices()]
    analysis = Analysis(model, input_shapes, context)
    rows = []
    for spec in specs:
        if progress is not None:
            progress(spec.id)
        rows.append(row_of(analysis.report(spec)))
    rows.sort(key=CompareRow.sort_key)
    m = analysis.model
    model_info = {"path": m.path, "format": m.format, "op_count": analysis.op_count,
                  "param_count": analysis.param_count, "param_bytes": analysis.param_bytes,
                  "input_shapes": analysis.input_shapes, "llm": analysis.llm_section,
                  "context": context if analysis.llm else None}
    return Comparison(model_info, rows)


def row_of(report: Report) -> CompareRow:
    fit = report.fit or {}
    return CompareRow(
        device=report.device_id, name=report.device_name, verdict=report.verdict,
        accelerated_op_share=report.accelerated_op_share, accelerated_mac_share=report.accelerated_mac_share,
        partitions=report.accelerator_subgraphs, weight_bytes=fit.get("weight_bytes"),
        memory_capacity_bytes=fit.get("capacity_bytes"), memory_capacity=fit.get("capacity", ""),
        fits_memory=fit.get("fits"), precision=fit.get("precision"), reasons=main_reasons(report),
        accelerator=report.accelerator, report=report)


def main_reasons(report: Report) -> list[str]:
    """The findings that decide the row, most decisive first: model-level errors; model-level warnings (memory,
    model kind); then the codes that hold most ops back by their own rule, with the op types (ops on the host
    only because something upstream is are a consequence, not a reason); for a clean run, the first info."""
    model_level = [f for f in report.findings if f["op"] is None]
    errors = [f for f in model_level if f["severity"] == "error"]
    reasons = [f"{f['code']}: {f['message']}" for f in errors]
    said = {f["code"] for f in errors}
    severity = {(f["op"], f["code"]): f["severity"] for f in report.findings if f["op"] is not None}
    blocked: dict[str, Counter[str]] = {}
    for op in report.ops:
        if op.placement != "cpu":
            continue
        # For a refused model every op carries the refusal as its reason: read the op's own first error.
        code = next((c for c in op.findings if severity.get((op.index, c)) == "error"), None)
        if code is None and op.reason not in said and op.reason not in _CONSEQUENCES:
            code = op.reason
        if code is not None:
            blocked.setdefault(code, Counter())[op.type] += 1
    reasons += [f"{f['code']}: {f['message']}" for f in model_level if f["severity"] == "warning"][:MAX_EACH]
    for code, types in sorted(blocked.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:MAX_EACH]:
        shown = ", ".join(f"{t} x{n}" for t, n in sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))[:4])
        reasons.append(f"{code}: {sum(types.values())} op(s) blocked on the {report.host} ({shown})")
    if not reasons:
        reasons += [f"{f['code']}: {f['message']}" for f in model_level if f["severity"] == "info"][:1]
    return reasons[:MAX_REASONS]
