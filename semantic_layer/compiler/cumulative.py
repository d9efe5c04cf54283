"""Cumulative units over a time spine (docs/semantics.md, cumulative metrics).

Every period of the range appears, with or without events: a generated series of period starts
(the spine) is crossed with the dimension combinations seen in the contributing rows and then
outer-joined to those rows on the window condition. The value of a period is the one as of its
last moment: window `W` covers [period end − W, period end); grain_to_date covers
[start of the grain containing the period's last day, period end); all-time has no lower bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlglot import exp

from ..errors import QueryValidationError
from ..timegrain import Offset, as_period_value, grain_step, local_to_utc, py_shift, py_truncate, shift, truncate
from .aggregation import aggregate, measure_input
from .conditions import bound_conditions
from .context import UnitContext
from .members import member_value
from .nodes import cross_join, left_join, table, table_alias
from .plan import CumulativeSpec, Unit
from .scope import JoinScope
from .semijoin import apply_conditions, fanout_prefixes

TIME = "__t"
PERIOD = "__p"
WINDOW_PERIOD = "__w"


def build_cumulative_unit(ctx: UnitContext, unit: Unit) -> exp.Select:
    key = unit.key
    spec = key.spec
    assert isinstance(spec, CumulativeSpec)
    base = key.model
    members = unit.reads.dimensions
    times = [i for i, m in enumerate(members) if m.metric_time]
    if len(times) > 1:
        raise QueryValidationError(
            "cumulative metrics accumulate along one 'metric_time:<grain>' dimension; "
            "ask for a single metric_time grain"
        )
    t_index = times[0] if times else None
    grain = members[t_index].grain or "day" if t_index is not None else None
    calendar = ctx.calendar
    scope = JoinScope(ctx.graph, base)
    dims = unit.reads.requests
    others = [
        (dims[i].alias, member_value(scope, m, calendar, Offset())) for i, m in enumerate(members) if i != t_index
    ]
    local_time = scope.metric_time(calendar, None)
    measures = ctx.graph.measures_by_model[base]
    columns = [measure_input(scope, measures[name], alias) for name, alias in unit.measures.items()]
    inputs = [(c.alias, c.measure, c.row_value()) for c in columns]  # aggregated after the window join

    where = apply_conditions(
        scope,
        bound_conditions(ctx, unit.reads, key.offset),
        fanout_prefixes(members),
        correlated=ctx.profile.correlated_exists,
    )
    if grain is not None:
        where += _row_bounds(ctx, scope, spec, grain, key.offset)
    # A dimension through a one_to_many join repeats a base row; DISTINCT (with the primary key, so
    # equal rows of different base rows stay apart) counts it once. Without one the rows are the
    # base rows already, and where the target computes a row set once anyway (DuckDB) DISTINCT
    # would only hash them all (half the time of a running total over 128 000 payments). Elsewhere
    # it is also what keeps the rows from being merged into the window join, which would convert
    # each row's local time once per period it is compared with.
    distinct = any(step.fans_out for m in members for step in m.path) or not ctx.profile.computes_row_sets_once
    keys = [k.as_(f"__pk{i}", copy=False) for i, k in enumerate(scope.primary_key())] if distinct else []
    rows = exp.select(
        *keys,
        *(e.as_(a, copy=False) for a, e in others),
        local_time.as_(TIME, copy=False),
        *(v.as_(f"__in{i}", copy=False) for i, (_, _, v) in enumerate(inputs) if v is not None),
    )
    rows = scope.apply_from(rows.distinct(copy=False) if distinct else rows)
    if where:
        rows = rows.where(exp.and_(*where), copy=False)
    if grain is None or t_index is None:
        return _as_of_end(ctx, spec, rows, others, inputs, key.offset)

    period = exp.column(PERIOD, table="spine")
    upper = shift(period, grain_step(grain))
    window = [
        exp.GTE(this=exp.column(TIME, table="r"), expression=_lower(spec, period, upper, grain, ctx)),
        exp.LT(this=exp.column(TIME, table="r"), expression=upper),
    ]
    window = [w for w in window if w.expression is not None]
    matches = [exp.NullSafeEQ(this=exp.column(a, table="r"), expression=exp.column(a, table="c")) for a, _ in others]
    select = exp.select(
        *[
            (exp.column(a, table="c") if i != t_index else as_period_value(period, grain)).as_(dims[i].alias)
            for i, a in enumerate(d.alias for d in dims)
        ],
        *(
            aggregate(m, None if v is None else exp.column(f"__in{i}", table="r")).as_(a)
            for i, (a, m, v) in enumerate(inputs)
        ),
    )
    select = select.with_(table_alias("r"), as_=rows, copy=False)
    select = select.with_(table_alias("spine"), as_=_spine(ctx, grain, key.offset), copy=False)
    select = select.from_(table("spine"), copy=False)
    if others:
        combos = exp.select(*(exp.column(a) for a, _ in others)).distinct(copy=False).from_(table("r"), copy=False)
        select = cross_join(select, combos.subquery("c", copy=False))
    select = left_join(select, *_window_join(ctx, period, window, matches))
    group_by = [period] + [exp.column(a, table="c") for a, _ in others]
    return select.group_by(*group_by, copy=False)


def _window_join(
    ctx: UnitContext, period: exp.Column, window: Sequence[exp.Expr], matches: Sequence[exp.Expr]
) -> tuple[exp.Expr, exp.Expr]:
    """What the spine is LEFT JOINed to, and on what: the rows `r` on the window's inequalities, or,
    where joins take equalities only (ClickHouse), the pairs of a period and a row in its window
    (a filtered cross join, still named `r`) on the period."""
    if ctx.profile.inequality_joins:
        return table("r"), exp.and_(*matches, *window)
    pairs = (
        exp.select(period.as_(WINDOW_PERIOD), exp.Column(this=exp.Star(), table=exp.to_identifier("r")))
        .from_(table("spine"), copy=False)
        .join(table("r"), join_type="cross", copy=False)
        .where(exp.and_(*window), copy=False)
    )
    on = exp.EQ(this=exp.column(WINDOW_PERIOD, table="r"), expression=period.copy())
    return pairs.subquery("r", copy=False), exp.and_(on, *matches)


def _as_of_end(
    ctx: UnitContext,
    spec: CumulativeSpec,
    rows: exp.Select,
    others: list[tuple[str, exp.Expr]],
    inputs: list[Any],
    offset: Offset,
) -> exp.Select:
    """Without metric_time, one value as of the end of time_range.

    With no range, an all-time total covers every row (so differences of running totals, such as
    pipeline value, are taken at one common moment); a window or grain-to-date ends on the last day
    with data.
    """
    end = ctx.plan.time_bounds.end
    upper: exp.Expr
    if end is None and spec.window is None and spec.grain_to_date is None:
        upper = exp.null()
    elif end is not None:
        upper = exp.cast(ctx.params.derived(lambda values: py_shift(end(values), -offset)), exp.DataType.Type.TIMESTAMP)
    else:
        last_day = shift(
            exp.TimestampTrunc(this=exp.Max(this=exp.column(TIME)), unit=exp.Var(this="DAY")), Offset(days=1)
        )
        upper = exp.Subquery(this=exp.select(last_day).from_(table("r"), copy=False))
    lower = _lower(spec, upper, upper, "day", ctx)
    window: list[exp.Expr] = []
    if not isinstance(upper, exp.Null):
        window.append(exp.LT(this=exp.column(TIME, table="r"), expression=upper.copy()))
    if lower is not None:
        window.append(exp.GTE(this=exp.column(TIME, table="r"), expression=lower))
    select = exp.select(
        *(exp.column(a, table="r").as_(a) for a, _ in others),
        *(
            aggregate(m, None if v is None else exp.column(f"__in{i}", table="r")).as_(a)
            for i, (a, m, v) in enumerate(inputs)
        ),
    )
    select = select.with_(table_alias("r"), as_=rows, copy=False).from_(table("r"), copy=False)
    if window:
        select = select.where(exp.and_(*window), copy=False)
    if others:
        select = select.group_by(*(exp.column(a, table="r") for a, _ in others), copy=False)
    return select


def _lower(spec: CumulativeSpec, period: exp.Expr, upper: exp.Expr, grain: str, ctx: UnitContext) -> Any:
    if spec.window is not None:
        return shift(upper.copy(), -spec.window)
    if spec.grain_to_date is not None:
        last_day = period.copy() if grain == "hour" else shift(upper.copy(), -Offset(days=1))
        return truncate(last_day, spec.grain_to_date, ctx.calendar)
    return None


def _py_lower(spec: CumulativeSpec, first_upper: datetime, grain: str, ctx: UnitContext) -> datetime | None:
    if spec.window is not None:
        return py_shift(first_upper, -spec.window)
    if spec.grain_to_date is not None:
        return py_truncate(
            first_upper - timedelta(days=1) if grain != "hour" else first_upper - timedelta(hours=1),
            spec.grain_to_date,
            ctx.calendar,
        )
    return None


def _spine_bounds(ctx: UnitContext, grain: str, offset: Offset) -> tuple[Any, Any]:
    """Param factories for the first and last period starts of the range (local time)."""
    bounds = ctx.plan.time_bounds
    calendar = ctx.calendar

    def first(values: list[Any], f: Any = bounds.start) -> datetime:
        return py_truncate(py_shift(f(values), -offset), grain, calendar)

    def last(values: list[Any], f: Any = bounds.end) -> datetime:
        return py_truncate(py_shift(f(values), -offset) - timedelta(microseconds=1), grain, calendar)

    return (first if bounds.start else None), (last if bounds.end else None)


def _row_bounds(ctx: UnitContext, scope: JoinScope, spec: CumulativeSpec, grain: str, offset: Offset) -> list[exp.Expr]:
    """Only rows that can fall into some period's window are read (raw UTC column, prunable)."""
    first, last = _spine_bounds(ctx, grain, offset)
    resolved = scope.metric_time_dimension()
    is_date = resolved.dimension.granularity == "day"
    column = scope.dimension(resolved)
    tz = ctx.calendar.timezone
    step = grain_step(grain)

    def convert(local: datetime) -> Any:
        return local.date() if is_date else local_to_utc(local, tz)

    out: list[exp.Expr] = []
    if last is not None:
        upper = ctx.params.derived(lambda values: convert(py_shift(last(values), step)))
        out.append(exp.LT(this=column.copy(), expression=upper))
    if first is not None and (spec.window is not None or spec.grain_to_date is not None):

        def lower(values: list[Any]) -> Any:
            bound = _py_lower(spec, py_shift(first(values), step), grain, ctx)
            assert bound is not None
            return convert(bound)

        out.append(exp.GTE(this=column.copy(), expression=ctx.params.derived(lower)))
    return out


def _spine(ctx: UnitContext, grain: str, offset: Offset) -> exp.Select:
    first, last = _spine_bounds(ctx, grain, offset)
    data_period = exp.cast(truncate(exp.column(TIME), grain, ctx.calendar), exp.DataType.Type.TIMESTAMP)
    lo: exp.Expr = (
        exp.cast(ctx.params.derived(first), exp.DataType.Type.TIMESTAMP) if first else exp.Min(this=data_period)
    )
    hi: exp.Expr = (
        exp.cast(ctx.params.derived(last), exp.DataType.Type.TIMESTAMP) if last else exp.Max(this=data_period.copy())
    )
    bounds = exp.select(lo.as_("lo"), hi.as_("hi"))
    if not (first and last):
        bounds = bounds.from_(table("r"), copy=False)
    return ctx.profile.spine(bounds, grain, PERIOD)
