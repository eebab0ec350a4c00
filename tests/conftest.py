"""Shared test helpers: corpus location, the sample-model writer, and a real-CLI runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
SAMPLES = REPO / "sample_models"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus (../shared/corpus) not present")

sys.path.insert(0, str(SAMPLES))  # tflite_writer: builds real .tflite fixtures without TensorFlow


def run_edgefit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "edgefit", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)
