"""The Hailo target: Hailo-8, Hailo-8L, Hailo-10H (and the Raspberry Pi AI HAT+ 2) through the Dataflow Compiler.

Dialect: ONNX for ONNX models (the rules are in ONNX terms), TFLite for TFLite models (the DFC parses TFLite too;
builtins are mapped onto the ONNX evidence, ``edgefit.rules.hailo.TFLITE_TO_ONNX``). Rules: ``edgefit.rules.hailo``
(evidence-based, not Hailo's official list).

Partition, the Hailo way: the DFC parses ONE contiguous region of the graph, between start and end nodes
(``hailo parser onnx --start-node-names ... --end-node-names ...``, ref hailo.md §4.2); what lies outside runs on
the host. Hailo's advice for unsupported ops (ref §4.3, community.hailo.ai/t/17956): near the input -> host
pre-processing; at the end -> crop before it and run the tail on the host; in the middle -> HEF -> ONNX Runtime ->
HEF. ``find_cut`` makes that decision from the data-flow graph, never from node names:

1. Shape and constant arithmetic (``Shape`` and everything computed from shapes and constants only) is assumed to
   be folded into constants (static shapes) and goes where its consumers go.
2. An op no HEF can hold (an error finding) is pre-processing when everything upstream of it is cheap (at most
   ``CHEAP_SHARE`` of the model's MACs and of its parameters), post-processing when everything downstream of it is,
   and in the middle otherwise.
3. Post-processing tail: everything downstream of the post-processing ops, and of every Reshape/Flatten where a
   cheap tail leaves the 4-D N x C x H x W feature-map layout (box decoding: the parser maps tensors to 4-D layouts
   and rank-3 tensors hit its errors, ops table ``layout_assumption``). Pure data movement (Concat, Reshape,
   Transpose, Split, ...) that feeds only the tail joins it, so the region ends at compute layers. For an
   Ultralytics YOLOv8 export this ends the region at the six head convs, two per scale, before the per-scale Concat
   of box and class outputs: the Model Zoo's crop (``cfg/networks/yolov8n.yaml`` at v2.11, ref §4.2), which also
   avoids a Concat joining very different value ranges (Hailo's quantization advice, ref §4.3).
4. Ops in the middle split the rest into HEF regions by data-flow level (as many host hand-offs as on the longest
   path into an op); each region gets its own start and end nodes. The ``cut`` section prints the largest region.

Memory: Hailo-8/8L have no DRAM; whether a network stays in one context is estimated from its parameter bytes in
the HEF at the chosen precision mode against the largest published single-context model on the chip
(``hailo.max_single_context_params_m``, ref §3.2) -- an estimate; multi-context networks still run, slower. Decoder
LLMs: not supported on Hailo-8/8L (Hailo staff, no DRAM path); Hailo-10H runs vendor-compiled HEFs only, priced at the
vendor's A8W4 against its module DRAM.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgefit.errors import SpecError
from edgefit.graph import OpGraph
from edgefit.memory.fit import MemoryFit, memory_fit, usable_dram
from edgefit.report.model import OpResult
from edgefit.rules import Finding, evaluate, first_error
from edgefit.rules.hailo import (BETWEEN, POST, PRE, HailoContext, HailoCut, HailoFacts, evidence_type,
                                 hailo_cut_rules, hailo_fit_rules, hailo_rules, spatial_map)
from edgefit.targets import TargetInput, TargetResult

#: A part of the graph is "cheap" (pre- or post-processing) when it holds at most this share of the model's MACs
#: and of its parameters. YOLOv8n's box decoding is well under 0.1 % of both; a backbone never is.
CHEAP_SHARE = 0.01
#: Ops that move data without computing: on the host they cost nothing, so they leave the region with the tail.
DATA_MOVEMENT = frozenset({"Concat", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Split",
                           "Slice", "Expand", "Tile", "Cast", "Gather", "DepthToSpace"})
#: Ops that reshape a feature map (the tail may start at one that leaves the 4-D layout).
FLATTENING = frozenset({"Reshape", "Flatten"})
#: Output ranks of a flatten that starts a decoder: [N, C, H*W] or [N, anchors, attributes, H, W].
DECODER_RANKS = frozenset({3, 5})
#: Ops that only read their input's shape.
SHAPE_READERS = frozenset({"Shape", "Size", "SHAPE"})
#: Ops with no inputs that are not constants.
NON_CONSTANT_SOURCES = frozenset({"RandomNormal", "RandomUniform", "Multinomial", "Bernoulli", "RandomNormalLike",
                                  "RandomUniformLike"})
#: Weight-bearing dtypes (int64 constants are shape vectors and indices).
WEIGHT_DTYPES = frozenset({"float32", "float16", "bfloat16", "float64", "int8", "uint8", "int4", "uint4", "int16",
                           "int32", "float8e4m3fn", "float8e5m2"})
#: Integer constants that hold indices or shapes, never weights, when a folded op produces them.
INDEX_DTYPES = frozenset({"int32"})
DEFAULT_PRECISION_MODE = "a8_w8"
#: quantization_param precision modes: activation and weight bits (a8_w8, a16_w8_a16, ...).
PRECISION_MODE = re.compile(r"a\d+_w\d+(_a\d+)?")
DEFAULT_LLM_PRECISION = "a8_w4"

ACCELERATOR, CPU = "accelerator", "cpu"
STATUS_IN_HEF = "In HEF region {region} (parsed between its start and end nodes)"
STATUS_FOLDED = "Folded into a constant (shape/constant arithmetic)"
STATUS_HOST = {PRE: "Host: pre-processing before the start nodes", POST: "Host: post-processing after the end nodes",
               BETWEEN: "Host: between HEF regions"}
STATUS_LLM = "Not compiled: {reason}"


# -- the cut ------------------------------------------------------------------------------------------------------

@dataclass
class Region:
    index: int
    ops: list[int]
    #: Empty when the region starts at the graph inputs (``null`` in a Model Zoo YAML).
    start_nodes: list[str]
    end_nodes: list[str]
    params: int
    macs: int

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "ops": len(self.ops), "start_nodes": self.start_nodes,
                "end_nodes": self.end_nodes, "params": self.params, "macs": self.macs}


@dataclass
class Cut:
    regions: list[Region]
    #: Host op index -> PRE / POST / BETWEEN.
    host_part: dict[int, str]
    #: Op index -> region index, for ops in a HEF (folded arithmetic included).
    region_of: dict[int, int]
    #: Post-processing op -> why the tail includes it.
    tail_reason: dict[int, str] = field(default_factory=dict)
    #: True when the tail starts where a feature map leaves the 4-D layout (a detection-style decoder).
    decoder: bool = False

    @property
    def largest(self) -> Region | None:
        return max(self.regions, key=lambda r: (r.macs, len(r.ops), -r.index), default=None)


def folded_ops(graph: OpGraph) -> frozenset[int]:
    """Ops that compute constants only: shape readers, and ops whose inputs are all constants or folded outputs."""
    folded: set[int] = set()
    constant = {n for n, t in graph.tensors.items() if t.is_constant}
    for op in graph.topological_order():
        ins = [t for t in op.inputs if t]
        if op.bodies or op.type in NON_CONSTANT_SOURCES:
            continue
        if op.type in SHAPE_READERS or all(t in constant for t in ins):
            folded.add(op.index)
            constant.update(t for t in op.outputs if t)
    return frozenset(folded)


class _DataFlow:
    """The data-flow graph of the ops that compute on data (folded ops removed), with costs."""

    def __init__(self, graph: OpGraph, folded: frozenset[int], op_macs: Mapping[int, int]):
        self.graph = graph
        self.folded = folded
        self.data = [op.index for op in graph.ops if op.index not in folded]
        data = set(self.data)
        self.succ: dict[int, set[int]] = {i: set() for i in self.data}
        self.pred: dict[int, set[int]] = {i: set() for i in self.data}
        for u, v in ((u, v) for u, vs in graph.successors.items() for v in vs):
            if u in data and v in data:
                self.succ[u].add(v)
                self.pred[v].add(u)
        self.macs = {i: int(op_macs.get(i, 0)) for i in self.data}
        self.weights = _op_weights(graph, folded)
        self.total_macs = sum(self.macs.values())
        self.total_params = sum(_unique(self.weights, self.data).values())
        self.outputs = set(graph.outputs)

    def closure(self, start: int, edges: Mapping[int, set[int]]) -> set[int]:
        seen, stack = {start}, [start]
        while stack:
            for n in edges[stack.pop()]:
                if n not in seen:
                    seen.add(n)
                    stack.append(n)
        return seen

    def cheap(self, ops: Iterable[int]) -> bool:
        ops = list(ops)
        macs = sum(self.macs[i] for i in ops)
        params = sum(_unique(self.weights, ops).values())
        return (macs <= CHEAP_SHARE * self.total_macs) and (params <= CHEAP_SHARE * self.total_params)

    def feeds_output(self, i: int) -> bool:
        return any(t in self.outputs for t in self.graph.ops[i].outputs if t)


def _op_weights(graph: OpGraph, folded: frozenset[int]) -> dict[int, dict[str, int]]:
    """Data op -> {weight tensor: elements} it reads: constant inputs, and float outputs of folded ops (a weight
    behind a DequantizeLinear, or one a ConstantOfShape makes): folded, they are the weights the HEF stores."""
    out: dict[int, dict[str, int]] = {}
    for op in graph.ops:
        if op.index in folded:
            continue
        weights: dict[str, int] = {}
        for name in op.inputs:
            t = graph.tensors.get(name) if name else None
            if t is None or t.dtype not in WEIGHT_DTYPES:
                continue
            producer = graph.producer(name)
            if t.is_constant or (producer is not None and producer.index in folded and t.dtype not in INDEX_DTYPES):
                weights[name] = t.num_elements or 0
        out[op.index] = weights
    return out


def _unique(weights: Mapping[int, dict[str, int]], ops: Iterable[int]) -> dict[str, int]:
    seen: dict[str, int] = {}
    for i in ops:
        seen.update(weights.get(i, {}))
    return seen


def find_cut(graph: OpGraph, blocked: Iterable[int], folded: frozenset[int], op_macs: Mapping[int, int],
             ctx: HailoContext) -> Cut:
    """Where the DFC regions are: see the module docstring for the steps and their evidence."""
    flow = _DataFlow(graph, folded, op_macs)
    blocked = [i for i in blocked if i not in folded]
    name = {op.index: op.name for op in graph.ops}
    # 2. pre-processing: blocked ops with a cheap upstream, and that upstream.
    pre: set[int] = set()
    for u in blocked:
        up = flow.closure(u, flow.pred)
        if flow.cheap(up - {u}):
            pre |= up
    # 3. post-processing tail.
    post: set[int] = set()
    reason: dict[int, str] = {}

    def add_tail(origin: int, why: str) -> None:
        for i in sorted(flow.closure(origin, flow.succ) - pre):
            if i not in post:
                post.add(i)
                reason[i] = why

    for u in blocked:
        if u in pre:
            continue
        down = flow.closure(u, flow.succ)
        if flow.cheap(down):
            add_tail(u, f"downstream of {name[u]}, which no HEF can hold")
    decoder = False
    for i in flow.data:
        op = graph.ops[i]
        if i in pre or i in post or evidence_type(op, ctx) not in FLATTENING:
            continue
        src, out = _tensor(graph, op.inputs[0] if op.inputs else ""), _tensor(graph, op.outputs[0])
        # A decoder keeps the positions as an axis (rank 3, or 5 for anchors x attributes); a rank-2 flatten feeds
        # an fc layer, which the DFC maps (kr_test: Flatten before Linear).
        if not spatial_map(src) or out is None or out.shape is None or len(out.shape) not in DECODER_RANKS:
            continue
        if flow.cheap(flow.closure(i, flow.succ)):
            decoder = True
            add_tail(i, f"post-processing from {name[i]}, where the feature map leaves the 4-D layout")
    changed = True
    while changed:  # pure data movement that only feeds the tail joins it
        changed = False
        for i in flow.data:
            if i in post or i in pre or evidence_type(graph.ops[i], ctx) not in DATA_MOVEMENT:
                continue
            if flow.succ[i] and flow.succ[i] <= post and not flow.feeds_output(i):
                post.add(i)
                reason[i] = "data movement that only feeds the post-processing"
                changed = True
    middle = set(blocked) - pre - post
    # 4. regions by data-flow level.
    level: dict[int, int] = {}
    for op in graph.topological_order():
        i = op.index
        if i in folded or i in pre or i in post:
            continue
        preds = [p for p in flow.pred[i] if p in level]
        if i in middle:
            level[i] = max((level[p] for p in preds), default=0)
        else:
            level[i] = max((level[p] + (1 if p in middle else 0) for p in preds), default=0)
    in_hef = {i: lvl for i, lvl in level.items() if i not in middle}
    numbering = {lvl: k for k, lvl in enumerate(sorted(set(in_hef.values())))}
    region_of = {i: numbering[lvl] for i, lvl in in_hef.items()}
    host_part = {i: PRE for i in pre} | {i: POST for i in post} | {i: BETWEEN for i in middle}
    _place_folded(graph, folded, region_of, host_part)
    regions = [_region(graph, flow, k, sorted(i for i, r in region_of.items() if r == k), region_of, bool(pre))
               for k in range(len(numbering))]
    return Cut(regions, host_part, region_of, reason, decoder)


def _tensor(graph: OpGraph, name: str) -> Any:
    return graph.tensors.get(name) if name else None


def _place_folded(graph: OpGraph, folded: frozenset[int], region_of: dict[int, int],
                  host_part: dict[int, str]) -> None:
    """A folded op goes with its consumers: into the earliest region that reads it, else to the host part that
    does (the tail when nothing reads it)."""
    for op in reversed(graph.topological_order()):
        if op.index not in folded:
            continue
        consumers = {c.index for t in op.outputs if t for c in graph.consumers(t)}
        regions = [region_of[c] for c in consumers if c in region_of]
        if regions:
            region_of[op.index] = min(regions)
            continue
        parts = {host_part[c] for c in consumers if c in host_part}
        host_part[op.index] = next((p for p in (BETWEEN, PRE, POST) if p in parts), POST)


def _region(graph: OpGraph, flow: _DataFlow, k: int, ops: list[int], region_of: Mapping[int, int],
            has_pre: bool) -> Region:
    members = set(ops)
    data_members = [i for i in ops if i not in flow.folded]
    external = False
    starts, ends = [], []
    for i in data_members:
        op = graph.ops[i]
        outside_preds = flow.pred[i] - members
        reads_input = any(t in graph.inputs for t in op.inputs if t)
        if outside_preds:
            external = True
        if outside_preds or reads_input:
            starts.append(op.name)
        if flow.feeds_output(i) or flow.succ[i] - members:
            ends.append(op.name)
    if k == 0 and not external and not has_pre:
        starts = []  # the graph inputs: the parser's default (null in a Model Zoo YAML)
    params = sum(_unique(flow.weights, data_members).values())
    return Region(k, ops, starts, ends, params, sum(flow.macs[i] for i in data_members))


# -- commands ------------------------------------------------------------------------------------------------------

def commands(model_path: str, hw_arch: str, region: Region, dialect: str) -> dict[str, str]:
    """The cut in the three forms, ready to paste (names exactly as in the model, quoted for each syntax)."""
    name = re.sub(r"\W", "_", Path(model_path).stem) or "model"
    parser_kind, translate = ("tf", "translate_tf_model") if dialect == "tflite" else ("onnx", "translate_onnx_model")
    cli = [f"hailo parser {parser_kind} {shlex.quote(model_path)} --hw-arch {shlex.quote(hw_arch)}"]
    if region.start_nodes:
        cli.append("--start-node-names " + " ".join(shlex.quote(n) for n in region.start_nodes))
    cli.append("--end-node-names " + " ".join(shlex.quote(n) for n in region.end_nodes))
    kwargs = [repr(model_path), repr(name)]
    if region.start_nodes:
        kwargs.append(f"start_node_names={region.start_nodes!r}")
    kwargs.append(f"end_node_names={region.end_nodes!r}")
    runner = f"ClientRunner(hw_arch={hw_arch!r}).{translate}({', '.join(kwargs)})"
    if not region.start_nodes:
        start = "null"
    elif len(region.start_nodes) == 1:
        start = json.dumps(region.start_nodes[0])
    else:
        start = "[" + ", ".join(json.dumps(n) for n in region.start_nodes) + "]"
    zoo = "parser:\n  nodes:\n  - " + start + "\n  - [" + ", ".join(json.dumps(n) for n in region.end_nodes) + "]"
    return {"hailo_parser": " ".join(cli), "client_runner": runner, "model_zoo_yaml": zoo}


# -- precision ------------------------------------------------------------------------------------------------------

def weight_bits(mode: str) -> int:
    """``a8_w4`` -> 4: the weight width of a ``quantization_param`` precision mode."""
    m = re.search(r"_w(\d+)", mode)
    if not m:
        raise ValueError(f"not a Hailo precision mode: {mode!r}")
    return int(m.group(1))


def mode_bytes(params: int, mode: str) -> int:
    """Weight bytes at a precision mode (one scale per output channel adds well under 1 % and is not counted)."""
    return params * weight_bits(mode) // 8


# -- the target ------------------------------------------------------------------------------------------------------

class HailoTarget:
    family = "hailo"

    def dialect(self, spec: Any, model: Any) -> str:
        return str(model.format) if model.format in ("tflite", "gguf") else "onnx"

    def analyze(self, inputs: TargetInput) -> TargetResult:
        graph, spec, model = inputs.lowered.graph, inputs.spec, inputs.model
        dialect = inputs.lowered.dialect
        hw_arch = str(spec.get("hailo.hw_arch", "hailo8"))
        mode = str(spec.get("hailo.default_precision_mode", DEFAULT_PRECISION_MODE))
        llm_precision = str(spec.get("hailo.llm_precision", DEFAULT_LLM_PRECISION))
        modes = list(spec.get("hailo.precision_modes") or [mode])
        for key, value in (("hailo.default_precision_mode", mode), ("hailo.llm_precision", llm_precision)):
            if not PRECISION_MODE.fullmatch(value):
                raise SpecError(f"field {key}: {value!r} is not a Hailo precision mode (a8_w8, a8_w4, a16_w16, ...)",
                                spec.path)
        llm_support = str(spec.get("llm.supported") or ("vendor_compiled_only" if spec.get("hailo.llm_supported")
                                                        else "no"))
        anchor_m = spec.get("hailo.max_single_context_params_m")
        anchor = int(anchor_m * 1e6) if anchor_m else None
        anchor_source = f"the largest published single-context model on {spec.name}"
        llm = inputs.llm
        toolchain = {k: spec.get(f"toolchain.{k}") for k in ("name", "version", "partitioning")}
        toolchain.update(dialect=dialect, hw_arch=hw_arch, hailort_version=spec.get("hailo.hailort_version"),
                         precision_mode=mode)
        accelerator, host = f"{spec.name} HEF ({hw_arch})", "host CPU (HailoRT; ONNX Runtime/numpy for cropped parts)"
        facts = dict(device=spec.name, ops=len(graph.ops), llm_supported=llm_support, llm=llm,
                     precision_mode=mode, anchor_params=anchor, anchor_source=anchor_source,
                     llm_precision=llm_precision)

        if llm is not None or not graph.ops:
            return self._without_cut(inputs, facts, toolchain, accelerator, host)

        folded = folded_ops(graph)
        opset = model.opsets.get("ai.onnx") if dialect == "onnx" else None
        ctx = HailoContext(dialect=dialect, folded=folded, opset=opset)
        op_findings, model_findings = evaluate(hailo_rules(), graph, ctx)
        blocked = {i for i, fs in op_findings.items() if first_error(fs) is not None}
        cut = find_cut(graph, blocked, folded, inputs.op_macs, ctx)
        largest = cut.largest
        hailo_cut = HailoCut(host_part=cut.host_part, blocked=frozenset(blocked),
                             start_nodes=tuple(largest.start_nodes) if largest else (),
                             end_nodes=tuple(largest.end_nodes) if largest else (), tail_reason=cut.tail_reason)
        cut_findings, _ = evaluate(hailo_cut_rules(), graph, hailo_cut)
        for i, fs in cut_findings.items():
            # A warning that the DFC might not parse an op is moot once the op runs on the host.
            own = [f for f in op_findings.get(i, []) if i in cut.region_of or f.severity != "warning"]
            op_findings[i] = [*own, *fs]

        hef_ops = [i for i in cut.region_of if i not in folded]
        total_params = sum(_unique(_op_weights(graph, folded), hef_ops).values())
        # Each HEF is compiled, and split into contexts, on its own: the estimate is for the largest one.
        hef_params = max((r.params for r in cut.regions), default=0)
        between = tuple(graph.ops[i].name for i in sorted(cut.host_part) if cut.host_part[i] == BETWEEN
                        and i in blocked)
        hef_bytes = mode_bytes(hef_params, mode)
        facts.update(hef_params=hef_params, hef_weight_bytes=hef_bytes, hef_regions=len(cut.regions),
                     between_ops=between)
        _, fit_findings = evaluate(hailo_fit_rules(), graph, HailoFacts(**facts))
        fatal = [f for f in [*model_findings, *fit_findings] if f.severity == "error"]

        ops = self._place(graph, cut, op_findings, inputs.op_macs)
        fit = self._plain_fit(spec, hef_params, mode, modes, anchor, anchor_source)
        sections = {"cut": cut_section(model.path, hw_arch, dialect, graph, cut, blocked, op_findings),
                    "contexts": contexts_section(spec, hef_params, mode, modes, anchor, anchor_source, cut,
                                                 inputs.op_macs)}
        findings = [*model_findings, *fit_findings, *(f for op in graph.ops for f in op_findings.get(op.index, []))]
        return TargetResult(
            ops=ops, findings=findings, refused=bool(fatal) or not cut.regions,
            accelerator_subgraphs=len(cut.regions),
            memory={"capacity_bytes": fit.capacity_bytes, "capacity": fit.capacity, "hef_params": total_params,
                    "hef_weight_bytes": mode_bytes(total_params, mode), "largest_hef_params": hef_params,
                    "precision_mode": mode},
            fit=fit.to_dict(), toolchain=toolchain, accelerator=accelerator, host=host,
            device_param_bytes=mode_bytes(total_params, mode), sections=sections)

    # -- pieces ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _place(graph: OpGraph, cut: Cut, op_findings: Mapping[int, list[Finding]],
               op_macs: Mapping[int, int]) -> list[OpResult]:
        ops = []
        for op in graph.ops:
            findings = op_findings.get(op.index, [])
            codes = [f.code for f in findings]
            if op.index in cut.region_of:
                k = cut.region_of[op.index]
                folded = "HAILO-SHAPE-FOLD" in codes
                ops.append(OpResult(index=op.index, name=op.name, type=op.type, placement=ACCELERATOR, subgraph=k,
                                    source_nodes=list(op.source_nodes or (op.name,)), findings=codes,
                                    status=STATUS_FOLDED if folded else STATUS_IN_HEF.format(region=k),
                                    macs=op_macs.get(op.index)))
                continue
            part = cut.host_part.get(op.index, POST)
            blocking = first_error(findings)
            reason = blocking.code if blocking else {PRE: "HAILO-HOST-PRE", POST: "HAILO-HOST-POST",
                                                     BETWEEN: "HAILO-HOST-BETWEEN"}[part]
            status = STATUS_HOST[part]
            if blocking is not None:
                status += f" ({blocking.status or blocking.code})"
            ops.append(OpResult(index=op.index, name=op.name, type=op.type, placement=CPU, subgraph=None,
                                source_nodes=list(op.source_nodes or (op.name,)), findings=codes, status=status,
                                reason=reason, macs=op_macs.get(op.index)))
        return ops

    @staticmethod
    def _plain_fit(spec: Any, hef_params: int, mode: str, modes: list[str], anchor: int | None,
                   anchor_source: str) -> MemoryFit:
        """Weights in the HEF at the default mode and each smaller-weight mode vs the single-context estimate."""
        options = [(mode, mode_bytes(hef_params, mode))]
        options += [(m, mode_bytes(hef_params, m)) for m in modes
                    if m != mode and weight_bits(m) < weight_bits(mode) and m.startswith("a8")]
        dram = " no DRAM of its own," if spec.get("memory.external_dram") is False else ""
        text = (f"single-context parameter capacity, an estimate:{dram} {anchor_source} has "
                f"{anchor / 1e6 if anchor else '?'} M params at a8_w8 "
                f"({spec.source('hailo.max_single_context_params_m') or 'spec'}); beyond it the DFC splits the "
                "network into contexts (it runs, slower)")
        return memory_fit(options, anchor, text)

    def _without_cut(self, inputs: TargetInput, facts: dict[str, Any], toolchain: dict[str, Any], accelerator: str,
                     host: str) -> TargetResult:
        """An LLM, or a file with no op graph: the model-level answer only (no DFC cut is made)."""
        spec, llm, graph = inputs.spec, inputs.llm, inputs.lowered.graph
        fit: MemoryFit | None = None
        if llm is not None:
            weights = mode_bytes(int(llm.params), facts["llm_precision"])
            kv_dtype = str(spec.get("llm.kv_cache_dtype", "fp16") or "fp16")
            kv = int(llm.kv_cache_bytes(inputs.context, kv_dtype))
            if facts["llm_supported"] == "no":
                anchor = facts["anchor_params"]
                fit = memory_fit([(facts["llm_precision"], weights)], anchor,
                                 f"no DRAM on {spec.name}: on-chip memory only; the largest published single-context "
                                 f"model is {anchor / 1e6 if anchor else '?'} M params (an estimate) "
                                 "[reference hailo.md §1, §3.2]")
            else:
                capacity, basis = usable_dram(spec)
                fit = memory_fit([(facts["llm_precision"], weights)], capacity,
                                 f"module DRAM: {basis} [reference hailo.md §1]", kv_cache_bytes=kv,
                                 context=inputs.context)
            max_b = spec.get("hailo.max_llm_params_b")
            facts.update(llm_weight_bytes=weights, kv_cache_bytes=kv if facts["llm_supported"] != "no" else 0,
                         context=inputs.context, dram_bytes=spec.get("memory.size_bytes"),
                         max_llm_params=int(max_b * 1e9) if max_b else None)
        _, findings = evaluate(hailo_fit_rules(), graph, HailoFacts(**facts))
        decisive = first_error(findings)
        code = decisive.code if decisive else "HAILO-NO-GRAPH"
        words = {"HAILO-LLM-NOT-SUPPORTED": "LLMs are not supported on this chip",
                 "HAILO-LLM-VENDOR-ONLY": "LLMs run only as vendor-compiled HEFs"}.get(code, "no HEF is built")
        ops = [OpResult(index=op.index, name=op.name, type=op.type, placement=CPU, subgraph=None,
                        source_nodes=list(op.source_nodes or (op.name,)), findings=[], status=STATUS_LLM.format(
                            reason=words), reason=code, macs=inputs.op_macs.get(op.index)) for op in graph.ops]
        sections = {}
        if llm is not None:
            sections["llm_support"] = llm_section(spec, llm, facts, fit)
        fit_dict = fit.to_dict() if fit is not None else MemoryFit(None, "no weights to place").to_dict()
        return TargetResult(
            ops=ops, findings=findings, refused=any(f.severity == "error" for f in findings), accelerator_subgraphs=0,
            memory={"capacity_bytes": fit_dict["capacity_bytes"], "capacity": fit_dict["capacity"]},
            fit=fit_dict, toolchain=toolchain, accelerator=accelerator, host=host,
            device_param_bytes=fit_dict.get("weight_bytes") or 0, sections=sections)


# -- sections -------------------------------------------------------------------------------------------------------

def _count(n: int) -> str:
    """``3_009_150`` -> ``"3.01 M"``; small counts as they are."""
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return str(n)


def _names(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _types(graph: OpGraph, ops: Iterable[int], limit: int = 6) -> str:
    counts = Counter(graph.ops[i].type for i in ops)
    shown = ", ".join(f"{t} x{n}" for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])
    return shown + (f" and {len(counts) - limit} more types" if len(counts) > limit else "")


def cut_section(model_path: str, hw_arch: str, dialect: str, graph: OpGraph, cut: Cut, blocked: set[int],
                op_findings: Mapping[int, list[Finding]]) -> dict[str, Any]:
    """The DFC cut, for people (``lines``) and for tools (start/end nodes, host ops, commands per region)."""
    parts = {p: [i for i in sorted(cut.host_part) if cut.host_part[i] == p] for p in (PRE, BETWEEN, POST)}
    host_ops = [graph.ops[i].name for i in sorted(cut.host_part)]
    largest = cut.largest
    regions = []
    for r in cut.regions:
        regions.append({**r.to_dict(), "commands": commands(model_path, hw_arch, r, dialect)})
    base = {"title": "Hailo DFC cut (start/end nodes, ready to paste)", "hw_arch": hw_arch,
            "host_ops": host_ops, "host_ops_by_part": {"before": [graph.ops[i].name for i in parts[PRE]],
                                                       "between": [graph.ops[i].name for i in parts[BETWEEN]],
                                                       "after": [graph.ops[i].name for i in parts[POST]]},
            "regions": regions}
    if largest is None:
        return {**base, "lines": ["No HEF region: no op of the model can be parsed (see the findings)"],
                "region": None, "start_nodes": [], "end_nodes": [], "start_is_graph_inputs": False, "commands": {}}
    cmds = regions[largest.index]["commands"]
    lines = [f"{len(cut.regions)} HEF region(s); the largest is region {largest.index}: {len(largest.ops)} ops, "
             f"{_count(largest.params)} params, {_count(largest.macs)} MACs",
             "start: the graph inputs (null)" if not largest.start_nodes else
             f"start nodes: {', '.join(largest.start_nodes)}",
             f"end nodes: {', '.join(largest.end_nodes)}"]
    for p, label in ((PRE, "before the start nodes (pre-processing)"), (BETWEEN, "between HEF regions"),
                     (POST, "after the end nodes (post-processing)")):
        if parts[p]:
            lines.append(f"host, {label}: {len(parts[p])} ops ({_types(graph, parts[p])})")
    if cut.decoder:
        lines.append("the tail is a box decoder: run it on the host, or replace it with Hailo's post-processing, "
                     "nms_postprocess(<config.json>, meta_arch=..., engine=cpu) in the .alls (Model Zoo practice)")
    if dialect == "tflite":
        lines.append("TFLite has no node names: these are the ops' first output tensors (edgefit's op names); check "
                     "them against the names the parser prints (unverified)")
    lines += [cmds["hailo_parser"], cmds["client_runner"], "Model Zoo network YAML:",
              *("  " + line for line in cmds["model_zoo_yaml"].splitlines())]
    if len(cut.regions) > 1:
        for r in cut.regions:
            if r.index == largest.index:
                continue
            lines.append(f"region {r.index}: start {_names(r.start_nodes) or 'graph inputs'}; end {_names(r.end_nodes)}"
                         f"; {regions[r.index]['commands']['hailo_parser']}")
        blocked_between = [graph.ops[i].name for i in parts[BETWEEN] if i in blocked]
        lines.append(f"host part between HEFs (ONNX Runtime): {_names(blocked_between)}")
    return {**base, "lines": lines, "region": largest.index, "start_nodes": largest.start_nodes,
            "end_nodes": largest.end_nodes, "start_is_graph_inputs": not largest.start_nodes, "commands": cmds}


def contexts_section(spec: Any, hef_params: int, mode: str, modes: list[str], anchor: int | None, anchor_source: str,
                     cut: Cut, op_macs: Mapping[int, int]) -> dict[str, Any]:
    """Single vs multi context, an estimate from parameter bytes at each precision mode vs the anchor."""
    by_mode = {m: mode_bytes(hef_params, m) for m in modes}
    estimate = None if anchor is None else ("single" if by_mode.get(mode, mode_bytes(hef_params, mode)) <= anchor
                                            else "multi")
    macs = max((r.macs for r in cut.regions), default=0)
    which = "the HEF" if len(cut.regions) <= 1 else "the largest of the HEFs"
    lines = [f"estimate: {estimate or 'unknown'}-context at {mode} ({hef_params / 1e6:.2f} M params in {which}, "
             f"{mode_bytes(hef_params, mode):,} B of weights) vs the largest published single-context model on "
             f"{spec.name}: {anchor / 1e6 if anchor else '?'} M params at a8_w8",
             "precision modes (quantization_param(<layers>, precision_mode=...)): " +
             ", ".join(f"{m} {b:,} B" for m, b in by_mode.items()) + f"; default {mode}",
             f"compute in {which}: {2 * macs / 1e9:.2f} GOPs (compute-heavy networks go multi-context sooner: "
             "yolov8m, 25.9 M params / 78.9 GOPs, is multi-context on Hailo-8)",
             "an estimate from the Model Zoo tables (FPS at batch 1 = batch 8 means one context; parameters are "
             "necessary, not sufficient); the DFC decides contexts when it compiles [reference hailo.md §3]"]
    return {"title": "Contexts (estimate)", "lines": lines, "estimate": estimate, "is_estimate": True,
            "hef_params": hef_params, "precision_mode": mode, "weight_bytes_by_mode": by_mode,
            "anchor_params": anchor, "anchor_source": spec.source("hailo.max_single_context_params_m"),
            "gops": 2 * macs / 1e9,
            "per_region": [{"index": r.index, "params": r.params, "weight_bytes": mode_bytes(r.params, mode),
                            "estimate": None if anchor is None else
                            ("single" if mode_bytes(r.params, mode) <= anchor else "multi")} for r in cut.regions]}


def llm_section(spec: Any, llm: Any, facts: Mapping[str, Any], fit: MemoryFit | None) -> dict[str, Any]:
    from edgefit.rules.hailo import GENAI_SOURCE, LLM_STATEMENT, vendor_hefs_for

    support = facts["llm_supported"]
    arch = str(getattr(llm, "arch", "") or "")
    same, related = vendor_hefs_for(arch)
    weights = facts.get("llm_weight_bytes", 0)
    lines = [f"decoder LLM ({arch or 'unknown architecture'}, {llm.params / 1e9:.2f} B params): weights at "
             f"{facts['llm_precision']} {weights / 2**30:.2f} GiB"]
    if support == "no":
        lines.append(f"{spec.name}: LLMs not supported (vendor statement): {LLM_STATEMENT}; no DRAM on the chip")
    else:
        lines.append(f"{spec.name}: LLMs only via vendor-compiled models ({GENAI_SOURCE}); this graph cannot be "
                     "compiled by users (customisation via LoRA adapters)")
        if same:
            lines.append(f"{arch} HEFs listed: " + "; ".join(h.text() for h in same))
        else:
            lines.append(f"no {arch or 'matching'} HEF listed" + ("; same-family HEFs: " + "; ".join(
                h.text() for h in related) if related else ""))
        sized = [h for h in (same or related) if h.hef_bytes and _nominal_params(h.model)]
        if sized:
            per_param = sorted(h.hef_bytes / _nominal_params(h.model) for h in sized)[len(sized) // 2]
            lines.append(f"listed HEFs hold {per_param:.2f} B per nominal parameter (median; more than the 4-bit "
                         f"weights alone): a HEF of this model would be about {llm.params * per_param / 1e9:.2f} GB "
                         "(derived, rough)")
        if fit is not None and fit.capacity_bytes:
            o = fit.options[0]
            lines.append(f"memory: weights {o.weight_bytes / 2**30:.2f} GiB + KV cache {o.kv_cache_bytes / 2**30:.2f} "
                         f"GiB ({facts.get('context', 0):,} tokens, fp16 assumed) vs {fit.capacity_bytes / 2**30:.2f} "
                         f"GiB module DRAM: {'fits' if o.fits else 'does not fit'}")
    return {"title": "LLM support (Hailo)", "lines": lines, "supported": support, "arch": arch,
            "weight_precision": facts["llm_precision"], "weight_bytes": weights,
            "vendor_hefs": [h.model for h in same], "related_vendor_hefs": [h.model for h in related]}


def _nominal_params(model_name: str) -> float | None:
    """``"Qwen2.5-1.5B-Instruct"`` -> 1.5e9: the size in a vendor model's name."""
    m = re.search(r"(\d+(?:\.\d+)?)B\b", model_name)
    return float(m.group(1)) * 1e9 if m else None


TARGET = HailoTarget()
