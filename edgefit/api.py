"""The Python API: ``edgefit.analyze(model, device="coral") -> Report``. The CLI is a thin shell over this.

Data flows one way through the stages: read -> lower to the device toolchain's dialect -> check rules ->
partition -> plan memory -> report.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Mapping

from edgefit.devices import DeviceSpec, apply_override, load_device
from edgefit.errors import EdgefitError, UsageError
from edgefit.graph import Model, OpGraph
from edgefit.lower import LoweredGraph, lower
from edgefit.read import read_model
from edgefit.report.model import CPU_ONLY, FULL, PARTIAL, REJECTED, OpResult, Report
from edgefit.rules import Finding

#: Device families whose toolchain behaviour edgefit models today.
ANALYZED_FAMILIES = ("coral",)


def analyze(model: str | os.PathLike[str] | Model, device: str | DeviceSpec = "coral",
            overrides: Mapping[str, Any] | None = None, input_shapes: Mapping[str, Any] | None = None) -> Report:
    """Predict what ``device``'s toolchain does with ``model``.

    ``device``: a catalog id or alias (``"coral"``), a path to a device YAML, or a loaded ``DeviceSpec``.
    ``overrides``: dotted spec keys, as ``--set`` takes them (``{"coral.min_runtime": 13}``).
    ``input_shapes``: fix dynamic dims, ``{"input_ids": [1, 128]}`` or ``{"seq": 128}`` (ONNX only).
    """
    if isinstance(device, DeviceSpec):
        spec = copy.deepcopy(device)  # the caller's spec stays as it was
        for key, value in (overrides or {}).items():
            apply_override(spec, key, value)
    else:
        spec = load_device(str(device), dict(overrides or {}))
    if spec.family not in ANALYZED_FAMILIES:
        raise UsageError(f"device {spec.id}: analysis of {spec.family} devices is not implemented yet; devices "
                         f"that can be analysed now are the {', '.join(ANALYZED_FAMILIES)} family "
                         "(see 'edgefit devices')")
    if not isinstance(model, Model):
        model = read_model(model, dict(input_shapes or {}))
    elif input_shapes:
        raise UsageError("input_shapes applies when analyze() reads the file; pass the path instead of a Model")

    try:
        lowered = lower(model, str(spec.get("toolchain.dialect", model.format)))
        return _coral_report(model, lowered.graph, _lowering_findings(lowered), spec, dict(input_shapes or {}))
    except EdgefitError as e:  # a later stage found the model broken: name the file, as every bad input does
        if e.path is None:
            raise type(e)(e.detail, model.path) from None
        raise


def _lowering_findings(lowered: LoweredGraph) -> list[Finding]:
    """Lowering notes as findings, attached to the lowered op that stands for their source node."""
    op_of = {src: op.index for op in lowered.graph.ops for src in op.source_nodes}
    return [Finding(code=n.code, severity=n.severity, message=n.message,
                    op=op_of.get(n.source_node) if n.source_node else None)
            for n in lowered.notes]


def _coral_report(model: Model, graph: OpGraph, lowering_findings: list[Finding], spec: DeviceSpec,
                  input_shapes: dict[str, Any]) -> Report:
    from edgefit.coral_predict import predict
    from edgefit.inspect import parameter_totals

    op_findings, model_findings, partition, memory = predict(graph, spec)
    ops = []
    for op in graph.ops:
        p = partition[op.index]
        ops.append(OpResult(index=op.index, name=op.name, type=op.type, placement=p.device, subgraph=p.subgraph,
                            source_nodes=list(op.source_nodes or (op.name,)),
                            findings=[f.code for f in op_findings.get(op.index, [])], status=p.status,
                            reason=p.reason, segment=p.segment))
    findings = [*lowering_findings, *model_findings,
                *(f for op in graph.ops for f in op_findings.get(op.index, []))]

    rejected = partition.failure is not None or any(f.severity == "error" for f in model_findings)
    on_acc = sum(o.placement == "accelerator" for o in ops)
    on_cpu = sum(o.placement == "cpu" for o in ops)
    verdict = REJECTED if rejected else CPU_ONLY if on_acc == 0 else FULL if on_cpu == 0 else PARTIAL

    params, param_bytes, _ = parameter_totals(model)
    lowered_model = Model(path=model.path, format="tflite", graphs=[graph])
    _, device_param_bytes, _ = parameter_totals(lowered_model)
    # The compiler version that counts is coral.compiler_version (what the rules read), not toolchain.version.
    toolchain = {k: spec.get(f"toolchain.{k}") for k in ("name", "dialect", "partitioning", "segments")}
    toolchain.update({k: spec.get(f"coral.{k}") for k in ("compiler_version", "min_runtime")})
    return Report(
        model_path=model.path, model_format=model.format,
        model_op_count=sum(len(g) for g in model.entry_graphs), model_param_count=params,
        model_param_bytes=param_bytes, device_id=spec.id, device_name=spec.name, toolchain=toolchain,
        verdict=verdict, ops=ops, findings=[f.to_dict() for f in findings],
        accelerator_subgraphs=partition.num_subgraphs, memory=memory.to_dict(),
        device_param_bytes=device_param_bytes, lowered=model.format != "tflite", input_shapes=input_shapes,
        notes=list(model.notes),
    )
