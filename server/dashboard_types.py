"""GraphQL types of dashboards (docs/dashboards.md): the YAML definitions as one caller may see them.

A tile that shows a metric or a dimension the caller's role hides is left out, and counted in
`hiddenTiles`, as hidden members are left out of the catalogue; a filter no visible tile reaches is
left out too. Everything a page needs to draw the dashboard comes in one request: the tiles with
the dimensions each can be filtered by, the metrics' labels, formats and thresholds, the labels of
the dimensions, and the time range resolved at the server's clock.
"""

from __future__ import annotations

import strawberry
from pydantic import ValidationError as PydanticError
from strawberry.types import Info

from semantic_layer import definitions as d
from semantic_layer.compiler.members import split_grain
from semantic_layer.dashboards import (
    dimension,
    drill_dimensions,
    iso_bound,
    range_for,
    reaches,
    tile_dimensions,
    tile_grain,
    tile_range_for,
)
from semantic_layer.errors import QueryValidationError
from semantic_layer.graph import SemanticGraph

from .catalog_types import Dimension, Metric, metric_type, service_of


@strawberry.type
class DashboardRange:
    """A default time range as written: `last` (and `end`), or `start` and `end`."""

    last: str | None
    start: str | None
    end: str | None


@strawberry.type
class TimeRange:
    """Resolved bounds, ISO-8601 (null: unbounded), as a query's `timeRange` takes them."""

    start: str | None
    end: str | None


@strawberry.type
class Tile:
    kind: str
    title: str | None
    metrics: list[str]
    dimensions: list[str]  # as queried: a time dimension carries the tile's grain
    grain: str
    compare: str | None
    limit: int | None
    time_range: str  # dashboard: the dashboard's time range applies; all: all time; own: `range` applies
    reaches: list[str]  # the dashboard's filter and drill-down dimensions this tile can be filtered by
    board: strawberry.Private[d.Dashboard]
    definition: strawberry.Private[d.Tile]

    @strawberry.field
    def range(self, info: Info) -> TimeRange | None:
        """The tile's own time range (timeRange `own`), resolved at the server's clock in the project's
        calendar; null when the tile follows the page's range or shows all time."""
        service = service_of(info)
        bounds = tile_range_for(self.board, self.definition, service.state.layer.project.settings, service.clock())
        return None if bounds is None else TimeRange(start=iso_bound(bounds[0]), end=iso_bound(bounds[1]))


@strawberry.type
class Dashboard:
    name: str
    title: str
    description: str | None
    owner: str | None
    grain: str
    screen_refresh: int
    time_range: DashboardRange | None
    filters: list[Dimension]
    tiles: list[Tile]
    hidden_tiles: int
    metrics: list[Metric]  # those its tiles show, with labels, formats and thresholds
    dimensions: list[Dimension]  # those its tiles and filters use, as written (without a grain)
    definition: strawberry.Private[d.Dashboard]

    @strawberry.field
    def range(self, info: Info, last: str | None = None, start: str | None = None, end: str | None = None) -> TimeRange:
        """The default time range, or the one given (`last`, optionally with `end`; or `start` and
        `end`), resolved at the server's clock in the project's calendar."""
        service = service_of(info)
        chosen = None if last is None and start is None and end is None else _chosen(last, start, end)
        lower, upper = range_for(self.definition, service.state.layer.project.settings, service.clock(), chosen)
        return TimeRange(start=iso_bound(lower), end=iso_bound(upper))


def _chosen(last: str | None, start: str | None, end: str | None) -> d.DashboardRange:
    try:
        return d.DashboardRange(last=last, start=start, end=end)  # pydantic parses the dates
    except PydanticError as exc:
        reason = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise QueryValidationError(f"time range: {reason}") from None


def dashboard_type(graph: SemanticGraph, board: d.Dashboard) -> Dashboard:
    """`board` as a caller whose view of the project is `graph` sees it: worked out once per view
    (the graph keeps it; a reload brings a new graph), since every page load asks for it."""
    return graph.memo(("dashboard", board.name), lambda: _seen(graph, board))


def _seen(graph: SemanticGraph, board: d.Dashboard) -> Dashboard:
    tiles = [tile for tile in board.tiles if _visible(graph, tile)]
    drillable = drill_dimensions(graph, board.model_copy(update={"tiles": tiles})) if tiles else []
    filters = [ref for ref in board.filters if any(reaches(graph, t.metrics, ref) for t in tiles)]
    used = dict.fromkeys(m for tile in tiles for m in tile.metrics)
    return Dashboard(
        name=board.name,
        title=board.title or board.name,
        description=board.description,
        owner=board.owner,
        grain=board.grain,
        screen_refresh=board.screen_refresh,
        time_range=_written(board.time_range),
        filters=[_dimension(graph, tiles, ref) for ref in filters],
        tiles=[_tile(graph, board, tile, drillable) for tile in tiles],
        hidden_tiles=len(board.tiles) - len(tiles),
        metrics=[metric_type(graph, graph.metrics[name]) for name in used],
        dimensions=_dimensions(graph, tiles, filters),
        definition=board,
    )


def _visible(graph: SemanticGraph, tile: d.Tile) -> bool:
    """Whether the caller's view has every metric and dimension of the tile."""
    return all(name in graph.metrics for name in tile.metrics) and all(
        reaches(graph, tile.metrics, ref) for ref in tile.dimensions
    )


def _tile(graph: SemanticGraph, board: d.Dashboard, tile: d.Tile, drillable: list[str]) -> Tile:
    return Tile(
        kind=tile.kind,
        title=tile.title,
        metrics=list(tile.metrics),
        dimensions=tile_dimensions(graph, board, tile),
        grain=tile_grain(board, tile),
        compare=tile.compare,
        limit=tile.limit,
        time_range=tile.time_range if isinstance(tile.time_range, str) else "own",
        reaches=[ref for ref in drillable if reaches(graph, tile.metrics, ref)],
        board=board,
        definition=tile,
    )


def _dimensions(graph: SemanticGraph, tiles: list[d.Tile], filters: list[str]) -> list[Dimension]:
    refs = dict.fromkeys([*(split_grain(ref)[0] for tile in tiles for ref in tile.dimensions), *filters])
    return [_dimension(graph, tiles, ref) for ref in refs]


def _dimension(graph: SemanticGraph, tiles: list[d.Tile], ref: str) -> Dimension:
    """`ref`'s definition, from a tile that reaches it."""
    owner = next(tile for tile in tiles if reaches(graph, tile.metrics, ref))
    found = dimension(graph, owner.metrics, ref)
    return Dimension(name=ref, type=found.type, label=found.label, description=found.description)


def _written(time_range: d.DashboardRange | None) -> DashboardRange | None:
    if time_range is None:
        return None
    return DashboardRange(
        last=time_range.last,
        start=None if time_range.start is None else time_range.start.isoformat(),
        end=None if time_range.end is None else time_range.end.isoformat(),
    )
