"""64 query shapes over the TPC-H-like project beside this file: 8 metric sets × 8 views, in order.

A dashboard on this model asks several metrics at once, from several models, by dimensions a few
joins away. Each metric set mixes models (lineitem and orders), and each also has offsets,
cumulative metrics, ratios, filtered or percentile metrics; each view groups and filters through
multi-hop paths (`customer_nation.region.name`), the nation model under both of its names
(customer_nation, supplier_nation), a one_to_many join (orders → lineitem), segments,
structured filters and time ranges. Every one of the 64 compiles (tests/test_tpch_bench.py).
"""

from __future__ import annotations

from typing import Any

METRIC_SETS: list[list[str]] = [
    ["revenue", "order_count"],
    ["revenue", "revenue_mom", "revenue_yoy"],
    ["revenue_running", "revenue_trailing_30d", "order_count"],
    ["revenue_per_order", "lines_per_order", "return_rate"],
    ["europe_revenue", "promo_revenue_share", "urgent_order_share"],
    ["median_price", "p90_price", "avg_order_value"],
    ["orders_yoy", "orders_trailing_90d", "revenue_mtd"],
    ["revenue", "late_share", "discount_given", "revenue_ytd_vs_last_year"],
]

VIEWS: list[dict[str, Any]] = [
    {"dimensions": ["metric_time:month"]},
    {
        "dimensions": ["customer_nation.region.name", "metric_time:month"],
        "time_range": {"start": "1995-01-01", "end": "1997-01-01"},
    },
    {"dimensions": ["customer_nation.name", "lineitem.supplier.supplier_nation.name"]},
    {
        "dimensions": ["customer.market_segment", "metric_time:month"],
        "where": ["customer_nation.region.name = 'EUROPE'"],
    },
    {
        "dimensions": ["orders.priority"],
        "where": ["lineitem.part.brand = 'Brand#23'"],
        "filters": [{"member": "lineitem.part.size", "op": "between", "values": [10, 20]}],
    },
    {
        "dimensions": ["metric_time:day"],
        "segments": ["orders.urgent"],
        "time_range": {"start": "1996-01-01", "end": "1996-02-01"},
    },
    {
        "dimensions": ["lineitem.supplier.supplier_nation.region.name", "customer.balance_band"],
        "filters": [{"member": "customer.market_segment", "op": "in", "values": ["BUILDING", "MACHINERY"]}],
        "order_by": ["customer.balance_band"],
        "limit": 100,
    },
    {"time_range": {"start": "1996-01-01", "end": "1997-01-01"}, "where": ["orders.status <> 'F'"]},
]

SHAPES: list[dict[str, Any]] = [{"metrics": metrics, **view} for metrics in METRIC_SETS for view in VIEWS]
