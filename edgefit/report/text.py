"""Text rendering of an analyze Report: rich tables, exported as plain text."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from edgefit.estimate.macs import format_count
from edgefit.report.model import Report

VERDICT_TEXT = {
    "full": "runs entirely on the {acc}",
    "partial": "runs partly on the {acc}, partly on the {host}",
    "cpu_only": "nothing runs on the {acc}",
    "rejected": "the toolchain would refuse the model as it is",
}


def format_bytes(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def render_text(report: Report, width: int = 120, show_ops: bool = False) -> str:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None,
                      markup=False, highlight=False)  # model text ("[batch, 3]") is not markup
    s = report.summary()
    version = report.toolchain.get("compiler_version") or report.toolchain.get("version") or ""
    console.print(f"{report.model_path} on {report.device_name} ({report.device_id}, "
                  f"{report.toolchain.get('name')} {version})".rstrip())
    console.print(f"Verdict: {report.verdict.upper()}: "
                  + VERDICT_TEXT[report.verdict].format(acc=report.accelerator, host=report.host))
    lowered = f", lowered to {s['ops_total']} {report.toolchain.get('dialect')} ops" if report.lowered else ""
    console.print(f"Ops: {report.model_op_count} in the model{lowered}; {s['ops_on_accelerator']} on the "
                  f"{report.accelerator} in {s['accelerator_subgraphs']} subgraph(s), {s['ops_on_cpu']} on the "
                  f"{report.host}"
                  + (f", {s['ops_removed']} removed as dead code" if s["ops_removed"] else ""))

    errors = [f for f in report.findings if f["op"] is None and f["severity"] == "error"]
    for f in errors:
        console.print(f"{f['code']}: {f['message']}")
        if f.get("hint"):
            console.print(f"  fix: {f['hint']}")

    if report.verdict == "rejected" and s["ops_total"]:
        console.print(f"No accelerator model is produced, so all {s['ops_total']} ops would run on the "
                      f"{report.host}. The per-op findings below say what else blocks mapping once the model-level "
                      "error is fixed.")
    elif s["ops_on_cpu"]:
        severity = {(f["op"], f["code"]): f["severity"] for f in report.findings if f["op"] is not None}
        table = Table(title=f"Ops on the {report.host}, and why (first code decides the status)",
                      title_justify="left")
        for col in ("op type", "count", "codes", "status"):
            table.add_column(col, justify="right" if col == "count" else "left")
        groups: Counter[tuple[str, str, str]] = Counter()
        for op in report.ops:
            if op.placement != "cpu":
                continue
            blocking = [c for c in op.findings if severity.get((op.index, c)) == "error" and c != op.reason]
            groups[(op.type, ", ".join([op.reason or "", *blocking]), op.status)] += 1
        for (op_type, codes, status), n in sorted(groups.items(), key=lambda kv: (-kv[1], kv[0])):
            table.add_row(op_type, str(n), codes, status)
        console.print(table)

    if "budget_bytes" in report.memory:  # a parameter-cache plan (Edge TPU style): cached vs streamed
        _print_parameter_cache(console, report, s)
    else:
        console.print(f"Parameters: {format_count(report.model_param_count)} "
                      f"({format_bytes(report.model_param_bytes)} in the file)")
    if report.llm:
        _print_llm(console, report.llm, report.fit)
    if report.fit:
        _print_fit(console, report.fit)
    for section in report.sections.values():
        if isinstance(section, dict) and section.get("lines"):
            console.print(section.get("title", ""))
            for line in section["lines"]:
                console.print(f"  {line}")

    others = [f for f in report.findings if not (f["op"] is None and f["severity"] == "error")]
    by_code: dict[str, list[dict[str, Any]]] = {}
    for f in others:
        by_code.setdefault(f["code"], []).append(f)
    if by_code:
        console.print("Findings (edgefit explain CODE for details)")
        for code, fs in by_code.items():
            first = fs[0]
            at_ops = [report.ops[f["op"]].name for f in fs if f["op"] is not None]
            where = ""
            if at_ops:
                where = " at " + ", ".join(at_ops[:3]) + (f" and {len(at_ops) - 3} more" if len(at_ops) > 3 else "")
            console.print(f"  {first['severity']:<7} {code} x{len(fs)}{where}: {first['message']}")
            if first.get("hint"):
                console.print(f"          fix: {first['hint']}")

    if show_ops:
        table = Table(title=f"Ops ({report.toolchain.get('dialect')} dialect)", title_justify="left")
        for col in ("#", "type", "placement", "sg", "source nodes", "status"):
            table.add_column(col)
        for op in report.ops:
            table.add_row(str(op.index), op.type, op.placement, "" if op.subgraph is None else str(op.subgraph),
                          ", ".join(op.source_nodes[:3]) + ("…" if len(op.source_nodes) > 3 else ""), op.status)
        console.print(table)
    for note in report.notes:
        console.print(f"note: {note}")
    return console.export_text()




def _print_parameter_cache(console: Any, report: Report, s: dict[str, Any]) -> None:
    mem = report.memory
    at8 = s["param_bytes_at_8bit"]
    on_device = s["param_bytes_on_device"]
    copies = f" ({format_count(on_device)}B in the lowered graph, int32 biases and converter-made weight copies " \
             "included)" if report.lowered and abs(on_device - at8) > 0.05 * max(at8, 1) else ""
    console.print(f"Parameters: {format_count(report.model_param_count)}, {format_count(at8)}B at 8 bits{copies}; "
                  f"on-chip parameter cache {format_bytes(mem.get('budget_bytes'))} "
                  f"(SRAM {format_bytes(mem.get('sram_bytes'))})")
    if at8 and mem.get("budget_bytes") and mem["budget_bytes"] < at8:
        console.print(f"  at most {mem['budget_bytes'] / at8:.1%} of the parameters can ever be cached on chip")
    console.print(f"  accelerator ops' parameters: {format_bytes(mem.get('cached_bytes'))} cached on chip, "
                  f"{format_bytes(mem.get('streamed_bytes'))} streamed from the host every inference")


def _print_llm(console: Any, llm: dict[str, Any], fit: dict[str, Any]) -> None:
    tied = ", tied embeddings" if llm.get("tied_embeddings") else ""
    console.print(f"Decoder LLM ({llm.get('arch')}, from {llm.get('source')}): {llm.get('layers')} layers, hidden "
                  f"{llm.get('hidden')}, {llm.get('heads')} heads / {llm.get('kv_heads')} KV heads x "
                  f"{llm.get('head_dim')}, vocab {llm.get('vocab'):,}{tied}; {format_count(llm.get('params') or 0)} "
                  "parameters")
    per_token = llm.get("kv_cache_bytes_per_token")
    if per_token:
        at = f", {format_bytes(fit['options'][0]['kv_cache_bytes'])} at {fit['context']} tokens" \
            if fit.get("context") and fit.get("options") else ""
        console.print(f"  KV cache: {format_bytes(per_token)} per token{at}")


def _print_fit(console: Any, fit: dict[str, Any]) -> None:
    verdict = {True: "fits", False: "does not fit", None: "fit unknown"}[fit.get("fits")]
    chosen = f" at {fit['precision']}" if fit.get("precision") else ""
    console.print(f"Memory: {verdict}{chosen}; capacity {format_bytes(fit.get('capacity_bytes'))}: "
                  f"{fit.get('capacity')}")
    options = fit.get("options") or []
    if len(options) > 1 or (options and (options[0]["kv_cache_bytes"] or options[0]["overhead_bytes"])):
        console.print("  " + "; ".join(
            f"{o['precision']} {format_bytes(o['required_bytes'])}"
            + (f" (weights {format_bytes(o['weight_bytes'])} + KV {format_bytes(o['kv_cache_bytes'])}"
               + (f" + overhead {format_bytes(o['overhead_bytes'])}" if o["overhead_bytes"] else "") + ")"
               if o["kv_cache_bytes"] or o["overhead_bytes"] else "")
            + {True: " fits", False: " too big", None: ""}[o["fits"]] for o in options))
