"""Retention units (docs/semantics.md, retention metrics).

For each period P at the metric's grain: the entities active in P, and of those the ones active
again in P+offset. The activity rows (every filter applied, NULL entities left out) are reduced once
to DISTINCT (entity, period, dimension values) and joined to themselves on equal entity and the
period `offset` later, so an entity counts as retained exactly when it has a row then — gaps,
repeats within a period and entities seen only later need no special case. The cohort is the
entities active in P within the row's group; their activity in P+offset counts in any group (the
filters still apply to it).

time_range picks the periods shown, each counted whole; activity in P+offset is read even when it
lies after the range.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlglot import exp

from ..errors import QueryValidationError
from ..timegrain import Offset, as_period_value, local_to_utc, py_shift, py_truncate, shift, truncate
from .conditions import bound_conditions
from .context import UnitContext
from .members import member_value
from .nodes import left_join, table, table_alias
from .plan import DimensionRequest, RetentionSpec, Unit
from .prejoin import project_before_joins
from .scope import JoinScope
from .semijoin import apply_conditions, fanout_prefixes

ENTITY = "__e"
PERIOD = "__p"


def build_retention_unit(ctx: UnitContext, unit: Unit) -> exp.Select:
    key = unit.key
    spec = key.spec
    assert isinstance(spec, RetentionSpec)
    dims = unit.reads.requests
    t_index = period_dimension(spec, dims)
    scope = JoinScope(ctx.graph, key.model)
    others = [
        (d.alias, member_value(scope, m, ctx.calendar, Offset()))
        for i, (d, m) in enumerate(unit.reads.grouping)
        if i != t_index
    ]
    rows = _activity(ctx, unit, spec, scope, others)
    period = as_period_value(exp.column(PERIOD, table="c"), spec.period)
    group = [period, *(exp.column(alias, table="c") for alias, _ in others)]
    select = exp.select(
        *(
            (period if i == t_index else exp.column(d.alias, table="c")).copy().as_(d.alias, copy=False)
            for i, d in enumerate(dims)
        ),
        *(_count(name, alias) for name, alias in unit.measures.items()),
    )
    select = select.with_(table_alias("r"), as_=rows, copy=False)
    select = select.from_(exp.Table(this=exp.to_identifier("r"), alias=table_alias("c")), copy=False)
    # A match on the entity and P+offset is activity in P+offset. The later side is compared on its
    # plain columns, which an engine can key (MariaDB builds an index on both for a derived table);
    # it is one row per (entity, period) already unless dimensions split the rows.
    later: exp.Expr = table("r")
    if others:
        distinct = exp.select(exp.column(ENTITY), exp.column(PERIOD)).distinct(copy=False)
        later = exp.Subquery(this=distinct.from_(table("r"), copy=False))
    matches = [
        exp.EQ(this=exp.column(ENTITY, table="n"), expression=exp.column(ENTITY, table="c")),
        exp.EQ(
            this=exp.column(PERIOD, table="n"),
            expression=shift(exp.column(PERIOD, table="c"), Offset.of(spec.offset, spec.period)),
        ),
    ]
    select = left_join(select, later.as_("n", copy=False), exp.and_(*matches))
    shown = _shown_periods(ctx, spec, key.offset)
    if shown:
        select = select.where(exp.and_(*shown), copy=False)
    return select.group_by(*(g.copy() for g in group), copy=False)


def _activity(
    ctx: UnitContext, unit: Unit, spec: RetentionSpec, scope: JoinScope, others: list[tuple[str, exp.Expr]]
) -> exp.Select:
    """DISTINCT (entity, period start in local time, other dimension values) over the rows every
    condition keeps, with an entity and a time, in the periods shown and those `offset` after them.
    Counting entities, not rows, a dimension through a one_to_many join needs nothing more."""
    entity = scope.snippet(spec.entity, ())
    time = scope.dimension(scope.metric_time_dimension())
    members = unit.reads.dimensions
    where = apply_conditions(
        scope,
        bound_conditions(ctx, unit.reads, unit.key.offset),
        fanout_prefixes(members),
        correlated=ctx.profile.correlated_exists,
    )
    where += [_not_null(entity), _not_null(time), *_row_bounds(ctx, scope, spec, unit.key.offset)]
    rows = exp.select(
        entity.as_(ENTITY, copy=False),
        truncate(scope.metric_time(ctx.calendar, None), spec.period, ctx.calendar).as_(PERIOD, copy=False),
        *(value.as_(alias, copy=False) for alias, value in others),
    ).distinct(copy=False)
    return project_before_joins(scope.apply_from(rows).where(exp.and_(*where), copy=False), scope.alias(()))


def period_dimension(spec: RetentionSpec, dims: tuple[DimensionRequest, ...]) -> int:
    """The index of the query's metric_time dimension, which must be at the metric's period: the
    value is a ratio per period, which neither adds up over periods nor splits into shorter ones."""
    times = [i for i, d in enumerate(dims) if d.is_metric_time]
    fix = f"group it by 'metric_time:{spec.period}'"
    later = f"{spec.offset} {spec.period}{'s' if spec.offset > 1 else ''}"
    if not times:
        raise QueryValidationError(
            f"retention metric '{spec.metric}' is a share per {spec.period} (of the entities active in a "
            f"{spec.period}, those active again {later} later) — {fix}"
        )
    for i in times:
        if (dims[i].grain or "day") != spec.period:
            raise QueryValidationError(
                f"retention metric '{spec.metric}' has period '{spec.period}' and cannot be grouped by "
                f"'{dims[i].ref}' — {fix}; for retention at another grain or offset (a cohort view), "
                f"define one retention metric per period and offset"
            )
    return times[0]


def _not_null(value: exp.Expr) -> exp.Expr:
    return exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))


def _count(name: str, alias: str) -> exp.Expr:
    """The cohort's entities (each once per group: the rows are distinct), or those matched later."""
    if name == RetentionSpec.RETAINED:
        return exp.Count(this=exp.column(ENTITY, table="n")).as_(alias, copy=False)
    return exp.Count(this=exp.Star()).as_(alias, copy=False)


def _period_bounds(ctx: UnitContext, spec: RetentionSpec, offset: Offset) -> tuple[Any, Any]:
    """Param factories for the first and last periods P shown (local period starts): those that
    overlap time_range (moved back by a derived input's offset)."""
    bounds = ctx.plan.time_bounds
    calendar = ctx.calendar

    def first(values: list[Any], f: Any = bounds.start) -> datetime:
        return py_truncate(py_shift(f(values), -offset), spec.period, calendar)

    def last(values: list[Any], f: Any = bounds.end) -> datetime:
        return py_truncate(py_shift(f(values), -offset) - timedelta(microseconds=1), spec.period, calendar)

    return (first if bounds.start else None), (last if bounds.end else None)


def _shown_periods(ctx: UnitContext, spec: RetentionSpec, offset: Offset) -> list[exp.Expr]:
    first, last = _period_bounds(ctx, spec, offset)
    period = exp.column(PERIOD, table="c")
    out: list[exp.Expr] = []
    for factory, cls in ((first, exp.GTE), (last, exp.LTE)):
        if factory is not None:
            bound = exp.cast(ctx.params.derived(factory), exp.DataType.Type.TIMESTAMP)
            out.append(cls(this=period.copy(), expression=bound))
    return out


def _row_bounds(ctx: UnitContext, scope: JoinScope, spec: RetentionSpec, offset: Offset) -> list[exp.Expr]:
    """Only the rows of the periods shown and of the periods `offset` after them are read (on the
    raw column, so the engine can prune)."""
    first, last = _period_bounds(ctx, spec, offset)
    resolved = scope.metric_time_dimension()
    is_date = resolved.dimension.granularity == "day"
    column = scope.dimension(resolved)
    tz = ctx.calendar.timezone
    beyond = Offset.of(spec.offset + 1, spec.period)  # the end of the last period's P+offset

    def stored(local: datetime) -> Any:
        return local.date() if is_date else local_to_utc(local, tz)

    def lower(values: list[Any]) -> Any:
        return stored(first(values))

    def upper(values: list[Any]) -> Any:
        return stored(py_shift(last(values), beyond))

    out: list[exp.Expr] = []
    if first is not None:
        out.append(exp.GTE(this=column.copy(), expression=ctx.params.derived(lower)))
    if last is not None:
        out.append(exp.LT(this=column.copy(), expression=ctx.params.derived(upper)))
    return out
