"""Filter values are checked against the type of the member they are compared with before a query
runs, on DuckDB, PostgreSQL, MariaDB and ClickHouse alike: the databases refuse them in their own words (which
quote the statement) or, worse, compare them to nothing sensible."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from engines import engine_params, layer_on
from helpers import assert_rows

import semantic_layer as sl
from semantic_layer.engines import Engine


@pytest.fixture(scope="module", params=engine_params(["duckdb", "postgres", "mysql", "clickhouse"]))
def engine_layer(request: pytest.FixtureRequest, shop_db: Path, shop_project: Path) -> Iterator[sl.Layer]:
    with layer_on(request.param, shop_project, shop_db) as layer:
        yield layer


def structured(member: str, op: str, *values: Any) -> dict[str, Any]:
    return {"filters": [sl.Filter(member=member, op=op, values=values)]}


def where(*conditions: str) -> dict[str, Any]:
    return {"where": list(conditions)}


# (a query whose values fit, the same with a value that does not, the error that names it)
CASES = [
    (
        structured("orders.amount", "gt", "250.5"),
        structured("orders.amount", "gt", "abc"),
        "filter on 'orders.amount' expects a number, got 'abc'",
    ),
    (
        structured("orders.amount", "gt", " 250 "),
        structured("orders.amount", "gt", "NaN"),
        "filter on 'orders.amount' expects a number, got 'NaN'",
    ),
    (
        structured("orders.amount", "gt", -1),
        structured("orders.amount", "gt", "-Infinity"),
        "filter on 'orders.amount' expects a number, got '-Infinity'",
    ),
    (
        structured("orders.amount", "gt", 99.5),
        structured("orders.amount", "gt", float("nan")),
        "filter on 'orders.amount': nan is out of range — a number must be finite and smaller than 1e38",
    ),
    (
        structured("orders.amount", "lt", 1e37),
        structured("orders.amount", "lt", float("inf")),
        "filter on 'orders.amount': inf is out of range",
    ),
    (
        structured("orders.amount", "equals", 10**20),
        structured("orders.amount", "equals", 10**40),
        "filter on 'orders.amount': 10000000000000000000000000000000000000000 is out of range",
    ),
    (
        structured("orders.amount", "equals", "1e3"),
        structured("orders.amount", "equals", "1e40"),
        "filter on 'orders.amount': '1e40' is out of range",
    ),
    (
        structured("orders.amount", "in", 120, Decimal("300.25")),
        structured("orders.amount", "in", 1, Decimal("1e39")),
        "filter on 'orders.amount': 1E+39 is out of range",
    ),
    (
        structured("orders.amount", "equals", 120),
        structured("orders.amount", "equals", True),
        "filter on 'orders.amount' expects a number, got true",
    ),
    (
        structured("orders.amount", "between", 1, 200),
        structured("orders.amount", "between", 1, date(2024, 1, 1)),
        "filter on 'orders.amount' expects a number, got 2024-01-01",
    ),
    (
        structured("orders.amount", "gt", 500),
        structured("orders.amount", "contains", "5"),
        "filter on 'orders.amount': op 'contains' looks for text, and 'orders.amount' is a number",
    ),
    (
        structured("orders.created_at", "gt", "2024-03-01"),
        structured("orders.created_at", "gt", "yesterday"),
        "filter on 'orders.created_at' expects a date or timestamp in ISO-8601, such as '2024-01-01'",
    ),
    (
        structured("orders.created_at", "lt", datetime(2024, 3, 1, 12, 30)),
        structured("orders.created_at", "lt", 20240301),
        "filter on 'orders.created_at' expects a date or timestamp",
    ),
    (
        structured("metric_time:month", "equals", date(2024, 3, 1)),
        structured("metric_time:month", "equals", "March"),
        "filter on 'metric_time:month' expects a date or timestamp",
    ),
    (
        structured("metric_time", "gte", "2024-03-01 08:00:00"),
        structured("metric_time", "starts_with", "2024"),
        "filter on 'metric_time': op 'starts_with' looks for text, and 'metric_time' is a time",
    ),
    (
        structured("order_lines.returned", "equals", True),
        structured("order_lines.returned", "equals", 1),
        "filter on 'order_lines.returned' expects true or false, got 1",
    ),
    (
        structured("order_lines.returned", "equals", False),
        structured("order_lines.returned", "equals", "true"),
        "filter on 'order_lines.returned' expects true or false, got 'true'",
    ),
    (
        where("orders.amount > 250"),
        where("orders.amount > 'abc'"),
        "filter on 'orders.amount' expects a number, got 'abc'",
    ),
    (
        where("'250' <= (orders.amount)"),
        where("'abc' <= (orders.amount)"),
        "filter on 'orders.amount' expects a number, got 'abc'",
    ),
    (
        where("orders.amount IN (120, 99.5, '310')"),
        where("orders.amount IN (1, 2, 'x')"),
        "filter on 'orders.amount' expects a number, got 'x'",
    ),
    (
        where("orders.amount BETWEEN -1 AND 300"),
        where("orders.amount BETWEEN 1 AND 'x'"),
        "filter on 'orders.amount' expects a number, got 'x'",
    ),
    (
        where("orders.amount > -5 AND orders.amount * 2 < 1e37"),
        where("orders.amount > -1e40"),
        "filter on 'orders.amount': 1e+40 is out of range",
    ),
    (
        where("orders.amount > " + "9" * 30),
        where("orders.amount > " + "9" * 5000),
        "filter on 'orders.amount': inf is out of range",
    ),
    (
        where("orders.created_at < '2024-06-01 08:00:00'"),
        where("orders.created_at >= 'last week'"),
        "filter on 'orders.created_at' expects a date or timestamp",
    ),
    (
        where("metric_time < '2024-06-01'"),
        where("metric_time < 2024"),
        "filter on 'metric_time' expects a date or timestamp",
    ),
    (
        where("order_lines.returned = true"),
        where("order_lines.returned = 0"),
        "filter on 'order_lines.returned' expects true or false, got 0",
    ),
    (
        where("customers.segment = 'smb' OR LENGTH(customers.name) > 3"),
        where("LENGTH(customers.name) > 100000000000000000000000000000000000000000"),
        "a value in the query: 100000000000000000000000000000000000000000 is out of range",
    ),
    (
        {"having": ["revenue > 10.5"]},
        {"having": ["revenue > 'a lot'"]},
        "filter on 'revenue' expects a number, got 'a lot'",
    ),
]


def _never(*_: Any, **__: Any) -> Any:
    raise AssertionError("the database was asked")


@pytest.mark.parametrize(("fits", "misfit", "message"), CASES, ids=[c[2][:70] for c in CASES])
def test_a_value_is_checked_against_its_member_before_the_query_runs(
    engine_layer: sl.Layer,
    layer: sl.Layer,
    monkeypatch: pytest.MonkeyPatch,
    fits: dict[str, Any],
    misfit: dict[str, Any],
    message: str,
) -> None:
    asked = dict(metrics=["revenue", "order_count"], **fits)
    assert_rows(engine_layer.query(**asked), [tuple(r.values()) for r in layer.query(**asked).rows])
    engine: Engine = engine_layer.engine
    monkeypatch.setattr(engine, "execute", _never)
    with pytest.raises(sl.QueryValidationError, match=re.escape(message)) as info:
        engine_layer.query(metrics=["revenue", "order_count"], **misfit)
    assert info.value.code == "VALIDATION"


def test_values_are_checked_when_the_shape_is_already_compiled(engine_layer: sl.Layer) -> None:
    """A cached statement is re-bound to each query's values; the check runs for every query."""
    good = engine_layer.query(
        metrics=["order_count"], where=["orders.amount > 4242"], **structured("orders.created_at", "gte", "2024-01-01")
    )
    assert good.rows
    with pytest.raises(sl.QueryValidationError, match=r"filter on 'orders\.amount' expects a number, got '4242x'"):
        engine_layer.query(
            metrics=["order_count"],
            where=["orders.amount > '4242x'"],
            **structured("orders.created_at", "gte", "2024-01-01"),
        )
    with pytest.raises(sl.QueryValidationError, match=r"filter on 'orders\.created_at' expects a date"):
        engine_layer.query(
            metrics=["order_count"],
            where=["orders.amount > 4242"],
            **structured("orders.created_at", "gte", "2024-13-01"),
        )
