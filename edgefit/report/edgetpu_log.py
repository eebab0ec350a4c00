"""`--format edgetpu-log`: the predicted decisions in the layout of edgetpu_compiler's ``<model>_edgetpu.log``.

Layout (coral-edgetpu.md §5.2, identical in every public log from compiler 1.0 to 16.0): a three-line header,
a blank line, the ``Operator / Count / Status`` header, a blank line, then one row per (op type, status) with
the operator left-justified in 31 characters and the count in 11. Custom ops appear as ``CUSTOM``. Ops the
compiler drops as dead code are not in its log, so they are not here either.
"""

from __future__ import annotations

from pathlib import Path

from edgefit.report.model import Report

#: Full build strings of the public compiler releases (coral-edgetpu.md §1.2 table, corpus logs).
COMPILER_BUILDS = {"16.0": "16.0.384591198", "15.0": "15.0.340273435", "14.1": "14.1.317412892",
                   "2.1": "2.1.302470888", "2.0": "2.0.291256449", "1.0": "1.0.249710469"}


def render_edgetpu_log(report: Report) -> str:
    version = str(report.toolchain.get("compiler_version") or "16.0")
    build = COMPILER_BUILDS.get(version, version)
    src = Path(report.model_path)
    rows: dict[tuple[str, str], int] = {}
    for op in report.ops:
        if op.placement == "removed":
            continue
        key = ("CUSTOM" if op.type.startswith("CUSTOM:") else op.type, op.status)
        rows[key] = rows.get(key, 0) + 1
    lines = [f"Edge TPU Compiler version {build}", f"Input: {src}", f"Output: {src.stem}_edgetpu.tflite", "",
             f"{'Operator':<31}{'Count':<11}Status", ""]
    lines += [f"{op_type:<31}{count:<11}{status}" for (op_type, status), count in rows.items()]
    return "\n".join(lines) + "\n"
