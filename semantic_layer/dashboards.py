"""Dashboards as the layer reads them: what each tile asks, which dimensions reach it, and the dates
a relative time range stands for.

The pages build their queries in the browser, but the rules those queries follow are decided here,
once, for the load-time checks, the GraphQL types and the tests alike: a time dimension without a
grain takes the tile's grain; a filter or a drill-down applies to a tile only when every model of
its metrics reaches the dimension; `last: 12 months` ends where the current period starts, so that
the last period shown is complete.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from . import definitions as d
from .catalog import METRIC_TIME, metric_models
from .compiler.members import resolve_member, split_grain
from .errors import QueryError, QueryValidationError
from .graph import SemanticGraph
from .query import Query, build_query
from .timegrain import Calendar, Offset, py_shift, py_truncate, to_local_naive


def tile_grain(dashboard: d.Dashboard, tile: d.Tile) -> str:
    return tile.grain or dashboard.grain


def dimension(graph: SemanticGraph, metrics: list[str], ref: str) -> d.Dimension:
    """The definition `ref` names, as reached from the metrics' first model (metric_time for
    `metric_time`). Raises the compiler's error when the ref does not resolve there."""
    model = sorted(_models(graph, metrics))[0]
    member = resolve_member(graph, model, ref)
    return METRIC_TIME if member.metric_time else member.dimension.dimension


def check_reach(graph: SemanticGraph, metrics: list[str], ref: str) -> None:
    """Raise a QueryError unless every model `metrics` aggregate resolves `ref` — the condition for
    grouping or filtering all of them by it."""
    for model in sorted(_models(graph, metrics)):
        try:
            resolve_member(graph, model, ref)
        except QueryError as exc:
            users = [m for m in metrics if model in metric_models(graph, m)]
            raise QueryValidationError(
                f"dimension '{ref}' is not reachable from metric '{users[0]}' (model '{model}'): {exc.message}"
            ) from None


def reaches(graph: SemanticGraph, metrics: list[str], ref: str) -> bool:
    try:
        check_reach(graph, metrics, ref)
    except QueryError:
        return False
    return True


def _models(graph: SemanticGraph, metrics: list[str]) -> set[str]:
    return set().union(*(metric_models(graph, m) for m in metrics))


def tile_dimensions(graph: SemanticGraph, dashboard: d.Dashboard, tile: d.Tile) -> list[str]:
    """The tile's dimension refs as its query asks for them: a time dimension written without a
    grain is grouped at the tile's grain (`metric_time` → `metric_time:month`)."""
    out = []
    for ref in tile.dimensions:
        member, grain = split_grain(ref)
        if grain is None and dimension(graph, tile.metrics, member).type == "time":
            ref = f"{member}:{tile_grain(dashboard, tile)}"
        out.append(ref)
    return out


def tile_query(graph: SemanticGraph, dashboard: d.Dashboard, tile: d.Tile) -> Query:
    """The shape of the question a page asks for the tile (values aside): a KPI is its metric by
    period, and a tile inside the dashboard's time range is filtered on time."""
    dimensions = (
        [f"metric_time:{tile_grain(dashboard, tile)}"]
        if tile.kind == "kpi"
        else tile_dimensions(graph, dashboard, tile)
    )
    bounded = isinstance(tile.time_range, d.DashboardRange) or (
        dashboard.time_range is not None and tile.time_range == "dashboard"
    )
    return build_query(
        metrics=tile.metrics,
        dimensions=dimensions,
        time_range={"start": "2000-01-01", "end": "2000-02-01"} if bounded else None,
    )


def drill_dimensions(graph: SemanticGraph, dashboard: d.Dashboard) -> list[str]:
    """Dimensions a page may filter its tiles by: the dashboard's filters, then the tiles' own
    dimensions other than time ones (a click on a bar or a row filters the other tiles by them)."""
    found = list(dashboard.filters)
    for tile in dashboard.tiles:
        for ref in tile.dimensions:
            member, grain = split_grain(ref)
            if grain is None and member not in found and dimension(graph, tile.metrics, member).type != "time":
                found.append(member)
    return found


def resolve_range(
    time_range: d.DashboardRange | None, grain: str, calendar: Calendar, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """The (start, end) a dashboard's range stands for at `now` (local wall-clock time): fixed
    bounds as written; `last: N units` the whole periods of `grain` that cover N units up to `end`,
    or up to the start of the current period when no end is written (the current period has not
    ended, and a partial period would read as a drop). None: unbounded on that side."""
    if time_range is None:
        return None, None
    end = None if time_range.end is None else _midnight(time_range.end)
    if time_range.last is None:
        return (None if time_range.start is None else _midnight(time_range.start)), end
    count, unit = d.parse_interval(time_range.last)
    end = end if end is not None else py_truncate(now, grain, calendar)
    return py_truncate(py_shift(end, -Offset.of(count, unit)), grain, calendar), end


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def range_for(
    dashboard: d.Dashboard, settings: d.Settings, now: datetime, chosen: d.DashboardRange | None = None
) -> tuple[datetime | None, datetime | None]:
    """The dashboard's time range at `now` (a naive `now` is UTC): `chosen` (a range the page picked
    instead of the default), else the dashboard's own, in the project's calendar."""
    return resolve_range(chosen or dashboard.time_range, dashboard.grain, *_calendar_at(settings, now))


def tile_range_for(
    dashboard: d.Dashboard, tile: d.Tile, settings: d.Settings, now: datetime
) -> tuple[datetime | None, datetime | None] | None:
    """A tile's own time range at `now`, in whole periods of the tile's grain; None for a tile that
    follows the page's range or shows all time."""
    if not isinstance(tile.time_range, d.DashboardRange):
        return None
    return resolve_range(tile.time_range, tile_grain(dashboard, tile), *_calendar_at(settings, now))


def _calendar_at(settings: d.Settings, now: datetime) -> tuple[Calendar, datetime]:
    """The project's calendar, and `now` (a naive `now` is UTC) as wall-clock time in it."""
    calendar = Calendar(settings.timezone, settings.week_start, settings.fiscal_year_start_month)
    moment = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return calendar, to_local_naive(moment, settings.timezone)


def iso_bound(value: datetime | None) -> str | None:
    """A bound as the page sends it back in a query's time range: a date when it is midnight."""
    if value is None:
        return None
    return value.date().isoformat() if value == _midnight(value.date()) else value.isoformat()
