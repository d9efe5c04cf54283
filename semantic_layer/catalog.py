"""What can be asked: the dimensions each metric reaches, and the metric catalogue as a table.

Shared by the CLI (`list`, `docs`), the GraphQL catalogue and the tests, so that what the catalogue
offers is exactly what the compiler accepts.
"""

from __future__ import annotations

from functools import lru_cache

from sqlglot import exp

from . import definitions as d
from .compiler.metrics import MetricExpander
from .errors import QueryError
from .graph import SemanticGraph, path_ref
from .snippets import parse_snippet

TIER_ORDER = {"strategic": 0, "tactical": 1, "operational": 2, None: 3}


def reachable_dimensions(graph: SemanticGraph, model: str) -> list[str]:
    """Dimension refs that resolve from `model`, each in its shortest unambiguous spelling."""
    return list(_reachable(graph, model))


@lru_cache(maxsize=1024)
def _reachable(graph: SemanticGraph, model: str) -> tuple[str, ...]:
    refs: list[str] = []
    if graph.models[model].time is not None:
        refs.append("metric_time")
    refs += [f"{model}.{dim}" for dim in graph.dimensions_by_model[model]]
    seen = set(refs)
    for path in graph.walk(model):
        target = path[-1].target
        for dim in graph.dimensions_by_model[target]:
            for spelling in (f"{path[-1].alias}.{dim}", f"{path_ref(path)}.{dim}"):
                if spelling in seen:
                    continue
                try:
                    resolved = graph.resolve_dimension(model, spelling)
                except QueryError:
                    continue
                if resolved.path == path:
                    refs.append(spelling)
                    seen.add(spelling)
                    break
    return tuple(refs)


def metric_models(graph: SemanticGraph, metric: str) -> set[str]:
    """The models whose measures a metric aggregates (one for simple metrics, more for ratios)."""
    expander = MetricExpander(graph)
    expander.expand(metric)
    return {key.model for key in expander.units}


def dimensions_for(graph: SemanticGraph, metrics: list[str]) -> list[str]:
    """Dimension refs queryable with every one of `metrics` (all dimensions when none is given)."""
    if not metrics:
        return sorted({ref for model in graph.models for ref in reachable_dimensions(graph, model)})
    models = set().union(*(metric_models(graph, m) for m in metrics))
    per_model = [reachable_dimensions(graph, m) for m in sorted(models)]
    common = set(per_model[0]).intersection(*per_model[1:])
    return [ref for ref in per_model[0] if ref in common]


def depends_on(graph: SemanticGraph, metric: str) -> list[str]:
    """Metrics a metric is computed from, directly (for lineage in catalogues)."""
    m = graph.metric(metric)
    if isinstance(m, d.RatioMetric):
        return [m.numerator.metric, m.denominator.metric]
    if isinstance(m, d.DerivedMetric):
        aliases = {i.name: i.metric for i in m.inputs}
        names = [c.name for c in parse_snippet(m.expr, graph.settings.dialect).find_all(exp.Column)]
        return list(dict.fromkeys(aliases.get(n, n) for n in names))
    if isinstance(m, d.CumulativeMetric):
        return [m.metric]
    return []


def markdown_table(graph: SemanticGraph) -> str:
    """The metric catalogue as Markdown, ordered by tier then name (the README embeds it)."""
    lines = ["| tier | metric | label | type | status | definition |", "|---|---|---|---|---|---|"]
    ordered = sorted(graph.metrics.values(), key=lambda m: (TIER_ORDER.get(m.tier, 3), m.name))
    for m in ordered:
        text = " ".join((m.description or "").split()).replace("|", "\\|")
        lines.append(f"| {m.tier or ''} | `{m.name}` | {m.label or ''} | {m.type} | {m.status} | {text} |")
    return "\n".join(lines) + "\n"
