"""The Coral Edge TPU target: ``edgetpu_compiler`` on a quantized TFLite graph.

Dialect: TFLite builtins (ONNX models are lowered the way a converter would). Rules: ``edgefit.rules.coral``.
Partition: the compiler's data-flow cut (``edgefit.partition``), one Edge TPU subgraph unless ``-a``. Memory:
parameters cached in on-chip SRAM layer by layer, the rest streamed from the host every inference
(``edgefit.memory``).

``predict(graph, spec)`` is the compiler prediction alone, for callers without a device file (the truth
benchmark); ``spec`` is anything with ``.get(dotted_key, default)`` (a ``DeviceSpec``, or ``MappingSpec``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edgefit.graph import OpGraph
from edgefit.memory import MemoryPlan, plan_memory
from edgefit.memory.fit import FitOption, MemoryFit
from edgefit.partition import Partition, partition_graph
from edgefit.report.model import OpResult
from edgefit.rules import Finding, evaluate, first_error
from edgefit.rules.coral import CoralContext, CoralModelFacts, coral_fit_rules, coral_rules
from edgefit.targets import TargetInput, TargetResult


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


def op_results(graph: OpGraph, partition: Partition, op_findings: Mapping[int, list[Finding]],
               op_macs: Mapping[int, int]) -> list[OpResult]:
    """Every op with its placement, status and the codes of its findings."""
    ops = []
    for op in graph.ops:
        p = partition[op.index]
        ops.append(OpResult(index=op.index, name=op.name, type=op.type, placement=p.device, subgraph=p.subgraph,
                            source_nodes=list(op.source_nodes or (op.name,)),
                            findings=[f.code for f in op_findings.get(op.index, [])], status=p.status,
                            reason=p.reason, segment=p.segment, macs=op_macs.get(op.index)))
    return ops


class CoralTarget:
    family = "coral"

    def dialect(self, spec: Any, model: Any) -> str:
        return "tflite"

    def analyze(self, inputs: TargetInput) -> TargetResult:
        from edgefit.inspect import parameter_totals
        from edgefit.graph import Model

        graph, spec = inputs.lowered.graph, inputs.spec
        op_findings, model_findings, partition, memory = predict(graph, spec)
        # A GGUF file has no tensors in the op graph: its parameters are the LLM's.
        params = max(inputs.param_count, inputs.llm.params if inputs.llm else 0)
        facts = CoralModelFacts(param_bytes_8bit=params, cache_bytes=memory.budget_bytes, ops=len(graph.ops),
                                llm_params=inputs.llm.params if inputs.llm else None)
        _, fit_findings = evaluate(coral_fit_rules(), graph, facts)
        model_findings = [*model_findings, *fit_findings]
        findings = [*model_findings, *(f for op in graph.ops for f in op_findings.get(op.index, []))]
        _, device_param_bytes, _ = parameter_totals(Model(path=inputs.model.path, format="tflite", graphs=[graph]))
        # The compiler version that counts is coral.compiler_version (what the rules read), not toolchain.version.
        toolchain = {k: spec.get(f"toolchain.{k}") for k in ("name", "dialect", "partitioning", "segments")}
        toolchain.update({k: spec.get(f"coral.{k}") for k in ("compiler_version", "min_runtime")})
        # Parameters are int8 on the Edge TPU. They fit when every accelerator op's parameters are cached and the
        # whole model's would be (a model cut short by an unmappable op must not look small); beyond the cache
        # they stream from the host on every inference: slower, never a CPU fallback.
        fits = memory.streamed_bytes == 0 and params <= memory.budget_bytes
        fit = MemoryFit(memory.budget_bytes,
                        f"on-chip parameter cache ({memory.budget_bytes:,} B of the ~{memory.sram_bytes:,} B SRAM); "
                        "parameters beyond it are streamed from host memory on every inference "
                        "[reference coral-edgetpu.md §1.2-1.3]",
                        [FitOption("int8", params, fits=fits)])
        return TargetResult(
            ops=op_results(graph, partition, op_findings, inputs.op_macs), findings=findings,
            refused=partition.failure is not None or any(f.severity == "error" for f in model_findings),
            accelerator_subgraphs=partition.num_subgraphs, memory=memory.to_dict(), fit=fit.to_dict(),
            toolchain=toolchain, accelerator="Edge TPU", host="host CPU (TFLite)",
            device_param_bytes=device_param_bytes)


TARGET = CoralTarget()
