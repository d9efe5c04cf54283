"""A tiny project for testing compiler passes alone: orders with lines and payments (one_to_many),
customers and regions (many_to_one), a few metrics of each type. Compiles; has no data."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import semantic_layer as sl
from semantic_layer.compiler.plan import Plan, RowSecurity
from semantic_layer.compiler.resolve import plan_query
from semantic_layer.compiler.values import Params, extract
from semantic_layer.graph import SemanticGraph
from semantic_layer.query import build_query
from semantic_layer.timegrain import Calendar

MODELS = """
models:
  - name: orders
    table: orders
    primary_key: order_id
    time: created_at
    joins:
      - {model: customers, on: orders.customer_id = customers.customer_id, relationship: many_to_one}
      - {model: lines, on: orders.order_id = lines.order_id, relationship: one_to_many}
      - {model: payments, on: orders.order_id = payments.order_id, relationship: one_to_many}
    dimensions:
      - {name: status}
      - {name: created_at, type: time}
      - {name: amount, type: number}
    measures:
      - {name: order_count, agg: count}
      - {name: revenue, agg: sum, expr: amount}
      - {name: median_amount, agg: median, expr: amount}
    segments:
      - {name: big, where: "amount > 100"}
  - name: lines
    table: lines
    primary_key: [order_id, line_no]
    dimensions:
      - {name: sku}
      - {name: returned, type: boolean}
    measures:
      - {name: quantity, agg: sum, expr: qty}
  - name: payments
    table: payments
    primary_key: payment_id
    dimensions:
      - {name: method}
  - name: customers
    table: customers
    primary_key: customer_id
    time: signed_up
    joins:
      - {model: regions, on: customers.region_id = regions.region_id, relationship: many_to_one}
    dimensions:
      - {name: segment}
      - {name: signed_up, type: time, granularity: day}
    measures:
      - {name: customer_count, agg: count}
  - name: regions
    table: regions
    primary_key: region_id
    dimensions:
      - {name: name}
metrics:
  - {name: revenue, type: simple, measure: orders.revenue}
  - {name: order_count, type: simple, measure: orders.order_count}
  - {name: median_amount, type: simple, measure: orders.median_amount}
  - {name: customer_count, type: simple, measure: customers.customer_count}
  - {name: big_customer_revenue, type: simple, measure: orders.revenue, filter: "customers.segment = 'big'"}
  - {name: average_order, type: ratio, numerator: revenue, denominator: order_count}
  - {name: revenue_running, type: cumulative, metric: revenue}
  - name: revenue_prev_month
    type: derived
    expr: prev
    inputs: [{metric: revenue, alias: prev, offset: 1 month}]
"""


@cache
def tiny_graph() -> SemanticGraph:
    with tempfile.TemporaryDirectory(prefix="tinyproject") as tmp:
        folder = Path(tmp)
        (folder / "semantic_layer.yml").write_text("name: tiny\nconnection: 'duckdb:///:memory:'\n")
        (folder / "models.yml").write_text(MODELS)
        return sl.load(folder).graph


def plan_of(
    security: RowSecurity | None = None, graph: SemanticGraph | None = None, **query: Any
) -> tuple[Plan, Params]:
    """The resolve pass alone, on the tiny project (or on `graph`)."""
    graph = graph or tiny_graph()
    q = build_query(**query)
    params = Params()
    plan = plan_query(graph, q, extract(q, "duckdb", "UTC"), params, Calendar("UTC", "monday", 1), security)
    return plan, params
