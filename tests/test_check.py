"""`edgefit check`: policies from options and [tool.edgefit], exit codes 0 / 1 / 2, and the pre-commit hook."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES, run_edgefit

from edgefit.check import parse_size

TFLITE = SAMPLES / "tiny_cnn_int8.tflite"  # partial on Coral: float I/O keeps QUANTIZE + DEQUANTIZE on the CPU


def test_pass_and_fail_by_option(tmp_path):
    assert run_edgefit("check", TFLITE, "--max-cpu-ops", "2", cwd=tmp_path).returncode == 0
    r = run_edgefit("check", TFLITE, "--max-cpu-ops", "1", cwd=tmp_path)
    assert r.returncode == 1 and "2 ops on the CPU > max-cpu-ops 1" in r.stdout
    r = run_edgefit("check", TFLITE, "--require", "full", cwd=tmp_path)
    assert r.returncode == 1 and "verdict partial, require full" in r.stdout
    assert run_edgefit("check", TFLITE, "--require", "partial", cwd=tmp_path).returncode == 0
    r = run_edgefit("check", TFLITE, "--fail-on", "CORAL-QUANTIZE-*", cwd=tmp_path)
    assert r.returncode == 1 and "CORAL-QUANTIZE-FLOAT-INPUT" in r.stdout
    r = run_edgefit("check", TFLITE, "--max-streamed-bytes", "0", "--set", "memory.param_cache_bytes=64",
                    cwd=tmp_path)
    assert r.returncode == 1 and "streamed per inference" in r.stdout


def test_pyproject_defaults_and_cli_precedence(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.edgefit]\ndevice = "coral-pcie"\nmax-cpu-ops = 0\n'
                                             'fail-on = ["CORAL-RANK"]\n')
    r = run_edgefit("check", TFLITE, "--format", "json", cwd=tmp_path)
    d = json.loads(r.stdout)
    assert r.returncode == 1 and d["device"] == "coral-pcie" and d["results"][0]["status"] == "fail"
    assert run_edgefit("check", TFLITE, "--max-cpu-ops", "5", cwd=tmp_path).returncode == 0  # option wins


def test_bad_input_wins_over_policy(tmp_path):
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(b"\0" * 64)
    r = run_edgefit("check", TFLITE, bad, "--max-cpu-ops", "0", cwd=tmp_path)
    assert r.returncode == 2
    assert "FAIL" in r.stdout and str(bad) in r.stderr


def test_bad_config_is_exit_2(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.edgefit]\nmax-cpu-opz = 1\n")
    r = run_edgefit("check", TFLITE, cwd=tmp_path)
    assert r.returncode == 2 and "max-cpu-opz" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    (tmp_path / "pyproject.toml").write_text("[tool.edgefit\n")
    r = run_edgefit("check", TFLITE, cwd=tmp_path)
    assert r.returncode == 2 and "invalid TOML" in r.stderr


def test_parse_size():
    assert parse_size("1MiB") == 1 << 20 and parse_size("8MB") == 8_000_000 and parse_size("512") == 512
    assert parse_size("1.5KiB") == 1536
    with pytest.raises(Exception, match="not a size"):
        parse_size("lots")


@pytest.mark.slow
def test_pre_commit_hook_blocks_a_bad_model(tmp_path):
    """Run the repository's .pre-commit-hooks.yaml through the real pre-commit framework on a temporary repo."""
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    repo = tmp_path / "user-repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    shutil.copy(TFLITE, repo / "model.tflite")
    (repo / "pyproject.toml").write_text("[tool.edgefit]\ndevice = \"coral\"\nmax-cpu-ops = 0\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    run = [pre_commit, "try-repo", str(REPO), "edgefit-check", "--files", "model.tflite"]
    r = subprocess.run(run, cwd=repo, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 ops on the CPU > max-cpu-ops 0" in r.stdout
    (repo / "pyproject.toml").write_text("[tool.edgefit]\ndevice = \"coral\"\nmax-cpu-ops = 2\n")
    r = subprocess.run(run, cwd=repo, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr


def test_input_shape_from_pyproject(tmp_path):
    decoder = SAMPLES / "tiny_decoder.onnx"  # dynamic seq: rejected by the Edge TPU until it is fixed
    r = run_edgefit("check", decoder, "--require", "partial", cwd=tmp_path)
    assert r.returncode == 1 and "verdict rejected" in r.stdout
    (tmp_path / "pyproject.toml").write_text('[tool.edgefit]\nrequire = "partial"\ninput-shape = { seq = 16 }\n')
    r = run_edgefit("check", decoder, "--format", "json", cwd=tmp_path)
    d = json.loads(r.stdout)
    assert d["results"][0]["verdict"] != "rejected", r.stdout + r.stderr


def test_default_policy_fails_models_the_device_cannot_run(tmp_path):
    assert run_edgefit("check", TFLITE, cwd=tmp_path).returncode == 0  # partial: passes
    r = run_edgefit("check", SAMPLES / "tiny_decoder.onnx", cwd=tmp_path)  # dynamic seq: rejected
    assert r.returncode == 1 and "verdict rejected, require partial" in r.stdout
