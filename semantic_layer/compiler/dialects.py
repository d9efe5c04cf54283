"""What differs between target dialects beyond what sqlglot's generators already handle.

sqlglot renders most constructs per dialect by itself (time zone conversion, truncation,
percentiles, null-safe equality). The few constructs it cannot transpile are small overrides here,
keyed by dialect, instead of `if dialect == …` branches through the compiler.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.mysql import MySQL

from ..errors import QueryValidationError
from ..timegrain import step_interval

SUPPORTED_DIALECTS = ("duckdb", "postgres", "mysql", "mariadb", "snowflake", "bigquery", "trino", "clickhouse",
                      "spark", "databricks", "redshift")
_ALIASES = {"postgresql": "postgres"}


class MariaDB(MySQL):
    """MariaDB speaks MySQL's SQL; it is a dialect of its own here only because it has what MySQL
    lacks (percentile window functions), which the compiler uses. sqlglot registers it as 'mariadb'."""

# Dialects whose generate-series construct sqlglot cannot express; cumulative spines are refused
# there with a clear message instead of emitting SQL that fails at run time.
_NO_SERIES = {"clickhouse": "ClickHouse needs arrayJoin(range)",
              "redshift": "Redshift's GENERATE_SERIES runs only on the leader node"}


def normalize_dialect(name: str) -> str:
    dialect = _ALIASES.get(name.lower(), name.lower())
    if dialect not in SUPPORTED_DIALECTS:
        raise QueryValidationError(f"unknown dialect '{name}' — use one of: {', '.join(SUPPORTED_DIALECTS)}")
    return dialect


def time_spine(bounds: exp.Select, grain: str, alias: str, dialect: str) -> exp.Select:
    """Period starts from `lo` to `hi` inclusive, one row each."""
    builder = _SPINES.get(dialect, _unnest_spine)
    return builder(bounds, grain, alias)


def _unnest_spine(bounds: exp.Select, grain: str, alias: str) -> exp.Select:
    """A lateral unnest of a generated series (DuckDB, Trino, Spark, BigQuery, Snowflake…)."""
    series = exp.Unnest(expressions=[_series(grain)],
                        alias=exp.TableAlias(this=exp.to_identifier("s"), columns=[exp.to_identifier(alias)]))
    return exp.select(exp.column(alias, table="s").as_(alias)).from_(bounds.subquery("b")).join(
        series, join_type="cross")


def _table_function_spine(bounds: exp.Select, grain: str, alias: str) -> exp.Select:
    """PostgreSQL's GENERATE_SERIES is itself a set-returning table function."""
    generated = exp.ExplodingGenerateSeries(start=exp.column("lo", table="b"), end=exp.column("hi", table="b"),
                                            step=step_interval(grain))
    series = exp.Table(this=generated, alias=exp.TableAlias(this=exp.to_identifier("s"),
                                                             columns=[exp.to_identifier(alias)]))
    return exp.select(exp.column(alias, table="s").as_(alias)).from_(bounds.subquery("b")).join(
        series, join_type="cross")


def _recursive_spine(bounds: exp.Select, grain: str, alias: str) -> exp.Select:
    """MySQL and MariaDB have no series generator: a recursive CTE steps from lo to hi."""
    step = step_interval(grain)
    nxt = exp.Add(this=exp.column(alias, table="s"), expression=step)
    seed = exp.select(exp.column("lo", table="b").as_(alias), exp.column("hi", table="b").as_("hi")).from_(
        bounds.subquery("b"))
    more = exp.select(nxt.as_(alias), exp.column("hi", table="s")).from_(exp.to_table("s")).where(
        exp.LTE(this=nxt.copy(), expression=exp.column("hi", table="s")))
    return exp.select(exp.column(alias, table="s").as_(alias)).from_("s").with_(
        "s", as_=exp.union(seed, more, distinct=False), recursive=True)


def _series(grain: str) -> exp.Expr:
    return exp.GenerateSeries(start=exp.column("lo", table="b"), end=exp.column("hi", table="b"),
                              step=step_interval(grain))


_SPINES = {"postgres": _table_function_spine, "redshift": _table_function_spine, "mysql": _recursive_spine,
           "mariadb": _recursive_spine}


_NO_PERCENTILES = dict.fromkeys(("mysql", "mariadb"), "MySQL and MariaDB have no ordered-set (percentile) "
                                                      "aggregate, and a running percentile cannot be ranked per period")


def check_renderable(tree: exp.Expr, dialect: str) -> None:
    """Refuse, with the feature and dialect named, what the target cannot run."""
    reason = _NO_SERIES.get(dialect)
    if reason and tree.find(exp.GenerateSeries, exp.ExplodingGenerateSeries) is not None:
        raise QueryValidationError(f"cumulative metrics need a generated time spine, which is not available "
                                   f"for dialect '{dialect}': {reason}")
    reason = _NO_PERCENTILES.get(dialect)
    if reason and tree.find(exp.Median, exp.PercentileCont) is not None:
        raise QueryValidationError(f"cumulative median and percentile metrics are not available for dialect "
                                   f"'{dialect}': {reason} — compute them on another engine or use avg")


def adapt(tree: exp.Expr, dialect: str) -> exp.Expr:
    """Rewrite what sqlglot renders incorrectly for the target (after `check_renderable`)."""
    rewrite = _REWRITES.get(dialect)
    return tree.transform(rewrite, copy=False) if rewrite else tree


def _fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _mysql_node(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.TimestampTrunc):
        return _mysql_truncate(node.this, node.unit.name.upper() if node.unit else "DAY")
    if isinstance(node, exp.DateDiff):
        return _mysql_date_diff(node)
    return node


def _mysql_truncate(x: exp.Expr, unit: str) -> exp.Expr:
    """MySQL/MariaDB have no DATE_TRUNC; sqlglot's emulation counts from year 0000 (weeks start on
    Saturday, hours come back as text). Truncate with date arithmetic instead (about a third faster
    than formatting through text), as DATETIME values."""
    day = exp.cast(x.copy(), exp.DataType.Type.DATE)
    year_start = _fn("MAKEDATE", _fn("YEAR", x.copy()), exp.Literal.number(1))

    def minus(amount: exp.Expr, unit: str) -> exp.Expr:
        return exp.Sub(this=x.copy(), expression=exp.Interval(this=exp.paren(amount), unit=exp.Var(this=unit)))

    micro, second, minute = _fn("MICROSECOND", x.copy()), _fn("SECOND", x.copy()), _fn("MINUTE", x.copy())
    seconds_in_hour = exp.Add(this=exp.Mul(this=minute, expression=exp.Literal.number(60)), expression=second.copy())
    start: exp.Expr = {
        "SECOND": lambda: minus(micro.copy(), "MICROSECOND"),
        "MINUTE": lambda: minus(_plus_micro(second.copy(), micro), "MICROSECOND"),
        "HOUR": lambda: minus(_plus_micro(exp.paren(seconds_in_hour), micro), "MICROSECOND"),
        "DAY": lambda: day,
        "WEEK": lambda: exp.Sub(this=day, expression=exp.Interval(this=_fn("WEEKDAY", x.copy()),
                                                                  unit=exp.Var(this="DAY"))),
        "MONTH": lambda: exp.Sub(this=day, expression=exp.Interval(
            this=exp.paren(exp.Sub(this=_fn("DAYOFMONTH", x.copy()), expression=exp.Literal.number(1))),
            unit=exp.Var(this="DAY"))),
        "QUARTER": lambda: exp.Add(this=year_start, expression=exp.Interval(
            this=exp.paren(exp.Sub(this=_fn("QUARTER", x.copy()), expression=exp.Literal.number(1))),
            unit=exp.Var(this="QUARTER"))),
        "YEAR": lambda: year_start,
    }[unit]()
    return exp.cast(start, exp.DataType.Type.DATETIME)


def _plus_micro(seconds: exp.Expr, micro: exp.Expr) -> exp.Expr:
    """seconds × 1 000 000 + microseconds: how far a value is past the start of its minute or hour."""
    return exp.Add(this=exp.Mul(this=seconds, expression=exp.Literal.number(1_000_000)), expression=micro.copy())


def _mysql_date_diff(node: exp.DateDiff) -> exp.Expr:
    """sqlglot renders every DATE_DIFF as MySQL's DATEDIFF, which counts days whatever the unit.
    Count unit boundaries crossed, as DuckDB does: TIMESTAMPDIFF between the two values truncated
    to the unit."""
    unit = node.unit.name.upper() if node.unit else "DAY"
    if unit == "DAY":
        return node  # DATEDIFF compares the dates: day boundaries crossed
    start, end = node.expression, node.this
    if unit == "WEEK":  # DuckDB: days between the dates, divided by 7
        return _fn("TIMESTAMPDIFF", exp.Var(this=unit), _as_date(start), _as_date(end))
    return _fn("TIMESTAMPDIFF", exp.Var(this=unit), _mysql_truncate(start, unit), _mysql_truncate(end, unit))


def _postgres_node(node: exp.Expr) -> exp.Expr:
    """sqlglot's PostgreSQL DATE_DIFF in weeks counts whole 7-day intervals; DuckDB divides the days
    between the two dates by 7. Every other unit already matches."""
    if isinstance(node, exp.DateDiff) and node.unit is not None and node.unit.name.upper() == "WEEK":
        days = exp.paren(exp.Sub(this=_as_date(node.this), expression=_as_date(node.expression)))
        return exp.paren(exp.Div(this=days, expression=exp.Literal.number(7), typed=True))
    return node


def _as_date(x: exp.Expr) -> exp.Expr:
    return exp.cast(x.copy(), exp.DataType.Type.DATE)


_REWRITES = {"mysql": _mysql_node, "mariadb": _mysql_node, "postgres": _postgres_node}
