"""What each metric is computed from and what is computed from it, in one project version.

Upstream, a metric reads measures of models (its units) and, through its filters, its measures'
expressions and its models' time, dimensions and columns of joined models: `Reads` lists them as
the compiler's own expansion and join scopes find them, so that what lineage shows is what the SQL
reads. Downstream are the metrics built on it (directly and through others).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, partial

from sqlglot.errors import SqlglotError

from .. import definitions as d
from ..catalog import depends_on
from ..compiler.members import resolve_member, resolve_tree
from ..compiler.metrics import MetricExpander, UnitDraft
from ..compiler.plan import ConversionSpec, RetentionSpec, UnitKey
from ..compiler.scope import JoinScope
from ..errors import QueryError
from ..graph import SemanticGraph
from ..query import Query
from ..snippets import SnippetError, parse_snippet

# Unit kinds whose reads lineage knows: their models' measures, filters, time and (conversions) entity:
# a metric with a unit of another kind has no `Reads`, and diff compiles it to compare.
KNOWN_UNITS = ("plain", "cumulative", "snapshot", "conversion", "retention")


@dataclass(frozen=True)
class Reads:
    """A metric's upstream: the metrics its expansion goes through (itself first), the models whose
    rows it aggregates, their measures it aggregates (`model.measure`), and the models it joins."""

    metrics: tuple[str, ...]
    models: tuple[str, ...]
    measures: tuple[str, ...]
    joined: tuple[str, ...]

    @property
    def all_models(self) -> tuple[str, ...]:
        return tuple(sorted({*self.models, *self.joined}))


def reads(graph: SemanticGraph, metric: str) -> Reads | None:
    """The metric's upstream, or None when this version cannot expand it (a metric type the
    compiler does not build): its SQL is then compared whole, never skipped as unchanged."""
    try:
        expander = MetricExpander(graph)
        expander.expand(metric)
        models: set[str] = set()
        measures: set[str] = set()
        joined: set[str] = set()
        for key, unit in expander.units.items():
            if key.kind not in KNOWN_UNITS:
                return None  # its units read more than their model's measures: compile it to compare
            for model, names, filters, entity in _sides(graph, key, unit):
                models.add(model)
                measures |= {f"{model}.{name}" for name in names}
                shape = (model, names, filters, entity)
                joined |= graph.memo(("lineage-joins", shape), partial(_joins, graph, *shape))
            joined |= _reduced_models(graph, expander.used, key.model)
    except (QueryError, SnippetError, SqlglotError):
        return None
    return Reads(tuple(expander.used), tuple(sorted(models)), tuple(sorted(measures)), tuple(sorted(joined - models)))


Side = tuple[str, tuple[str, ...], tuple[str, ...], str | None]  # model, measures, filters, entity


def _sides(graph: SemanticGraph, key: UnitKey, unit: UnitDraft) -> list[Side]:
    """The models a unit reads rows of, each with its measures, the filters read on it, and (for a
    conversion or a retention) the entity: a conversion's filters are read on its base model when
    they resolve there, else on its conversion model, as the compiler does."""
    spec = key.spec
    if isinstance(spec, RetentionSpec):  # its leaves count entities of the activity model's rows
        return [(key.model, (), key.filters, spec.entity)]
    if not isinstance(spec, ConversionSpec):
        return [(key.model, tuple(sorted(unit.measures)), key.filters, None)]
    on_base = tuple(text for text in key.filters if _resolves(graph, key.model, text))
    other = tuple(text for text in key.filters if text not in on_base)
    return [
        (key.model, (spec.base_measure,), on_base, spec.entity),
        (spec.conversion_model, (spec.conversion_measure,), other, spec.entity),
    ]


def _resolves(graph: SemanticGraph, model: str, text: str) -> bool:
    try:
        resolve_tree(graph, model, parse_snippet(text, graph.settings.dialect))
    except QueryError:
        return False
    return True


def _joins(
    graph: SemanticGraph, model: str, measures: tuple[str, ...], filters: tuple[str, ...], entity: str | None
) -> frozenset[str]:
    """The models one side of a unit joins: through its measures' SQL, its filters' dimensions, its
    time and its entity, as the compiler's join scope finds them (kept per graph: many metrics
    share a unit)."""
    scope = JoinScope(graph, model)
    own = [graph.measures_by_model[model][name] for name in measures]
    for text in [entity, *(m.expr for m in own), *(m.filter for m in own)]:
        if text:
            scope.snippet(text, ())
    for text in filters:
        for member in resolve_tree(graph, model, parse_snippet(text, graph.settings.dialect)):
            scope.dimension(member.dimension)
    if graph.models[model].time is not None:
        scope.dimension(scope.metric_time_dimension())
    return frozenset(path[-1].target for path in scope.paths.values() if path)


def _reduced_models(graph: SemanticGraph, metrics: list[str], model: str) -> set[str]:
    """The models a share's `reduce_by` dimensions come from, reached from one of its units' models
    (read when the share is asked by those dimensions)."""
    found = set()
    for name in metrics:
        metric = graph.metrics[name]
        for ref in metric.denominator.reduce_by if isinstance(metric, d.RatioMetric) else ():
            try:
                member = resolve_member(graph, model, ref)
            except QueryError:
                continue  # not reachable from this unit's model: the share's other side reaches it
            found |= {member.dimension.model, *(step.target for step in member.path)}
    return found


def shown_query(graph: SemanticGraph, metric: str) -> Query:
    """The question a metric's SQL is shown for (diff, show, the site): the metric alone — by
    metric_time at the period of a retention metric it is computed from, which is a share per
    period and cannot be asked without it."""
    periods = [
        m.period
        for name in (metric, *_upstream(graph, metric))
        if isinstance(m := graph.metrics.get(name), d.RetentionMetric)
    ]
    return Query(metrics=(metric,), dimensions=(f"metric_time:{periods[0]}",) if periods else ())


def _upstream(graph: SemanticGraph, metric: str) -> list[str]:
    seen: dict[str, None] = {}
    frontier = [metric]
    while frontier:
        frontier = [s for name in frontier for s in depends_on(graph, name) if s in graph.metrics and s not in seen]
        seen.update(dict.fromkeys(frontier))
    return list(seen)


@dataclass(frozen=True)
class TileRef:
    """A tile of a dashboard: its place on the dashboard (from 1) and what it is called there."""

    dashboard: str
    number: int
    title: str

    def __str__(self) -> str:
        return f"{self.dashboard} tile {self.number} ({self.title})"


def tile_title(tile: d.Tile) -> str:
    """A tile's title, or what it shows: 'line of revenue by metric_time'."""
    if tile.title:
        return tile.title
    shown = f"{tile.kind} of {', '.join(tile.metrics)}"
    return f"{shown} by {', '.join(tile.dimensions)}" if tile.dimensions else shown


def tiles_showing(dashboards: Mapping[str, d.Dashboard], metrics: Iterable[str]) -> list[TileRef]:
    """The tiles that show any of `metrics`, dashboard by dashboard."""
    wanted = set(metrics)
    return [
        TileRef(name, number, tile_title(tile))
        for name, board in dashboards.items()
        for number, tile in enumerate(board.tiles, 1)
        if wanted.intersection(tile.metrics)
    ]


def tiles_grouped_by(graph: SemanticGraph, dashboards: Mapping[str, d.Dashboard], model: str) -> list[TileRef]:
    """The tiles whose dimensions, or whose dashboard's filters, are dimensions of `model` (or are
    reached through it): a change to the model changes how they group or filter."""
    found = []
    for name, board in dashboards.items():
        for number, tile in enumerate(board.tiles, 1):
            refs = [ref.split(":")[0] for ref in (*tile.dimensions, *board.filters)]
            if any(model in _ref_models(graph, tile.metrics, ref) for ref in refs if ref != "metric_time"):
                found.append(TileRef(name, number, tile_title(tile)))
    return found


def _ref_models(graph: SemanticGraph, metrics: list[str], ref: str) -> set[str]:
    """The models a dimension ref goes through from the models of `metrics` (where it resolves)."""
    models: set[str] = set()
    for metric in metrics:
        for base in _metric_models(graph, metric):
            try:
                member = resolve_member(graph, base, ref)
            except QueryError:
                continue
            models |= {member.dimension.model, *(step.target for step in member.path)}
    return models


def _metric_models(graph: SemanticGraph, metric: str) -> frozenset[str]:
    found = graph.memo(("lineage-reads", metric), partial(reads, graph, metric))
    return frozenset(found.models) if found is not None else frozenset()


class Lineage:
    """Upstream and downstream of every metric of one graph, computed once and kept."""

    def __init__(self, graph: SemanticGraph):
        self.graph = graph
        self._reads: dict[str, Reads | None] = {}

    def reads(self, metric: str) -> Reads | None:
        if metric not in self._reads:
            self._reads[metric] = reads(self.graph, metric)
        return self._reads[metric]

    def depends_on(self, metric: str) -> list[str]:
        """The metrics `metric` is computed from, directly."""
        return self._depends[metric]

    @cached_property
    def _depends(self) -> dict[str, list[str]]:
        return {name: depends_on(self.graph, name) for name in self.graph.metrics}

    @cached_property
    def _used_by(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {name: [] for name in self.graph.metrics}
        for name, sources in self._depends.items():
            for source in sources:
                out.setdefault(source, []).append(name)
        return out

    def used_by(self, metric: str) -> list[str]:
        """The metrics computed from `metric`, directly."""
        return self._used_by.get(metric, [])

    def downstream(self, metric: str) -> list[str]:
        """Every metric computed from `metric`, directly or through others, nearest first."""
        seen: dict[str, None] = {}
        frontier = [metric]
        while frontier:
            nxt = []
            for name in frontier:
                for user in self.used_by(name):
                    if user not in seen and user != metric:
                        seen[user] = None
                        nxt.append(user)
            frontier = nxt
        return list(seen)

    def upstream(self, metric: str) -> list[str]:
        """Every metric `metric` is computed from, directly or through others, nearest first."""
        seen: dict[str, None] = {}
        frontier = [metric]
        while frontier:
            nxt = []
            for name in frontier:
                for source in self._depends.get(name, []):
                    if source not in seen and source != metric:
                        seen[source] = None
                        nxt.append(source)
            frontier = nxt
        return list(seen)

    @cached_property
    def _readers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name in self.graph.metrics:
            found = self.reads(name)
            for model in found.all_models if found else ():
                out.setdefault(model, []).append(name)
        return out

    def readers(self, model: str) -> list[str]:
        """The metrics whose SQL reads `model` (its measures, or through a join)."""
        return self._readers.get(model, [])
