"""The unit-building pass alone (compiler/builders.py and the modules it dispatches to): one
aggregate SELECT per planned unit, checked on the tiny project's SQL, not against data."""

from __future__ import annotations

from typing import Any

import pytest
from sqlglot import exp
from tinyproject import plan_of, tiny_graph

from semantic_layer import definitions as d
from semantic_layer.compiler import builders
from semantic_layer.compiler.aggregation import aggregate, group, measure_input
from semantic_layer.compiler.context import UnitContext
from semantic_layer.compiler.dialects import PROFILES
from semantic_layer.compiler.scope import JoinScope
from semantic_layer.compiler.semijoin import Condition, semi_join_groups


def built(dialect: str = "duckdb", **query: Any) -> list[str]:
    plan, params = plan_of(**query)
    ctx = UnitContext(tiny_graph(), plan, params, PROFILES[dialect])
    return [builders.build_unit(ctx, unit).sql(dialect) for unit in plan.units]


def test_the_registry_picks_the_builder_by_the_units_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def fake(kind: str) -> Any:
        return lambda ctx, unit: seen.append(kind) or exp.select("1")

    monkeypatch.setitem(builders.BUILDERS, "plain", fake("plain"))
    monkeypatch.setitem(builders.BUILDERS, "cumulative", fake("cumulative"))
    built(metrics=["revenue", "revenue_running"])
    assert seen == ["plain", "cumulative"]


def test_a_plain_unit_groups_its_model_by_the_dimensions() -> None:
    (sql,) = built(metrics=["revenue"], dimensions=["regions.name"])
    assert sql == (
        "SELECT customers__regions.name AS regions__name, SUM(orders.amount) AS m0 FROM orders AS orders "
        "LEFT JOIN customers AS customers ON orders.customer_id = customers.customer_id "
        "LEFT JOIN regions AS customers__regions ON customers.region_id = customers__regions.region_id "
        "GROUP BY customers__regions.name"
    )


def test_a_dimension_through_one_to_many_aggregates_distinct_rows() -> None:
    (sql,) = built(metrics=["revenue"], dimensions=["lines.sku"])
    assert "FROM (SELECT DISTINCT orders.order_id AS __pk0, lines.sku AS lines__sku, orders.amount AS __in0" in sql
    assert sql.startswith("SELECT r.lines__sku AS lines__sku, SUM(r.__in0) AS m0")


def test_a_filter_through_an_unjoined_one_to_many_is_a_semi_join() -> None:
    (semi,) = built(metrics=["order_count"], where=["lines.returned = true"])
    assert "WHERE EXISTS(SELECT 1 FROM orders AS s0_orders LEFT JOIN lines AS s0_lines" in semi
    (inline,) = built(metrics=["order_count"], dimensions=["lines.sku"], where=["lines.returned = true"])
    assert "EXISTS" not in inline and "WHERE (lines.returned) = TRUE" in inline


def test_conditions_leaving_through_the_same_hop_share_one_semi_join() -> None:
    graph = tiny_graph()
    lines = graph.resolve_path("orders", ["lines"], what="test")
    payments = graph.resolve_path("orders", ["payments"], what="test")

    def cond(*paths: Any) -> Condition:
        return Condition(list(paths), lambda scope: exp.true())

    conds = [cond(lines), cond(payments), cond(lines), cond()]
    assert semi_join_groups(conds, set()) == {0: [0, 2], 1: [1]}
    assert semi_join_groups(conds, {lines}) == {1: [1]}  # the dimensions join lines: those stay inline
    assert semi_join_groups([cond(lines, payments), cond(payments)], set()) == {0: [0, 1]}


def test_a_cumulative_unit_reads_its_rows_over_a_spine() -> None:
    (sql,) = built(metrics=["revenue_running"], dimensions=["metric_time:month"])
    assert sql.startswith("WITH r AS (SELECT orders.created_at AS __t")  # DuckDB: the base rows as they are
    assert "UNNEST(GENERATE_SERIES(b.lo, b.hi, INTERVAL '1' MONTH))" in sql
    (mysql,) = built("mysql", metrics=["revenue_running"], dimensions=["metric_time:month"])
    assert "WITH RECURSIVE s AS" in mysql  # the spine comes from the dialect's profile
    # kept apart from the window join where the planner would merge it (see DialectProfile)
    assert "WITH r AS (SELECT DISTINCT orders.order_id AS __pk0" in mysql
    (fanned,) = built(metrics=["revenue_running"], dimensions=["metric_time:month", "lines.sku"])
    assert "SELECT DISTINCT orders.order_id AS __pk0" in fanned


def test_aggregates_per_measure() -> None:
    def agg(**fields: Any) -> str:
        measure = d.Measure(name="m", **fields)
        value = None if measure.expr is None else exp.column(measure.expr)
        return aggregate(measure, value).sql("duckdb")

    assert agg(agg="count") == "COUNT(*)"
    assert agg(agg="count_distinct", expr="x") == "COUNT(DISTINCT x)"
    assert agg(agg="avg", expr="x") == "AVG(CAST(x AS DOUBLE))"
    assert agg(agg="percentile", expr="x", percentile=0.9) == "QUANTILE_CONT(CAST(x AS DOUBLE), 0.9)"
    # within one snapshot a semi-additive measure adds up as its agg says (snapshot.py picks the snapshot)
    assert agg(agg="sum", expr="x", non_additive={"dimension": "day"}) == "SUM(x)"


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (None, "MEDIAN(CAST(orders.amount AS DOUBLE))"),
        ("window", "MEDIAN(CAST(r.__in0 AS DOUBLE)) OVER"),
        ("ranked", "ROW_NUMBER() OVER"),
    ],
)
def test_percentiles_follow_the_strategy_they_are_given(strategy: str | None, expected: str) -> None:
    graph = tiny_graph()
    scope = JoinScope(graph, "orders")
    measure = graph.measures_by_model["orders"]["median_amount"]
    select = group(
        scope,
        [("s", scope.snippet("status", ()))],
        [measure_input(scope, measure, "m0")],
        [],
        distinct_rows=False,
        percentiles=strategy,
    )
    assert expected in select.sql("duckdb")
