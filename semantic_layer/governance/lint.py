"""`semantic-layer lint`: governance rules over a project that loads, each with an id and a fix.

A project can be valid and still hard to trust: a metric nobody owns, two names for one number
(统一口径 is lost quietly), a strategic figure resting on an experimental one. Each rule here finds
one such problem and points at the YAML that has it. Rules are switched off and their severity
changed in `semantic_layer.yml` (`lint: {disable: [...], severity: {rule: error}}`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from sqlglot import exp
from sqlglot.errors import SqlglotError

from .. import definitions as d
from ..audit import audit_store
from ..compiler.metrics import MetricExpander
from ..errors import QueryError
from ..project import Project
from ..snippets import SnippetError
from ..state import state_dir
from .lineage import Lineage
from .usage import queried_metrics

RULES: tuple[str, ...] = get_args(d.LintRule)
DEFAULT_SEVERITY = {
    "missing-owner": "warning",
    "missing-tier": "warning",
    "missing-description": "warning",
    "deprecated-without-replacement": "warning",
    "duplicate-definition": "error",
    "name-collision": "error",
    "synonym-is-metric-name": "error",
    "strategic-on-experimental": "error",
    "thresholds-without-direction": "warning",
    "unused-metric": "warning",
}


@dataclass(frozen=True)
class Finding:
    """One rule broken by one metric, at a YAML node."""

    rule: str
    severity: str  # error | warning
    metric: str
    file: str
    line: int
    column: int
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}[{self.rule}]: {self.message} — {self.fix}"

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "metric": self.metric,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Hit:
    """What a rule found, before it is placed and given its severity."""

    metric: str
    at: tuple[str | int, ...]  # the YAML path under the metric
    message: str
    fix: str


class Context:
    """What the rules share: the project, its lineage and the audit log's answer."""

    def __init__(self, project: Project, queried: set[str] | None, window: str):
        self.project = project
        self.lineage = Lineage(project.graph)
        self.queried = queried  # None: no audit log
        self.window = window
        self.units: dict[Hashable, int] = {}  # the units met in expansions, numbered

    def active(self) -> Iterator[d.Metric]:
        return (m for m in self.project.metrics.values() if m.status == "active")


Rule = Callable[[Context], Iterator[Hit]]


def lint(project: Project, *, now: datetime | None = None, queried: set[str] | None = None) -> list[Finding]:
    """Every finding of the rules the project does not disable, in file and line order. `queried`
    replaces what the audit log says was asked for (None: read the log, if there is one)."""
    settings = project.settings.lint
    if queried is None and "unused-metric" not in settings.disable:
        since = (now or datetime.now(UTC)) - timedelta(seconds=d.parse_duration(settings.usage_window))
        queried = queried_metrics(audit_store(state_dir(project.settings.name), project.settings.audit), since)
    context = Context(project, queried, settings.usage_window)
    findings = []
    for rule, check in RULE_CHECKS.items():
        if rule in settings.disable:
            continue
        severity = settings.severity.get(rule, DEFAULT_SEVERITY[rule])  # type: ignore[call-overload]
        findings += [_placed(project, rule, severity, hit) for hit in check(context)]
    return sorted(findings, key=lambda f: (f.file, f.line, f.column, f.rule))


def _placed(project: Project, rule: str, severity: str, hit: Hit) -> Finding:
    origin = project.origins[("metric", hit.metric)]
    line, column = origin.doc.locate((*origin.path, *hit.at))
    return Finding(rule, severity, hit.metric, origin.doc.file, line, column, hit.message, hit.fix)


# -- the rules -----------------------------------------------------------------------------------
def _missing(key: str, fix: str) -> Rule:
    def check(context: Context) -> Iterator[Hit]:
        for metric in context.active():
            if not getattr(metric, key):
                yield Hit(metric.name, ("name",), f"active metric '{metric.name}' has no {key}", fix)

    return check


def _deprecated_without_replacement(context: Context) -> Iterator[Hit]:
    for metric in context.project.metrics.values():
        if metric.status == "deprecated" and not metric.replaced_by:
            yield Hit(
                metric.name,
                ("status",),
                f"deprecated metric '{metric.name}' names no replacement",
                "add 'replaced_by: <metric>' so that its users learn what to ask for instead",
            )


def _duplicate_definition(context: Context) -> Iterator[Hit]:
    """Metrics that compile to the same SQL: the same expansion into the same units (models,
    measures, filters, offsets, windows). Deprecated metrics are left out: a deprecated alias of its
    replacement is how a rename is done."""
    first: dict[str, str] = {}
    for metric in context.project.metrics.values():
        if metric.status == "deprecated":
            continue
        key = _canonical(context, metric.name)
        if key is None:
            continue
        if key in first:
            other = first[key]
            yield Hit(
                metric.name,
                ("name",),
                f"metric '{metric.name}' compiles to the same SQL as '{other}' ({_where(context, other)}): "
                "two names for one definition",
                f"keep '{other}' and add '{metric.name}' to its synonyms, or deprecate '{metric.name}' "
                f"with replaced_by: {other}",
            )
        else:
            first[key] = metric.name


def _canonical(context: Context, name: str) -> str | None:
    """The metric's expansion with units named by what they are, not by their aliases."""
    try:
        expander = MetricExpander(context.project.graph)
        tree = expander.expand(name)
    except (QueryError, SnippetError, SqlglotError):
        return None
    units = {
        u.alias: (key, {column: measure for measure, column in u.measures.items()}) for key, u in expander.units.items()
    }

    def identity(column: exp.Column) -> exp.Expr:
        key, measures = units[column.table]
        number = context.units.setdefault(key, len(context.units))  # units equal as the compiler compares them
        return exp.column(f"u{number}|{measures[column.name]}", quoted=True)

    return tree.transform(lambda n: identity(n) if isinstance(n, exp.Column) else n).sql()


def _normal(text: str) -> str:
    """How people type a name: case, spaces, hyphens and underscores do not tell two apart."""
    return re.sub(r"[\s_\-]+", " ", text.casefold()).strip()


def _replaces(a: d.Metric, b: d.Metric) -> bool:
    """One is the deprecated alias of the other: sharing its names is the point."""
    return (a.status == "deprecated" and a.replaced_by == b.name) or (
        b.status == "deprecated" and b.replaced_by == a.name
    )


def _name_collision(context: Context) -> Iterator[Hit]:
    """A synonym or label two metrics share: a search or a question by that name is ambiguous."""
    owners: dict[str, tuple[str, tuple[str | int, ...]]] = {}
    metrics = context.project.metrics
    for metric in metrics.values():
        names: list[tuple[str, tuple[str | int, ...]]] = [(s, ("synonyms", i)) for i, s in enumerate(metric.synonyms)]
        names += [(metric.label, ("label",))] if metric.label else []
        for text, at in names:
            key = _normal(text)
            other = owners.get(key)
            if other is None:
                owners[key] = (metric.name, at)
            elif other[0] != metric.name and not _replaces(metrics[other[0]], metric):
                yield Hit(
                    metric.name,
                    at,
                    f"'{text}' names both '{other[0]}' ({_where(context, other[0], other[1])}) and '{metric.name}'",
                    f"keep '{text}' on one of them and give the other a name of its own",
                )


def _synonym_is_metric_name(context: Context) -> Iterator[Hit]:
    names = {_normal(name): name for name in context.project.metrics}
    for metric in context.project.metrics.values():
        for i, synonym in enumerate(metric.synonyms):
            other = names.get(_normal(synonym))
            if other is not None and other != metric.name and not _replaces(context.project.metrics[other], metric):
                yield Hit(
                    metric.name,
                    ("synonyms", i),
                    f"synonym '{synonym}' of '{metric.name}' is the name of metric '{other}'",
                    f"remove '{synonym}' from the synonyms of '{metric.name}'",
                )


def _strategic_on_experimental(context: Context) -> Iterator[Hit]:
    for metric in context.active():
        if metric.tier != "strategic":
            continue
        metrics = context.project.metrics
        shaky = [name for name in context.lineage.upstream(metric.name) if metrics[name].status == "experimental"]
        if shaky:
            yield Hit(
                metric.name,
                ("tier",),
                f"strategic metric '{metric.name}' is built on experimental {', '.join(repr(s) for s in shaky)}",
                "make the metrics it is built on active once their definition is settled, or mark this one "
                "experimental too",
            )


def _thresholds_without_direction(context: Context) -> Iterator[Hit]:
    for metric in context.project.metrics.values():
        if metric.thresholds is not None and metric.direction is None:
            yield Hit(
                metric.name,
                ("thresholds",),
                f"metric '{metric.name}' has thresholds but no direction",
                "add 'direction: up' (higher is better) or 'direction: down', so that alerts say whether a "
                "crossing is good or bad news",
            )


def _unused_metric(context: Context) -> Iterator[Hit]:
    if context.queried is None:
        return
    lineage = context.lineage
    for metric in context.project.metrics.values():
        if metric.status == "deprecated" or metric.name in context.queried:
            continue
        if any(user in context.queried for user in lineage.downstream(metric.name)):
            continue
        yield Hit(
            metric.name,
            ("name",),
            f"metric '{metric.name}' was not queried in the last {context.window}, nor any metric built on it",
            "retire it (status: deprecated, with replaced_by) if nobody needs it",
        )


def _where(context: Context, metric: str, at: tuple[str | int, ...] = ()) -> str:
    origin = context.project.origins[("metric", metric)]
    line, _ = origin.doc.locate((*origin.path, *at))
    return f"{origin.doc.file}:{line}"


RULE_CHECKS: dict[str, Rule] = {
    "missing-owner": _missing("owner", "add 'owner: <team>', the team that answers for its definition"),
    "missing-tier": _missing("tier", "add 'tier: strategic', 'tactical' or 'operational'"),
    "missing-description": _missing("description", "add 'description:' saying what it counts and what it leaves out"),
    "deprecated-without-replacement": _deprecated_without_replacement,
    "duplicate-definition": _duplicate_definition,
    "name-collision": _name_collision,
    "synonym-is-metric-name": _synonym_is_metric_name,
    "strategic-on-experimental": _strategic_on_experimental,
    "thresholds-without-direction": _thresholds_without_direction,
    "unused-metric": _unused_metric,
}
