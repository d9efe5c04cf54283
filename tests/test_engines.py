"""Same definitions, any store: every golden query answers on PostgreSQL, MariaDB, ClickHouse (chdb) and
Spark (local, and through Spark Connect) exactly as on DuckDB (whose answers the golden tests check
against hand-written SQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from engines import COPIES, SPARK_ENGINES, copy_on, engine_params, mysql_copy, postgres_copy
from golden_cases import CASES, NUMERIC, STRUCTURED
from helpers import assert_rows, retention_period

import semantic_layer as sl

ENGINES = [*COPIES, *SPARK_ENGINES]


@pytest.fixture(scope="module", params=engine_params(ENGINES))
def remote(request: pytest.FixtureRequest, shop_db: Path, shop_project: Path) -> Iterator[tuple[str, sl.Layer]]:
    with copy_on(request.param, shop_db, request) as url, sl.connect(shop_project, connection=url) as layer:
        yield request.param, layer


@pytest.mark.parametrize("query", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_golden_queries_answer_as_on_duckdb(
    remote: tuple[str, sl.Layer], layer: sl.Layer, query: dict[str, Any]
) -> None:
    _, other = remote
    expected = [tuple(r.values()) for r in layer.query(**query).rows]
    assert_rows(other.query(**query), expected)


@pytest.mark.parametrize(("op", "values"), [(s[0], s[1]) for s in STRUCTURED], ids=[s[0] for s in STRUCTURED])
def test_structured_string_filters_as_on_duckdb(
    remote: tuple[str, sl.Layer], layer: sl.Layer, op: str, values: list[Any]
) -> None:
    query = dict(metrics=["order_count"], where=[sl.Filter(member="customers.segment", op=op, values=values)])
    assert_rows(remote[1].query(**query), [tuple(r.values()) for r in layer.query(**query).rows])


@pytest.mark.parametrize(("op", "values"), [(n[0], n[1]) for n in NUMERIC], ids=[n[0] for n in NUMERIC])
def test_structured_number_filters_as_on_duckdb(
    remote: tuple[str, sl.Layer], layer: sl.Layer, op: str, values: list[Any]
) -> None:
    query = dict(metrics=["order_count"], filters=[sl.Filter(member="orders.amount", op=op, values=values)])
    assert_rows(remote[1].query(**query), [tuple(r.values()) for r in layer.query(**query).rows])


@pytest.mark.parametrize(
    "dimensions",
    [["metric_time:week"], ["metric_time:fiscal_quarter"], ["metric_time:fiscal_year", "metric_time:quarter"]],
)
def test_week_start_and_fiscal_grains_as_on_duckdb(
    remote: tuple[str, sl.Layer], tmp_path: Path, shop_db: Path, dimensions: list[str]
) -> None:
    from helpers import make_project

    root = make_project(tmp_path / "sunday", shop_db, week_start="sunday", fiscal_year_start_month=4)
    query = dict(metrics=["revenue", "order_count"], dimensions=dimensions)
    with sl.connect(root) as local, sl.connect(root, connection=remote[1].connection) as other:
        assert_rows(other.query(**query), [tuple(r.values()) for r in local.query(**query).rows])


@pytest.mark.parametrize("metric", ["visitor_retention_week", "buyer_retention_week"])
def test_weekly_retention_from_sunday_as_on_duckdb(
    remote: tuple[str, sl.Layer], tmp_path: Path, shop_db: Path, metric: str
) -> None:
    from helpers import make_project

    root = make_project(tmp_path / "sunday", shop_db, week_start="sunday")
    query = dict(metrics=[metric], dimensions=["metric_time:week"], timezone="Asia/Shanghai")
    with sl.connect(root) as local, sl.connect(root, connection=remote[1].connection) as other:
        expected = [tuple(r.values()) for r in local.query(**query).rows]
        assert expected
        assert_rows(other.query(**query), expected)


def test_statement_timeout_cancels_on_the_server(remote: tuple[str, sl.Layer]) -> None:
    engine, layer = remote
    slow = {
        "postgres": "SELECT COUNT(*) FROM generate_series(1, 2000000000)",
        "mysql": "SELECT COUNT(*) FROM information_schema.columns a, information_schema.columns b, "
        "information_schema.columns c",
        "clickhouse": "SELECT sum(sipHash64(number)) FROM numbers(100000000000)",
        "spark": "SELECT SUM(id * 7 % 13) FROM range(100000000000)",
    }[engine.removesuffix("-connect")]
    with pytest.raises(sl.QueryTimeoutError, match="cancelled"):
        layer.engine.execute(slow, {}, timeout_seconds=0.5)


def test_transactions_are_read_only(remote: tuple[str, sl.Layer], caplog: pytest.LogCaptureFixture) -> None:
    # MySQL lets DDL end a READ ONLY transaction implicitly: give the layer an account without DDL
    # privileges there. Data changes are refused on every engine (ClickHouse: sessions are readonly=2;
    # Spark's engine runs queries only).
    with pytest.raises(sl.ExecutionError, match="incident"):
        remote[1].engine.execute("DELETE FROM orders WHERE 1 = 1", {})  # ClickHouse wants the WHERE
    assert re.search(r"(?i)read.?only", caplog.text)  # the database's own words are logged, not shown


def test_the_warehouse_check_runs_on_each_engine(remote: tuple[str, sl.Layer]) -> None:
    assert remote[1].validate_warehouse() == []


@pytest.fixture(scope="module", params=engine_params(ENGINES))
def crm_remote(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, sl.Layer, sl.Layer]]:
    from semantic_layer.demo import write_demo

    path = tmp_path_factory.mktemp("crm") / "crm.duckdb"
    write_demo(path, scale=0.05)
    metrics = Path(__file__).resolve().parents[1] / "metrics"
    with (
        copy_on(request.param, path, request) as url,
        sl.connect(metrics, connection=url) as other,
        sl.connect(metrics, connection=f"duckdb:///{path}") as local,
    ):
        yield request.param, other, local


CRM = sl.load(Path(__file__).resolve().parents[1] / "metrics")


@pytest.mark.parametrize("name", sorted(CRM.metrics))
def test_every_crm_metric_by_month_as_on_duckdb(crm_remote: tuple[str, sl.Layer, sl.Layer], name: str) -> None:
    """By month, or for retention and what is computed from it, by the retention period."""
    _, other, local = crm_remote
    grain = retention_period(CRM.graph, name) or "month"
    query = dict(
        metrics=[name], dimensions=[f"metric_time:{grain}"], time_range={"start": "2024-07-01", "end": "2025-01-01"}
    )
    assert_rows(other.query(**query), [tuple(r.values()) for r in local.query(**query).rows])


DIFF_PAIRS = [
    ("2024-01-07 10:00:00", "2024-01-08 09:00:00"),
    ("2024-01-01 10:00:00", "2024-01-08 09:00:00"),
    ("2024-01-01 23:59:59", "2024-01-02 00:00:01"),
    ("2024-03-31 10:30:00", "2024-05-01 09:15:00"),
    ("2023-12-31 00:00:00", "2025-01-01 00:00:00"),
    ("2024-05-01 09:15:00", "2024-03-31 10:30:00"),
    ("2024-01-01 10:00:00.900", "2024-01-01 10:00:01.100"),
    ("2024-01-01 10:59:59.999", "2024-01-01 11:00:00"),
]
MICROSECOND_TIMESTAMP = {
    "postgres": "TIMESTAMP(6)",
    "mysql": "DATETIME(6)",
    "mariadb": "DATETIME(6)",
    "clickhouse": "DateTime64(6)",
    "spark": "TIMESTAMP_NTZ",
}


@pytest.mark.parametrize("unit", ["second", "minute", "hour", "day", "week", "month", "quarter", "year"])
def test_date_diff_counts_as_on_duckdb(remote: tuple[str, sl.Layer], unit: str) -> None:
    """A snippet's date_diff means the same on every engine (MySQL's DATEDIFF alone would count days),
    fractions of a second included."""
    import duckdb
    import sqlglot

    from semantic_layer.compiler.dialects import adapt

    engine, other = remote
    dialect = other.engine.dialect
    diff = adapt(sqlglot.parse_one(f"date_diff('{unit}', a, b)", read="duckdb"), dialect).sql(dialect)
    for start, end in DIFF_PAIRS:
        expected = duckdb.execute(f"SELECT date_diff('{unit}', TIMESTAMP '{start}', TIMESTAMP '{end}')").fetchone()
        kind = MICROSECOND_TIMESTAMP[dialect]
        got = other.engine.execute(
            f"SELECT {diff} AS d FROM (SELECT CAST('{start}' AS {kind}) AS a, CAST('{end}' AS {kind}) AS b) AS t", {}
        )
        assert expected is not None and got.column("d")[0].as_py() == expected[0], (engine, unit, start, end)


ROW_SHAPES = [
    dict(metrics=["revenue", "avg_amount", "order_count"], dimensions=["metric_time:hour", "customers.segment"]),
    dict(metrics=["max_amount"], dimensions=["order_lines.returned", "metric_time:day"]),
    dict(metrics=["tickets_per_order"], dimensions=["metric_time:month", "customers.segment"]),
]


@pytest.mark.parametrize("query", ROW_SHAPES, ids=["hours and decimals", "booleans and dates", "ratios and NULLs"])
def test_rows_and_arrow_give_the_same_json_on_every_engine(
    remote: tuple[str, sl.Layer], layer: sl.Layer, query: dict[str, Any]
) -> None:
    """The server answers from Python rows, the library from Arrow: the JSON must not depend on which."""
    from semantic_layer.query import build_query
    from semantic_layer.result import json_value

    for each in (layer, remote[1]):
        compiled, values = each.prepare(build_query(**query), each.engine.dialect)
        params = compiled.bind(values)
        arrow = each.engine.execute(compiled.template, params).to_pylist()
        names, rows = each.engine.fetch_rows(compiled.template, params)
        assert rows and [[json_value(v) for v in r.values()] for r in arrow] == [
            [json_value(v) for v in r] for r in rows
        ]
        assert names == list(arrow[0])


RENDERINGS = {
    "postgres": ["postgres"],
    "mysql": ["mariadb", "mysql"],
    "clickhouse": ["clickhouse"],
    "spark": ["spark", "databricks"],
    "spark-connect": ["spark"],
}  # a MariaDB server runs MySQL's SQL too, and Spark what is compiled for Databricks
PERCENTILE_QUERIES = [c[1] for c in CASES if {"median_amount", "p90_amount"} & set(c[1].get("metrics", []))]


@pytest.mark.parametrize(
    "query", PERCENTILE_QUERIES, ids=[str(q["metrics"]) + str(q.get("dimensions")) for q in PERCENTILE_QUERIES]
)
def test_percentiles_answer_as_on_duckdb_in_every_rendering_the_server_runs(
    remote: tuple[str, sl.Layer], layer: sl.Layer, query: dict[str, Any]
) -> None:
    """MariaDB's percentile windows, MySQL's ranked interpolation and ClickHouse's quantileExactInclusive
    all equal DuckDB's PERCENTILE_CONT."""
    from semantic_layer.query import build_query

    engine, other = remote
    expected = [tuple(r.values()) for r in layer.query(**query).rows]
    assert expected
    for dialect in RENDERINGS[engine]:
        compiled, values = other.prepare(build_query(**query), dialect)
        table = other.engine.execute(compiled.template, compiled.bind(values))
        assert_rows(sl.Result.from_arrow(table, compiled.columns, sql=""), expected)


def test_the_mysql_engine_tells_mariadb_apart(remote: tuple[str, sl.Layer]) -> None:
    engine, other = remote
    expected = {"postgres": "postgres", "mysql": "mariadb", "clickhouse": "clickhouse"}.get(engine, "spark")
    assert other.engine.dialect == expected


def test_a_zone_the_server_cannot_convert_to_is_refused_not_answered_with_nulls(
    shop_db: Path, shop_project: Path
) -> None:
    """'Factory' is a zone Python knows and MariaDB's tables lack: CONVERT_TZ gives NULL there, and a
    query by day used to answer one NULL row instead of its days."""
    with mysql_copy(shop_db) as url, sl.connect(shop_project, connection=url) as mariadb:
        with pytest.raises(sl.QueryError, match="mariadb-tzinfo-to-sql") as caught:
            mariadb.query(metrics=["order_count"], dimensions=["metric_time:day"], timezone="Factory")
        assert "cannot convert times to 'Factory'" in caught.value.message
        assert mariadb.query(metrics=["order_count"], dimensions=["metric_time:day"], timezone="Asia/Shanghai").rows


@pytest.mark.parametrize(
    "query",
    [
        dict(metrics=["order_count"], where=["orders.amount > 0.001"]),
        dict(metrics=["order_count"], filters=[sl.Filter(member="orders.amount", op="gt", values=[0.001])]),
        dict(metrics=["order_count"], filters=[sl.Filter(member="orders.amount", op="gt", values=["0.001"])]),
    ],
    ids=["where literal", "JSON float", "numeric text"],
)
def test_a_fraction_is_bound_as_a_decimal_so_postgres_never_casts_the_column(
    shop_db: Path, shop_project: Path, query: dict[str, Any]
) -> None:
    """Bound as a float, 0.001 reached PostgreSQL as float8 and every NUMERIC amount was cast to
    compare with it (134 ms instead of 103 on the demo)."""
    from decimal import Decimal

    from semantic_layer.query import build_query

    with postgres_copy(shop_db) as url, sl.connect(shop_project, connection=url) as pg:
        compiled, values = pg.prepare(build_query(**query), "postgres")
        params = compiled.bind(values)
        assert Decimal("0.001") in params.values()
        plan = "\n".join(str(r[0]) for r in pg.engine.fetch_rows("EXPLAIN " + compiled.template, params)[1])
        assert "amount > 0.001" in plan and "double precision" not in plan, plan


def test_a_time_spine_of_more_than_a_thousand_periods_is_whole_on_mariadb(
    shop_db: Path, shop_project: Path, layer: sl.Layer
) -> None:
    """MariaDB stops a recursive CTE after 1 000 steps without a word: the spine lost its last days."""
    query = dict(
        metrics=["revenue_running"],
        dimensions=["metric_time:day"],
        time_range={"start": "2022-01-01", "end": "2025-01-01"},
    )
    expected = [tuple(r.values()) for r in layer.query(**query).rows]
    assert len(expected) == 1096
    with mysql_copy(shop_db) as url, sl.connect(shop_project, connection=url) as mariadb:
        assert_rows(mariadb.query(**query), expected)


def test_answers_have_duckdbs_column_types_whatever_their_values(remote: tuple[str, sl.Layer], layer: sl.Layer) -> None:
    """Types follow the columns: a DECIMAL sum is decimal128(38, 2) whatever digits its values have
    (not the narrowest precision they fit), and an empty answer or a column of NULLs keeps its
    types (not Arrow's null)."""
    name, other = remote
    query: dict[str, Any] = dict(
        metrics=["revenue", "order_count", "average_order_value"], dimensions=["customers.segment", "metric_time:month"]
    )
    empty = dict(query, time_range=("2030-01-01", "2030-02-01"))
    nulls = dict(
        metrics=["revenue", "ticket_count"], dimensions=["metric_time:month"], time_range=("2023-10-01", "2023-11-01")
    )
    assert layer.query(**nulls).rows == [
        {"metric_time:month": date(2023, 10, 1), "revenue": None, "ticket_count": None}
    ]
    for shape in (dict(query, limit=3), empty, nulls):
        expected, got = layer.query(**shape).table.schema, other.query(**shape).table.schema
        if name == "postgres" and "limit" not in shape:
            # a NUMERIC sum declares no scale, and without a value there is none to read: scale 0
            revenue = expected.get_field_index("revenue")
            expected = expected.set(revenue, expected.field(revenue).with_type(pa.decimal128(38, 0)))
        assert got == expected
