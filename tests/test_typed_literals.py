"""Typed literals in filter strings: DATE '…' and TIMESTAMP '…' are values bound with their type,
INTERVAL '…' a length; each answers as the same comparison written with a plain string does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import make_project

import semantic_layer as sl

NY_ORDERS = "orders.created_at"


def count(layer: sl.Layer, *where: str, having: tuple[str, ...] = ()) -> int:
    rows = layer.query(metrics=["order_count"], where=list(where), having=list(having)).rows
    return int(rows[0]["order_count"]) if rows else 0


def test_a_date_literal_is_bound_as_a_date_and_answers_as_the_string_does(layer: sl.Layer) -> None:
    compiled, values = layer.prepare(sl.Query(metrics=["order_count"], where=[f"{NY_ORDERS} >= DATE '2024-03-01'"]))
    assert values[0] == dt.date(2024, 3, 1) and "2024-03-01" not in compiled.template
    assert count(layer, f"{NY_ORDERS} >= DATE '2024-03-01'") == count(layer, f"{NY_ORDERS} >= '2024-03-01'") > 0


def test_a_timestamp_literal_is_bound_as_a_timestamp(layer: sl.Layer) -> None:
    _, values = layer.prepare(
        sl.Query(metrics=["order_count"], where=[f"{NY_ORDERS} < TIMESTAMP '2024-03-10 08:30:00'"])
    )
    assert values[0] == dt.datetime(2024, 3, 10, 8, 30)
    typed = count(layer, f"{NY_ORDERS} < TIMESTAMP '2024-03-10 08:30:00'")
    assert typed == count(layer, f"{NY_ORDERS} < '2024-03-10 08:30:00'") > 0


def test_typed_and_plain_literals_share_no_statement(layer: sl.Layer) -> None:
    typed, _ = layer.prepare(sl.Query(metrics=["order_count"], where=[f"{NY_ORDERS} >= DATE '2024-03-01'"]))
    plain, _ = layer.prepare(sl.Query(metrics=["order_count"], where=[f"{NY_ORDERS} >= '2024-03-01'"]))
    other_day, values = layer.prepare(sl.Query(metrics=["order_count"], where=[f"{NY_ORDERS} >= DATE '2024-05-01'"]))
    assert typed is not plain and typed is other_day and values[0] == dt.date(2024, 5, 1)


def test_an_interval_shifts_a_typed_date(layer: sl.Layer) -> None:
    window = count(layer, f"{NY_ORDERS} >= DATE '2024-03-01'", f"{NY_ORDERS} < DATE '2024-03-01' + INTERVAL '7' DAY")
    assert window == count(layer, f"{NY_ORDERS} >= '2024-03-01'", f"{NY_ORDERS} < '2024-03-08'") > 0


@pytest.mark.parametrize(
    ("where", "match"),
    [
        (f"{NY_ORDERS} >= DATE '2024-13-01'", "is not a date"),
        (f"{NY_ORDERS} >= TIMESTAMP 'noon'", "is not a timestamp"),
        (f"{NY_ORDERS} >= TIMESTAMP '2024-03-01 08:00:00+08:00'", "has a UTC offset"),
        (f"{NY_ORDERS} >= TIMESTAMPTZ '2024-03-01 08:00:00+08:00'", "has a UTC offset"),
    ],
)
def test_a_typed_literal_that_is_not_its_type_is_refused(layer: sl.Layer, where: str, match: str) -> None:
    with pytest.raises(sl.QueryError, match=match) as caught:
        layer.query(metrics=["order_count"], where=[where])
    assert caught.value.code == "VALIDATION"


def test_typed_literals_work_in_segments_and_measure_filters(tmp_path: Path, shop_db: Path) -> None:
    root = make_project(tmp_path / "p", shop_db)
    (root / "typed.yml").write_text("""
models:
  - name: spring_orders
    table: main.orders
    primary_key: order_id
    time: created_at
    dimensions:
      - {name: created_at, type: time}
    measures:
      - {name: n, agg: count}
      - {name: spring_count, agg: count, filter: "created_at >= DATE '2024-03-01' AND created_at < TIMESTAMP '2024-06-01 00:00:00'"}
    segments:
      - {name: spring, where: "created_at >= DATE '2024-03-01' AND created_at < TIMESTAMP '2024-06-01 00:00:00'"}
metrics:
  - {name: n, type: simple, measure: spring_orders.n}
  - {name: spring_count, type: simple, measure: spring_orders.spring_count}
  - name: spring_by_metric_filter
    type: simple
    measure: spring_orders.spring_count
    filter: "spring_orders.created_at >= DATE '2024-04-01'"
""")
    with sl.connect(root) as layer:
        by_measure = layer.query(metrics=["spring_count"]).rows[0]["spring_count"]
        by_segment = layer.query(metrics=["n"], segments=["spring_orders.spring"]).rows[0]["n"]
        later = layer.query(metrics=["spring_by_metric_filter"]).rows[0]["spring_by_metric_filter"]
        assert 0 < later < by_measure == by_segment < layer.query(metrics=["n"]).rows[0]["n"]
