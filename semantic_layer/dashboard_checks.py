"""Load-time checks of `dashboards:`, each reported at the YAML node that breaks it.

A tile passes when its query would compile: its metrics exist, every model they aggregate reaches
each of its dimensions, a line tile runs along time, and the compiler accepts the shape of the
question the page asks (a metric that cannot be grouped at the tile's grain, or a KPI of a metric
without time, is refused here, not on the page). A dashboard filter must be a dimension some tile
reaches: one that reaches none would be a control that changes nothing.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from . import definitions as d
from .compiler import Compiler
from .compiler.members import split_grain
from .dashboards import check_reach, dimension, reaches, tile_grain, tile_query
from .errors import QueryError, QueryValidationError
from .graph import SemanticGraph
from .timegrain import Offset, offset_fits_grain

if TYPE_CHECKING:
    from .loader import Origin
    from .validation import Checker


def check_dashboards(chk: Checker, graph: SemanticGraph, dashboards: dict[str, tuple[d.Dashboard, Origin]]) -> None:
    compiler = Compiler(graph)
    for dashboard, origin in dashboards.values():
        valid = [
            tile
            for i, tile in enumerate(dashboard.tiles)
            if _check_tile(chk, graph, compiler, dashboard, tile, origin, ("tiles", i))
        ]
        for i, ref in enumerate(dashboard.filters):
            chk.attempt(origin, ("filters", i), partial(_check_filter, graph, ref, valid), "filter: ")


def _check_tile(
    chk: Checker,
    graph: SemanticGraph,
    compiler: Compiler,
    dashboard: d.Dashboard,
    tile: d.Tile,
    origin: Origin,
    at: tuple[str | int, ...],
) -> bool:
    """Whether the tile is sound; each problem is reported at its metric, dimension or key."""
    before = len(chk.errors)
    for i, name in enumerate(tile.metrics):
        chk.attempt(origin, (*at, "metrics", i), partial(graph.metric, name))
    if len(chk.errors) > before:
        return False
    for i, ref in enumerate(tile.dimensions):
        chk.attempt(origin, (*at, "dimensions", i), partial(check_reach, graph, tile.metrics, ref))
    if len(chk.errors) > before:
        return False
    chk.attempt(origin, at, partial(_check_kind, graph, dashboard, tile), f"{tile.kind} tile: ")
    if len(chk.errors) > before:
        return False
    chk.attempt(origin, at, partial(compiler.compile, tile_query(graph, dashboard, tile)), f"{tile.kind} tile: ")
    return len(chk.errors) == before


def _check_kind(graph: SemanticGraph, dashboard: d.Dashboard, tile: d.Tile) -> None:
    """What the tile's kind needs beyond its shape: a line runs along a time dimension; a KPI's
    comparison moves one period of its grain onto another."""
    if tile.kind == "line":
        first, _ = split_grain(tile.dimensions[0])
        if dimension(graph, tile.metrics, first).type != "time":
            raise QueryValidationError(
                f"a line runs along time: its first dimension must be metric_time or a time dimension, "
                f"not '{tile.dimensions[0]}' — use a bar tile for it"
            )
    if tile.compare is not None:
        grain = tile_grain(dashboard, tile)
        if not offset_fits_grain(Offset.of(*d.parse_interval(tile.compare)), grain):
            raise QueryValidationError(
                f"compare '{tile.compare}' does not move a {grain} onto another {grain} — compare with a "
                f"whole number of {grain}s"
            )


def _check_filter(graph: SemanticGraph, ref: str, tiles: list[d.Tile]) -> None:
    """A filter control lists a dimension's values, and filters the tiles that reach it."""
    member, grain = split_grain(ref)
    if member == "metric_time" or grain is not None:
        raise QueryValidationError(
            f"'{ref}' is time: the dashboard's time range filters time — list a dimension such as 'customers.region'"
        )
    reached = [tile for tile in tiles if reaches(graph, tile.metrics, ref)]
    if not reached and tiles:
        try:
            check_reach(graph, tiles[0].metrics, ref)
        except QueryError as exc:  # the first tile's reason, which names the fix for a misspelling
            raise QueryValidationError(f"'{ref}' filters none of the dashboard's tiles — {exc.message}") from None
    if reached and dimension(graph, reached[0].metrics, ref).type == "time":
        raise QueryValidationError(
            f"'{ref}' is a time dimension: the dashboard's time range filters time — list a dimension "
            "such as 'customers.region'"
        )
