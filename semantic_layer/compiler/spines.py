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
