"""ClickHouse connections: chdb:// folders and clickhouse:// servers, values bound as typed server
parameters, and SQL compiled for ClickHouse running as it is written. The answers themselves are
compared with DuckDB's in test_engines.py (pytest -m clickhouse runs both)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from engines import clickhouse_copy
from helpers import assert_rows

import semantic_layer as sl
from semantic_layer.engines import connect_engine
from semantic_layer.engines.clickhouse import ClickHouseServerEngine, typed_placeholders

pytestmark = pytest.mark.clickhouse


@pytest.fixture(scope="module")
def chdb_layer(shop_db: Path, shop_project: Path) -> Iterator[sl.Layer]:
    with clickhouse_copy(shop_db) as url, sl.connect(shop_project, connection=url) as layer:
        yield layer


def test_values_are_typed_server_parameters_never_text_in_the_statement() -> None:
    sql, values = typed_placeholders(
        "SELECT {__slp0__: }, {__slp1__: }, {__slp2__: }, {__slp3__: }, {__slp4__: }, {__slp5__: }, {__slp6__: }",
        {
            "__slp0__": Decimal("1E+37"),
            "__slp1__": 7,
            "__slp2__": date(2024, 3, 1),
            "__slp3__": datetime(2024, 3, 1, 8, 30),
            "__slp4__": "it's",
            "__slp5__": None,
            "__slp6__": 10**30,
        },
    )
    assert sql == (
        "SELECT {__slp0__:Decimal(76, 0)}, {__slp1__:Int64}, {__slp2__:Date32}, {__slp3__:DateTime64(6)}, "
        "{__slp4__:String}, NULL, {__slp6__:Decimal(76, 0)}"
    )
    assert values["__slp0__"] == "1" + "0" * 37 and values["__slp4__"] == "it's" and "__slp5__" not in values


def test_a_quote_in_a_value_is_a_value(chdb_layer: sl.Layer) -> None:
    res = chdb_layer.query(metrics=["order_count"], where=["customers.segment = 'it''s; DROP TABLE orders'"])
    assert res.rows == [{"order_count": 0}]


def test_the_engine_answers_probes_and_reports_its_memory(chdb_layer: sl.Layer) -> None:
    engine = chdb_layer.engine
    engine.ping(5)
    memory = engine.memory_bytes()
    assert memory is not None and memory >= 0
    assert engine.table_columns("orders")[:2] == ["order_id", "customer_id"]
    with pytest.raises(sl.ExecutionError, match="table 'nowhere' does not exist"):
        engine.table_columns("nowhere")


def test_compiled_sql_runs_on_clickhouse_as_written(chdb_layer: sl.Layer, layer: sl.Layer) -> None:
    """`compile --dialect clickhouse` carries the settings its meaning needs (outer joins' NULLs,
    NULL over no rows) in the statement itself, and its values inlined as literals."""
    query = dict(
        metrics=["revenue", "ticket_count", "revenue_running"],
        dimensions=["metric_time:month", "customers.segment"],
        time_range={"start": "2024-01-01", "end": "2024-07-01"},
    )
    sql = chdb_layer.compile(dialect="clickhouse", **query)
    assert "SETTINGS join_use_nulls = 1, aggregate_functions_null_for_empty = 1" in sql
    names, rows = chdb_layer.engine.fetch_rows(sql, {})
    expected = [tuple(r.values()) for r in layer.query(**query).rows]
    assert names == ["metric_time__month", "customers__segment", "revenue", "ticket_count", "revenue_running"]
    assert len(rows) == len(expected) and all(
        r[0] == e[0] and r[1] == e[1] and r[3] == e[3] and float(r[2] or 0) == pytest.approx(float(e[2] or 0))
        for r, e in zip(rows, expected, strict=True)
    )


def test_a_median_is_exact_and_interpolated_as_percentile_cont(chdb_layer: sl.Layer, layer: sl.Layer) -> None:
    query = dict(metrics=["median_amount", "p90_amount"], dimensions=["customers.segment"])
    sql = chdb_layer.compile(dialect="clickhouse", **query)
    assert "quantileExactInclusiveOrNull(0.5)" in sql and "median(" not in sql.lower()
    assert_rows(chdb_layer.query(**query), [tuple(r.values()) for r in layer.query(**query).rows])


def test_a_chdb_url_names_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(sl.QueryValidationError, match="names no data folder"):
        connect_engine("chdb:///")
    with pytest.raises(sl.ExecutionError, match="chdb data folder 'no/such/folder' does not exist"):
        connect_engine("chdb:///no/such/folder")


def test_chdb_opens_one_folder_per_process(chdb_layer: sl.Layer, tmp_path: Path) -> None:
    other = connect_engine(f"chdb:///{tmp_path}")
    with pytest.raises(sl.ExecutionError, match="chdb runs one data folder per process"):
        other.ping(5)


def test_a_relative_chdb_folder_is_read_from_the_project_folder(tmp_path: Path, shop_project: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    for f in shop_project.iterdir():
        if f.is_file():
            (root / f.name).write_text(f.read_text())
    settings = root / "semantic_layer.yml"
    settings.write_text(
        settings.read_text().replace(
            next(x for x in settings.read_text().splitlines() if x.startswith("connection:")),
            "connection: chdb:///warehouse/ch?database=crm",
        )
    )
    assert sl.load(root).connection_url() == f"chdb:///{root.resolve()}/warehouse/ch?database=crm"


def test_a_clickhouse_url_gives_the_server_its_parts() -> None:
    engine = connect_engine("clickhouse://analyst:s%40cret@ch.internal:8124/crm")
    assert isinstance(engine, ClickHouseServerEngine) and engine.dialect == "clickhouse"
    assert engine._params == {
        "host": "ch.internal",
        "port": 8124,
        "username": "analyst",
        "password": "s@cret",
        "database": "crm",
        "secure": False,
    }
    secure = connect_engine("clickhouses://ch.internal")
    assert isinstance(secure, ClickHouseServerEngine)
    assert secure._params == {
        "host": "ch.internal",
        "port": 8443,
        "username": "default",
        "password": "",
        "database": "default",
        "secure": True,
    }


def test_a_server_that_does_not_answer_is_an_execution_error() -> None:
    engine = connect_engine("clickhouse://127.0.0.1:1/crm")  # nothing listens on port 1
    with pytest.raises(sl.ExecutionError, match=r"cannot connect to ClickHouse at 127\.0\.0\.1:1"):
        engine.ping(2)
