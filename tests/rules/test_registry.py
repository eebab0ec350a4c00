"""The rule registry's own contracts (evaluation, findings), independent of any device family."""

from dataclasses import asdict, fields

from edgefit.rules import Finding


def test_finding_to_dict_has_every_field_in_order():
    f = Finding(code="X-CODE", severity="warning", message="m", op=3, tensor="t", hint="h", status="s")
    d = f.to_dict()
    assert d == asdict(f)
    assert list(d) == [x.name for x in fields(Finding)]

