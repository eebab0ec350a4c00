"""The rule registry's own contracts (evaluation, findings), independent of any device family."""

from dataclasses import asdict, dataclass, fields

from edgefit.graph import Op, OpGraph, Tensor
from edgefit.rules import Finding, Rule, evaluate, shared_evaluations


def test_finding_to_dict_has_every_field_in_order():
    f = Finding(code="X-CODE", severity="warning", message="m", op=3, tensor="t", hint="h", status="s")
    d = f.to_dict()
    assert d == asdict(f)
    assert list(d) == [x.name for x in fields(Finding)]



def _counting_rule(calls: list):
    def check(op, graph, ctx):
        calls.append(op.index)
        return f"limit {ctx.limit}" if op.type == "Big" else None

    return Rule(code="TEST-BIG", template="Big ops are over the limit.", params={}, check=check,
                applies_to=None)


@dataclass(frozen=True)
class _Ctx:
    limit: int


@dataclass
class _MutableCtx:
    limit: int


def _graph() -> OpGraph:
    ops = [Op(0, "a", "Big", "ai.onnx", 17, ["x"], ["y"]), Op(1, "b", "Small", "ai.onnx", 17, ["y"], ["z"])]
    return OpGraph("g", ops, {t: Tensor(t, "float32", (1,)) for t in "xyz"}, ["x"], ["z"])


def test_devices_with_equal_contexts_share_one_evaluation():
    calls: list[int] = []
    rules, graph, store = [_counting_rule(calls)], _graph(), {}
    with shared_evaluations(store):
        first, _ = evaluate(rules, graph, _Ctx(3))
        second, _ = evaluate(rules, graph, _Ctx(3))
        other, _ = evaluate(rules, graph, _Ctx(4))
    assert calls == [0, 1, 0, 1]  # the equal context was not evaluated again; the different one was
    assert [f.to_dict() for f in second[0]] == [f.to_dict() for f in first[0]]
    assert second[0][0] is not first[0][0]  # each caller owns its findings
    assert other[0][0].message.endswith("(limit 4)")


def test_unhashable_contexts_and_calls_outside_the_scope_are_evaluated_each_time():
    calls: list[int] = []
    rules, graph = [_counting_rule(calls)], _graph()
    with shared_evaluations({}):
        evaluate(rules, graph, _MutableCtx(3))
        evaluate(rules, graph, _MutableCtx(3))
    evaluate(rules, graph, _Ctx(3))
    evaluate(rules, graph, _Ctx(3))
    assert calls == [0, 1] * 4
