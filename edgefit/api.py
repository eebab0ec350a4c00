"""The Python API: ``edgefit.analyze(model, device="coral") -> Report``. The CLI is a thin shell over this.

Data flows one way through the stages: read -> lower to the device toolchain's dialect -> the device family's
target (rules -> partition -> memory, ``edgefit.targets``) -> report. ``Analysis`` holds what does not depend
on the device (the model, its lowerings per dialect, LLM facts), so ``compare`` reads and lowers a model once
per dialect however many devices it asks about.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Mapping

from edgefit.devices import DeviceSpec, apply_override, load_device
from edgefit.errors import EdgefitError, UsageError
from edgefit.graph import Model
from edgefit.lower import LoweredGraph, lower
from edgefit.read import read_model
from edgefit.report.model import CPU_ONLY, FULL, PARTIAL, REJECTED, Report
from edgefit.rules import Finding, shared_evaluations
from edgefit.targets import DEFAULT_CONTEXT, TargetInput, analyzed_families, get_target


def analyze(model: str | os.PathLike[str] | Model, device: str | DeviceSpec = "coral",
            overrides: Mapping[str, Any] | None = None, input_shapes: Mapping[str, Any] | None = None,
            context: int = DEFAULT_CONTEXT) -> Report:
    """Predict what ``device``'s toolchain does with ``model``.

    ``device``: a catalog id or alias (``"coral"``), a path to a device YAML, or a loaded ``DeviceSpec``.
    ``overrides``: dotted spec keys, as ``--set`` takes them (``{"coral.min_runtime": 13}``).
    ``input_shapes``: fix dynamic dims, ``{"input_ids": [1, 128]}`` or ``{"seq": 128}`` (ONNX only).
    ``context``: tokens of KV cache an LLM's memory fit budgets for.
    """
    spec = resolve_device(device, overrides)
    return Analysis(model, input_shapes, context).report(spec)


def resolve_device(device: str | DeviceSpec, overrides: Mapping[str, Any] | None = None) -> DeviceSpec:
    if isinstance(device, DeviceSpec):
        spec = copy.deepcopy(device)  # the caller's spec stays as it was
        for key, value in (overrides or {}).items():
            apply_override(spec, key, value)
    else:
        spec = load_device(str(device), dict(overrides or {}))
    if spec.family not in analyzed_families():
        raise UsageError(f"device {spec.id}: analysis of {spec.family} devices is not implemented yet; devices "
                         f"that can be analysed now are the {', '.join(analyzed_families())} families "
                         "(see 'edgefit devices')")
    return spec


class Analysis:
    """One model, read once, lowered once per dialect, analysed for any number of devices."""

    def __init__(self, model: str | os.PathLike[str] | Model, input_shapes: Mapping[str, Any] | None = None,
                 context: int = DEFAULT_CONTEXT):
        if isinstance(context, bool) or not isinstance(context, int) or context < 1:
            raise UsageError(f"--context: {context!r} is not a positive number of tokens")
        if not isinstance(model, Model):
            model = read_model(model, dict(input_shapes or {}))
        elif input_shapes:
            raise UsageError("input_shapes applies when analyze() reads the file; pass the path instead of a Model")
        self.model = model
        self.input_shapes = dict(input_shapes or {})
        self.context = context
        self._lowered: dict[str, LoweredGraph] = {}
        self._macs: dict[str, dict[int, int]] = {}
        self._lowering_findings: dict[str, list[Finding]] = {}
        #: Rule evaluations devices with equal rule contexts share (``rules.shared_evaluations``).
        self._evaluations: dict[Any, Any] = {}
        from edgefit.inspect import parameter_totals
        from edgefit.llm import detect_llm

        self.param_count, self.param_bytes, _ = parameter_totals(model)
        #: Ops of the source model (entry graphs), as every Report counts them.
        self.op_count = sum(len(g) for g in model.entry_graphs)
        self.llm = detect_llm(model)
        #: The LLM section of every report: the same for each device (each Report gets its own copy).
        self.llm_section = self.llm.to_dict(context) if self.llm else None

    def lowered(self, dialect: str) -> LoweredGraph:
        if dialect not in self._lowered:
            self._lowered[dialect] = lower(self.model, dialect)
        return self._lowered[dialect]

    def report(self, spec: DeviceSpec) -> Report:
        model = self.model
        try:
            target = get_target(spec.family)
            dialect = target.dialect(spec, model)
            lowered = self.lowered(dialect)
            if dialect not in self._macs:
                from edgefit.estimate.macs import op_macs

                self._macs[dialect] = op_macs(lowered.graph)
                self._lowering_findings[dialect] = _lowering_findings(lowered)
            with shared_evaluations(self._evaluations):
                result = target.analyze(TargetInput(model=model, lowered=lowered, spec=spec,
                                                     param_count=self.param_count, llm=self.llm, context=self.context,
                                                     op_macs=self._macs[dialect]))
        except EdgefitError as e:  # a later stage found the model broken: name the file, as every bad input does
            if e.path is None:
                raise type(e)(e.detail, model.path) from None
            raise
        ops = result.ops
        on_acc = sum(o.placement == "accelerator" for o in ops)
        on_cpu = sum(o.placement == "cpu" for o in ops)
        # A model with no op graph (GGUF) runs whole in the device's runtime unless the target refuses it.
        verdict = REJECTED if result.refused else FULL if on_cpu == 0 and (on_acc or not ops) else \
            CPU_ONLY if on_acc == 0 else PARTIAL
        findings = [*self._lowering_findings[dialect], *result.findings]
        return Report(
            model_path=model.path, model_format=model.format,
            model_op_count=self.op_count, model_param_count=self.param_count,
            model_param_bytes=self.param_bytes, device_id=spec.id, device_name=spec.name,
            toolchain=result.toolchain, verdict=verdict, ops=ops, findings=[f.to_dict() for f in findings],
            accelerator_subgraphs=result.accelerator_subgraphs, memory=result.memory,
            device_param_bytes=result.device_param_bytes, lowered=model.format != lowered.dialect and bool(ops),
            input_shapes=self.input_shapes, notes=list(model.notes), accelerator=result.accelerator,
            host=result.host, fit=result.fit, llm=copy.deepcopy(self.llm_section),
            sections=result.sections)


def _lowering_findings(lowered: LoweredGraph) -> list[Finding]:
    """Lowering notes as findings, attached to the lowered op that stands for their source node."""
    op_of = {src: op.index for op in lowered.graph.ops for src in op.source_nodes}
    return [Finding(code=n.code, severity=n.severity, message=n.message,
                    op=op_of.get(n.source_node) if n.source_node else None)
            for n in lowered.notes]
