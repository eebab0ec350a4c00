"""The device catalog (device_specs/*.yaml), its loader and validator, and --set overrides."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edgefit import devices
from edgefit.devices import (OVERRIDE_SOURCE, SCHEMA, DeviceSpec, Figure, Int, list_devices, load_device,
                             parse_set_option)
from edgefit.errors import SpecError

REPO = Path(__file__).resolve().parents[1]
SPEC_FILES = sorted((REPO / "device_specs").glob("*.yaml"))
EXPECTED_IDS = {
    "coral-usb", "coral-usb2", "coral-pcie", "coral-devboard", "hailo-8", "hailo-8l", "hailo-10h",
    "jetson-orin-nano-4gb", "jetson-orin-nano-8gb", "jetson-orin-nano-8gb-super", "jetson-orin-nx-16gb",
    "jetson-agx-orin-64gb", "rpi5", "rpi5-16gb", "rpi-ai-hat-plus-2",
    "apple-m1", "apple-m2", "apple-m3", "apple-m4", "x86-ddr5", "tpu-v5e",
}
CORAL_KEYS = ("memory.sram_bytes", "memory.param_cache_bytes", "compute.peak_tops_int8", "coral.compiler_version",
              "coral.min_runtime", "toolchain.partitioning", "toolchain.segments", "host_link.type")
MIB = 1024 * 1024


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def coral_yaml(**replace: str) -> str:
    """coral-usb.yaml's text with its id changed to 'mine' and any further exact-text replacements."""
    text = (REPO / "device_specs" / "coral-usb.yaml").read_text(encoding="utf-8").replace("id: coral-usb", "id: mine")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


# ------------------------------------------------------------------------------------------- the catalog
def test_catalog_has_every_device_sorted():
    specs = list_devices()
    assert [s.id for s in specs] == sorted(EXPECTED_IDS)
    assert {p.stem for p in SPEC_FILES} == EXPECTED_IDS


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_every_bundled_spec_loads_and_validates(path: Path):
    spec = devices.load_file(path)
    assert spec.id == path.stem
    assert spec.family in devices.FAMILIES
    assert spec.name and spec.get("description")
    for key in ("toolchain.name", "toolchain.dialect", "toolchain.version", "toolchain.partitioning", "host_link.type"):
        assert spec.get(key), key
    assert spec.get("precisions")
    assert load_device(spec.id).data == spec.data


def _numbers_outside_figures(node, path=""):
    """Every number in a raw YAML tree that is neither a figure's value nor a declared integer setting."""
    if isinstance(node, dict):
        if isinstance(SCHEMA.get(path), Figure):
            return []  # checked by test_every_figure_has_a_source
        return [n for k, v in node.items() for n in _numbers_outside_figures(v, f"{path}.{k}" if path else k)]
    if isinstance(node, list):
        return [n for v in node for n in _numbers_outside_figures(v, path)]
    if isinstance(node, (int, float)) and not isinstance(node, bool) and not isinstance(SCHEMA.get(path), Int):
        return [f"{path}={node}"]
    return []


def _figures(node, path=""):
    if isinstance(node, dict):
        if isinstance(SCHEMA.get(path), Figure):
            yield path, node
        else:
            for k, v in node.items():
                yield from _figures(v, f"{path}.{k}" if path else k)


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_every_figure_has_a_source(path: Path):
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert _numbers_outside_figures(raw) == []
    figures = list(_figures(raw))
    assert figures, "a spec with no figure at all"
    for key, fig in figures:
        assert isinstance(fig.get("source"), str) and len(fig["source"].strip()) > 10, key
        assert fig.get("unit") == SCHEMA[key].unit, key
        assert fig.get("verified", True) in (True, False), key
        spec = devices.load_file(path)
        assert spec.source(key) == fig["source"]


def test_aliases_are_unique_and_resolve():
    seen = {}
    for spec in list_devices():
        for name in [spec.id, *spec.aliases]:
            assert name not in seen, f"{name} used by {seen[name]} and {spec.id}"
            seen[name] = spec.id
            assert load_device(name).id == spec.id
    assert load_device("coral").id == "coral-usb"
    assert load_device("CORAL").id == "coral-usb"


# ------------------------------------------------------------------------------------------- Coral facts
@pytest.mark.parametrize("device_id, link", [("coral-usb", "usb3"), ("coral-usb2", "usb2"), ("coral-pcie", "pcie"),
                                             ("coral-devboard", "on_module")])
def test_coral_specs(device_id: str, link: str):
    spec = load_device(device_id)
    for key in CORAL_KEYS:
        assert spec.get(key) is not None, key
    sram = spec.get("memory.sram_bytes")
    assert 7.5 * MIB < sram <= 8.5 * MIB  # Coral's ~8 MB, never the untraceable 4 MB
    assert "coral.ai/docs/edgetpu/pipeline" in spec.source("memory.sram_bytes")
    budget = spec.get("memory.param_cache_bytes")
    assert 7.9 * MIB < budget <= sram
    assert "7.98 MiB" in spec.source("memory.param_cache_bytes")
    assert spec.get("compute.peak_tops_int8") == 4
    assert spec.get("coral.compiler_version") == "16.0"
    assert spec.get("coral.min_runtime") == 14 and isinstance(spec.get("coral.min_runtime"), int)
    assert spec.get("toolchain.partitioning") == "single_subgraph"
    assert spec.get("toolchain.segments") == 1
    assert spec.get("toolchain.dialect") == "tflite"
    assert spec.get("toolchain.name") == "edgetpu_compiler"
    assert spec.get("host_link.type") == link
    assert spec.get("precisions") == ["int8", "uint8"]


def test_coral_usb_links_are_ordered():
    usb3, usb2 = load_device("coral-usb"), load_device("coral-usb2")
    assert usb3.get("host_link.signalling_gbit_s") > usb2.get("host_link.signalling_gbit_s")
    assert usb3.get("host_link.effective_gb_s") > usb2.get("host_link.effective_gb_s")


def test_other_families_carry_their_facts():
    assert load_device("hailo-8").get("compute.peak_tops_int8") == 26
    assert load_device("hailo-8l").get("compute.peak_tops_int8") == 13
    assert load_device("hailo-10h").get("compute.peak_tops_int4") == 40
    assert load_device("hailo-10h").figure("compute.peak_tops_int8")["verified"] is False
    assert load_device("hailo-8").get("hailo.llm_supported") is False
    agx = load_device("agx-orin")
    assert agx.get("memory.bandwidth_gb_s") == 204.8 and agx.get("jetson.dla_cores") == 2
    assert agx.get("toolchain.dialect") == "onnx" and agx.get("toolchain.name") == "tensorrt"
    assert load_device("jetson-orin-nano-8gb").get("jetson.super.bandwidth_gb_s") == 102
    assert load_device("jetson-orin-nano-4gb").get("jetson.dla_cores") == 0
    assert load_device("rpi5").get("memory.bandwidth_gb_s") == 17.1
    assert load_device("apple-m4").get("memory.bandwidth_gb_s") == 120
    assert load_device("x86-ddr5").get("memory.bandwidth_gb_s") == 89.6
    tpu = load_device("tpu-v5e")
    assert tpu.get("memory.bandwidth_gb_s") == 819 and tpu.get("compute.peak_tflops_bf16") == 197


# ------------------------------------------------------------------------------------------- DeviceSpec API
def test_get_and_source():
    spec = load_device("coral-usb")
    assert isinstance(spec, DeviceSpec) and spec.path.endswith("coral-usb.yaml")
    assert spec.get("memory.sram_bytes") == 8 * MIB
    assert spec.get("memory.sram_bytes.value") == 8 * MIB
    assert spec.get("memory.size_bytes") is None
    assert spec.get("memory.size_bytes", 0) == 0
    assert spec.get("nothing.here", "d") == "d"
    assert spec.get("toolchain") == spec.data["toolchain"]
    assert spec.source("memory.sram_bytes").startswith("https://coral.ai/")
    assert spec.source("coral.min_runtime") is None  # a setting, not a figure
    assert spec.source("memory.size_bytes") is None
    assert "coral" in spec.aliases


def test_catalog_copies_are_independent():
    spec = load_device("coral-usb")
    spec.data["memory"]["sram_bytes"]["value"] = 1
    assert load_device("coral-usb").get("memory.sram_bytes") == 8 * MIB


# ------------------------------------------------------------------------------------------- unknown ids, user files
def test_unknown_id_lists_known_ids_and_suggests():
    with pytest.raises(SpecError) as err:
        load_device("coral-usbb")
    msg = str(err.value)
    assert "unknown device 'coral-usbb'" in msg and "did you mean 'coral-usb'" in msg
    for known in ("coral-usb", "hailo-8", "tpu-v5e"):
        assert known in msg
    with pytest.raises(SpecError, match="Known devices: apple-m1"):
        load_device("zzzzzz")


def test_user_yaml_path(tmp_path: Path):
    path = write(tmp_path, "mine.yaml", coral_yaml(**{"name: Coral USB Accelerator (USB 3)": "name: My Coral"}))
    spec = load_device(str(path))
    assert (spec.id, spec.name, spec.family, spec.path) == ("mine", "My Coral", "coral", str(path))
    assert load_device(path).id == "mine"
    assert spec.get("memory.sram_bytes") == 8 * MIB


def test_user_yaml_missing_file(tmp_path: Path):
    with pytest.raises(SpecError, match="no such device spec file") as err:
        load_device(str(tmp_path / "nope.yaml"))
    assert "nope.yaml" in str(err.value)


def test_user_yaml_id_must_match_file_name(tmp_path: Path):
    path = write(tmp_path, "other.yaml", coral_yaml())
    with pytest.raises(SpecError, match=r"other\.yaml: field id: expected 'other'"):
        load_device(str(path))


# ------------------------------------------------------------------------------------------- bad files
@pytest.mark.parametrize("old, new, message", [
    ("    value: 8388608\n", "    value: abc\n", "field memory.sram_bytes: expected a number, got 'abc'"),
    ("    value: 8388608\n", "    value: -1\n", "field memory.sram_bytes: expected a number >= 0, got -1"),
    ("    value: 8388608\n", "    value: 8388608.5\n", "field memory.sram_bytes: expected an integer, got 8388608.5"),
    ("    unit: B\n    source: >-\n      https://coral.ai/docs/edgetpu/pipeline",
     "    unit: MiB\n    source: >-\n      https://coral.ai/docs/edgetpu/pipeline",
     "field memory.sram_bytes: expected unit 'B', got 'MiB'"),
    ("  min_runtime: 14\n", "  min_runtime: fourteen\n",
     "field coral.min_runtime: expected an integer, got 'fourteen'"),
    ("  min_runtime: 14\n", "", "field coral.min_runtime: missing (required for family coral)"),
    ("  compiler_version: \"16.0\"\n", "  compiler_version: 16.0\n",
     "field coral.compiler_version: expected a non-empty string, got 16.0 (quote it: '16.0')"),
    ("  partitioning: single_subgraph\n", "  partitioning: sometimes\n",
     "field toolchain.partitioning: expected one of single_subgraph, multi_subgraph, whole_graph, got 'sometimes'"),
    ("family: coral\n", "family: gpu\n", "field family: expected one of coral, hailo, jetson, cpu, tpu, got 'gpu'"),
    ("precisions: [int8, uint8]\n", "precisions: [int8, int3]\n", "field precisions: 'int3' is not one of"),
    ("  external_dram: false\n", "  external_dram: nope\n", "field memory.external_dram: expected true or false"),
    ("  external_dram: false\n", "  sram_size: 3\n", "field memory.sram_size: unknown field"),
    ("description: >-\n", "colour: blue\ndescription: >-\n", "field colour: unknown field"),
    ("  type: usb3\n", "  type: usb3\n  lanes: 4\n",
     "field host_link.lanes: expected a figure {value, unit, source}, got 4"),
    ("id: mine\n", "id: mine\nhailo:\n  hw_arch: hailo8\n",
     "field hailo: a 'hailo' block is only allowed in a family hailo spec"),
    ("name: Coral USB Accelerator (USB 3)\n", "", "field name: missing (required)"),
])
def test_bad_file_names_file_and_field(tmp_path: Path, old: str, new: str, message: str):
    path = write(tmp_path, "mine.yaml", coral_yaml(**{old: new}))
    with pytest.raises(SpecError) as err:
        load_device(str(path))
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_figure_without_source(tmp_path: Path):
    text = coral_yaml().replace(
        "  peak_tops_int8:\n    value: 4\n    unit: TOPS\n    source: >-\n",
        "  peak_tops_int8:\n    value: 4\n    unit: TOPS\n    note: >-\n")
    path = write(tmp_path, "mine.yaml", text)
    with pytest.raises(SpecError, match=r"mine\.yaml: field compute\.peak_tops_int8: every figure needs a source"):
        load_device(str(path))


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path):
    path = write(tmp_path, "mine.yaml", "id: mine\nname: [unclosed\nfamily: coral\n")
    with pytest.raises(SpecError) as err:
        load_device(str(path))
    assert str(err.value).startswith(f"{path}: YAML syntax error at line ")
    assert "line 3" in str(err.value) or "line 2" in str(err.value)


def test_duplicate_key_is_an_error(tmp_path: Path):
    path = write(tmp_path, "mine.yaml", "id: mine\nname: a\nname: b\n")
    with pytest.raises(SpecError, match=r"mine\.yaml: YAML syntax error at line 3, column 1: duplicate key 'name'"):
        load_device(str(path))


@pytest.mark.parametrize("text, message", [("", "expected a mapping of fields at the top level, got None"),
                                           ("- a\n- b\n", "expected a mapping of fields at the top level")])
def test_not_a_mapping(tmp_path: Path, text: str, message: str):
    with pytest.raises(SpecError, match=message):
        load_device(str(write(tmp_path, "mine.yaml", text)))


def test_not_utf8(tmp_path: Path):
    path = tmp_path / "mine.yaml"
    path.write_bytes(b"id: \xff\xfe\n")
    with pytest.raises(SpecError, match="not UTF-8"):
        load_device(str(path))


# ------------------------------------------------------------------------------------------- overrides
def test_override_replaces_value_and_source():
    spec = load_device("coral", {"memory.sram_bytes": 4 * MIB, "coral.min_runtime": 13})
    assert spec.get("memory.sram_bytes") == 4 * MIB
    assert spec.source("memory.sram_bytes") == OVERRIDE_SOURCE
    assert "8388608 B" in spec.figure("memory.sram_bytes")["note"]  # what it replaced stays visible
    assert spec.get("coral.min_runtime") == 13
    assert load_device("coral").get("memory.sram_bytes") == 8 * MIB  # the catalog is untouched


def test_override_of_a_schema_field_the_file_lacks():
    spec = load_device("rpi5", {"memory.usable_share": 0.9})
    assert spec.get("memory.usable_share") == 0.9
    assert spec.figure("memory.usable_share") == {"value": 0.9, "unit": "fraction", "source": OVERRIDE_SOURCE}


def test_override_of_settings_and_lists():
    spec = load_device("coral-usb", dict([parse_set_option("toolchain.partitioning=multi_subgraph"),
                                          parse_set_option("toolchain.segments=4"),
                                          parse_set_option("coral.compiler_version=15.0"),
                                          parse_set_option("precisions=[int8]"),
                                          parse_set_option("name=Coral on my Pi 3")]))
    assert spec.get("toolchain.partitioning") == "multi_subgraph"
    assert spec.get("toolchain.segments") == 4
    assert spec.get("coral.compiler_version") == "15.0"
    assert spec.get("precisions") == ["int8"]
    assert spec.name == "Coral on my Pi 3"


@pytest.mark.parametrize("overrides, message", [
    ({"memory.sram_bytes": "abc"}, "--set memory.sram_bytes: expected a number, got 'abc'"),
    ({"memory.sram_bytes": True}, "--set memory.sram_bytes: expected a number, got True"),
    ({"coral.min_runtime": 13.5}, "--set coral.min_runtime: expected an integer, got 13.5"),
    ({"toolchain.segments": 0}, "--set toolchain.segments: expected an integer >= 1, got 0"),
    ({"toolchain.partitioning": "many"}, "--set toolchain.partitioning: expected one of"),
    ({"memory.sram_kb": 8}, "--set memory.sram_kb: unknown field"),
    ({"memroy.sram_bytes": 8}, "did you mean 'memory.sram_bytes'?"),
    ({"memory": 8}, "--set memory: is a block of fields"),
    ({"id": "other"}, "--set id: cannot be overridden"),
    ({"family": "hailo"}, "--set family: cannot be overridden"),
    ({"hailo.hw_arch": "hailo8"},
     "--set hailo.hw_arch: applies only to family hailo devices; coral-usb is family coral"),
])
def test_bad_override(overrides: dict, message: str):
    with pytest.raises(SpecError) as err:
        load_device("coral", overrides)
    assert message in str(err.value)
    assert "coral-usb.yaml" in str(err.value)


def test_parse_set_option():
    assert parse_set_option("coral.min_runtime=13") == ("coral.min_runtime", 13)
    assert parse_set_option(" memory.bandwidth_gb_s = 102.4 ") == ("memory.bandwidth_gb_s", 102.4)
    assert parse_set_option("memory.sram_bytes=8e6") == ("memory.sram_bytes", 8e6)
    assert parse_set_option("memory.sram_bytes=abc") == ("memory.sram_bytes", "abc")
    assert parse_set_option("coral.compiler_version=16.0") == ("coral.compiler_version", "16.0")
    assert parse_set_option("coral.compiler_version='16.10'") == ("coral.compiler_version", "16.10")
    assert parse_set_option("memory.external_dram=true") == ("memory.external_dram", True)
    assert parse_set_option("precisions=[int8, int4]") == ("precisions", ["int8", "int4"])
    assert parse_set_option("description=a: b") == ("description", "a: b")
    assert parse_set_option("x.y=[unclosed") == ("x.y", "[unclosed")
    assert load_device("coral", dict([parse_set_option("memory.sram_bytes=8e6")])).get("memory.sram_bytes") == 8_000_000


@pytest.mark.parametrize("text, message", [("coral.min_runtime", "expected KEY=VALUE"), ("=3", "expected KEY=VALUE"),
                                           ("a..b=3", "expected KEY=VALUE"), ("coral.min_runtime=", "no value")])
def test_parse_set_option_errors(text: str, message: str):
    with pytest.raises(SpecError, match=message):
        parse_set_option(text)


# ------------------------------------------------------------------------------------------- packaging
def test_loader_prefers_the_packaged_catalog():
    assert devices.SPEC_DIRS[0] == Path(devices.__file__).resolve().parent / "device_specs"
    assert devices.catalog_dir() in devices.SPEC_DIRS


def test_build_ships_the_catalog_inside_the_package(tmp_path: Path):
    """What a wheel gets: setuptools' build_py must put device_specs/*.yaml at edgefit/device_specs/."""
    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("edgefit", "device_specs"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, src / name)
    lib = tmp_path / "lib"
    proc = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
                           "--build-lib", str(lib)], cwd=src, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    shipped = {p.name for p in (lib / "edgefit" / "device_specs").glob("*.yaml")}
    assert shipped == {p.name for p in SPEC_FILES}
    assert (lib / "edgefit" / "devices.py").is_file()
    for pkg in (REPO / "edgefit").rglob("__init__.py"):  # every subpackage is found, none needs listing
        assert (lib / pkg.relative_to(REPO)).is_file(), pkg


# ------------------------------------------------------------------------------------------- the docs
DOCS = REPO / "docs" / "device-specs.md"


def test_docs_describe_every_field():
    text = DOCS.read_text(encoding="utf-8")
    missing = [key for key in SCHEMA if not key.endswith(".note") and f"`{key}`" not in text]
    assert missing == []


def test_docs_example_spec_loads(tmp_path: Path):
    text = DOCS.read_text(encoding="utf-8")
    example = next(block.split("```")[0] for block in text.split("```yaml\n")[1:] if "id: my-coral-on-pi3" in block)
    path = write(tmp_path, "my-coral-on-pi3.yaml", example)
    spec = load_device(str(path))
    assert (spec.id, spec.family, spec.get("host_link.type"), spec.get("coral.min_runtime")) == \
        ("my-coral-on-pi3", "coral", "usb2", 13)
