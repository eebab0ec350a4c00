"""ONNX external data that points anywhere but a regular file inside the model's folder is reported and never
opened (the CVE-2024-27318 / CVE-2024-27319 class: onnx's own loader followed such paths); and no weight byte
is read by analyze or inspect, whose answers need only the header."""

from __future__ import annotations

import builtins
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
from conftest import REPO
from onnx import TensorProto, helper

import edgefit
from edgefit.errors import ExternalDataError
from edgefit.inspect import inspect_model
from edgefit.read import read_model
from edgefit.read.onnx import external_data_path


def _model(folder: Path, location: str, name: str = "m.onnx") -> Path:
    """x @ w, with w's 16 floats declared to live in ``location``."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], [0.0] * 16)
    w.ClearField("float_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "64")):
        e = w.external_data.add()
        e.key, e.value = k, v
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    path = folder / name
    path.write_bytes(m.SerializeToString())
    return path


def _escapes(tmp_path: Path) -> dict[str, tuple[Path, str, str]]:
    """Every path-escape form: name -> (model, location as written, what the note must say)."""
    models = tmp_path / "models"
    models.mkdir()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"s" * 64)
    (models / "sub").mkdir()
    (models / "to_secret.bin").symlink_to(secret)
    (models / "to_zero.bin").symlink_to("/dev/zero")
    (models / "to_parent").symlink_to(tmp_path)
    os.mkfifo(models / "fifo.bin")
    (models / "loop_a").symlink_to(models / "loop_b")
    (models / "loop_b").symlink_to(models / "loop_a")
    forms = {
        "absolute": (str(secret), "absolute path"),
        "absolute_dev_zero": ("/dev/zero", "absolute path"),
        "absolute_dev_urandom": ("/dev/urandom", "absolute path"),
        "dotdot": ("../secret.bin", "outside the model's directory"),
        "dotdot_inside_sub": ("sub/../../secret.bin", "outside the model's directory"),
        "symlink_file_outside": ("to_secret.bin", "outside the model's directory"),
        "symlink_dir_outside": ("to_parent/secret.bin", "outside the model's directory"),
        "symlink_to_device": ("to_zero.bin", "outside the model's directory"),
        "fifo": ("fifo.bin", "not a regular file"),
        "directory": ("sub", "not a regular file"),
        "symlink_loop": ("loop_a", "cannot be resolved"),
        "nul_byte": ("w\x00.bin", "not a valid file name"),
        "overlong": ("a" * 300 + ".bin", "not a valid file name"),
        "empty": ("", "is empty"),
    }
    return {name: (_model(models, loc, f"{name}.onnx"), loc, says) for name, (loc, says) in forms.items()}


def _guard_opens(monkeypatch, allowed: set[Path]) -> list[str]:
    """Record every file opened through open/io.open/os.open; fail at once on one outside ``allowed`` folders."""
    opened: list[str] = []

    def check(file):
        if isinstance(file, int):
            return
        p = Path(os.fsdecode(file))
        opened.append(str(p))
        if not any(p.resolve().is_relative_to(a) for a in allowed):
            raise AssertionError(f"edgefit opened {p}")

    real_open, real_io_open, real_os_open = builtins.open, io.open, os.open

    def guarded_open(file, *a, **k):
        check(file)
        return real_open(file, *a, **k)

    def guarded_io_open(file, *a, **k):
        check(file)
        return real_io_open(file, *a, **k)

    def guarded_os_open(file, *a, **k):
        check(file)
        return real_os_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_io_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    return opened


def test_every_escape_form_is_reported_and_never_opened(tmp_path, monkeypatch):
    cases = _escapes(tmp_path)
    import site
    import sysconfig

    # What edgefit may open: the model files themselves and installed code / data (device specs, schemas).
    code = {Path(p).resolve() for p in (*site.getsitepackages(), sysconfig.get_paths()["stdlib"], REPO / "edgefit",
                                        REPO / "device_specs")}
    edgefit.analyze(cases["absolute"][0])  # warm the caches (catalog, schemas) before guarding
    for name, (model, location, says) in cases.items():
        opened = _guard_opens(monkeypatch, {*code, model.resolve()})
        m = read_model(model)
        notes = [n for n in m.notes if "external data location" in n]
        assert len(notes) == 1 and "tensor 'w'" in notes[0] and says in notes[0], (name, m.notes)
        assert "never read it" in notes[0]
        report = edgefit.analyze(model, device="coral")
        assert any("external data location" in n for n in report.notes), name
        json.loads(report.to_json())
        edgefit.analyze(model, device="rpi5")
        d = inspect_model(model).to_dict()
        assert d["external_data"][0]["present"] is False, (name, d["external_data"])
        with pytest.raises(ExternalDataError) as err:  # the one way edgefit reads weight bytes refuses it
            external_data_path(m, m.main.tensors["w"])
        assert "tensor 'w'" in str(err.value) and says in str(err.value) and "\n" not in str(err.value), name
        assert all(Path(p).resolve() == model.resolve() or "site-packages" in p or "edgefit" in p for p in opened)
        monkeypatch.undo()


def test_fifo_location_does_not_block_the_cli(tmp_path):
    """Opening a FIFO blocks until a writer comes: a CLI that returns at all did not open it."""
    os.mkfifo(tmp_path / "weights.bin")
    model = _model(tmp_path, "weights.bin")
    for args in (["inspect", model], ["analyze", model], ["analyze", model, "--device", "hailo-8"]):
        r = subprocess.run([sys.executable, "-m", "edgefit", *map(str, args)], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        assert "weights.bin" in r.stdout and "not a regular file" in r.stdout


def test_inside_and_present_weights_are_still_not_read(tmp_path, monkeypatch):
    """A well-formed external file inside the folder is reported present, yet analyze and inspect never open it."""
    model = _model(tmp_path, "w.bin")
    (tmp_path / "w.bin").write_bytes(b"\0" * 64)
    edgefit.analyze(model)
    opened = _guard_opens(monkeypatch, {Path("/")})
    edgefit.analyze(model)
    edgefit.analyze(model, device="jetson-orin-nano-8gb")
    d = inspect_model(model).to_dict()
    monkeypatch.undo()
    assert d["external_data"] == [{"location": "w.bin", "tensors": 1, "bytes": 64, "inside_model_dir": True,
                                   "present": True}]
    assert str(tmp_path / "w.bin") not in opened and not any(p.endswith("w.bin") for p in opened)
    assert external_data_path(read_model(model), read_model(model).main.tensors["w"]) == tmp_path / "w.bin"


def test_onnx_load_itself_would_follow_the_path(tmp_path):
    """Why edgefit never lets onnx load external data: onnx's loader does read what the location names."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\x00\x00\x80\x3f" * 16)
    (tmp_path / "models").mkdir()
    model = _model(tmp_path / "models", "../secret.bin")
    try:
        loaded = onnx.load(str(model))  # onnx >= 1.16 refuses; older versions read secret.bin
    except Exception:
        return
    assert loaded.graph.initializer[0].raw_data == secret.read_bytes()  # pragma: no cover - old onnx only


@pytest.mark.parametrize("key,value", [("offset", "-5"), ("offset", "x"), ("length", "1e9"), ("length", "-1")])
def test_bad_external_offset_or_length_is_exit_2(tmp_path, key, value):
    from conftest import run_edgefit

    model = _model(tmp_path, "w.bin")
    m = onnx.load(str(model), load_external_data=False)
    for e in m.graph.initializer[0].external_data:
        if e.key == key:
            e.value = value
    model.write_bytes(m.SerializeToString())
    r = run_edgefit("inspect", model)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"tensor 'w': external data {key}" in r.stderr and "Traceback" not in r.stderr
