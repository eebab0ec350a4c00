"""Coral prediction vs real edgetpu_compiler output (skipped where the shared corpus is absent)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"

pytestmark = pytest.mark.skipif(not (CORPUS / "coral" / "truth-dev.json").exists(),
                                reason="shared Coral corpus not present")


def load_benchmark():
    spec = importlib.util.spec_from_file_location("coral_truth", REPO / "benchmarks" / "coral_truth.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def test_predicted_cpu_ops_match_the_real_compiler():
    benchmark = load_benchmark()
    summary = benchmark.run(CORPUS)
    disagreements = "\n".join(line for r in summary.results if not r.exact
                              for line in benchmark.disagreement_lines(r))
    assert summary.models_exact == 100.0, disagreements
    assert summary.ops_right >= 99.5, disagreements
