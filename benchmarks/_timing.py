"""Shared helpers for the benchmarks: medians of in-process calls and of fresh processes with peak RSS."""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
QWEN_06B = REPO.parent / "shared" / "corpus" / "qwen3" / "qwen3-0.6b.onnx"
QWEN_17B = QWEN_06B.with_name("qwen3-1.7b.onnx")

#: What any tool must do at least with an ONNX graph: parse it, build a networkx graph, sort it.
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
result = len(list(nx.topological_sort(g)))
"""


def baseline(path: str) -> int:
    ns: dict[str, Any] = {}
    argv, sys.argv = sys.argv, [sys.argv[0], path]
    try:
        exec(compile(BASELINE_SRC, "baseline", "exec"), ns)
    finally:
        sys.argv = argv
    return ns["result"]


def timed(fn: Callable[[str], Any], path: str, repeat: int) -> float:
    """Median seconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(path)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


#: Runs ``-m MODULE ARGS`` or ``-c SOURCE ARGS`` and reports the process's own peak RSS (VmHWM) on exit.
#: (wait4's ru_maxrss would not do: on Linux it keeps the forking parent's RSS across exec.)
_PEAK_RSS_WRAPPER = """
import atexit, runpy, sys
def report():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("\\nPEAK_RSS_KB " + line.split()[1] + "\\n")
atexit.register(report)
mode, target, *rest = sys.argv[1:]
if mode == "-m":
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv = ["-c", *rest]
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
"""


#: As a user's shell has it: bytecode caching on (some sandboxes turn it off, which adds compile time to
#: every start-up and measures the sandbox, not the tool). The bytecode goes to a cache directory of this run
#: (PYTHONPYCACHEPREFIX), so it is written even where the source tree or site-packages are read-only; the
#: warm-up process of ``processes`` fills it.
_PYCACHE = tempfile.mkdtemp(prefix="edgefit-bench-pycache-")
atexit.register(shutil.rmtree, _PYCACHE, ignore_errors=True)
USER_ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
             "PYTHONPYCACHEPREFIX": _PYCACHE}


def run_process(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one fresh ``python ARGS`` process (ARGS: ``-m ...`` or ``-c ...``)."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PEAK_RSS_WRAPPER, *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=USER_ENV)
    wall = time.perf_counter() - t
    peak = [line for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS_KB ")]
    if proc.returncode != 0 or not peak:
        sys.exit(f"failed: python {' '.join(args)}: {proc.stderr[-2000:]}")
    return wall, int(peak[-1].split()[1]) / 1024


def processes(args: list[str], n: int = 3) -> tuple[float, float]:
    """(median wall seconds, max peak RSS in MB) over ``n`` fresh ``python ARGS`` processes, after one
    discarded warm-up run (file cache, bytecode)."""
    run_process(args)
    runs = [run_process(args) for _ in range(n)]
    return statistics.median(w for w, _ in runs), max(r for _, r in runs)


def baseline_process(path: str, n: int = 3) -> tuple[float, float]:
    return processes(["-c", BASELINE_SRC, path], n)


def verdict(measured_s: float, target_s: float) -> str:
    return "met" if measured_s <= target_s else "MISSED"
