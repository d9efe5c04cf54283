"""Time spines: one row per period start from `lo` to `hi` inclusive, in the ways dialects allow.

Each target's DialectProfile (dialects.py) names the builder it uses.
"""

from __future__ import annotations

from sqlglot import exp

from ..timegrain import step_interval
from .nodes import cross_join, table, table_alias


def unnest_spine(bounds: exp.Select, grain: str, alias: str) -> exp.Select:
    """A lateral unnest of a generated series (DuckDB, Trino, Spark, BigQuery, Snowflake…)."""
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


def array_join_spine(bounds: exp.Select, grain: str, alias: str) -> exp.Select:
    """ClickHouse has no series of dates: one row per step from arrayJoin(range(…)) over the number of
    steps between lo and hi, added to lo. dateDiff counts unit boundaries, and lo and hi are both
    period starts, so it is the exact number of units between them; a range that is empty (hi before
    lo) or unknown (no data: NULL bounds) gives no periods."""
    step = step_interval(grain)
    unit, count = step.unit.name.upper() if step.unit else "DAY", int(step.this.name)
    lo, hi = exp.column("lo", table="b"), exp.column("hi", table="b")
    units = exp.Anonymous(this="dateDiff", expressions=[exp.Literal.string(unit.lower()), lo, hi])
    steps = exp.Anonymous(
        this="toUInt64",
        expressions=[
            exp.Anonymous(
                this="greatest",
                expressions=[
                    exp.Coalesce(
                        this=exp.Add(this=units, expression=exp.Literal.number(1)), expressions=[exp.Literal.number(0)]
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
