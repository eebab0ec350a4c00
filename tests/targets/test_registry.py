"""Device families are plug-ins: one registry, one interface, no family branches outside family modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from edgefit.devices import FAMILIES, list_devices
from edgefit.targets import FAMILY_MODULES, analyzed_families, get_target

PACKAGE = Path(__file__).resolve().parents[2] / "edgefit"
#: Modules every family goes through; none of them may ask which family a device is.
SHARED_MODULES = ["api.py", "compare.py", "cli.py", "check.py", "report"]


def _family_comparisons(path: Path) -> list[str]:
    """Source of every comparison of a family (``x.family``, a name ``family``) with a family name in ``path``.

    Membership in the registry (``spec.family in analyzed_families()``) is not a branch and is allowed."""
    tree = ast.parse(path.read_text())
    hits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        parts = [node.left, *node.comparators]
        is_family = any(isinstance(p, ast.Attribute) and p.attr == "family" or isinstance(p, ast.Name)
                        and "family" in p.id for p in parts)
        names = {p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)}
        literals = any(isinstance(p, (ast.Tuple, ast.List, ast.Set)) for p in parts)
        if is_family and (names & set(FAMILIES) or literals):
            hits.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return hits


def test_shared_modules_hold_no_family_branches():
    files = [p for name in SHARED_MODULES for p in ((PACKAGE / name).rglob("*.py") if (PACKAGE / name).is_dir()
                                                    else [PACKAGE / name])]
    hits = [h for f in files for h in _family_comparisons(f)]
    assert not hits, "family branches belong in edgefit/targets/<family>.py:\n" + "\n".join(hits)


def test_the_branch_detector_can_fail(tmp_path):
    p = tmp_path / "x.py"
    p.write_text("if spec.family == 'coral':\n    pass\nif family in ('hailo', 'jetson'):\n    pass\n"
                 "if op.placement == 'cpu' or spec.family in analyzed_families():\n    pass\n")
    assert len(_family_comparisons(p)) == 2


@pytest.mark.parametrize("family", sorted(FAMILY_MODULES))
def test_every_registered_target_implements_the_interface(family):
    target = get_target(family)
    assert target.family == family
    assert callable(target.dialect) and callable(target.analyze)


def test_every_catalog_family_is_registered():
    catalog = {s.family for s in list_devices()}
    assert catalog <= set(analyzed_families()), catalog - set(analyzed_families())
