"""Shares of a total (a ratio denominator's `reduce_by`): where the total comes from, and what a
project may ask for. The answers themselves are golden cases (golden_cases.SHARE_CASES), checked
on every engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from golden_cases import SHARE_CASES
from helpers import assert_rows
from tinyproject import plan_of

import semantic_layer as sl
from semantic_layer.compiler import pipeline
from semantic_layer.compiler.plan import Plan
from semantic_layer.compiler.shares import window_shares
from semantic_layer.graph import SemanticGraph


@pytest.mark.parametrize(("query", "sql"), [c[1:] for c in SHARE_CASES], ids=[c[0] for c in SHARE_CASES])
def test_a_total_read_as_a_unit_of_its_own_answers_as_the_window(
    layer: sl.Layer, hand: Any, query: dict[str, Any], sql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window over the numerator's groups is a shortcut: without it, every total is a unit of
    its own joined on the dimensions it keeps, and the answers are the same."""

    def no_windows(plan: Plan, graph: SemanticGraph) -> Plan:
        return plan

    monkeypatch.setattr(pipeline, "window_shares", no_windows)
    with sl.connect(layer.project.root) as fresh:  # a statement cache of its own
        assert_rows(fresh.query(**query), hand(sql))


def reduced_units(plan: Plan) -> list[tuple[str, ...]]:
    return [u.key.reduced for u in plan.units if u.key.reduced]


def test_a_sum_total_comes_from_the_numerators_groups(layer: sl.Layer) -> None:
    graph = layer.project.graph
    plan, _ = plan_of_shop(layer, metrics=["segment_share_of_revenue"], dimensions=["customers.segment"])
    assert reduced_units(plan) == [("customers__segment",)]
    assert reduced_units(window_shares(plan, graph)) == []


@pytest.mark.parametrize(
    ("metrics", "dimensions"),
    [
        (["buyer_share"], ["customers.segment"]),  # distinct counts do not add up from groups
        (["segment_share_of_revenue"], ["customers.segment", "order_lines.ship_mode"]),  # an order in two groups
    ],
    ids=["distinct count", "one_to_many dimension"],
)
def test_a_total_that_groups_do_not_add_up_to_stays_a_unit(
    layer: sl.Layer, metrics: list[str], dimensions: list[str]
) -> None:
    plan, _ = plan_of_shop(layer, metrics=metrics, dimensions=dimensions)
    assert reduced_units(window_shares(plan, layer.project.graph)) == [("customers__segment",)]


def test_a_reduced_dimension_not_asked_for_reduces_nothing(layer: sl.Layer) -> None:
    """By status alone the segment share is revenue over itself: one unit, no total apart."""
    plan, _ = plan_of_shop(layer, metrics=["segment_share_of_revenue"], dimensions=["orders.status"])
    assert len(plan.units) == 1 and reduced_units(plan) == []
    res = layer.query(metrics=["segment_share_of_revenue"], dimensions=["orders.status"])
    shares = {row["orders.status"]: row["segment_share_of_revenue"] for row in res.rows}
    assert shares.pop("cancelled") is None and set(shares.values()) == {1.0}  # cancelled orders have no revenue


def test_a_dimension_named_by_another_path_is_reduced_too(layer: sl.Layer) -> None:
    """reduce_by names `regions.name`; asked for as the longer path to the same column, it is the same dimension."""
    plan, _ = plan_of_shop(layer, metrics=["share_of_orders"], dimensions=["customers.regions.name"])
    assert reduced_units(plan) == [("customers__regions__name",)]


def plan_of_shop(layer: sl.Layer, **query: Any) -> tuple[Plan, Any]:
    return plan_of(graph=layer.project.graph, **query)


PROJECT = """
models:
  - name: orders
    table: orders
    primary_key: order_id
    time: created_at
    joins:
      - {model: customers, on: orders.customer_id = customers.customer_id, relationship: many_to_one}
    dimensions:
      - {name: status}
      - {name: created_at, type: time}
    measures:
      - {name: revenue, agg: sum, expr: amount}
  - name: customers
    table: customers
    primary_key: customer_id
    dimensions:
      - {name: region}
metrics:
  - {name: revenue, type: simple, measure: orders.revenue}
"""


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (
            "{name: s, type: ratio, numerator: revenue, denominator: {metric: revenue, reduce_by: [customers.regoin]}}",
            "reduce_by: unknown dimension 'customers.regoin': model 'customers' has no dimension 'regoin'",
        ),
        (
            "{name: s, type: ratio, numerator: {metric: revenue, reduce_by: [customers.region]}, denominator: revenue}",
            "reduce_by belongs on the denominator",
        ),
    ],
    ids=["unknown dimension", "on the numerator"],
)
def test_a_reduce_by_the_project_cannot_honour_is_a_load_error(tmp_path: Path, metric: str, message: str) -> None:
    (tmp_path / "semantic_layer.yml").write_text("name: t\n")
    text = PROJECT + f"  - {metric}\n"
    (tmp_path / "orders.yml").write_text(text)
    with pytest.raises(sl.ValidationError) as info:
        sl.load(tmp_path)
    found = [e for e in info.value.errors if message in e.message]
    line = text.splitlines().index(f"  - {metric}") + 1
    assert found and found[0].file.endswith("orders.yml") and found[0].line == line, info.value.errors
