"""Which metrics settle after their period ends: retention, conversion within a window, and what is
computed from them."""

from __future__ import annotations

import yaml
from pydantic import TypeAdapter

from semantic_layer import definitions as d
from semantic_layer.finality import settling_periods
from semantic_layer.graph import SemanticGraph

PROJECT = """
models:
  - name: orders
    table: orders
    primary_key: order_id
    time: created_at
    dimensions:
      - {name: created_at, type: time}
    measures:
      - {name: order_count, agg: count}
metrics:
  - {name: order_count, type: simple, measure: orders.order_count}
  - {name: retention_m1, type: retention, activity: orders, entity: customer_id, period: month, offset: 1}
  - {name: retention_q2, type: retention, activity: orders, entity: customer_id, period: quarter, offset: 2}
  - {name: churn, type: derived, expr: "1 - retention_m1"}
  - {name: mixed, type: derived, expr: "churn + retention_q2 + order_count"}
  - {name: repeat_90d, type: conversion, base: orders.order_count, conversion: orders.order_count,
     entity: customer_id, window: 90 days}
  - {name: repeat_ever, type: conversion, base: orders.order_count, conversion: orders.order_count,
     entity: customer_id}
  - {name: repeat_share, type: ratio, numerator: repeat_90d, denominator: order_count}
"""


def graph_of() -> SemanticGraph:
    """The definitions alone (finality needs no compiled metric)."""
    data = yaml.safe_load(PROJECT)
    models = {m["name"]: d.Model.model_validate(m) for m in data["models"]}
    metrics = {m["name"]: TypeAdapter(d.Metric).validate_python(m) for m in data["metrics"]}
    return SemanticGraph(d.Settings(), models, metrics)


def test_retention_and_what_is_computed_from_it_settle_later() -> None:
    graph = graph_of()
    assert settling_periods(graph, "order_count") == []
    assert settling_periods(graph, "retention_m1") == [("month", 1)]
    assert settling_periods(graph, "churn") == [("month", 1)]
    assert sorted(settling_periods(graph, "mixed")) == [("month", 1), ("quarter", 2)]


def test_a_conversion_within_a_window_settles_once_the_window_after_the_period_has_passed() -> None:
    graph = graph_of()
    assert settling_periods(graph, "repeat_90d") == [("day", 90)]
    assert settling_periods(graph, "repeat_share") == [("day", 90)]
    assert settling_periods(graph, "repeat_ever") == []  # it may change for ever: not waited for
