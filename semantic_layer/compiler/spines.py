"""Time spines: one row per period start from `lo` to `hi` inclusive, in the ways dialects allow.

Each target's DialectProfile (dialects.py) names the builder it uses.
"""

from __future__ import annotations

from sqlglot import exp

from ..timegrain import step_interval
from .nodes import cross_join, table, table_alias


def unnest_spine(bounds: exp.Select, grain: str, alias: str) -> exp.Select:
    """A lateral unnest of a generated series of timestamps (DuckDB, Trino, Spark)."""
    series = exp.Unnest(
        expressions=[_series(grain)],
        alias=exp.TableAlias(this=exp.to_identifier("s"), columns=[exp.to_identifier(alias)]),
    )
    return cross_join(
        exp.select(exp.column(alias, table="s").as_(alias, copy=False)).from_(
            bounds.subquery("b", copy=False), copy=False
        ),
        series,
    )


def table_function_spine(bounds: exp.Select, grain: str, alias: str) -> exp.Select:
    """PostgreSQL's GENERATE_SERIES is itself a set-returning table function."""
    generated = exp.ExplodingGenerateSeries(
        start=exp.column("lo", table="b"), end=exp.column("hi", table="b"), step=step_interval(grain)
    )
    series = exp.Table(
        this=generated, alias=exp.TableAlias(this=exp.to_identifier("s"), columns=[exp.to_identifier(alias)])
    )
    return cross_join(
        exp.select(exp.column(alias, table="s").as_(alias, copy=False)).from_(
            bounds.subquery("b", copy=False), copy=False
        ),
        series,
    )


def recursive_spine(bounds: exp.Select, grain: str, alias: str) -> exp.Select:
    """MySQL and MariaDB have no series generator: a recursive CTE steps from lo to hi."""
    step = step_interval(grain)
    nxt = exp.Add(this=exp.column(alias, table="s"), expression=step)
    seed = exp.select(
        exp.column("lo", table="b").as_(alias, copy=False), exp.column("hi", table="b").as_("hi", copy=False)
    ).from_(bounds.subquery("b", copy=False), copy=False)
    more = (
        exp.select(nxt.as_(alias), exp.column("hi", table="s"))
        .from_(table("s"), copy=False)
        .where(exp.LTE(this=nxt.copy(), expression=exp.column("hi", table="s")), copy=False)
    )
    return (
        exp.select(exp.column(alias, table="s").as_(alias, copy=False))
        .from_(table("s"), copy=False)
        .with_(table_alias("s"), as_=exp.union(seed, more, distinct=False, copy=False), recursive=True, copy=False)
    )


def _series(grain: str) -> exp.Expr:
    return exp.GenerateSeries(
        start=exp.column("lo", table="b"), end=exp.column("hi", table="b"), step=step_interval(grain)
    )


def _step(grain: str) -> tuple[str, int]:
    """One period as a unit and a count of it: HOUR, DAY (7 for a week) or MONTH (3 for a quarter)."""
    step = step_interval(grain)
    return (step.unit.name.upper() if step.unit else "DAY"), int(step.this.name)


def _bound(name: str) -> exp.Column:
    return exp.column(name, table="b")


def _offsets_spine(bounds: exp.Select, alias: str, offsets: exp.Expr, period: exp.Expr) -> exp.Select:
    """`period` (computed from b.lo and s.n) for each offset s.n of the array `offsets`."""
    series = exp.Unnest(
        expressions=[offsets], alias=exp.TableAlias(this=exp.to_identifier("s"), columns=[exp.to_identifier("n")])
    )
    return cross_join(
        exp.select(period.as_(alias, copy=False)).from_(bounds.subquery("b", copy=False), copy=False), series
    )


def flatten_range_spine(bounds: exp.Select, grain: str, alias: str) -> exp.Select:
    """Snowflake: ARRAY_GENERATE_RANGE takes integers only (no dates, no intervals), and stops before
    its end: the offsets 0 … DATEDIFF(unit, lo, hi) in steps of one period, each added to lo with
    DATEADD. DATEDIFF counts unit boundaries, exact between two period starts."""
    unit, count = _step(grain)
    units = exp.DateDiff(this=_bound("hi"), expression=_bound("lo"), unit=exp.Var(this=unit))
    offsets = exp.Anonymous(
        this="ARRAY_GENERATE_RANGE",
        expressions=[
            exp.Literal.number(0),
            exp.Add(this=units, expression=exp.Literal.number(1)),
            exp.Literal.number(count),
        ],
    )
    offset = exp.cast(exp.column("n", table="s"), exp.DataType.Type.INT)  # FLATTEN's VALUE is a VARIANT
    period = exp.DateAdd(this=_bound("lo"), expression=offset, unit=exp.Var(this=unit))
    return _offsets_spine(bounds, alias, offsets, period)


def generate_array_spine(bounds: exp.Select, grain: str, alias: str) -> exp.Select:
    """BigQuery: GENERATE_ARRAY takes numbers only (GENERATE_DATE_ARRAY has no hours, and
    GENERATE_TIMESTAMP_ARRAY no months, and neither takes the DATETIME bounds): the offsets 0 …
    DATETIME_DIFF(hi, lo, unit) in steps of one period, each added to lo with DATETIME_ADD."""
    unit, count = _step(grain)
    units = exp.DatetimeDiff(this=_bound("hi"), expression=_bound("lo"), unit=exp.Var(this=unit))
    offsets = exp.Anonymous(
        this="GENERATE_ARRAY", expressions=[exp.Literal.number(0), units, exp.Literal.number(count)]
    )
    period = exp.DatetimeAdd(this=_bound("lo"), expression=exp.column("n", table="s"), unit=exp.Var(this=unit))
    return _offsets_spine(bounds, alias, offsets, period)


def array_join_spine(bounds: exp.Select, grain: str, alias: str) -> exp.Select:
    """ClickHouse has no series of dates: one row per step from arrayJoin(range(…)) over the number of
    steps between lo and hi, added to lo. dateDiff counts unit boundaries, and lo and hi are both
    period starts, so it is the exact number of units between them; a range that is empty (hi before
    lo) or unknown (no data: NULL bounds) gives no periods."""
    unit, count = _step(grain)
    lo, hi = _bound("lo"), _bound("hi")
    units = exp.Anonymous(this="dateDiff", expressions=[exp.Literal.string(unit.lower()), lo, hi])
    steps = exp.Anonymous(
        this="toUInt64",
        expressions=[
            exp.Anonymous(
                this="greatest",
                expressions=[
                    exp.Coalesce(
                        this=exp.Add(this=units, expression=exp.Literal.number(1)),
                        expressions=[exp.Literal.number(0)],
                    ),
                    exp.Literal.number(0),
                ],
            )
        ],
    )
    offsets = exp.Anonymous(
        this="arrayJoin",
        expressions=[
            exp.Anonymous(this="range", expressions=[exp.Literal.number(0), steps, exp.Literal.number(count)])
        ],
    )
    period = exp.Add(this=lo.copy(), expression=exp.Interval(this=offsets, unit=exp.Var(this=unit)))
    return exp.select(period.as_(alias, copy=False)).from_(bounds.subquery("b", copy=False), copy=False)
