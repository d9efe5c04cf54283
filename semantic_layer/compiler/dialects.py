"""Everything the compiler knows about a target dialect, in one profile per dialect.

sqlglot renders most constructs per dialect by itself (time zone conversion, truncation,
percentiles, null-safe equality). What it cannot transpile is said here, once per dialect, as a
`DialectProfile`: how a time spine is generated (spines.py), which nodes are rewritten after the
tree is built (rewrites.py), how percentiles are computed where there is no ordered-set aggregate
(ranked.py), and what the target cannot run at all (refused with the reason). Adding a dialect is
one entry in PROFILES; the compiler never branches on a dialect's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.mysql import MySQL

from ..errors import QueryValidationError
from .rewrites import bigquery_node, clickhouse_node, duckdb_node, filter_as_case, mysql_node, postgres_node, spark_node
from .spines import (
    array_join_spine,
    flatten_range_spine,
    generate_array_spine,
    recursive_spine,
    table_function_spine,
    unnest_spine,
)

SpineBuilder = Callable[[exp.Select, str, str], exp.Select]  # (bounds, grain, column alias) → periods


class MariaDB(MySQL):
    """MariaDB speaks MySQL's SQL; it is a dialect of its own here only because it has what MySQL
    lacks (percentile window functions), which the compiler uses. sqlglot registers it as 'mariadb'."""


@dataclass(frozen=True)
class DialectProfile:
    """One target dialect's differences from what sqlglot does by itself.

    `percentiles` is None where the native PERCENTILE_CONT / MEDIAN aggregates work, else the
    window strategy of ranked.py ('ranked' or 'window'). `no_spine` and `no_percentile_aggregate`
    are reasons to refuse a query that needs a generated series or a percentile aggregate (as a
    cumulative median does) on a target that has neither. `computes_row_sets_once` says the
    planner computes a row set's columns (a CTE, a derived table) once per row even when a join
    compares them with another table's rows; PostgreSQL pulls a CTE read once up into its join and
    MySQL and MariaDB merge derived tables, evaluating those columns once per joined pair, and the
    others are not known to keep them apart. `exists_semi_joins` says a correlated EXISTS, and an
    IN over a subquery, run as hash semi-joins there (DuckDB, PostgreSQL: the fastest way to ask "is
    there a matching row"); elsewhere a semi-join is written as a join to DISTINCT rows, which every
    engine runs well: MariaDB, without hash joins, scans a merged row set or runs a correlated EXISTS
    once per outer row, but indexes a DISTINCT derived table it materializes on the columns it is
    joined by (a conversion rate over 32 000 leads: 40 ms against 150 ms as EXISTS and seconds as a
    plain join). `correlated_exists` is False where a correlated EXISTS cannot be trusted (ClickHouse
    resolves an outer table's name inside the subquery to the subquery's own table when it reads the
    same table under another alias, so the correlation silently compares a row with itself; older
    servers refuse correlation): semi-joins are then `keys IN (subquery)`. `inequality_joins` is False
    where a join must have an equality (ClickHouse): a cumulative metric's window join is then a
    filtered cross join, joined to the spine by period. `settings` are the target's
    query settings the SQL needs to mean what it means elsewhere, written into the statement
    (ClickHouse's SETTINGS clause) so that SQL compiled to run elsewhere carries them too.
    """

    name: str
    spine: SpineBuilder = unnest_spine
    rewrite: Callable[[exp.Expr], exp.Expr] | None = None
    percentiles: str | None = None
    no_spine: str | None = None
    no_percentile_aggregate: str | None = None
    computes_row_sets_once: bool = False
    exists_semi_joins: bool = False
    correlated_exists: bool = True
    inequality_joins: bool = True
    settings: tuple[tuple[str, int], ...] = ()


_NO_ORDERED_SET = (
    "MySQL and MariaDB have no ordered-set (percentile) aggregate, and a running percentile cannot be ranked per period"
)

PROFILES: dict[str, DialectProfile] = {
    p.name: p
    for p in (
        DialectProfile("duckdb", rewrite=duckdb_node, computes_row_sets_once=True, exists_semi_joins=True),
        DialectProfile("postgres", spine=table_function_spine, rewrite=postgres_node, exists_semi_joins=True),
        DialectProfile(
            "mysql",
            spine=recursive_spine,
            rewrite=mysql_node,
            percentiles="ranked",
            no_percentile_aggregate=_NO_ORDERED_SET,
        ),
        DialectProfile(
            "mariadb",
            spine=recursive_spine,
            rewrite=mysql_node,
            percentiles="window",
            no_percentile_aggregate=_NO_ORDERED_SET,
        ),
        DialectProfile("snowflake", spine=flatten_range_spine),
        DialectProfile("bigquery", spine=generate_array_spine, rewrite=bigquery_node),
        DialectProfile("trino"),
        DialectProfile(
            "clickhouse",
            spine=array_join_spine,
            rewrite=clickhouse_node,
            correlated_exists=False,
            inequality_joins=False,
            # ClickHouse columns are not Nullable unless declared so: without join_use_nulls an outer
            # join's missing side reads 0 or '' instead of NULL. Without aggregate_functions_null_for_empty
            # a SUM over no rows is 0, an AVG NaN, where SQL (and every other engine) answers NULL.
            settings=(("join_use_nulls", 1), ("aggregate_functions_null_for_empty", 1)),
        ),
        DialectProfile("spark", rewrite=spark_node),
        DialectProfile("databricks", rewrite=spark_node),
        DialectProfile(
            "redshift",
            spine=table_function_spine,
            rewrite=filter_as_case,
            no_spine="Redshift's GENERATE_SERIES runs only on the leader node",
        ),
    )
}
SUPPORTED_DIALECTS = tuple(PROFILES)
_ALIASES = {"postgresql": "postgres"}


def normalize_dialect(name: str) -> str:
    dialect = _ALIASES.get(name.lower(), name.lower())
    if dialect not in PROFILES:
        raise QueryValidationError(f"unknown dialect '{name}' — use one of: {', '.join(SUPPORTED_DIALECTS)}")
    return dialect


def check_renderable(tree: exp.Expr, profile: DialectProfile) -> None:
    """Refuse, with the feature and dialect named, what the target cannot run."""
    if profile.no_spine and tree.find(exp.GenerateSeries, exp.ExplodingGenerateSeries) is not None:
        raise QueryValidationError(
            f"cumulative metrics need a generated time spine, which is not available "
            f"for dialect '{profile.name}': {profile.no_spine}"
        )
    if profile.no_percentile_aggregate and tree.find(exp.Median, exp.PercentileCont) is not None:
        raise QueryValidationError(
            f"cumulative median and percentile metrics are not available for dialect "
            f"'{profile.name}': {profile.no_percentile_aggregate} — compute them on another "
            "engine or use avg"
        )


def _throughout(rewrite: Callable[[exp.Expr], exp.Expr]) -> Callable[[exp.Expr], exp.Expr]:
    """`rewrite`, also applied inside what it returns: sqlglot's transform does not descend into a
    node a rewrite replaced, so a conversion inside a rewritten CAST or FILTER would stay as it was."""

    def deep(node: exp.Expr) -> exp.Expr:
        new = rewrite(node)
        if new is not node:
            for child in list(new.iter_expressions()):
                child.replace(child.transform(deep, copy=False))
        return new

    return deep


def adapt(tree: exp.Expr, dialect: str) -> exp.Expr:
    """Rewrite what sqlglot renders incorrectly, or slowly, for the target (after `check_renderable`)."""
    profile = PROFILES.get(dialect)
    rewrite = profile.rewrite if profile is not None else None
    out = tree.transform(_throughout(rewrite), copy=False) if rewrite else tree
    if profile is not None and profile.settings and isinstance(out, exp.Select):
        out.set("settings", [exp.EQ(this=exp.column(k), expression=exp.convert(v)) for k, v in profile.settings])
    return out
