"""Text and Markdown rendering of a Comparison (``edgefit compare``): one row per device, in ranking order."""

from __future__ import annotations

import io
from typing import Any

from edgefit.compare import Comparison, CompareRow
from edgefit.report.text import format_bytes


def _share(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _fits(row: CompareRow) -> str:
    return {True: "yes", False: "no", None: "?"}[row.fits_memory]


def _model_line(comparison: Comparison) -> str:
    m = comparison.model
    line = f"{m['path']} ({m['format']}, {m['op_count']} ops, {m['param_count']:,} parameters)"
    llm = m.get("llm")
    if llm:
        line += (f"; decoder LLM: {llm.get('layers')} layers, {llm.get('heads')} heads / {llm.get('kv_heads')} KV "
                 f"heads x {llm.get('head_dim')}, vocab {llm.get('vocab')}; memory fit at context {m['context']}")
    return line


def _cells(row: CompareRow) -> list[str]:
    return [row.device, row.verdict, _share(row.accelerated_op_share), _share(row.accelerated_mac_share),
            str(row.partitions), format_bytes(row.weight_bytes), format_bytes(row.memory_capacity_bytes),
            _fits(row), row.precision or "-"]


HEADERS = ["device", "verdict", "ops acc.", "MACs acc.", "parts", "weights", "capacity", "fits", "precision"]


def render_compare_text(comparison: Comparison, width: int = 160) -> str:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None, markup=False,
                      highlight=False)
    console.print(_model_line(comparison))
    table = Table(title="Devices, best realistic choice first (edgefit analyze MODEL --device ID for details)",
                  title_justify="left")
    for h in HEADERS + ["main reasons"]:
        table.add_column(h, overflow="fold")
    for row in comparison.rows:
        table.add_row(*_cells(row), "\n".join(_short(r) for r in row.reasons) or "-")
    console.print(table)
    return console.export_text()


def render_compare_markdown(comparison: Comparison) -> str:
    out = [f"**edgefit compare**: {_model_line(comparison)}", "",
           "| " + " | ".join(HEADERS + ["main reasons"]) + " |",
           "|" + "---|" * (len(HEADERS) + 1)]
    for row in comparison.rows:
        reasons = "<br>".join(_md(_short(r)) for r in row.reasons) or "-"
        out.append("| " + " | ".join([_md(c) for c in _cells(row)] + [reasons]) + " |")
    return "\n".join(out) + "\n"


def _short(reason: str, limit: int = 200) -> str:
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
