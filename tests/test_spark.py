"""Spark beyond the shared engine suites (test_engines.py): a Python process on another clock, a
value Spark cannot convert, and the tables a `spark+local://` warehouse registers."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import Spark
from golden_cases import CASES
from helpers import assert_rows

import semantic_layer as sl

pytestmark = pytest.mark.spark
ZONED = [c for c in CASES if c[0].startswith(("DST day", "retention with churn"))]


@pytest.fixture
def new_york_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("connect", [False, True], ids=["local", "connect"])
@pytest.mark.parametrize("query", [c[1] for c in ZONED], ids=[c[0][:40] for c in ZONED])
def test_times_bind_the_same_whatever_the_python_processs_clock(
    new_york_process: None, spark: Spark, shop_db: Path, shop_project: Path, layer: sl.Layer, query: dict, connect: bool
) -> None:
    """The layer binds UTC times without a zone; PySpark would read them on the process's clock."""
    assert time.localtime(0).tm_hour == 19
    expected = [tuple(r.values()) for r in layer.query(**query).rows]
    with sl.connect(shop_project, connection=spark.url(shop_db, connect=connect)) as other:
        assert_rows(other.query(**query), expected)


def test_a_value_spark_cannot_convert_is_the_callers_mistake(spark: Spark, shop_db: Path, shop_project: Path) -> None:
    with sl.connect(shop_project, connection=spark.url(shop_db)) as other:
        with pytest.raises(sl.QueryValidationError, match="could not be converted"):
            other.query(metrics=["order_count"], where=["CAST(customers.name AS INT) > 1"])
        with pytest.raises(sl.ExecutionError, match="incident"):
            other.engine.execute("SELECT no_such_function(1)", {})


def test_the_warehouse_registers_each_table_folder(spark: Spark, shop_db: Path) -> None:
    url = spark.url(shop_db)
    folder = Path(url.removeprefix("spark+local:///"))
    engine = sl.engines.connect_engine(url)
    try:
        tables = sorted(p.name for p in folder.iterdir() if p.is_dir())
        assert "orders" in tables
        for table in tables:
            assert engine.table_columns(table)
        with pytest.raises(sl.ExecutionError, match="'ghost' cannot be read"):
            engine.table_columns("ghost")
        assert os.path.isdir(folder / "orders")
    finally:
        engine.close()
