"""The Jetson Orin target: TensorRT on an ONNX graph, on the GPU or with DLA placement, in shared DRAM.

Dialect: ONNX, as TensorRT's ONNX parser reads it (a TFLite model is refused: TensorRT does not read TFLite; a
GGUF file is an LLM for llama.cpp and has no op graph). Rules: ``edgefit.rules.jetson``.

Placement. TensorRT builds the whole graph (ref jetson-tensorrt.md §2): with every op imported, the GPU runs
all of it as one engine; an op the parser rejects fails the build, so the model is refused and that op is shown
off the accelerator with its reason. With DLA placement (``jetson.accelerator: dla``, the ``:dla`` variant) the
DLA is the accelerator and the GPU is the host side: layers DLA cannot run fall back to the GPU (ref §4.3), each
DLA run between GPU layers is one DLA subgraph (a loadable), and a DLA core holds at most 16 of them; the ones
after the 16th run on the GPU too.

Memory: CPU and GPU share the module's DRAM, so a model fits when its weights (and an LLM's KV cache) fit the
usable share of DRAM less the OS and CUDA/TensorRT overhead (``edgefit.memory.fit.usable_dram``), at the best
precision the runtime offers: the spec's ``precisions`` for an engine (``jetson.dla_precisions`` on DLA, INT8
for a Q/DQ model) or ``llm.weight_formats`` for an LLM.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgefit.graph import OpGraph
from edgefit.memory.fit import FitOption, fit_model, fit_options, llm_weight_options, usable_dram
from edgefit.partition import ACCELERATOR, CPU, REMOVED, subgraph_levels
from edgefit.report.model import OpResult
from edgefit.rules import Finding, evaluate, first_error
from edgefit.rules import jetson as rules
from edgefit.targets import TargetInput, TargetResult
from edgefit.targets.whole_graph import capacity_words

GPU_ACCELERATOR = "GPU (TensorRT)"
GPU_HOST = "CPU (ops without a TensorRT importer)"
DLA_HOST = "GPU (TensorRT, GPU fallback)"
STATUS_FOLDED = "Folded at build time (static shapes)"
STATUS_NOT_ONNX = "Not parsed: TensorRT reads ONNX only"
STATUS_NO_DLA = "GPU: the module has no DLA"
STATUS_SUBGRAPH_LIMIT = f"GPU fallback: beyond the {rules.DLA_MAX_SUBGRAPHS} DLA subgraphs of a DLA core"
#: The structured keys of the report sections (besides "title" and "lines"), documented in docs/devices/jetson.md.
TENSORRT_SECTION = {
    "command": "the trtexec command that builds this engine (precision, optimization profile, DLA flags), or null "
               "when TensorRT does not read the model (TFLite, GGUF)",
    "tensorrt": "the TensorRT version assumed (toolchain.version)",
    "jetpack": "the JetPack assumed (jetson.jetpack)",
}
DLA_SECTION = {
    "dla_core": "the DLA core layers go to (jetson.dla_core)",
    "dla_cores": "DLA cores the module has",
    "dla_ops": "layers on DLA",
    "gpu_fallback_ops": "layers that fall back to the GPU",
    "subgraphs": "DLA subgraphs (loadables) of the engine",
    "candidate_subgraphs": "DLA subgraphs the DLA-able layers form before the per-core limit",
    "subgraph_limit": "DLA subgraphs a DLA core holds",
    "dropped_subgraphs": "DLA subgraphs beyond the limit, run on the GPU",
    "gpu_fallback_types": "op type -> count of the layers on the GPU",
    "gpu_fallback": "whether GPU fallback is allowed (jetson.gpu_fallback)",
    "availability": "which TensorRT / JetPack releases have DLA on this module",
}
#: Element bytes of DLA tensors: FP16, or INT8 in a quantized model.
DLA_ELEMENT_BYTES = {"int8": 1}


@dataclass
class DlaPlacement:
    """Where each op runs with DLA placement, and the subgraph facts the DLA model rules report."""

    #: op index -> (placement, subgraph or None, status, reason code or None)
    ops: dict[int, tuple[str, int | None, str, str | None]]
    #: DLA subgraphs the DLA-able ops form before the per-core limit.
    candidate_subgraphs: int = 0
    subgraphs: int = 0
    dropped_subgraphs: int = 0
    dropped_ops: int = 0
    #: (subgraph, internal tensor bytes) of the kept subgraphs over the 1 GB limit.
    oversized: list[tuple[int, int]] = field(default_factory=list)
    gpu_types: Counter[str] = field(default_factory=Counter)

    @property
    def gpu_ops(self) -> list[int]:
        return [i for i, (placement, *_) in self.ops.items() if placement == CPU]

    @property
    def dla_ops(self) -> list[int]:
        return [i for i, (placement, *_) in self.ops.items() if placement == ACCELERATOR]

    def gpu_types_text(self, limit: int = 6) -> str:
        items = self.gpu_types.most_common()
        text = ", ".join(f"{t} x{n}" for t, n in items[:limit])
        return text + (f" and {len(items) - limit} more types" if len(items) > limit else "")


def dla_placement(graph: OpGraph, blocked: dict[int, Finding], core: int) -> DlaPlacement:
    """DLA or GPU for every op: ``blocked`` ops (a DLA or parser error) run on the GPU; the rest form DLA
    subgraphs, cut wherever data passes through the GPU, and only the first ``DLA_MAX_SUBGRAPHS`` (in data-flow
    order) stay on DLA."""
    order = [op.index for op in graph.topological_order()]
    folded = {op.index for op in graph.ops if rules.folded_at_build(op, graph)}
    levels = subgraph_levels(graph, order, blocked, folded)
    parent = {i: i for i in order if i not in folded and i not in blocked}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for u, v in ((u, v) for u, vs in graph.successors.items() for v in vs):
        if u in parent and v in parent and levels[u] == levels[v]:
            parent[find(u)] = find(v)
    position = {i: k for k, i in enumerate(order)}
    members: dict[int, list[int]] = {}
    for i in sorted(parent, key=position.__getitem__):
        members.setdefault(find(i), []).append(i)
    components = sorted(members.values(), key=lambda m: position[m[0]])

    placement = DlaPlacement(ops={}, candidate_subgraphs=len(components))
    for i in folded:
        placement.ops[i] = (REMOVED, None, STATUS_FOLDED, None)
    for i, finding in blocked.items():
        if i not in folded:
            placement.ops[i] = (CPU, None, finding.status or rules.STATUS_DLA_FALLBACK, finding.code)
    for k, component in enumerate(components):
        if k < rules.DLA_MAX_SUBGRAPHS:
            for i in component:
                placement.ops[i] = (ACCELERATOR, k, f"{rules.STATUS_DLA} (core {core})", None)
            internal = _internal_bytes(graph, set(component))
            if internal >= rules.DLA_SUBGRAPH_TENSOR_BYTES:
                placement.oversized.append((k, internal))
        else:
            placement.dropped_subgraphs += 1
            placement.dropped_ops += len(component)
            for i in component:
                placement.ops[i] = (CPU, None, STATUS_SUBGRAPH_LIMIT, "DLA-SUBGRAPH-LIMIT")
    placement.subgraphs = min(len(components), rules.DLA_MAX_SUBGRAPHS)
    placement.gpu_types = Counter(graph.ops[i].type for i in placement.gpu_ops)
    return placement


def _internal_bytes(graph: OpGraph, ops: set[int]) -> int:
    """Bytes of the tensors a DLA subgraph keeps to itself (written and read only inside it, not graph outputs)."""
    total = 0
    outputs = set(graph.outputs)
    for i in ops:
        for name in graph.ops[i].outputs:
            t = graph.tensors.get(name) if name else None
            if t is None or name in outputs or t.num_elements is None:
                continue
            if all(c.index in ops for c in graph.consumers(name)):
                total += t.num_elements * DLA_ELEMENT_BYTES.get(t.dtype, 2)
    return total


def _qdq_precisions(graph: OpGraph) -> list[str]:
    """The precisions a Q/DQ model's weights are stored in (explicit quantization fixes them)."""
    names = {"INT8": "int8", "INT4": "int4", "FP8": "fp8"}
    found = {names.get(rules.qdq_type(o, graph) or "", "") for _, o in graph.walk() if o.type == "DequantizeLinear"}
    return [p for p in ("int8", "fp8", "int4") if p in found]


class JetsonTarget:
    family = "jetson"

    def dialect(self, spec: Any, model: Any) -> str:
        # TensorRT reads ONNX; other formats stay as they are so the rules can say what to do with them.
        return "onnx" if model.format == "onnx" else model.format

    def analyze(self, inputs: TargetInput) -> TargetResult:
        graph, spec, model = inputs.lowered.graph, inputs.spec, inputs.model
        ctx = rules.JetsonContext.from_spec(spec, model_format=model.format, opsets=dict(model.opsets),
                                            functions=dict(model.functions),
                                            profile_max=inputs.context if inputs.llm is not None else 1024)
        every = rules.jetson_rules()
        op_rules = [r for r in every if r.scope == "op"] if ctx.model_format == "onnx" else []
        op_findings, _ = evaluate(op_rules, graph, ctx)
        parse_errors = {i: f for i, fs in op_findings.items()
                        if (f := first_error(x for x in fs if x.code.startswith("TRT-"))) is not None}
        dla_errors = {i: f for i, fs in op_findings.items() if (f := first_error(fs)) is not None}

        dla_usable = ctx.dla and ctx.dla_cores > 0 and ctx.model_format == "onnx"
        placement = dla_placement(graph, dla_errors, ctx.dla_core) if dla_usable else None
        ctx.dla_summary = placement

        qdq = _qdq_precisions(graph) if ctx.model_format == "onnx" else []
        precisions = list(spec.get("jetson.dla_precisions") or rules.DLA_PRECISIONS) if ctx.dla else \
            (qdq or list(spec.get("precisions") or ["fp32", "fp16"]))
        capacity, basis = usable_dram(spec)
        if capacity is not None:  # the derivation naming the spec fields; their sources are in `edgefit devices ID`
            basis = capacity_words(spec, "visible to Linux after carveouts", "for JetPack, CUDA and TensorRT")
        capacity_text = f"shared DRAM: {basis}"
        if inputs.llm is not None and model.format == "gguf":
            # llama.cpp runs the file as it is: its own format first, then the smaller re-quantizations
            formats = list(spec.get("llm.weight_formats") or ["fp16"])
            weights = llm_weight_options(inputs.llm, formats, from_file=True)
            fit = fit_options(inputs, capacity, capacity_text, weights, str(spec.get("llm.kv_cache_dtype", "fp16")))
        else:
            fit = fit_model(inputs, capacity, capacity_text, precisions)
        ctx.fit, ctx.llm, ctx.llm_runtime = fit, inputs.llm, spec.get("llm.runtime")

        _, model_findings = evaluate([r for r in every if r.scope == "model"], graph, ctx)
        model_refusal = first_error(model_findings)
        refused = model_refusal is not None or bool(parse_errors)

        ops = self._ops(graph, ctx, op_findings, parse_errors, placement, inputs.op_macs)
        if placement is not None:
            subgraphs = 0 if refused else placement.subgraphs
        else:
            subgraphs = 0 if refused or not graph.ops or ctx.dla else 1
        shown = fit.chosen or (min(fit.options, key=lambda o: o.required_bytes) if fit.options else None)
        toolchain = {"name": spec.get("toolchain.name"), "version": spec.get("toolchain.version"),
                     "dialect": spec.get("toolchain.dialect"), "partitioning": spec.get("toolchain.partitioning"),
                     "jetpack": spec.get("jetson.jetpack"), "accelerator": "dla" if ctx.dla else "gpu",
                     "op_matrix": rules.MATRIX_SOURCE}
        if ctx.dla:
            toolchain.update({"dla_core": ctx.dla_core, "gpu_fallback": ctx.gpu_fallback})
        memory = {"size_bytes": spec.get("memory.size_bytes"), "usable_bytes": capacity,
                  "usable_share": spec.get("memory.usable_share"),
                  "runtime_overhead_bytes": spec.get("memory.runtime_overhead_bytes"),
                  "type": "shared DRAM (CPU and GPU)", "basis": basis}
        sections = {"tensorrt": self._build_section(inputs, ctx, graph, fit, shown, bool(qdq))}
        if ctx.dla:
            sections["dla"] = self._dla_section(ctx, graph, placement)
        return TargetResult(
            ops=ops, findings=[*model_findings, *(f for op in graph.ops for f in op_findings.get(op.index, []))],
            refused=refused, accelerator_subgraphs=subgraphs, memory=memory, fit=fit.to_dict(), toolchain=toolchain,
            accelerator=f"DLA core {ctx.dla_core} (TensorRT)" if ctx.dla else GPU_ACCELERATOR,
            host=DLA_HOST if ctx.dla else GPU_HOST,
            device_param_bytes=shown.weight_bytes if shown else 0, sections=sections)

    @staticmethod
    def _ops(graph: OpGraph, ctx: rules.JetsonContext, op_findings: dict[int, list[Finding]],
             parse_errors: dict[int, Finding], placement: DlaPlacement | None,
             op_macs: dict[int, int]) -> list[OpResult]:
        results = []
        for op in graph.ops:
            codes = [f.code for f in op_findings.get(op.index, [])]
            error = parse_errors.get(op.index)
            if ctx.model_format != "onnx":
                where, subgraph, status, reason = CPU, None, STATUS_NOT_ONNX, "TRT-ONNX-ONLY"
            elif error is not None:
                where, subgraph, status, reason = CPU, None, error.status or error.code, error.code
            elif placement is not None:
                where, subgraph, status, reason = placement.ops[op.index]
            elif ctx.dla:  # DLA asked for on a module without one
                where, subgraph, status, reason = CPU, None, STATUS_NO_DLA, "DLA-UNAVAILABLE"
            else:
                where, subgraph, status, reason = ACCELERATOR, 0, rules.STATUS_GPU, None
            results.append(OpResult(index=op.index, name=op.name, type=op.type, placement=where, subgraph=subgraph,
                                    source_nodes=list(op.source_nodes or (op.name,)), findings=codes, status=status,
                                    reason=reason, macs=op_macs.get(op.index)))
        return results

    @staticmethod
    def _build_section(inputs: TargetInput, ctx: rules.JetsonContext, graph: OpGraph, fit: Any,
                       shown: FitOption | None, qdq: bool) -> dict[str, Any]:
        """The trtexec build command for this analysis, and how precision and shapes enter it."""
        model = inputs.model
        lines: list[str] = []
        command: str | None = None
        if ctx.model_format == "onnx" and graph.ops:
            if ctx.tensorrt >= (11,):
                flags = ["--stronglyTyped"]  # TensorRT 11 removed the weak-typing flags (ref §3)
            elif qdq:
                flags = ["--int8", "--fp16"]
            elif ctx.dla or inputs.llm is not None or (shown is not None and shown.precision in ("fp16", "int8")):
                flags = ["--fp16"]
            else:
                flags = []
            dynamic = [n for n in graph.inputs if (t := graph.tensors.get(n)) is not None and t.shape is not None
                       and not t.is_static]
            profile = rules.profile_flags(graph, dynamic, ctx).split() if dynamic else []
            dla = [f"--useDLACore={ctx.dla_core}"] + (["--allowGPUFallback"] if ctx.gpu_fallback else []) \
                if ctx.dla else []
            engine = Path(model.path).with_suffix(".engine").name
            command = " ".join(["trtexec", f"--onnx={model.path}", f"--saveEngine={engine}", *flags, *profile, *dla])
            lines.append(command)
            if dynamic:
                lines.append("dynamic inputs: the shape ranges above are an example; give the range your inputs take")
            if not qdq and shown is not None and shown.precision == "int8":
                lines.append("int8 from a float model needs Q/DQ nodes or a calibration cache (--calib=<cache>)")
        if inputs.llm is not None:
            best = fit.chosen
            fits = f"best fitting weight format {best.precision} ({best.required_bytes / 2**30:.2f} GiB of " \
                   f"{fit.capacity_bytes / 2**30:.2f} GiB)" if best is not None and fit.capacity_bytes else \
                "no weight format fits"
            lines.append(f"LLM: serve with {ctx.llm_runtime or 'an LLM runtime'}; {fits} at {inputs.context:,} "
                         "tokens of context")
        return {"title": "TensorRT build" if command else "Jetson runtime", "lines": lines, "command": command,
                "tensorrt": rules.version_text(ctx.tensorrt), "jetpack": ctx.jetpack or None}

    @staticmethod
    def _dla_section(ctx: rules.JetsonContext, graph: OpGraph, placement: DlaPlacement | None) -> dict[str, Any]:
        availability = rules.dla_versions_text(ctx) if ctx.dla_cores else None
        if placement is None:
            return {"title": "DLA placement", "lines": [f"{ctx.device} has no DLA: nothing can be placed on one"],
                    "dla_cores": ctx.dla_cores, "availability": availability}
        dla, gpu = len(placement.dla_ops), len(placement.gpu_ops)
        lines = [f"{dla} of {dla + gpu} layers on DLA core {ctx.dla_core} in {placement.subgraphs} DLA subgraph(s) "
                 f"(at most {rules.DLA_MAX_SUBGRAPHS} per core); {gpu} fall back to the GPU"
                 + (f": {placement.gpu_types_text()}" if gpu else "")]
        if placement.dropped_subgraphs:
            lines.append(f"{placement.dropped_subgraphs} more DLA subgraph(s) ({placement.dropped_ops} layers) run on "
                         "the GPU: a DLA core holds 16")
        lines.append(f"DLA on this module: {availability}")
        return {"title": "DLA placement", "lines": lines, "dla_core": ctx.dla_core, "dla_cores": ctx.dla_cores,
                "dla_ops": dla, "gpu_fallback_ops": gpu, "subgraphs": placement.subgraphs,
                "candidate_subgraphs": placement.candidate_subgraphs, "subgraph_limit": rules.DLA_MAX_SUBGRAPHS,
                "dropped_subgraphs": placement.dropped_subgraphs,
                "gpu_fallback_types": dict(placement.gpu_types.most_common()), "gpu_fallback": ctx.gpu_fallback,
                "availability": availability}


TARGET = JetsonTarget()
__all__ = ["TARGET", "JetsonTarget", "DlaPlacement", "dla_placement"]
