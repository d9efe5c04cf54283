"""The combine pass alone (compiler/combine.py): units stacked on the dimensions, then finalized.
Each unit's SELECT is a stand-in here: combine only names its columns."""

from __future__ import annotations

from typing import Any

import pytest
from sqlglot import exp
from tinyproject import plan_of, tiny_graph

import semantic_layer as sl
from semantic_layer.compiler.combine import combine
from semantic_layer.compiler.context import UnitContext
from semantic_layer.compiler.dialects import PROFILES


def combined(**query: Any) -> str:
    plan, params = plan_of(**query)
    ctx = UnitContext(tiny_graph(), plan, params, PROFILES["duckdb"])
    stand_ins = {u.alias: exp.select(exp.Literal.number(1).as_("stand_in")) for u in plan.units}
    return combine(ctx, stand_ins).sql("duckdb")


def test_one_unit_is_read_directly() -> None:
    sql = combined(metrics=["revenue"], dimensions=["orders.status"])
    assert sql == (
        "WITH u0 AS (SELECT 1 AS stand_in) SELECT u0.orders__status AS orders__status, u0.m0 AS revenue "
        "FROM u0 ORDER BY orders__status ASC LIMIT 10001"
    )  # NULLs last by itself; one row past the cap


def test_units_are_stacked_and_grouped_never_joined() -> None:
    sql = combined(metrics=["revenue", "customer_count"], dimensions=["regions.name"])
    assert (
        "combined AS (SELECT s.regions__name AS regions__name, MAX(s.u0__m0) AS u0__m0, MAX(s.u1__m0) AS u1__m0" in sql
    )
    # each part fills its own column and a NULL of the other column's type elsewhere
    assert "u0.m0 AS u0__m0, (SELECT u1.m0 FROM u1 WHERE 1 = 0) AS u1__m0 FROM u0 UNION ALL" in sql
    assert sql.endswith(
        "SELECT combined.regions__name AS regions__name, combined.u0__m0 AS revenue, "
        "combined.u1__m0 AS customer_count FROM combined ORDER BY regions__name ASC LIMIT 10001"
    )


def test_without_dimensions_units_are_crossed() -> None:
    sql = combined(metrics=["revenue", "customer_count"])
    assert "SELECT u0.m0 AS revenue, u1.m0 AS customer_count FROM u0 CROSS JOIN u1" in sql


def test_an_offset_unit_is_joined_on_its_shifted_period() -> None:
    sql = combined(metrics=["revenue", "revenue_prev_month"], dimensions=["metric_time:month"])
    assert (
        "LEFT JOIN u1 ON u1.metric_time__month IS NOT DISTINCT FROM "
        "CAST(combined.metric_time__month - INTERVAL '1' MONTH AS DATE)"
    ) in sql
    with pytest.raises(sl.QueryError, match="does not align with grain 'quarter'"):
        combined(metrics=["revenue_prev_month"], dimensions=["metric_time:quarter"])


def test_having_order_limit_and_offset_finalize_the_statement() -> None:
    sql = combined(
        metrics=["revenue"],
        dimensions=["orders.status"],
        having=["revenue > 10"],
        order_by=["-revenue"],
        limit=5,
        offset=10,
    )
    assert sql == (
        "SELECT q.orders__status, q.revenue FROM (WITH u0 AS (SELECT 1 AS stand_in) "
        "SELECT u0.orders__status AS orders__status, u0.m0 AS revenue FROM u0) AS q "
        "WHERE q.revenue > $p0 ORDER BY revenue DESC LIMIT 5 OFFSET 10"
    )
