"""The Python API: results, conversions, the compile cache, threads, read-only and timeouts."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from helpers import make_project

import semantic_layer as sl


def test_result_carries_columns_rows_sql_and_timing(layer: sl.Layer) -> None:
    res = layer.query(
        metrics=["revenue", "order_count"], dimensions=["customers.segment", "metric_time:month"], limit=5
    )
    assert [c.name for c in res.columns] == ["customers.segment", "metric_time:month", "revenue", "order_count"]
    assert [(c.kind, c.type) for c in res.columns] == [
        ("dimension", "string"),
        ("dimension", "date"),
        ("metric", "number"),
        ("metric", "number"),
    ]
    assert res.columns[2].format == "currency"
    assert len(res.rows) == 5 and set(res.rows[0]) == {c.name for c in res.columns}
    assert isinstance(res.rows[0]["metric_time:month"], dt.date)
    assert res.sql.startswith("WITH") and "LIMIT 5" in res.sql
    assert res.cached is False and res.duration_ms > 0 and res.warnings == []


def test_result_converts_to_arrow_pandas_and_polars(layer: sl.Layer) -> None:
    res = layer.query(metrics=["order_count"], dimensions=["orders.status"])
    assert isinstance(res.to_arrow(), pa.Table)
    frame = res.to_pandas()
    assert list(frame.columns) == ["orders.status", "order_count"] and len(frame) == 4
    assert res.to_polars().shape == (4, 2)


def test_hour_grain_is_a_timestamp_column(layer: sl.Layer) -> None:
    res = layer.query(metrics=["order_count"], dimensions=["metric_time:hour"], limit=1)
    assert res.columns[0].type == "timestamp" and isinstance(res.rows[0]["metric_time:hour"], dt.datetime)


def test_queries_differing_only_in_values_share_one_compiled_statement(layer: sl.Layer) -> None:
    answers = {}
    for segment in ("smb", "enterprise", "consumer"):
        query = sl.Query(
            metrics=["revenue"],
            where=[f"customers.segment = '{segment}'"],
            time_range={"start": "2024-01-01", "end": "2024-07-01"},
        )
        compiled, _ = layer.prepare(query)
        answers[segment] = (id(compiled), layer.run(query).rows[0]["revenue"])
    assert len({ident for ident, _ in answers.values()}) == 1
    assert len({value for _, value in answers.values()}) == 3
    direct = layer.query(
        metrics=["revenue"],
        where=["customers.segment = 'enterprise'"],
        time_range={"start": "2024-01-01", "end": "2024-07-01"},
    )
    assert direct.rows[0]["revenue"] == answers["enterprise"][1]


def test_concurrent_queries_from_many_threads_agree(layer: sl.Layer) -> None:
    expected = layer.query(metrics=["revenue"], dimensions=["customers.segment"]).rows

    def ask(_: int) -> list[dict[str, object]]:
        return layer.query(metrics=["revenue"], dimensions=["customers.segment"]).rows

    with ThreadPoolExecutor(8) as pool:
        assert all(rows == expected for rows in pool.map(ask, range(32)))


def test_the_database_is_opened_read_only(layer: sl.Layer, caplog: pytest.LogCaptureFixture) -> None:
    engine = layer.engine
    with pytest.raises(sl.ExecutionError, match="incident"):
        engine.execute("CREATE TABLE hacked (x INTEGER)", {})
    assert "read-only" in caplog.text  # the database's own words are logged, not shown


def test_a_slow_query_is_cancelled_at_the_timeout(tmp_path: Path, shop_db: Path) -> None:
    layer = sl.connect(make_project(tmp_path, shop_db))
    with pytest.raises(sl.QueryTimeoutError, match="cancelled") as info:
        layer.engine.execute("SELECT COUNT(*) FROM range(10000000000) a", {}, timeout_seconds=0.3)
    assert info.value.code == "TIMEOUT"


def test_connect_accepts_a_connection_override(tmp_path: Path, shop_db: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(shop_db.read_bytes())
    with duckdb.connect(str(copy)) as con:
        con.execute("DELETE FROM orders WHERE status = 'cancelled'")
    layer = sl.connect(make_project(tmp_path / "p", shop_db), connection=f"duckdb:///{copy}")
    statuses = {r["orders.status"] for r in layer.query(metrics=["order_count"], dimensions=["orders.status"]).rows}
    assert "cancelled" not in statuses


def test_a_missing_database_file_says_how_to_create_it(tmp_path: Path) -> None:
    layer = sl.connect(make_project(tmp_path, tmp_path / "absent.duckdb"))
    with pytest.raises(sl.ExecutionError, match="semantic-layer demo"):
        layer.query(metrics=["revenue"])


def test_validate_warehouse_reports_missing_tables_and_columns(tmp_path: Path, shop_db: Path) -> None:
    root = make_project(tmp_path, shop_db)
    models = (root / "models.yml").read_text().replace("      - name: ship_mode", "      - name: ship_mod")
    models = models.replace("table: tickets", "table: tickets_v2")
    (root / "models.yml").write_text(models)
    issues = sl.connect(root).validate_warehouse()
    text = "\n".join(i.message for i in issues)
    assert "column 'ship_mod' is not in table 'order_lines' — did you mean 'ship_mode'" in text
    assert "table 'tickets_v2' cannot be read" in text
    assert len(issues) == 2


def test_compile_inlines_typed_literals(layer: sl.Layer) -> None:
    sql = layer.compile(
        metrics=["revenue"],
        where=["customers.segment = 'smb'"],
        time_range={"start": "2024-01-01", "end": "2024-02-01"},
    )
    assert "'smb'" in sql and "CAST('2024-01-01 05:00:00' AS TIMESTAMP)" in sql


def test_json_values_are_plain_json_whatever_the_engine_returns() -> None:
    """The server answers from driver rows: every type a driver hands back must become JSON."""
    import json
    import uuid
    from datetime import date, datetime, timedelta
    from decimal import Decimal

    from semantic_layer.result import json_records

    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    row = (
        Decimal("12"),
        Decimal("1.5"),
        date(2024, 2, 29),
        datetime(2024, 3, 10, 2, 30),
        timedelta(seconds=90),
        b"\x01\xff",
        key,
        None,
        True,
    )
    names = ["i", "d", "day", "ts", "span", "raw", "id", "nothing", "flag"]
    records = json_records(names, [row])
    assert records == [
        {
            "i": 12,
            "d": 1.5,
            "day": "2024-02-29",
            "ts": "2024-03-10T02:30:00",
            "span": 90.0,
            "raw": "01ff",
            "id": str(key),
            "nothing": None,
            "flag": True,
        }
    ]
    assert json.loads(json.dumps(records)) == records
