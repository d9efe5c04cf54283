"""The rollups the tests define over the shop data, the queries they must and must not answer, the
random queries of the differential fuzz, and the comparison of two answers: shared by the rollup
tests of each source engine."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import make_project, same_value
from hypothesis import strategies as st

import semantic_layer as sl
from semantic_layer.layer import Layer

ROLLUPS = """
rollups:
  - name: orders_daily
    model: orders
    measures: [revenue, order_count, avg_amount, max_amount, min_amount]
    dimensions: [orders.status, orders.size_band, customers.segment, customers.segment_group, regions.name]
    time_grain: day
    refresh: {every: 1 hour, lookback: 3 days}
  - name: orders_by_segment_monthly
    model: orders
    measures: [revenue, order_count, buyers, median_amount, p90_amount]
    dimensions: [customers.segment]
    time_grain: month
  - name: customers_daily
    model: customers
    measures: [customer_count]
    dimensions: [customers.segment, regions.name]
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


ROUTED = [
    ("revenue by segment", dict(metrics=["revenue"], dimensions=["customers.segment"]), "orders_by_segment_monthly"),
    ("month from day", dict(metrics=["order_count"], dimensions=["metric_time:month"]), "orders_by_segment_monthly"),
    ("week from day", dict(metrics=["order_count"], dimensions=["metric_time:week"]), "orders_daily"),
    (
        "fiscal quarter",
        dict(metrics=["revenue"], dimensions=["metric_time:fiscal_quarter"]),
        "orders_by_segment_monthly",
    ),
    ("avg from sum and count", dict(metrics=["avg_amount"], dimensions=["orders.status"]), "orders_daily"),
    ("min and max", dict(metrics=["max_amount", "min_amount"], dimensions=["regions.name"]), "orders_daily"),
    (
        "a ratio under filters",
        dict(
            metrics=["average_order_value", "enterprise_share"],
            dimensions=["metric_time:quarter"],
            where=["regions.name <> 'west'", "orders.size_band = 'large'"],
        ),
        "orders_daily",
    ),
    (
        "a structured filter on metric_time at a grain",
        dict(metrics=["revenue"], filters=[{"member": "metric_time:month", "op": "equals", "values": ["2024-03-01"]}]),
        "orders_by_segment_monthly",
    ),
    (
        "offsets",
        dict(metrics=["revenue_growth_mom", "revenue_last_month"], dimensions=["metric_time:month"]),
        "orders_by_segment_monthly",
    ),
    (
        "a running total at day grain",
        dict(
            metrics=["revenue_trailing_7d", "revenue_mtd"],
            dimensions=["metric_time:day"],
            time_range={"start": "2024-02-01", "end": "2024-04-01"},
        ),
        "orders_daily",
    ),
    ("a running total as of the end", dict(metrics=["revenue_running"]), "orders_daily"),
    (
        "a share of the total",
        dict(metrics=["segment_share_of_revenue"], dimensions=["metric_time:month", "customers.segment"]),
        "orders_by_segment_monthly",
    ),
    (
        "an exact-only measure at exactly the stored grouping",
        dict(metrics=["buyers", "median_amount"], dimensions=["customers.segment", "metric_time:month"]),
        "orders_by_segment_monthly",
    ),
    (
        "two models, two rollups",
        dict(metrics=["order_count", "customer_count"], dimensions=["customers.segment"]),
        "orders_by_segment_monthly, customers_daily",
    ),
    (
        "a time range on whole days",
        dict(
            metrics=["revenue"], dimensions=["orders.status"], time_range={"start": "2024-01-15", "end": "2024-02-01"}
        ),
        "orders_daily",
    ),
]

RAW = [
    (
        "count_distinct at another grain",
        dict(metrics=["buyers"], dimensions=["metric_time:quarter", "customers.segment"]),
    ),
    ("count_distinct by fewer dimensions", dict(metrics=["buyers"], dimensions=["metric_time:month"])),
    ("a dimension not stored", dict(metrics=["revenue"], dimensions=["customers.name"])),
    ("a segment", dict(metrics=["revenue"], segments=["orders.large"])),
    (
        "a filter on a raw timestamp",
        dict(metrics=["revenue"], where=["orders.created_at >= TIMESTAMP '2024-01-01 10:00:00'"]),
    ),
    ("hour grain", dict(metrics=["revenue"], dimensions=["metric_time:hour"])),
    ("week from month", dict(metrics=["buyers"], dimensions=["metric_time:week", "customers.segment"])),
    (
        "a time range cutting a day",
        dict(metrics=["revenue"], time_range={"start": "2024-01-15T06:00:00", "end": "2024-02-01"}),
    ),
    ("another time zone", dict(metrics=["revenue"], dimensions=["metric_time:month"], timezone="Asia/Shanghai")),
    ("a measure not stored", dict(metrics=["quantity"])),
    ("dimensions alone", dict(metrics=[], dimensions=["customers.segment"])),
]


FUZZ_METRICS = [
    "revenue",
    "order_count",
    "avg_amount",
    "max_amount",
    "min_amount",
    "average_order_value",
    "enterprise_share",
    "enterprise_revenue",
    "revenue_growth_mom",
    "revenue_per_order",
    "segment_share_of_revenue",
    "orders_filled",
    "buyers",
    "median_amount",
    "revenue_trailing_7d",
    "revenue_mtd",
    "customer_count",
    "quantity",
]
FUZZ_DIMENSIONS = [
    "customers.segment",
    "customers.segment_group",
    "customers.regions.name",
    "regions.name",
    "orders.status",
    "orders.size_band",
    "customers.name",
    "metric_time:day",
    "metric_time:week",
    "metric_time:month",
    "metric_time:quarter",
    "metric_time:year",
    "metric_time:fiscal_quarter",
]
FUZZ_FILTERS = st.one_of(
    st.lists(st.sampled_from(["smb", "enterprise", "consumer"]), min_size=1, max_size=2, unique=True).map(
        lambda v: sl.Filter(member="customers.segment", op="in", values=v)
    ),
    st.sampled_from(["complete", "cancelled", "pending"]).map(lambda s: f"orders.status <> '{s}'"),
    st.sampled_from(["north", "south"]).map(lambda n: f"regions.name = '{n}' or regions.name is null"),
    st.just("orders.size_band = 'large'"),
    st.just("orders.amount >= 300"),
    st.sampled_from(["2024-03-01", "2024-06-01"]).map(
        lambda m: sl.Filter(member="metric_time:month", op="gte", values=[m])
    ),
)
FUZZ_RANGES = st.sampled_from(
    [
        None,
        {"start": "2024-01-01", "end": "2024-07-01"},
        {"start": "2024-02-10", "end": "2024-03-20"},
        {"start": "2024-02-10T12:00:00", "end": "2024-03-20"},
        {"end": "2024-10-01"},
    ]
)


def same_rows(a: sl.Result, b: sl.Result) -> bool:
    left, right = a.rows, b.rows
    return len(left) == len(right) and all(
        list(x) == list(y) and all(same_value(x[k], y[k]) for k in x) for x, y in zip(left, right, strict=True)
    )


def assert_same_answer(served: Layer, raw: Layer, query: dict[str, Any]) -> sl.Result | None:
    """The query answers alike with rollups (`served`) and without (`raw`), or fails alike; the
    answer with rollups, or None when both refused it."""
    try:
        expected = raw.query(**query)
    except sl.QueryError as exc:
        with pytest.raises(type(exc)):
            served.query(**query)
        return None
    got = served.query(**query)
    assert same_rows(got, expected), (got.rollup, got.sql)
    assert [c.type for c in got.columns] == [c.type for c in expected.columns]
    return got


def rolled_project(folder: Path, shop_db: Path) -> Path:
    """The shop project over `shop_db` with the rollups above."""
    root = make_project(folder, shop_db)
    (root / "rollups.yml").write_text(ROLLUPS)
    return root
