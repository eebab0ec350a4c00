"""`edgefit inspect`: what is in a model, device-independent.

Op histogram, parameters by dtype, MACs, I/O, every dynamic dim and where it comes from, opsets and op
versions. ``InspectReport.to_dict()`` is the documented JSON (docs/inspect-json.md); the text renderer
only formats that dict.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgefit.estimate.macs import count_macs
from edgefit.graph import Model, OpGraph, Tensor
from edgefit.read import read_model

SCHEMA_VERSION = 1


def _shape_json(t: Tensor) -> list[Any] | None:
    return None if t.shape is None else list(t.shape)


def _io(graph: OpGraph, names: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in names:
        t = graph.tensors[name]
        entry: dict[str, Any] = {"name": name, "shape": _shape_json(t), "dtype": t.dtype}
        if t.quant is not None:
            entry["quantization"] = {"scale": list(t.quant.scale), "zero_point": list(t.quant.zero_point),
                                     "axis": t.quant.axis}
        out.append(entry)
    return out


def parameter_totals(model: Model) -> tuple[int, int, dict[str, dict[str, int]]]:
    """Constant tensors over every graph (bodies and functions included), shared storage counted once."""
    seen_buffers: set[int] = set()
    count = nbytes = 0
    by_dtype: dict[str, dict[str, int]] = {}
    graphs = [g for top in model.graphs for g in _with_bodies(top)] + list(model.functions.values())
    seen_graphs: set[int] = set()
    for graph in graphs:
        if id(graph) in seen_graphs:
            continue
        seen_graphs.add(id(graph))
        for t in graph.tensors.values():
            if not t.is_constant or t.is_variable:
                continue
            if t.buffer is not None:
                if t.buffer in seen_buffers:
                    continue
                seen_buffers.add(t.buffer)
            n, b = t.num_elements or 0, t.byte_size or 0
            count += n
            nbytes += b
            slot = by_dtype.setdefault(t.dtype, {"count": 0, "bytes": 0})
            slot["count"] += n
            slot["bytes"] += b
    return count, nbytes, dict(sorted(by_dtype.items()))


def _with_bodies(graph: OpGraph) -> list[OpGraph]:
    out = [graph]
    for op in graph.ops:
        for body in op.bodies.values():
            out.extend(_with_bodies(body))
    return out


def _dynamic_dims(model: Model) -> list[dict[str, Any]]:
    """Every non-static dim: named ones with the tensors that introduce them, unnamed ones with their origin.

    A dim "comes from" a graph input that declares it, or else from the first op whose output has it although
    none of that op's inputs has an unknown dim (a data-dependent op such as NonZero, or an op whose output
    shape neither the file nor ONNX shape inference could determine).
    """
    named: dict[str, list[dict[str, Any]]] = {}
    unknown: list[dict[str, Any]] = []
    for graph in model.entry_graphs:
        for name in graph.inputs:
            t = graph.tensors[name]
            if t.shape is None:
                unknown.append({"dim": None, "origin": "input", "tensor": name, "axes": None, "graph": graph.name})
                continue
            for axis, d in enumerate(t.shape):
                if isinstance(d, str):
                    named.setdefault(d, []).append({"tensor": name, "axis": axis})
            axes = [axis for axis, d in enumerate(t.shape) if d is None]
            if axes:
                unknown.append({"dim": None, "origin": "input", "tensor": name, "axes": axes, "graph": graph.name})
        for op in graph.ops:
            ins = [graph.tensors.get(i) for i in op.inputs if i]
            if any(t is None or t.shape is None or None in t.shape for t in ins):
                continue  # unknown-ness inherited from upstream, reported there
            in_syms = {d for t in ins for d in t.shape if isinstance(d, str)}  # type: ignore[union-attr]
            for out_name in op.outputs:
                t = graph.tensors.get(out_name)
                if t is None or t.shape is None:
                    continue
                axes = [axis for axis, d in enumerate(t.shape) if d is None]
                if axes:
                    unknown.append({"dim": None, "origin": "op", "tensor": out_name, "axes": axes, "op": op.name,
                                    "op_type": op.type, "graph": graph.name})
                for axis, d in enumerate(t.shape):
                    if isinstance(d, str) and d not in named and d not in in_syms:
                        named[d] = [{"tensor": out_name, "axis": axis, "op": op.name, "op_type": op.type}]
    named_entries = [{"dim": d, "origin": "op" if "op" in srcs[0] else "input", "declared_by": srcs}
                     for d, srcs in named.items()]
    return named_entries + unknown


@dataclass
class InspectReport:
    model: Model
    file_bytes: int

    def to_dict(self) -> dict[str, Any]:
        m = self.model
        entry = m.entry_graphs
        histogram = Counter(op.type for g in entry for op in g.ops)
        domains = Counter(op.domain for g in entry for op in g.ops)
        params, param_bytes, by_dtype = parameter_totals(m)
        macs = count_macs(entry)
        main = m.main
        versions: dict[str, list[int]] = {}
        for g in entry:
            for op in g.ops:
                if op.version is not None:
                    versions.setdefault(op.type, [])
                    if op.version not in versions[op.type]:
                        versions[op.type].append(op.version)
        d: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "path": m.path,
            "format": m.format,
            "file_bytes": self.file_bytes,
            "producer": m.producer,
            "opsets": m.opsets,
            "node_count": sum(len(g) for g in entry),
            "op_histogram": dict(sorted(histogram.items(), key=lambda kv: (-kv[1], kv[0]))),
            "op_domains": dict(sorted(domains.items())),
            "op_versions": {k: sorted(v) for k, v in sorted(versions.items())} if m.format == "tflite" else {},
            "param_count": params,
            "param_bytes": param_bytes,
            "params_by_dtype": by_dtype,
            "macs": {
                "total": macs.total.constant,
                "expression": str(macs.total),
                "terms": macs.total.to_json(),
                "by_op_type": {k: str(v) for k, v in sorted(macs.by_op_type.items())},
                "uncounted_ops": macs.uncounted,
            },
            "inputs": _io(main, main.inputs),
            "outputs": _io(main, main.outputs),
            "dynamic_dims": _dynamic_dims(m),
            "subgraphs": [{"index": g.index, "name": g.name, "op_count": len(g), "role": "body" if g.is_body else "entry"}
                          for g in m.graphs],
            "control_flow": [
                {"graph": g.name, "op": op.name, "type": op.type,
                 "bodies": {role: {"name": b.name, "op_count": len(b)} for role, b in op.bodies.items()}}
                for top in m.graphs if not top.is_body for g in _with_bodies(top) for op in g.ops if op.bodies
            ],
            "functions": [{"name": k, "op_count": len(f)} for k, f in m.functions.items()],
            "signatures": [{"key": s.key, "subgraph": s.subgraph, "inputs": s.inputs, "outputs": s.outputs}
                           for s in m.signatures],
            "external_data": _external_data(m),
            "notes": m.notes,
        }
        return d


def _external_data(model: Model) -> list[dict[str, Any]]:
    """External data files the model refers to: declared size and whether the file exists (never opened)."""
    base = Path(model.path).resolve().parent
    files: dict[str, dict[str, Any]] = {}
    for graph in model.graphs:
        for t in graph.tensors.values():
            if t.external is None:
                continue
            f = files.setdefault(t.external.location, {"location": t.external.location, "tensors": 0, "bytes": 0})
            f["tensors"] += 1
            f["bytes"] = max(f["bytes"], t.external.offset + (t.external.length or t.byte_size or 0))
    from edgefit.read.onnx import NOT_A_REGULAR_FILE, external_location_problem

    for loc, f in files.items():
        problem = external_location_problem(base, loc)
        f["inside_model_dir"] = problem in (None, NOT_A_REGULAR_FILE)
        f["present"] = problem is None and (base / loc).is_file()  # stat only: the file is never opened
    return list(files.values())


def inspect_model(path: str | os.PathLike[str]) -> InspectReport:
    model = read_model(path)
    return InspectReport(model=model, file_bytes=os.path.getsize(path))
