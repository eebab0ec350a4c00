"""`--format edgetpu-log` reproduces the real compiler logs' rows for the predicted decisions."""

from __future__ import annotations

import re
from collections import Counter

from conftest import CORPUS, SAMPLES, needs_corpus, run_edgefit

from edgefit.api import analyze
from edgefit.report.edgetpu_log import render_edgetpu_log

ROW = re.compile(r"^(\S+)\s+(\d+)\s+(\S.*)$")


def log_rows(text: str) -> Counter:
    """(operator, status) -> count from a compiler log's table."""
    rows: Counter = Counter()
    table = text.split("Operator", 1)[1].splitlines()[1:]
    for line in table:
        m = ROW.match(line.rstrip())
        if m:
            rows[(m.group(1), m.group(3))] += int(m.group(2))
    return rows


def test_layout_matches_the_compiler():
    text = render_edgetpu_log(analyze(SAMPLES / "tiny_cnn_int8.tflite", device="coral"))
    lines = text.splitlines()
    assert lines[0] == "Edge TPU Compiler version 16.0.384591198"
    assert lines[1].startswith("Input: ") and lines[2] == "Output: tiny_cnn_int8_edgetpu.tflite"
    assert lines[3] == "" and lines[4] == "Operator                       Count      Status" and lines[5] == ""
    assert "CONV_2D                        1          Mapped to Edge TPU" in lines
    assert text.endswith("\n")


def test_compiler_version_override_changes_the_header():
    r = run_edgefit("analyze", SAMPLES / "tiny_cnn_int8.tflite", "--format", "edgetpu-log",
                    "--set", "coral.compiler_version=15.0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Edge TPU Compiler version 15.0.340273435\n")


@needs_corpus
def test_real_logs_are_reproduced():
    logs = sorted((CORPUS / "coral" / "logs").glob("*.log"))
    assert len(logs) == 21
    for log in logs:
        model = CORPUS / "coral" / f"{log.stem}.tflite"
        real = log.read_text()
        version = re.search(r"version (\d+\.\d+)", real).group(1)
        report = analyze(model, device="coral", overrides={"coral.compiler_version": version})
        assert log_rows(render_edgetpu_log(report)) == log_rows(real), log.name
