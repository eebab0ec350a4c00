"""Device rules: small check functions whose docstring is the message the user reads.

The pattern follows Vela's ``tflite_supported_operators.py``: a rule is one small function that returns the
concrete detail when the op breaks it (``None`` when it does not), and its docstring is the human-readable
rule, with ``{placeholders}`` filled from the *same* constants the check uses. So the message, the check and
the generated device documentation can never disagree.

    @rule("CORAL-RANK", params={"max_dims": MAX_INNER_DIMS}, status=STATUS_RANK, hint="...")
    def tensor_rank(op, graph, ctx):
        \"\"\"Only the {max_dims} innermost dimensions of a tensor may be larger than 1.\"\"\"
        ...
        return f"tensor {name} has shape {shape}"   # or None when the op complies

Rules are registered by code in one registry (``all_rules``, ``get_rule``) so ``edgefit explain CODE`` and
the docs generators find every rule of every device. Evaluation order is declaration order: the first error
finding of an op gives the op its status, the way a compiler reports one reason per op.
"""

from __future__ import annotations

import importlib
import inspect
import operator
import re
from dataclasses import dataclass, field, fields
from functools import cached_property
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NamedTuple

from edgefit.graph import Op, OpGraph

#: ``applies_to`` value for rules that look at every op type.
ALL: frozenset[str] | None = None

SEVERITIES = ("error", "warning", "info")

#: Modules that declare rules; imported on first registry access so ``all_rules()`` is complete.
RULE_MODULES = ("edgefit.rules.coral", "edgefit.rules.cpu", "edgefit.rules.tpu", "edgefit.rules.jetson",
                "edgefit.rules.hailo")



class Detail(NamedTuple):
    """What a check returns when it needs to name the offending tensor as well as say what is wrong."""

    text: str
    tensor: str | None = None


#: A rule's check: ``(op, graph, ctx) -> str | Detail | None``; ``op`` is ``None`` for model-level rules.
CheckFn = Callable[..., "str | Detail | None"]


@dataclass(slots=True)
class Finding:
    """One broken (or noteworthy) rule, for one op or for the whole model."""

    code: str
    #: "error" blocks mapping of the op (or, for a model-level finding, the whole model); else advisory.
    severity: str
    #: The rule's filled message plus the concrete detail of this case.
    message: str
    op: int | None = None
    tensor: str | None = None
    hint: str | None = None
    #: The toolchain's own status text this finding corresponds to, when it prints one.
    status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Every field is a str, int or None: a plain dict is what dataclasses.asdict returns, ten times faster.
        return {"code": self.code, "severity": self.severity, "message": self.message, "op": self.op,
                "tensor": self.tensor, "hint": self.hint, "status": self.status}


@dataclass(frozen=True)
class Rule:
    code: str
    #: The docstring, with ``{name}`` placeholders for ``params``.
    template: str
    params: Mapping[str, Any]
    check: CheckFn
    #: Op types the rule looks at; ``None`` (``ALL``) for every type.
    applies_to: frozenset[str] | None
    severity: str = "error"
    hint: str | None = None
    status: str | None = None
    #: "op" rules run once per op; "model" rules once per graph with ``op=None``.
    scope: str = "op"
    #: Op types a generic rule skips because a specific rule covers them (Vela's constraint exceptions).
    exempt: frozenset[str] = field(default_factory=frozenset)

    @cached_property
    def doc(self) -> str:
        """The user-facing rule text, filled from the constants the check uses."""
        return self.template.format(**{k: _format_param(v) for k, v in self.params.items()})

    def applies(self, op: Op) -> bool:
        if op.type in self.exempt:
            return False
        return self.applies_to is None or op.type in self.applies_to

    def evaluate(self, op: Op | None, graph: OpGraph, ctx: Any) -> Finding | None:
        detail = self.check(op, graph, ctx)
        if detail is None:
            return None
        if isinstance(detail, str):
            detail = Detail(detail)
        return Finding(code=self.code, severity=self.severity, message=f"{self.doc} ({detail.text})",
                       op=None if op is None else op.index, tensor=detail.tensor, hint=self.hint,
                       status=self.status)


_REGISTRY: dict[str, Rule] = {}


def rule(code: str, *, applies_to: Iterable[str] | None = ALL, params: Mapping[str, Any] | None = None,
         severity: str = "error", hint: str | None = None, status: str | None = None, scope: str = "op",
         exempt: Iterable[str] = ()) -> Callable[[CheckFn], Rule]:
    """Declare a rule; the decorated function's docstring becomes its message template."""
    if severity not in SEVERITIES:
        raise ValueError(f"rule {code}: severity must be one of {SEVERITIES}, not {severity!r}")
    if scope not in ("op", "model"):
        raise ValueError(f"rule {code}: scope must be 'op' or 'model', not {scope!r}")

    def register(fn: CheckFn) -> Rule:
        doc = inspect.getdoc(fn)
        if not doc:
            raise ValueError(f"rule {code}: the check function needs a docstring (it is the message)")
        if code in _REGISTRY:
            raise ValueError(f"rule code {code} is declared twice")
        r = Rule(code=code, template=" ".join(doc.split()), params=dict(params or {}), check=fn,
                 applies_to=None if applies_to is None else frozenset(applies_to), severity=severity,
                 hint=hint, status=status, scope=scope, exempt=frozenset(exempt))
        _ = r.doc  # fill the template now: a placeholder without a param fails at import, not in a report
        _REGISTRY[code] = r
        return r

    return register


def _load_rule_modules() -> None:
    for name in RULE_MODULES:
        importlib.import_module(name)


def all_rules(prefix: str = "") -> list[Rule]:
    """Every registered rule whose code starts with ``prefix`` (e.g. ``"CORAL-"``), in declaration order."""
    _load_rule_modules()
    return [r for code, r in _REGISTRY.items() if code.startswith(prefix)]


def get_rule(code: str) -> Rule:
    _load_rule_modules()
    try:
        return _REGISTRY[code.upper()]
    except KeyError:
        raise KeyError(f"no rule with code {code!r}") from None


#: The evaluations ``evaluate`` may reuse in this context (see ``shared_evaluations``); None: none.
_SHARED: ContextVar[dict[Any, Any] | None] = ContextVar("edgefit_shared_rule_evaluations", default=None)


@contextmanager
def shared_evaluations(store: dict[Any, Any]) -> Iterator[None]:
    """Within the block, ``evaluate`` runs one list of rules over one graph with one context once, however many
    devices ask, and hands out copies of the findings after that: checks are functions of (op, graph, context)
    alone, so two devices whose contexts are equal (the four Coral devices compile alike) get the same findings.
    Only hashable contexts (frozen dataclasses of plain values) are shared. ``store`` keeps the evaluations and
    their graphs, e.g. one per ``api.Analysis``, whose graphs are not modified once built."""
    token = _SHARED.set(store)
    try:
        yield
    finally:
        _SHARED.reset(token)


def evaluate(rules: Iterable[Rule], graph: OpGraph, ctx: Any) -> tuple[dict[int, list[Finding]], list[Finding]]:
    """Run ``rules`` over ``graph``: findings per op index (every op has an entry) and model-level findings."""
    rules = list(rules)
    store = _SHARED.get()
    key = None
    if store is not None:
        key = (id(graph), tuple(id(r) for r in rules), ctx)
        try:
            hash(key)
        except TypeError:  # a context with a list, dict or unfrozen dataclass in it: evaluated each time
            key = None
    if key is not None and key in store:
        _graph, per_op, model_findings = store[key]  # the stored graph keeps its id from being reused
        return _copies(per_op), [_copy(f) for f in model_findings]
    per_op, model_findings = _evaluate(rules, graph, ctx)
    if key is not None:
        store[key] = (graph, _copies(per_op), [_copy(f) for f in model_findings])
    return per_op, model_findings


_FINDING_FIELDS = operator.attrgetter(*(f.name for f in fields(Finding)))


def _copy(f: Finding) -> Finding:
    return Finding(*_FINDING_FIELDS(f))  # what copy.copy gives, without its pickle protocol (5x slower)


def _copies(per_op: dict[int, list[Finding]]) -> dict[int, list[Finding]]:
    return {i: [_copy(f) for f in fs] for i, fs in per_op.items()}


def _evaluate(rules: list[Rule], graph: OpGraph, ctx: Any) -> tuple[dict[int, list[Finding]], list[Finding]]:
    model_findings = [f for r in rules if r.scope == "model" if (f := r.evaluate(None, graph, ctx))]
    per_op: dict[int, list[Finding]] = {}
    by_type: dict[str, list[Rule]] = {}  # the rules that look at each op type, in declaration order
    for op in graph.ops:
        if op.type not in by_type:
            by_type[op.type] = [r for r in rules if r.scope == "op" and r.applies(op)]
        per_op[op.index] = [f for r in by_type[op.type] if (f := r.evaluate(op, graph, ctx))]
    return per_op, model_findings


def first_error(findings: Iterable[Finding]) -> Finding | None:
    """The finding that decides an op's fate: the first error, in rule declaration order."""
    return next((f for f in findings if f.severity == "error"), None)


def _format_param(value: Any) -> str:
    if isinstance(value, (set, frozenset, list, tuple)):
        return ", ".join(str(v) for v in sorted(value, key=str))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)



#: Where each family's generated rule reference lives in a source checkout: ``docs/devices/<family>.md``.
DOCS_DIR = Path(__file__).resolve().parents[2] / "docs" / "devices"


def write_doc(text: str, path: str | Path) -> Path:
    """Write a generated rule reference (a family module's ``generate_docs()``) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def parse_version(text: str) -> tuple[int, ...]:
    """A toolchain version as numbers: ``"16.0.384591198"`` -> ``(16, 0, 384591198)``, ``"10.3"`` -> ``(10, 3)``."""
    parts = tuple(int(p) for p in re.findall(r"\d+", text))
    if not parts:
        raise ValueError(f"not a version number: {text!r}")
    return parts
