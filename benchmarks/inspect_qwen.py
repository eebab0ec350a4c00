"""Benchmark: `edgefit inspect` on the Qwen3-0.6B graph vs the bare baseline, in the same run.

Baseline = what any tool must do at least: onnx.load(..., load_external_data=False), build a networkx graph
of the nodes, topologically sort it. Measured two ways, each against its own baseline:
- in process: median of repeated runs of the library call vs the baseline function (import time excluded);
- end to end: the real CLI (`python -m edgefit inspect --format json`) vs a `python -c` baseline script,
  both as fresh processes, with each process's peak RSS (from wait4).
Targets: ratio <= 5x, peak RSS of the CLI < 300 MB. Exit 1 when a target is missed.

    python benchmarks/inspect_qwen.py [MODEL] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO.parent / "shared" / "corpus" / "qwen3" / "qwen3-0.6b.onnx"
RATIO_TARGET, RSS_TARGET_MB = 5.0, 300.0

BASELINE_SRC = """
import sys, onnx, networkx as nx
m = onnx.load(sys.argv[1], load_external_data=False)
g = nx.DiGraph()
producer = {}
for i, n in enumerate(m.graph.node):
    g.add_node(i)
    for o in n.output:
        producer[o] = i
for i, n in enumerate(m.graph.node):
    for x in n.input:
        if x in producer:
            g.add_edge(producer[x], i)
order = list(nx.topological_sort(g))
print(len(order))
"""


def baseline(path: str) -> int:
    ns: dict = {}
    sys.argv[1:2] = [path]
    exec(compile(BASELINE_SRC.replace("print(len(order))", "result = len(order)"), "baseline", "exec"), ns)
    return ns["result"]


def edgefit_inspect(path: str) -> int:
    from edgefit.inspect import inspect_model

    d = inspect_model(path).to_dict()
    json.dumps(d)
    return d["node_count"]


def timed(fn, path: str, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(path)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def run_process(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one fresh process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}: {proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=str(DEFAULT_MODEL))
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    if not Path(args.model).is_file():
        print(f"skip: {args.model} not found (the shared corpus is not present)")
        return 0
    data_file = Path(args.model + ".data")
    print(f"model: {args.model} (external data file {'present' if data_file.exists() else 'absent'})")

    edgefit_inspect(args.model), baseline(args.model)  # warm imports and caches for both
    t_base = timed(baseline, args.model, args.repeat)
    t_edge = timed(edgefit_inspect, args.model, args.repeat)
    in_ratio = t_edge / t_base
    print(f"in process   baseline {t_base * 1000:8.1f} ms   edgefit inspect {t_edge * 1000:8.1f} ms   "
          f"ratio {in_ratio:5.2f}x (median of {args.repeat})")

    base_runs = [run_process([sys.executable, "-c", BASELINE_SRC, args.model]) for _ in range(3)]
    edge_runs = [run_process([sys.executable, "-m", "edgefit", "inspect", "--format", "json", args.model])
                 for _ in range(3)]
    b_wall, b_rss = statistics.median(w for w, _ in base_runs), max(r for _, r in base_runs)
    e_wall, e_rss = statistics.median(w for w, _ in edge_runs), max(r for _, r in edge_runs)
    e2e_ratio = e_wall / b_wall
    print(f"end to end   baseline {b_wall * 1000:8.1f} ms   edgefit CLI     {e_wall * 1000:8.1f} ms   "
          f"ratio {e2e_ratio:5.2f}x (median of 3 processes)")
    print(f"peak RSS     baseline {b_rss:8.1f} MB   edgefit CLI     {e_rss:8.1f} MB   ratio {e_rss / b_rss:5.2f}x")
    ok = in_ratio <= RATIO_TARGET and e2e_ratio <= RATIO_TARGET and e_rss < RSS_TARGET_MB
    print(f"targets: ratio <= {RATIO_TARGET}x, peak RSS < {RSS_TARGET_MB:.0f} MB: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
