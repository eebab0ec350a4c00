"""Text rendering of `edgefit inspect` (the JSON dict of ``InspectReport.to_dict``) with rich tables."""

from __future__ import annotations

import io
from typing import Any

from edgefit.estimate.macs import format_count

MAX_UNKNOWN_DIM_LINES = 8


def _shape(shape: list[Any] | None) -> str:
    if shape is None:
        return "?"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def render_inspect_text(d: dict[str, Any], width: int = 110) -> str:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None,
                      markup=False, highlight=False)  # model text ("[batch, 3]") is not markup
    opsets = ", ".join(f"{k} {v}" for k, v in d["opsets"].items())
    console.print(f"{d['path']}  ({d['format']}, {d['file_bytes']:,} bytes"
                  + (f", producer {d['producer']}" if d["producer"] else "") + f", opsets: {opsets})")
    macs = d["macs"]
    mac_text = format_count(macs["total"]) if macs["total"] is not None else macs["expression"]
    console.print(f"{d['node_count']:,} ops, {len(d['op_histogram'])} op types, "
                  f"{d['param_count']:,} parameters ({format_count(d['param_bytes'])}B), MACs: {mac_text}")

    io_table = Table(title="Inputs and outputs", title_justify="left")
    for col in ("", "name", "shape", "dtype", "quantization"):
        io_table.add_column(col)
    for kind in ("inputs", "outputs"):
        for t in d[kind]:
            q = t.get("quantization")
            qtext = "" if not q else (f"scale {q['scale'][0]:.4g}, zp {q['zero_point'][0]}" if len(q["scale"]) == 1
                                      else f"per-channel ({len(q['scale'])}) axis {q['axis']}")
            io_table.add_row(kind[:-1], t["name"], _shape(t["shape"]), t["dtype"], qtext)
    console.print(io_table)

    hist = Table(title="Op histogram", title_justify="left")
    hist.add_column("op type")
    hist.add_column("count", justify="right")
    if d["op_versions"]:
        hist.add_column("versions")
    for op_type, n in d["op_histogram"].items():
        row = [op_type, str(n)]
        if d["op_versions"]:
            row.append(", ".join(map(str, d["op_versions"].get(op_type, []))))
        hist.add_row(*row)
    console.print(hist)

    params = Table(title="Parameters by dtype", title_justify="left")
    for col, justify in (("dtype", "left"), ("count", "right"), ("bytes", "right")):
        params.add_column(col, justify=justify)  # type: ignore[arg-type]
    for dtype, p in d["params_by_dtype"].items():
        params.add_row(dtype, f"{p['count']:,}", f"{p['bytes']:,}")
    console.print(params)

    if macs["by_op_type"]:
        console.print("MACs by op type: " + "; ".join(f"{k}: {v}" for k, v in macs["by_op_type"].items()))
    if macs["uncounted_ops"]:
        console.print(f"MACs not counted for {len(macs['uncounted_ops'])} ops with unknown shapes")

    if d["dynamic_dims"]:
        console.print("Dynamic dims")
        unknown = [dim for dim in d["dynamic_dims"] if dim["dim"] is None]
        for dim in d["dynamic_dims"]:
            if dim["dim"] is not None:
                where = ", ".join(f"{s['tensor']}[{s['axis']}]" + (f" ({s['op_type']} {s['op']})" if "op" in s else "")
                                  for s in dim["declared_by"])
                console.print(f"  {dim['dim']}: from {where}")
        for dim in unknown[:MAX_UNKNOWN_DIM_LINES]:
            axes = "rank unknown" if dim["axes"] is None else "axes " + ", ".join(map(str, dim["axes"]))
            where = f"input {dim['tensor']}" if dim["origin"] == "input" else f"{dim['op_type']} {dim['op']} -> {dim['tensor']}"
            console.print(f"  ? ({axes}): from {where}")
        if len(unknown) > MAX_UNKNOWN_DIM_LINES:
            console.print(f"  ... and {len(unknown) - MAX_UNKNOWN_DIM_LINES} more ops with unknown output dims "
                          "(all listed in --format json)")
    for cf in d["control_flow"]:
        bodies = ", ".join(f"{role}: {b['op_count']} ops" for role, b in cf["bodies"].items())
        console.print(f"control flow: {cf['type']} {cf['op']} ({bodies})")
    for f in d["functions"]:
        console.print(f"local function: {f['name']} ({f['op_count']} ops)")
    for s in d["signatures"]:
        console.print(f"signature {s['key']!r}: subgraph {s['subgraph']}, inputs {list(s['inputs'])}, "
                      f"outputs {list(s['outputs'])}")
    for e in d["external_data"]:
        state = "present" if e["present"] else ("outside the model directory" if not e["inside_model_dir"] else "absent")
        console.print(f"external data: {e['location']} ({e['bytes']:,} bytes, {e['tensors']} tensors, {state}; "
                      "not needed for inspect)")
    for note in d["notes"]:
        console.print(f"note: {note}")
    return console.export_text()
