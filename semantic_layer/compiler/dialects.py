"""What differs between target dialects beyond what sqlglot's generators already handle.

sqlglot renders most constructs per dialect by itself (time zone conversion, truncation,
percentiles, null-safe equality). The few constructs it cannot transpile are small overrides here,
keyed by dialect, instead of `if dialect == …` branches through the compiler.
"""

from __future__ import annotations

from sqlglot import exp

from ..errors import QueryValidationError
from ..timegrain import step_interval

SUPPORTED_DIALECTS = ("duckdb", "postgres", "mysql", "snowflake", "bigquery", "trino", "clickhouse", "spark",
                      "databricks", "redshift")
_ALIASES = {"postgresql": "postgres", "mariadb": "mysql"}

# Dialects whose generate-series construct sqlglot cannot express; cumulative spines are refused
# there with a clear message instead of emitting SQL that fails at run time.
_NO_SERIES = {"mysql": "MySQL/MariaDB has no series generator", "clickhouse": "ClickHouse needs arrayJoin(range)",
              "redshift": "Redshift's GENERATE_SERIES runs only on the leader node"}


def normalize_dialect(name: str) -> str:
    dialect = _ALIASES.get(name.lower(), name.lower())
    if dialect not in SUPPORTED_DIALECTS:
        raise QueryValidationError(f"unknown dialect '{name}' — use one of: {', '.join(SUPPORTED_DIALECTS)}")
    return dialect


def time_spine(bounds: exp.Select, grain: str, alias: str) -> exp.Select:
    """Period starts from `lo` to `hi` inclusive, one row each (a lateral unnest of a series)."""
    series = exp.Unnest(
        expressions=[exp.GenerateSeries(start=exp.column("lo", table="b"), end=exp.column("hi", table="b"),
                                        step=step_interval(grain))],
        alias=exp.TableAlias(this=exp.to_identifier("s"), columns=[exp.to_identifier(alias)]))
    return exp.select(exp.column(alias, table="s").as_(alias)).from_(bounds.subquery("b")).join(
        series, join_type="cross")


def check_renderable(tree: exp.Expr, dialect: str) -> None:
    """Refuse, with the feature and dialect named, what the target cannot run."""
    reason = _NO_SERIES.get(dialect)
    if reason and tree.find(exp.GenerateSeries) is not None:
        raise QueryValidationError(f"cumulative metrics need a generated time spine, which is not available "
                                   f"for dialect '{dialect}': {reason}")
