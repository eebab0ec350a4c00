"""Benchmark the Coral prediction against real edgetpu_compiler output (``corpus/coral/truth-dev.json``).

For every model: read it, predict with the compiler version the truth records (default 16.0 where the
repository kept no log), and compare the predicted CPU ops with the compiled model's.

Figures:

- **models exact**: share of models whose predicted CPU op counts per type equal the truth's exactly.
- **ops right**: op-level placement accuracy. Per model and op type ``t``, with ``n_t`` ops of that type in
  the original model, ``true_t`` of them left on the CPU by the compiler and ``pred_t`` predicted on the CPU,
  ``n_t - |pred_t - true_t|`` ops are placed right (the compiled file says how many of each type stayed on the
  CPU, not which ones, so this is the best matching of predicted to real placements). Summed over types and
  models, divided by the total op count. Ops the compiler drops (dead ops) count as "not on the CPU" on both
  sides.

Usage: ``python benchmarks/coral_truth.py [CORPUS_DIR]`` (default: ``<repo>/../shared/corpus``). Exits 0 and
says so when the corpus is absent.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from edgefit.targets.coral import MappingSpec, predict
from edgefit.partition import CPU
from edgefit.read import read_model

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
DEFAULT_COMPILER = "16.0"


@dataclass
class ModelResult:
    name: str
    compiler: str
    ops_total: int
    ops_right: int
    predicted_cpu: Counter[str]
    true_cpu: Counter[str]
    #: op type -> the reasons (rule codes) behind the predicted CPU placements of that type.
    reasons: dict[str, Counter[str]] = field(default_factory=dict)
    error: str | None = None

    @property
    def exact(self) -> bool:
        return self.error is None and self.predicted_cpu == self.true_cpu


@dataclass
class Summary:
    results: list[ModelResult]

    @property
    def models_exact(self) -> float:
        return 100.0 * sum(r.exact for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def ops_right(self) -> float:
        total = sum(r.ops_total for r in self.results)
        return 100.0 * sum(r.ops_right for r in self.results) / total if total else 0.0


def ops_placed_right(orig: Counter[str], predicted_cpu: Counter[str], true_cpu: Counter[str]) -> int:
    """Sum over op types of n_t - |pred_t - true_t| (see module docstring)."""
    return sum(max(0, n - abs(predicted_cpu[t] - true_cpu[t])) for t, n in orig.items())


def evaluate_model(path: Path, truth: dict) -> ModelResult:
    compiler = truth.get("compiler_version") or DEFAULT_COMPILER
    orig, true_cpu = Counter(truth["orig_ops"]), Counter(truth["cpu_ops"])
    try:
        graph = read_model(path).main
        _, _, partition, _ = predict(graph, MappingSpec({"coral.compiler_version": compiler}))
    except Exception as e:  # one unreadable model must not hide the figures for the rest
        return ModelResult(path.name, compiler, sum(orig.values()), 0, Counter(), true_cpu, error=repr(e))
    predicted = partition.counts(graph, CPU)
    reasons: dict[str, Counter[str]] = {}
    for p in partition.on(CPU):
        reasons.setdefault(graph.ops[p.op].type, Counter())[p.reason or "?"] += 1
    return ModelResult(path.name, compiler, sum(orig.values()), ops_placed_right(orig, predicted, true_cpu),
                       predicted, true_cpu, reasons)


def run(corpus: Path) -> Summary | None:
    coral = corpus / "coral"
    truth_file = coral / "truth-dev.json"
    if not truth_file.exists():
        return None
    truth = json.loads(truth_file.read_text())
    return Summary([evaluate_model(coral / name, entry) for name, entry in sorted(truth.items())])


def disagreement_lines(r: ModelResult) -> list[str]:
    if r.error:
        return [f"{r.name}: prediction failed: {r.error}"]
    lines = [f"{r.name} (compiler {r.compiler}):"]
    for t in sorted(set(r.predicted_cpu) | set(r.true_cpu)):
        pred, true = r.predicted_cpu[t], r.true_cpu[t]
        if pred != true:
            why = ", ".join(f"{code} x{n}" for code, n in r.reasons.get(t, Counter()).most_common()) or "mapped"
            lines.append(f"  {t}: predicted {pred} on CPU, compiler left {true} on CPU  [{why}]")
    return lines


def main(argv: list[str]) -> int:
    corpus = Path(argv[1]) if len(argv) > 1 else DEFAULT_CORPUS
    summary = run(corpus)
    if summary is None:
        print(f"no Coral corpus at {corpus}; skipped")
        return 0
    print(f"models: {len(summary.results)}")
    print(f"models exact (CPU ops per type): {summary.models_exact:.1f} %")
    print(f"ops placed right:                {summary.ops_right:.2f} %")
    wrong = [r for r in summary.results if not r.exact]
    print(f"disagreements: {len(wrong)}")
    for r in wrong:
        print("\n".join(disagreement_lines(r)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
