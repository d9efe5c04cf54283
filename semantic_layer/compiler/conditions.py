"""A unit's WHERE conditions: the query's filters, its metrics' filters, segments, row policies and
time_range, each with the join paths it needs (semijoin.py decides where each one goes)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlglot import exp

from ..errors import QueryValidationError
from ..graph import Path
from ..snippets import parse_snippet
from ..timegrain import Calendar, Offset, local_to_utc, py_shift
from .context import UnitContext
from .members import bind_tree, resolve_tree
from .scope import JoinScope
from .security import row_security
from .semijoin import Condition


def conditions(ctx: UnitContext, base: str, offset: Offset, metric_filters: tuple[str, ...],
               *, time_range: bool = True) -> list[Condition]:
    graph, calendar = ctx.graph, ctx.calendar
    out: list[Condition] = []
    trees = list(ctx.plan.filters)
    trees += [parse_snippet(text, graph.settings.dialect) for text in metric_filters]
    for tree in trees:
        members = resolve_tree(graph, base, tree)
        out.append(Condition([m.path for m in members], partial(_bind_filter, tree=tree, calendar=calendar,
                                                                offset=offset)))
    for owner, model, where in ctx.plan.segments:
        path = graph.resolve_path(base, owner.split("."), what=f"segment '{owner}'")
        reached = path[-1].target if path else base
        if reached != model:
            raise QueryValidationError(f"segment '{owner}' reaches model '{reached}', not '{model}'")
        out.append(Condition([path], partial(_bind_segment, sql=where, path=path)))
    security = row_security(ctx, base)
    if security is not None:
        out.append(security)
    bounds = ctx.plan.time_bounds
    if time_range and (bounds.start or bounds.end):
        out.append(Condition([], lambda scope: time_range_condition(ctx, scope, offset)))
    return out


def _bind_filter(scope: JoinScope, *, tree: exp.Expr, calendar: Calendar, offset: Offset) -> exp.Expr:
    return bind_tree(scope, tree, calendar, offset)


def _bind_segment(scope: JoinScope, *, sql: str, path: Path) -> exp.Expr:
    return scope.snippet(sql, path)


def time_range_condition(ctx: UnitContext, scope: JoinScope, offset: Offset) -> exp.Expr:
    """`time_range` on the raw column: local bounds moved back by the offset, then converted to UTC."""
    resolved = scope.metric_time_dimension()
    is_date = resolved.dimension.granularity == "day"
    column = scope.dimension(resolved)
    tz = ctx.calendar.timezone
    parts: list[exp.Expr] = []
    for factory, cls in ((ctx.plan.time_bounds.start, exp.GTE), (ctx.plan.time_bounds.end, exp.LT)):
        if factory is None:
            continue

        def bound(values: list, f: Callable = factory) -> object:  # type: ignore[type-arg]
            local = py_shift(f(values), -offset)
            return local.date() if is_date else local_to_utc(local, tz)

        parts.append(cls(this=column.copy(), expression=ctx.params.derived(bound)))
    return exp.and_(*parts)


