"""The GraphQL schema (docs/graphql.md): thin strawberry types over the library's own definitions."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.schema.name_converter import NameConverter
from strawberry.types import Info
from strawberry.types.base import StrawberryObjectDefinition

from semantic_layer import alerts as a
from semantic_layer import checks as c
from semantic_layer import query as q
from semantic_layer.catalog import dimension_entries, find_metrics, reachable_dimensions
from semantic_layer.wire import FILTER_OPS, query_from_wire

from .catalog_types import Dimension, Metric, caller_of, metric_type, service_of
from .dashboard_types import Dashboard, dashboard_type
from .service import Answer

# The structured filter ops of the query shape, in upper case as GraphQL enums are written.
FilterOp = strawberry.enum(Enum("FilterOp", {op.upper(): op for op in FILTER_OPS}))  # type: ignore[call-overload]


@strawberry.input
class FilterInput:
    member: str
    op: FilterOp  # type: ignore[valid-type]
    values: list[JSON] | None = None


@strawberry.input
class OrderByInput:
    member: str
    desc: bool = False


@strawberry.input
class TimeRangeInput:
    start: str | None = None
    end: str | None = None


@strawberry.input
class QueryInput:
    metrics: list[str]
    dimensions: list[str] | None = None
    where: list[str] | None = None
    filters: list[FilterInput] | None = None
    having: list[str] | None = None
    segments: list[str] | None = None
    time_range: TimeRangeInput | None = None
    order_by: list[OrderByInput] | None = None
    limit: int | None = None
    offset: int | None = None
    timezone: str | None = None

    def to_query(self) -> q.Query:
        return query_from_wire(as_wire(self))


def as_wire(value: Any) -> Any:
    """An input object as the plain value GraphQL variables would have been (GraphQL names), so
    that inline arguments and variables go through one mapping (semantic_layer/wire.py)."""
    definition = getattr(value, "__strawberry_definition__", None)
    if isinstance(definition, StrawberryObjectDefinition):  # an input object (enum members have one too)
        return {_NAMES.get_graphql_name(f): as_wire(getattr(value, f.python_name)) for f in definition.fields}
    if isinstance(value, list):
        return [as_wire(item) for item in value]
    return value


_NAMES = NameConverter()


@strawberry.type
class Column:
    name: str
    kind: str
    type: str
    format: str | None


def _answer_sql(root: QueryResult) -> str:
    """The statement that answered, values inlined: rendered only when a request selects it."""
    return root.answer.sql


@strawberry.type
class QueryResult:
    columns: list[Column]
    rows: list[JSON]
    sql: str = strawberry.field(resolver=_answer_sql)
    cached: bool
    duration_ms: float
    warnings: list[str]
    truncated: bool  # cut at limits.default_rows: `warnings` names the limit and how to page
    rollup: str | None  # the rollups that answered (docs/rollups.md), or null: the source did
    answer: strawberry.Private[Answer]


@strawberry.type
class CompiledQuery:
    sql: str
    dialect: str


@strawberry.type
class ProjectError:
    file: str
    line: int
    column: int
    message: str


@strawberry.type
class Alert:
    """A metric's alert level on its last complete period (semantic_layer/alerts.py)."""

    metric: str
    level: str  # ok | warn | critical
    value: float | None
    period: str  # the period's start, ISO-8601: a date, or a date and time for hours
    grain: str
    bound: float | None  # the bound crossed (null when ok)
    bound_kind: str | None  # above | below
    bound_level: str | None  # warn | critical
    direction: str | None
    message: str
    note: str | None

    @classmethod
    def of(cls, alert: a.Alert) -> Alert:
        return cls(**alert.to_json())


@strawberry.type
class CheckResult:
    """A data check's outcome (semantic_layer/checks.py). `sample` is empty for a caller whose
    role sees only some rows or members: failing rows are read without the row policies."""

    model: str
    name: str
    kind: str
    status: str  # pass | fail | error
    failing: int
    observed: JSON | None
    message: str
    sample: list[JSON]
    sql: str
    checked_at: str  # ISO-8601, UTC

    @classmethod
    def of(cls, result: c.CheckResult, samples: bool) -> CheckResult:
        data = result.to_json()
        if not samples:
            data["sample"] = []
        return cls(**data)


@strawberry.type
class Model:
    name: str
    label: str | None
    description: str | None
    primary_key: list[str]
    time: str | None
    measures: list[str]
    dimensions: list[str]


@strawberry.type
class Query:
    @strawberry.field
    def metrics(
        self,
        info: Info,
        tier: str | None = None,
        tag: str | None = None,
        search: str | None = None,
        include_deprecated: bool = False,
    ) -> list[Metric]:
        _, graph = service_of(info).graph_for(caller_of(info))
        return [metric_type(graph, m) for m in find_metrics(graph, tier, tag, search, include_deprecated)]

    @strawberry.field
    def metric(self, info: Info, name: str) -> Metric | None:
        _, graph = service_of(info).graph_for(caller_of(info))
        found = graph.metrics.get(name)
        return None if found is None else metric_type(graph, found)

    @strawberry.field
    def dimensions(self, info: Info, metrics: list[str] | None = None) -> list[Dimension]:
        _, graph = service_of(info).graph_for(caller_of(info))
        return [Dimension(**vars(found)) for found in dimension_entries(graph, metrics or [])]

    @strawberry.field
    def models(self, info: Info) -> list[Model]:
        _, graph = service_of(info).graph_for(caller_of(info))
        return [
            Model(
                name=m.name,
                label=m.label,
                description=m.description,
                primary_key=m.primary_keys,
                time=m.time,
                measures=[ms.name for ms in m.measures],
                dimensions=reachable_dimensions(graph, m.name),
            )
            for m in graph.models.values()
        ]

    @strawberry.field
    async def query(self, info: Info, input: QueryInput) -> QueryResult:
        answer = await service_of(info).query(caller_of(info), input.to_query())
        return QueryResult(
            columns=[Column(**c) for c in answer.columns],
            rows=answer.rows,
            cached=answer.cached,
            duration_ms=answer.duration_ms,
            warnings=answer.warnings,
            truncated=answer.truncated,
            rollup=answer.rollup,
            answer=answer,
        )

    @strawberry.field
    async def compile(self, info: Info, input: QueryInput, dialect: str | None = None) -> CompiledQuery:
        service = service_of(info)
        sql = await service.compile(caller_of(info), input.to_query(), dialect)
        return CompiledQuery(sql=sql, dialect=dialect or service.state.layer.project.settings.dialect)

    @strawberry.field
    async def alerts(
        self,
        info: Info,
        metrics: list[str] | None = None,
        time_range: TimeRangeInput | None = None,
        grain: str | None = None,
    ) -> list[Alert]:
        """Alert levels of `metrics` (default: every metric with thresholds the caller may see)."""
        bounds = None if time_range is None else {"start": time_range.start, "end": time_range.end}
        found = await service_of(info).alerts(caller_of(info), metrics, bounds, grain)
        return [Alert.of(alert) for alert in found]

    @strawberry.field
    def dashboards(self, info: Info) -> list[Dashboard]:
        """The project's dashboards (docs/dashboards.md), each as the caller may see it."""
        layer, graph = service_of(info).graph_for(caller_of(info))
        return [dashboard_type(graph, board) for board in layer.project.dashboards.values()]

    @strawberry.field
    def dashboard(self, info: Info, name: str) -> Dashboard | None:
        layer, graph = service_of(info).graph_for(caller_of(info))
        board = layer.project.dashboards.get(name)
        return None if board is None else dashboard_type(graph, board)

    @strawberry.field
    async def checks(self, info: Info, models: list[str] | None = None) -> list[CheckResult]:
        """Run the data checks of `models` (default: every model) now, on the warehouse."""
        results, samples = await service_of(info).checks(caller_of(info), models)
        return [CheckResult.of(result, samples) for result in results]

    @strawberry.field
    def project_errors(self, info: Info) -> list[ProjectError]:
        """Errors of a project change that was rejected (the last good version keeps serving). They
        name files and definitions: on a project with policies, only for a caller with a role."""
        service_of(info).graph_for(caller_of(info))  # UNAUTHENTICATED / FORBIDDEN as for the catalogue
        return [
            ProjectError(file=e.file, line=e.line, column=e.column, message=e.message)
            for e in service_of(info).state.errors
        ]
