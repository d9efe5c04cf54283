"""A rollup resolved against the semantic graph: what it stores, under which column names, and
how each stored column is aggregated again.

One resolution serves three readers. Validation reports what does not resolve (at the rollup's
YAML node); the builder asks the layer's own compiler for the stored columns (`build_graph`,
`build_query`); and routing reads the rollup's table as a model of its own (`stored_model`), whose
dimensions are the stored columns and whose measures re-aggregate them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from .. import definitions as d
from ..compiler.aggregation import CountTotal
from ..compiler.members import resolve_member
from ..compiler.resolve import column_alias
from ..compiler.scope import check_grain
from ..errors import QueryValidationError, UnknownMemberError, did_you_mean
from ..graph import SemanticGraph, path_fans_out
from ..query import Filter, Query, build_query

METRIC_TIME = "metric_time"
# Measures recomposed from stored parts; the others are stored as their own aggregate.
REAGGREGATED: dict[str, d.Aggregation] = {"sum": "sum", "min": "min", "max": "max"}
# Stored as the group's value: usable only by a query grouped exactly as the rollup is.
EXACT_ONLY = ("count_distinct", "median", "percentile")
SUM, COUNT = "sum", "count"


@dataclass(frozen=True)
class StoredDimension:
    """A rollup dimension: the query ref it was written as, what it points at, its column."""

    ref: str
    identity: tuple[Any, ...]  # (join aliases, model, dimension name, grain): equal for equal members
    column: str
    definition: d.Dimension  # as the stored model declares it (a time dimension holds dates)
    grain: str | None
    source: str  # the dimension's SQL on its own model: a bare column there is this stored column

    def holds_column(self, path: tuple[str, ...], model: str, column: str) -> bool:
        """Whether this stored column is `column` of `model` reached along `path` (join aliases),
        as it is: what a segment's or a row policy's SQL reads of that model."""
        spot, owner, _, _ = self.identity
        return self.grain is None and (spot, owner) == (path, model) and self.source == column


@dataclass(frozen=True)
class StoredMeasure:
    """A measure of the rollup's model and its stored columns: one (the measure aggregated per
    group), or for avg its sum and its count."""

    name: str
    measure: d.Measure
    columns: MappingProxyType[str, str]  # part (value, or sum and count for avg) → column

    @property
    def exact_only(self) -> bool:
        return self.measure.agg in EXACT_ONLY


@dataclass(frozen=True)
class RollupShape:
    rollup: d.Rollup
    model: str
    dimensions: tuple[StoredDimension, ...]
    measures: MappingProxyType[str, StoredMeasure]
    timezone: str
    dialect: str  # the project's, which segments and row policies are written in

    @property
    def name(self) -> str:
        return self.rollup.name

    @property
    def table(self) -> str:
        return self.rollup.name

    @property
    def model_name(self) -> str:
        """The name the stored table is read under as a model (never a project model's: those are
        snake_case without a double underscore at the start)."""
        return f"rollup__{self.rollup.name}"

    @property
    def grain(self) -> str:
        return self.rollup.time_grain

    @property
    def columns(self) -> list[str]:
        return [
            *(dim.column for dim in self.dimensions),
            METRIC_TIME,
            *(c for m in self.measures.values() for c in m.columns.values()),
        ]

    def stored_model(self) -> d.Model:
        """The rollup's table as a model: a dimension per stored dimension and metric_time (dates,
        never shifted between time zones), a measure per stored column re-aggregating it."""
        dims = [
            d.Dimension(name=dim.column, type=dim.definition.type, granularity=dim.definition.granularity)
            for dim in self.dimensions
        ]
        dims.append(d.Dimension(name=METRIC_TIME, type="time", granularity="day"))
        measures: list[d.Measure] = []
        for stored in self.measures.values():
            for part, column in stored.columns.items():
                measures.append(_reaggregating(stored, part, column))
        return d.Model(
            name=self.model_name,
            table=self.table,
            primary_key=[dim.column for dim in self.dimensions] + [METRIC_TIME],
            time=METRIC_TIME,
            dimensions=dims,
            measures=measures,
        )

    # -- building ------------------------------------------------------------------------------
    def build_metrics(self) -> dict[str, tuple[str, d.Measure]]:
        """Per stored column, the simple metric that computes it (its name) and the measure it
        reads: the model's own, or for avg a sum and a count of the same values and filter."""
        out: dict[str, tuple[str, d.Measure]] = {}
        for stored in self.measures.values():
            for part, column in stored.columns.items():
                measure = stored.measure
                if part in (SUM, COUNT) and measure.agg == "avg":
                    measure = measure.model_copy(update={"name": f"{column}_part", "agg": part})
                out[column] = (f"rollup_build_{column}", measure)
        return out

    def build_graph(self, graph: SemanticGraph) -> SemanticGraph:
        """The project's graph with the build metrics (and avg's parts on the model): the
        compiler builds the rollup exactly as it would answer the same question."""
        models = dict(graph.models)
        base = models[self.model]
        extra = [m for _, m in self.build_metrics().values() if m.name not in {x.name for x in base.measures}]
        models[self.model] = base.model_copy(update={"measures": [*base.measures, *extra]})
        metrics = dict(graph.metrics)
        for metric, measure in self.build_metrics().values():
            metrics[metric] = d.SimpleMetric(name=metric, type="simple", measure=f"{self.model}.{measure.name}")
        limits = graph.settings.limits.model_copy(update={"max_rows": 2**62})
        settings = graph.settings.model_copy(update={"limits": limits})
        return SemanticGraph(settings, models, metrics)

    def build_query(self, start: date | None = None) -> Query:
        """Every stored column by every stored dimension and metric_time, from `start` on."""
        return build_query(
            metrics=[metric for metric, _ in self.build_metrics().values()],
            dimensions=[*(dim.ref for dim in self.dimensions), f"{METRIC_TIME}:{self.grain}"],
            time_range=None if start is None else {"start": datetime.combine(start, datetime.min.time()).isoformat()},
            timezone=self.timezone,
            limit=2**62,
        )

    def undated_query(self) -> Query:
        """Every stored column by every stored dimension over the rows without a metric time: they
        belong to no period, but a query without metric_time counts them (stored with a NULL time)."""
        return build_query(
            metrics=[metric for metric, _ in self.build_metrics().values()],
            dimensions=[dim.ref for dim in self.dimensions],
            where=[Filter(member=f"{METRIC_TIME}:{self.grain}", op="is_null")],
            timezone=self.timezone,
            limit=2**62,
        )

    def build_columns(self) -> dict[str, str]:
        """The build query's answer columns → the stored columns."""
        out = {column_alias(dim.ref): dim.column for dim in self.dimensions}
        out[column_alias(f"{METRIC_TIME}:{self.grain}")] = METRIC_TIME
        out.update({metric: column for column, (metric, _) in self.build_metrics().items()})
        return out


def _reaggregating(stored: StoredMeasure, part: str, column: str) -> d.Measure:
    """The stored model's measure over `column`: sums of sums and of counts (a count again, typed as
    COUNT is), min of mins, max of maxes; a value stored per exact group is read as it is."""
    agg = part if part in (SUM, COUNT) else stored.measure.agg
    if agg in EXACT_ONLY:
        return d.Measure(name=column, agg="max", expr=column)
    if agg == COUNT:
        return CountTotal(name=column, agg="sum", expr=column)
    return d.Measure(name=column, agg=REAGGREGATED[agg], expr=column)


def resolve_rollup(graph: SemanticGraph, rollup: d.Rollup) -> RollupShape:
    """The rollup resolved, or the first problem as a QueryError (validation reports each problem
    at its own node through `check_*`)."""
    check_model(graph, rollup)
    dims = tuple(resolve_stored_dimension(graph, rollup.model, ref) for ref in rollup.dimensions)
    measures = {name: resolve_stored_measure(graph, rollup.model, name) for name in rollup.measures}
    settings = graph.settings
    return RollupShape(rollup, rollup.model, dims, MappingProxyType(measures), settings.timezone, settings.dialect)


def check_model(graph: SemanticGraph, rollup: d.Rollup) -> None:
    model = graph.model(rollup.model)
    if model.time is None:
        raise QueryValidationError(
            f"model '{rollup.model}' has no 'time:', and a rollup stores its measures by metric_time — "
            f"add 'time: <column>' to model '{rollup.model}'"
        )


def resolve_stored_dimension(graph: SemanticGraph, model: str, ref: str) -> StoredDimension:
    member = resolve_member(graph, model, ref)
    if member.metric_time:
        raise QueryValidationError(
            f"'{ref}': metric_time is stored at the rollup's time_grain — leave it out of dimensions"
        )
    if path_fans_out(member.path):
        raise QueryValidationError(
            f"'{ref}' is reached through a one_to_many join: a row of '{model}' would count once per "
            "joined row, and the rollup could not be added up again — leave it out"
        )
    dim = member.dimension.dimension
    grain = member.grain
    if dim.type == "time":
        grain = grain or "day"
        check_grain(member.dimension, grain)
        if grain == "hour":
            raise QueryValidationError(f"'{ref}': a rollup stores time dimensions at day or a coarser grain")
    stored = d.Dimension(name=column_alias(ref), type=dim.type, granularity="day" if dim.type == "time" else None)
    identity = (tuple(step.alias for step in member.path), member.dimension.model, dim.name, grain)
    return StoredDimension(ref, identity, column_alias(ref), stored, grain, dim.sql)


def resolve_stored_measure(graph: SemanticGraph, model: str, name: str) -> StoredMeasure:
    measures = graph.measures_by_model[model]
    measure = measures.get(name)
    if measure is None:
        raise UnknownMemberError(f"model '{model}' has no measure '{name}'{did_you_mean(name, measures)}")
    if measure.non_additive is not None:
        raise QueryValidationError(
            f"measure '{name}' is semi-additive (non_additive: {measure.non_additive.dimension}): its "
            "snapshots cannot be re-aggregated from a rollup — leave it out"
        )
    columns = {SUM: f"{name}__{SUM}", COUNT: f"{name}__{COUNT}"} if measure.agg == "avg" else {"value": name}
    return StoredMeasure(name, measure, MappingProxyType(columns))
