"""Golden tests: each query's answer equals hand-written SQL over the same DuckDB data (docs/semantics.md)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot
from golden_cases import CASES, NUMERIC, STRUCTURED, T
from helpers import assert_rows
from sqlglot import exp

import semantic_layer as sl


@pytest.mark.parametrize(("query", "sql"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_answer_equals_hand_written_sql(layer: sl.Layer, hand: Any, query: dict[str, Any], sql: str) -> None:
    assert_rows(layer.query(**query), hand(sql))


@pytest.mark.parametrize(("op", "values", "condition"), STRUCTURED, ids=[s[0] for s in STRUCTURED])
def test_structured_filter_ops_on_strings(
    layer: sl.Layer, hand: Any, op: str, values: list[Any], condition: str
) -> None:
    res = layer.query(metrics=["order_count"], where=[sl.Filter(member="customers.segment", op=op, values=values)])
    assert_rows(res, hand(f"SELECT COUNT(*) FROM orders o LEFT JOIN customers c USING (customer_id) WHERE {condition}"))


@pytest.mark.parametrize(("op", "values", "condition"), NUMERIC, ids=[n[0] for n in NUMERIC])
def test_structured_filter_ops_on_numbers(
    layer: sl.Layer, hand: Any, op: str, values: list[Any], condition: str
) -> None:
    res = layer.query(metrics=["order_count"], filters=[sl.Filter(member="orders.amount", op=op, values=values)])
    assert_rows(res, hand(f"SELECT COUNT(*) FROM orders WHERE amount {condition}"))


def test_structured_filter_on_a_time_member_with_grain(layer: sl.Layer, hand: Any) -> None:
    res = layer.query(
        metrics=["order_count"], filters=[{"member": "metric_time:month", "op": "equals", "values": ["2024-03-01"]}]
    )
    assert_rows(res, hand(f"SELECT COUNT(*) FROM orders o WHERE date_trunc('month', {T}) = DATE '2024-03-01'"))


SAME_ROW = [
    (dict(metrics=["order_count", "revenue"]), ["order_lines.returned = true", "order_lines.ship_mode = 'air'"]),
    (dict(metrics=["order_count"]), ["parts.size = 'L'", "order_lines.returned = true", "shipments.late = false"]),
    (
        dict(metrics=["order_count"], dimensions=["order_lines.ship_mode"]),
        ["shipments.carrier = 'dhl'", "shipments.late = true", "parts.brand <> 'globex'"],
    ),
    (
        dict(metrics=["customer_count"], dimensions=["customers.segment"]),
        ["orders.status = 'complete'", "order_lines.returned = true", "shipments.carrier = 'fedex'"],
    ),
    (
        dict(metrics=["customer_count"], dimensions=["orders.status"]),
        ["order_lines.ship_mode = 'ground'", "payments.method = 'card'", "order_lines.returned = true"],
    ),
]


@pytest.mark.parametrize(("query", "where"), SAME_ROW, ids=[" AND ".join(w) for _, w in SAME_ROW])
def test_where_entries_answer_as_one_string_joined_by_and(
    layer: sl.Layer, query: dict[str, Any], where: list[str]
) -> None:
    """Separate where entries are ANDed: they answer exactly as the one string that ANDs them."""
    one = layer.query(**query, where=[" AND ".join(f"({w})" for w in where)])
    assert_rows(layer.query(**query, where=where), [tuple(r.values()) for r in one.rows])


def test_filters_on_different_one_to_many_hops_are_separate_semi_joins(layer: sl.Layer) -> None:
    """Lines and payments each get their own EXISTS: one over both would join every line to every payment."""
    sql = layer.compile(
        metrics=["order_count"],
        where=["order_lines.returned = true", "payments.method = 'wire'", "order_lines.ship_mode = 'air'"],
    )
    assert len(list(sqlglot.parse_one(sql, read="duckdb").find_all(exp.Exists))) == 2
