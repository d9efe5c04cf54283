"""Units of one model that differ only in metric filters are read once (compiler/fuse.py), and every
answer is the one the separate units gave: same groups, NULL (not 0) for a count whose filter keeps
no row of the group."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_rows, make_project

import semantic_layer as sl
from semantic_layer.compiler import pipeline

EXTRA = """
  - {name: smb_orders, type: simple, measure: orders.order_count, filter: "customers.segment = 'smb'"}
  - {name: smb_buyers, type: simple, measure: orders.buyers, filter: "customers.segment = 'smb'"}
  - {name: large_median, type: simple, measure: orders.median_amount, filter: "orders.amount >= 500"}
  - {name: pending_revenue, type: simple, measure: orders.revenue, filter: "orders.status = 'pending'"}
"""

QUERIES: list[dict[str, Any]] = [
    dict(metrics=["enterprise_share"], dimensions=["customers.segment"]),
    dict(metrics=["smb_orders", "enterprise_revenue"], dimensions=["customers.segment"]),
    dict(
        metrics=["smb_orders", "smb_buyers", "revenue", "order_count"],
        dimensions=["metric_time:month"],
        where=["orders.status <> 'returned'"],
        time_range={"start": "2024-01-01", "end": "2024-07-01"},
    ),
    dict(metrics=["large_median", "pending_revenue", "avg_amount", "smb_orders"], dimensions=["orders.status"]),
    dict(metrics=["smb_orders", "pending_revenue"], dimensions=["customers.regions.name"]),
    dict(metrics=["smb_orders", "enterprise_share", "revenue_growth_mom"], dimensions=["metric_time:month"]),
    dict(metrics=["smb_orders", "enterprise_revenue", "orders_with_returns"]),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Path:
    root = make_project(tmp_path_factory.mktemp("fuse"), shop_db)
    metrics = root / "metrics.yml"
    metrics.write_text(metrics.read_text() + EXTRA)
    return root


@pytest.fixture(scope="module")
def fused(project: Path) -> Iterator[sl.Layer]:
    with sl.connect(project) as layer:
        yield layer


@pytest.fixture(scope="module")
def separate(project: Path) -> Iterator[sl.Layer]:
    """A layer of its own (its own statement cache) for compiling with fusing switched off."""
    with sl.connect(project) as layer:
        yield layer


@pytest.mark.parametrize("query", QUERIES, ids=[",".join(q["metrics"]) for q in QUERIES])
def test_fused_units_answer_as_separate_units(
    fused: sl.Layer, separate: sl.Layer, query: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "fuse_units", lambda plan, graph, profile: plan)
        expected = [tuple(r.values()) for r in separate.query(**query).rows]
    assert expected
    assert_rows(fused.query(**query), expected)


def test_a_count_whose_filter_keeps_no_row_of_a_group_is_null(fused: sl.Layer) -> None:
    rows = {
        r["customers.segment"]: r
        for r in fused.query(metrics=["smb_orders", "enterprise_revenue"], dimensions=["customers.segment"]).rows
    }
    assert set(rows) == {"enterprise", "smb"}  # consumers, and orders without a customer, meet neither filter
    assert rows["enterprise"]["smb_orders"] is None and rows["enterprise"]["enterprise_revenue"] > 0
    assert rows["smb"]["smb_orders"] > 0 and rows["smb"]["enterprise_revenue"] is None


def test_one_model_is_read_once_and_a_semi_join_filter_stays_apart(fused: sl.Layer) -> None:
    sql = fused.compile(metrics=["enterprise_share", "smb_orders"], dimensions=["metric_time:month"])
    assert sql.count("FROM orders AS orders") == 1 and "UNION ALL" not in sql
    assert "FILTER(WHERE" in sql
    apart = fused.compile(metrics=["smb_orders", "orders_with_returns"])
    assert apart.count("FROM orders AS orders") == 2  # order_lines.returned is an EXISTS of its own


@pytest.mark.parametrize("dialect", ["mysql", "mariadb", "redshift", "clickhouse"])
def test_fused_filters_are_case_where_filter_is_missing(fused: sl.Layer, dialect: str) -> None:
    sql = fused.compile(dialect=dialect, metrics=["enterprise_share", "smb_orders"], dimensions=["customers.segment"])
    assert "FILTER" not in sql.upper() and "CASE WHEN" in sql.upper()
