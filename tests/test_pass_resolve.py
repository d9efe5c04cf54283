"""The resolve pass alone (compiler/resolve.py): what the plan holds for each unit, before any SQL."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest
from tinyproject import plan_of

import semantic_layer as sl
from semantic_layer.access import RowRule
from semantic_layer.compiler.plan import (
    FilterCondition,
    RowPolicyCondition,
    RowSecurity,
    SegmentCondition,
    TimeRangeCondition,
)


def aliases(member) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return tuple(step.alias for step in member.path)


def test_the_plan_is_frozen() -> None:
    plan, _ = plan_of(metrics=["revenue"], dimensions=["customers.segment"])
    with pytest.raises(FrozenInstanceError):
        plan.units = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.units[0].measures["other"] = "m9"  # type: ignore[index]
    with pytest.raises(TypeError):
        plan.metric_exprs["other"] = plan.metric_exprs["revenue"]  # type: ignore[index]
    assert isinstance(plan.dimensions, tuple) and isinstance(plan.units[0].reads.conditions, tuple)


def test_each_unit_resolves_the_dimensions_from_its_own_model() -> None:
    plan, _ = plan_of(metrics=["revenue", "customer_count"], dimensions=["regions.name"])
    orders, customers = plan.units
    assert (orders.reads.base, customers.reads.base) == ("orders", "customers")
    assert aliases(orders.reads.dimensions[0]) == ("customers", "regions")
    assert aliases(customers.reads.dimensions[0]) == ("regions",)
    assert dict(orders.measures) == {"revenue": "m0"} and orders.alias == "u0" and customers.alias == "u1"


def test_a_metric_used_twice_is_one_leaf_of_one_unit() -> None:
    plan, _ = plan_of(metrics=["revenue", "average_order"])
    (unit,) = plan.units
    assert dict(unit.measures) == {"revenue": "m0", "order_count": "m1"}


def test_time_dimensions_default_to_day_and_columns_are_typed() -> None:
    plan, _ = plan_of(metrics=["revenue"], dimensions=["metric_time", "orders.amount", "orders.status"])
    assert [m.grain for m in plan.units[0].reads.dimensions] == ["day", None, None]
    assert [(c.name, c.kind, c.type) for c in plan.columns] == [
        ("metric_time", "dimension", "date"),
        ("orders.amount", "dimension", "number"),
        ("orders.status", "dimension", "string"),
        ("revenue", "metric", "number"),
    ]
    plan, _ = plan_of(metrics=["revenue"], dimensions=["metric_time:hour"])
    assert plan.columns[0].type == "timestamp"


def test_conditions_come_in_order_with_their_members_and_paths() -> None:
    plan, params = plan_of(
        metrics=["big_customer_revenue"],
        where=["lines.sku = 'a'"],
        segments=["orders.big"],
        time_range={"start": "2024-01-01"},
    )
    conditions = plan.units[0].reads.conditions
    assert [type(c) for c in conditions] == [FilterCondition, FilterCondition, SegmentCondition, TimeRangeCondition]
    where, metric_filter, segment, _ = conditions
    assert [aliases(m) for m in where.members] == [("lines",)]
    assert [aliases(m) for m in metric_filter.members] == [("customers",)]
    assert segment.paths == ((),) and segment.where == "amount > 100"
    assert params.compared[0] == ("lines.sku", "string")  # the value is checked against its member's type


def test_a_cumulative_unit_bounds_its_rows_itself() -> None:
    plan, _ = plan_of(
        metrics=["revenue_running"],
        dimensions=["metric_time:month"],
        time_range={"start": "2024-01-01", "end": "2024-06-01"},
    )
    (unit,) = plan.units
    assert unit.key.kind == "cumulative"
    assert not any(isinstance(c, TimeRangeCondition) for c in unit.reads.conditions)


def test_an_offset_is_a_unit_of_its_own() -> None:
    plan, _ = plan_of(metrics=["revenue", "revenue_prev_month"], dimensions=["metric_time:month"])
    assert [bool(u.key.offset) for u in plan.units] == [False, True]


def test_row_policies_reach_each_unit_along_its_to_one_paths() -> None:
    rule = RowRule("regions", "name = :__claim_region", ("region",), "sales")
    security = RowSecurity(((rule,),), {"region": 0})
    plan, _ = plan_of(security, metrics=["revenue", "customer_count"])
    policies = [[c for c in u.reads.conditions if isinstance(c, RowPolicyCondition)] for u in plan.units]
    assert [[tuple(s.alias for s in p) for p in c.paths] for (c,) in policies] == [
        [("customers", "regions")],
        [("regions",)],
    ]


def test_a_dimension_that_does_not_resolve_names_the_unit_it_was_resolved_for() -> None:
    with pytest.raises(sl.QueryError, match=r"while grouping cumulative metrics on model 'orders' by 'nope\.x'"):
        plan_of(metrics=["revenue_running"], dimensions=["nope.x"])
    with pytest.raises(sl.QueryError, match=r"while grouping metrics on model 'customers' by 'lines\.sku'"):
        plan_of(metrics=["revenue", "customer_count"], dimensions=["lines.sku"])


def test_dimensions_alone_read_the_first_dimensions_model() -> None:
    plan, _ = plan_of(dimensions=["customers.segment", "regions.name"], where=["customers.segment <> 'x'"])
    assert plan.units == () and plan.values is not None and plan.values.base == "customers"
    assert [type(c) for c in plan.values.conditions] == [FilterCondition]
    with pytest.raises(sl.QueryError, match="metric_time needs at least one metric"):
        plan_of(dimensions=["metric_time"])


def test_a_query_with_nothing_to_show_is_refused() -> None:
    with pytest.raises(sl.QueryError, match="at least one metric or one dimension"):
        plan_of(having=["revenue > 1"])
