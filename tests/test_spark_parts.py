"""The Spark engine's parts that need no Spark: its URLs, what it registers, what it lets through,
and the spark profile's rewrites (the answers themselves are checked on Spark in test_engines.py
and test_spark.py, `pytest -m spark`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

import semantic_layer as sl
from semantic_layer.compiler.dialects import adapt
from semantic_layer.engines import connect_engine
from semantic_layer.engines.spark import is_query, split_database, warehouse_tables


def spark(sql: str) -> str:
    return adapt(sqlglot.parse_one(sql, read="duckdb"), "spark").sql("spark")


@pytest.mark.parametrize(
    ("url", "remote", "database"),
    [
        ("sc://127.0.0.1:15002", "sc://127.0.0.1:15002", None),
        ("sc://h:15002/;database=crm", "sc://h:15002/", "crm"),
        ("sc://h:443/;use_ssl=true;database=sales%20eu;token=abc", "sc://h:443/;use_ssl=true;token=abc", "sales eu"),
    ],
)
def test_the_layers_database_parameter_is_taken_out_of_a_connect_url(url: str, remote: str, database: str) -> None:
    assert split_database(url) == (remote, database)


def test_a_warehouse_lists_each_table_folder_with_its_format(tmp_path: Path) -> None:
    for table, part in [("orders", "part-0.snappy.parquet"), ("events", "part-00000.orc"), ("empty", None)]:
        (tmp_path / table).mkdir()
        if part:
            (tmp_path / table / part).write_bytes(b"")
            (tmp_path / table / f".{part}.crc").write_bytes(b"")
    (tmp_path / "_temporary").mkdir()
    assert [(t, s) for t, _, s in warehouse_tables(tmp_path)] == [("events", "orc"), ("orders", "parquet")]


def test_a_missing_warehouse_folder_is_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(sl.ExecutionError, match=r"warehouse folder .*nowhere' does not exist — write tables there"):
        connect_engine(f"spark+local:///{tmp_path / 'nowhere'}")


def test_an_unknown_scheme_lists_the_spark_ones() -> None:
    with pytest.raises(sl.QueryError, match="spark\\+local:// or sc://"):
        connect_engine("hive://x")


@pytest.mark.parametrize(
    ("sql", "reads"),
    [
        ("SELECT 1", True),
        ("WITH a AS (SELECT 1) SELECT * FROM a UNION ALL SELECT 2", True),
        ("DELETE FROM orders", False),
        ("WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", False),
        ("DROP TABLE orders", False),
        ("SELECT 1; DROP TABLE orders", False),
        ("CACHE TABLE orders", False),
    ],
)
def test_only_queries_reach_spark(sql: str, reads: bool) -> None:
    assert is_query(sql) is reads


def test_nested_ctes_get_names_of_their_own_before_sqlglot_lifts_them() -> None:
    """Spark refuses two CTEs of one name; sqlglot lifts every nested WITH to the top."""
    sql = spark(
        "WITH u0 AS (WITH r AS (SELECT 1 AS x) SELECT r.x FROM r), "
        "u1 AS (WITH r AS (SELECT 2 AS x) SELECT r.x FROM r AS q) SELECT * FROM u0, u1"
    )
    tree = sqlglot.parse_one(sql, read="spark")
    assert [c.alias for c in tree.find_all(exp.CTE)] == ["u0_r", "u0", "u1_r", "u1"]
    assert "FROM u0_r AS r" in sql and "FROM u1_r AS q" in sql


def test_spark_percentiles_date_diffs_and_ranking_windows() -> None:
    assert spark("SELECT quantile_cont(x, 0.9) FROM t") == "SELECT PERCENTILE(x, 0.9) FROM t"
    assert "DATEDIFF(MONTH, DATE_TRUNC('MONTH', a), DATE_TRUNC('MONTH', b))" in spark("SELECT date_diff('month', a, b)")
    assert "DATEDIFF(WEEK, CAST(a AS DATE), CAST(b AS DATE))" in spark("SELECT date_diff('week', a, b)")
    assert spark("SELECT row_number() OVER () FROM t") == "SELECT ROW_NUMBER() OVER (ORDER BY NULL NULLS LAST) FROM t"
    assert spark("SELECT sum(x) OVER () FROM t") == "SELECT SUM(x) OVER () FROM t"
