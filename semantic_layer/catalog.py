"""What can be asked: the dimensions each metric reaches, and the metric catalogue as a table.

Shared by the CLI (`list`, `docs`), the GraphQL catalogue and the tests, so that what the catalogue
offers is exactly what the compiler accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlglot import exp

from . import definitions as d
from .compiler.metrics import MetricExpander
from .display import display
from .errors import QueryError
from .graph import SemanticGraph, path_ref
from .snippets import parse_snippet

TIER_ORDER = {"strategic": 0, "tactical": 1, "operational": 2, None: 3}


METRIC_TIME = d.Dimension(
    name="metric_time",
    type="time",
    label="Metric time",
    description="Each metric's own time (its model's 'time:'); add a grain: metric_time:month",
)


def reachable_dimensions(graph: SemanticGraph, model: str) -> list[str]:
    """Dimension refs that resolve from `model`, each in its shortest unambiguous spelling."""
    return [ref for ref, _ in _reachable(graph, model)]


@lru_cache(maxsize=1024)
def _reachable(graph: SemanticGraph, model: str) -> tuple[tuple[str, d.Dimension], ...]:
    found: list[tuple[str, d.Dimension]] = []
    if graph.models[model].time is not None:
        found.append(("metric_time", METRIC_TIME))
    found += [(f"{model}.{name}", dim) for name, dim in graph.dimensions_by_model[model].items()]
    seen = {ref for ref, _ in found}
    for path in graph.walk(model):
        for name, dim in graph.dimensions_by_model[path[-1].target].items():
            for spelling in (f"{path[-1].alias}.{name}", f"{path_ref(path)}.{name}"):
                if spelling in seen:
                    continue
                try:
                    resolved = graph.resolve_dimension(model, spelling)
                except QueryError:
                    continue
                if resolved.path == path:
                    found.append((spelling, dim))
                    seen.add(spelling)
                    break
    return tuple(found)


def metric_models(graph: SemanticGraph, metric: str) -> set[str]:
    """The models whose measures a metric aggregates (one for simple metrics, more for ratios)."""
    expander = MetricExpander(graph)
    expander.expand(metric)
    return {key.model for key in expander.units}


def dimensions_for(graph: SemanticGraph, metrics: list[str]) -> list[str]:
    """Dimension refs queryable with every one of `metrics` (every model's own ones when none is given)."""
    return [ref for ref, _ in dimension_details(graph, metrics)]


def dimension_details(graph: SemanticGraph, metrics: list[str]) -> list[tuple[str, d.Dimension]]:
    """Like `dimensions_for`, with each ref's definition."""
    if not metrics:
        own = [(f"{m}.{n}", dim) for m in graph.models for n, dim in graph.dimensions_by_model[m].items()]
        return [("metric_time", METRIC_TIME), *own]
    models = set().union(*(metric_models(graph, m) for m in metrics))
    per_model = [_reachable(graph, m) for m in sorted(models)]
    common = set.intersection(*({ref for ref, _ in found} for found in per_model))
    return [(ref, dim) for ref, dim in per_model[0] if ref in common]


def depends_on(graph: SemanticGraph, metric: str) -> list[str]:
    """Metrics a metric is computed from, directly (for lineage in catalogues)."""
    m = graph.metric(metric)
    if isinstance(m, d.RatioMetric):
        return list(dict.fromkeys([m.numerator.metric, m.denominator.metric]))  # a filtered share: revenue / revenue
    if isinstance(m, d.DerivedMetric):
        aliases = {i.name: i.metric for i in m.inputs}
        names = [c.name for c in parse_snippet(m.expr, graph.settings.dialect).find_all(exp.Column)]
        return list(dict.fromkeys(aliases.get(n, n) for n in names))
    if isinstance(m, d.CumulativeMetric):
        return [m.metric]
    return []


def used_by(graph: SemanticGraph, metric: str) -> list[str]:
    """Metrics computed from `metric` directly: `depends_on` read the other way (for lineage)."""
    readers = graph.memo(("used_by",), lambda: _readers(graph))
    return readers.get(metric, [])


def _readers(graph: SemanticGraph) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in graph.metrics:
        for source in depends_on(graph, name):
            out.setdefault(source, []).append(name)
    return out


def thresholds_text(metric: d.Metric) -> str:
    """A metric's thresholds in a few words, bounds in its format: 'warn > 8.0%, critical > 12.0% per
    month' ('' without thresholds)."""
    if metric.thresholds is None:
        return ""
    levels = []
    for name, level in reversed(metric.thresholds.levels()):  # warn first: the order values cross them
        bounds = (("<", level.below), (">", level.above))
        sides = [f"{sign} {display(bound, metric.format)}" for sign, bound in bounds if bound is not None]
        levels.append(f"{name} {' or '.join(sides)}")
    return f"{', '.join(levels) or 'no levels'} per {metric.thresholds.grain.replace('_', ' ')}"


def markdown_table(graph: SemanticGraph) -> str:
    """The metric catalogue as Markdown, ordered by tier then name (the README embeds it)."""
    lines = [
        "| tier | metric | label | type | status | definition | alert thresholds |",
        "|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(graph.metrics.values(), key=lambda m: (TIER_ORDER.get(m.tier, 3), m.name))
    for m in ordered:
        text = " ".join((m.description or "").split()).replace("|", "\\|")
        lines.append(
            f"| {m.tier or ''} | `{m.name}` | {m.label or ''} | {m.type} | {m.status} | {text} | {thresholds_text(m)} |"
        )
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Metric:
    """A metric as the catalogue describes it (`Layer.metrics`, `Client.metrics`, GraphQL's
    `metrics`): what it means, who owns it, what it is computed from and what it can be grouped by."""

    name: str
    label: str | None
    description: str | None
    type: str
    owner: str | None
    tier: str | None
    status: str
    replaced_by: str | None
    format: str | None
    direction: str | None
    tags: tuple[str, ...]
    synonyms: tuple[str, ...]
    depends_on: tuple[str, ...]
    dimensions: tuple[str, ...]
    thresholds: d.Thresholds | None

    def __repr__(self) -> str:
        label = f" {self.label}" if self.label else ""
        facts = ", ".join(f for f in (self.type, self.tier, None if self.status == "active" else self.status) if f)
        return f"<Metric {self.name}{label} ({facts})>"


@dataclass(frozen=True)
class Dimension:
    """A dimension ref a query can group or filter by, with its definition's type and words."""

    name: str
    type: str
    label: str | None
    description: str | None

    def __repr__(self) -> str:
        label = f" {self.label}" if self.label else ""
        return f"<Dimension {self.name}{label} ({self.type})>"


def described(m: d.Metric) -> dict[str, Any]:
    """What a catalogue says about a metric in words, shared by every catalogue view (the Python
    entries here, GraphQL's `Metric`)."""
    return {
        "name": m.name,
        "label": m.label,
        "description": m.description,
        "type": m.type,
        "owner": m.owner,
        "tier": m.tier,
        "status": m.status,
        "replaced_by": m.replaced_by,
        "format": m.format,
        "direction": m.direction,
    }


def metric_entry(graph: SemanticGraph, m: d.Metric) -> Metric:
    return Metric(
        **described(m),
        tags=tuple(m.tags),
        synonyms=tuple(m.synonyms),
        depends_on=tuple(depends_on(graph, m.name)),
        dimensions=tuple(dimensions_for(graph, [m.name])),
        thresholds=m.thresholds,
    )


def find_metrics(
    graph: SemanticGraph,
    tier: str | None = None,
    tag: str | None = None,
    search: str | None = None,
    include_deprecated: bool = False,
) -> list[d.Metric]:
    """The metrics of `tier`, carrying `tag`, whose name, label, description or a synonym contains
    `search` (ignoring case; 成交 finds 成交金额); deprecated ones only when asked for."""
    return [
        m
        for m in graph.metrics.values()
        if (include_deprecated or m.status != "deprecated")
        and (tier is None or m.tier == tier)
        and (tag is None or tag in m.tags)
        and (search is None or _matches(m, search))
    ]


def _matches(m: d.Metric, search: str) -> bool:
    needle = search.casefold()
    haystack = [m.name, m.label or "", m.description or "", *m.synonyms]
    return any(needle in text.casefold() for text in haystack)


def dimension_entries(graph: SemanticGraph, metrics: list[str]) -> list[Dimension]:
    """The dimensions every one of `metrics` reaches; a metric that does not exist (or is hidden)
    is UNKNOWN_MEMBER, not an empty list."""
    for name in metrics:
        graph.metric(name)
    return [
        Dimension(name=ref, type=dim.type, label=dim.label, description=dim.description)
        for ref, dim in dimension_details(graph, metrics)
    ]
