"""Dialect profiles alone (compiler/dialects.py): one per target, and each difference from what
sqlglot does by itself comes from the target's profile."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

import semantic_layer as sl
from semantic_layer.compiler.dialects import (
    PROFILES,
    SUPPORTED_DIALECTS,
    adapt,
    check_renderable,
    normalize_dialect,
)


def bounds() -> exp.Select:
    return exp.select(exp.column("a").as_("lo"), exp.column("b").as_("hi"))


def test_every_supported_dialect_has_its_profile_and_sqlglot_knows_it() -> None:
    assert tuple(PROFILES) == SUPPORTED_DIALECTS
    for name, profile in PROFILES.items():
        assert profile.name == name
        Dialect.get_or_raise(name)


def test_names_are_normalized_and_unknown_ones_refused() -> None:
    assert normalize_dialect("PostgreSQL") == "postgres"
    assert normalize_dialect("MariaDB") == "mariadb"
    with pytest.raises(sl.QueryError, match="unknown dialect 'oracle' — use one of: duckdb, postgres"):
        normalize_dialect("oracle")


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        ("duckdb", "CROSS JOIN UNNEST(GENERATE_SERIES(b.lo, b.hi, INTERVAL '1' MONTH)) AS s(p)"),
        ("postgres", "CROSS JOIN GENERATE_SERIES(b.lo, b.hi, INTERVAL '1 MONTH') AS s(p)"),
        (
            "clickhouse",
            "b.lo + INTERVAL (arrayJoin(range(0, toUInt64(greatest(COALESCE(dateDiff('month', b.lo, b.hi) + 1, 0), 0)), 1))) MONTH AS p",
        ),
        ("mysql", "WITH RECURSIVE s AS (SELECT b.lo AS p, b.hi AS hi FROM (SELECT a AS lo, b AS hi) AS b UNION ALL"),
    ],
)
def test_each_profile_builds_its_time_spine(dialect: str, expected: str) -> None:
    assert expected in PROFILES[dialect].spine(bounds(), "month", "p").sql(dialect)


def test_what_a_target_cannot_run_is_refused_with_the_reason() -> None:
    spine = PROFILES["duckdb"].spine(bounds(), "day", "p")
    median = exp.select(exp.Median(this=exp.column("x")))
    for dialect in ("duckdb", "postgres", "snowflake"):
        check_renderable(spine, PROFILES[dialect])
        check_renderable(median, PROFILES[dialect])
    check_renderable(PROFILES["clickhouse"].spine(bounds(), "day", "p"), PROFILES["clickhouse"])
    with pytest.raises(sl.QueryError, match="dialect 'redshift': Redshift's GENERATE_SERIES"):
        check_renderable(PROFILES["redshift"].spine(bounds(), "day", "p"), PROFILES["redshift"])
    with pytest.raises(
        sl.QueryError, match="cumulative median and percentile metrics are not available for dialect 'mariadb'"
    ):
        check_renderable(median, PROFILES["mariadb"])


def test_rewrites_apply_only_where_the_profile_has_one() -> None:
    def truncated(dialect: str) -> str:
        tree = sqlglot.parse_one("date_trunc('month', t)", read="duckdb")
        return adapt(tree, dialect).sql(dialect)

    assert truncated("duckdb") == "DATE_TRUNC('MONTH', t)"
    assert "DATE_TRUNC" not in truncated("mysql") and "DAYOFMONTH(t)" in truncated("mysql")
    assert [n for n, p in PROFILES.items() if p.rewrite is not None] == [
        "duckdb",
        "postgres",
        "mysql",
        "mariadb",
        "bigquery",
        "clickhouse",
        "spark",
        "databricks",
        "redshift",
    ]


@pytest.mark.parametrize("dialect", ["mysql", "mariadb", "clickhouse", "redshift"])
def test_filter_clauses_become_case_where_the_target_has_none(dialect: str) -> None:
    tree = sqlglot.parse_one(
        "SELECT COUNT(*) FILTER (WHERE a > 1), COUNT(DISTINCT b) FILTER (WHERE a > 1), "
        "AVG(CAST(c AS DOUBLE)) FILTER (WHERE a > 1) FROM t",
        read="duckdb",
    )
    sql = adapt(tree, dialect).sql(dialect)
    assert "FILTER" not in sql.upper()
    distinct = (
        "uniqExact(" if dialect == "clickhouse" else "COUNT(DISTINCT "
    )  # ClickHouse: exact, whatever its settings
    assert "COUNT(CASE WHEN a > 1 THEN 1 END)" in sql and f"{distinct}CASE WHEN a > 1 THEN b END)" in sql
    cast = "if(c IS NULL, NULL, accurateCast(" if dialect == "clickhouse" else "CAST(c AS"  # a strict CAST there
    assert f"AVG(CASE WHEN a > 1 THEN {cast}" in sql


def test_percentile_strategies_are_the_profiles() -> None:
    assert {n: p.percentiles for n, p in PROFILES.items() if p.percentiles} == {"mysql": "ranked", "mariadb": "window"}


def test_rewrites_reach_inside_what_a_rewrite_replaced() -> None:
    """sqlglot's transform skips the inside of a node a rewrite returned: a conversion inside a CAST
    (ClickHouse rewrites both) or a truncation inside a FILTER (MySQL) stayed as sqlglot wrote it."""
    cast = sqlglot.parse_one("SELECT CAST(convert_timezone('UTC', 'Asia/Shanghai', t) AS DATE)", read="duckdb")
    clickhouse = adapt(cast, "clickhouse").sql("clickhouse")
    assert "timeZoneOffset(toTimeZone(t, 'Asia/Shanghai'))" in clickhouse and "AT TIME ZONE" not in clickhouse
    filtered = sqlglot.parse_one("SELECT COUNT(*) FILTER (WHERE date_trunc('month', t) = d) FROM x", read="duckdb")
    mysql = adapt(filtered, "mysql").sql("mysql")
    assert "DAYOFMONTH(t)" in mysql and "DATE_TRUNC" not in mysql.upper()
