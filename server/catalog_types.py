"""GraphQL types of the catalogue (metrics, dimensions), shared by the schema and the dashboard types.

A metric's lineage and dimensions are fields of their own, worked out only when a request selects
them: a page listing labels and formats does not pay for every metric's reachable dimensions."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from semantic_layer import definitions as d
from semantic_layer.catalog import depends_on, described, dimensions_for, metric_models, used_by
from semantic_layer.graph import SemanticGraph

from .service import Caller, QueryService


@strawberry.type
class Dimension:
    name: str
    type: str
    label: str | None
    description: str | None


@strawberry.type
class Metric:
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
    tags: list[str]
    synonyms: list[str]
    thresholds: JSON | None  # {grain, warn: {above, below}, critical: {…}}, unset keys left out
    graph: strawberry.Private[SemanticGraph]

    @strawberry.field
    def depends_on(self) -> list[str]:
        """The metrics it is computed from, directly."""
        return depends_on(self.graph, self.name)

    @strawberry.field
    def used_by(self) -> list[str]:
        """The metrics computed from it, directly (among those the caller may see)."""
        return used_by(self.graph, self.name)

    @strawberry.field
    def models(self) -> list[str]:
        """The models whose rows it aggregates, at any depth."""
        return sorted(metric_models(self.graph, self.name))

    @strawberry.field
    def dimensions(self) -> list[str]:
        return dimensions_for(self.graph, [self.name])

    @strawberry.field
    async def sql(self, info: Info) -> str:
        """The metric alone, compiled (computed only when asked for)."""
        return await service_of(info).metric_sql(caller_of(info), self.name)


def service_of(info: Info) -> QueryService:
    return info.context["service"]  # type: ignore[no-any-return]


def caller_of(info: Info) -> Caller:
    return info.context["caller"]  # type: ignore[no-any-return]


def metric_type(graph: SemanticGraph, m: d.Metric) -> Metric:
    return Metric(
        **described(m),
        tags=list(m.tags),
        synonyms=list(m.synonyms),
        thresholds=_thresholds(m),
        graph=graph,
    )


def _thresholds(m: d.Metric) -> Any:
    """The metric's thresholds as JSON, keys it does not set left out (None: it has none)."""
    return None if m.thresholds is None else m.thresholds.model_dump(exclude_none=True)
