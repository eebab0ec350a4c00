"""The `edgefit` command's small subcommands, run as a user would."""

from __future__ import annotations

import json

from conftest import run_edgefit


def test_devices_lists_the_catalog_and_shows_one():
    r = run_edgefit("devices")
    assert r.returncode == 0
    for device in ("coral-usb", "coral-usb2", "coral-pcie", "coral-devboard", "hailo-8l", "jetson-orin-nano-8gb",
                   "rpi5", "apple-m4", "x86-ddr5", "tpu-v5e"):
        assert device in r.stdout
    r = run_edgefit("devices", "coral", "--format", "json")
    d = json.loads(r.stdout)
    assert d["id"] == "coral-usb" and "source" in d["memory"]["sram_bytes"]
    assert run_edgefit("devices", "coral-usb9").returncode == 2


def test_explain_rules_and_partition_reasons():
    r = run_edgefit("explain", "coral-rank")
    assert r.returncode == 0 and "3 innermost" in r.stdout and "Tensor has unsupported rank" in r.stdout
    r = run_edgefit("explain", "PARTITION-CUT")
    assert r.returncode == 0 and "More than one subgraph is not supported" in r.stdout
    r = run_edgefit("explain", "CORAL-RANC")
    assert r.returncode == 2 and "CORAL-RANK" in r.stderr


def test_help_lists_every_command():
    r = run_edgefit("--help")
    for cmd in ("analyze", "check", "devices", "explain", "inspect"):
        assert cmd in r.stdout
    r = run_edgefit("analyze", "--help")
    for flag in ("--device", "--set", "--input-shape", "--format", "--show-lowered", "edgetpu-log"):
        assert flag in r.stdout
