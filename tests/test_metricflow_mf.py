"""The MetricFlow import against MetricFlow itself: the same numbers on the same DuckDB file.

A small CRM dbt project (tests/dbt_metricflow_crm) is built with dbt-duckdb, imported with
`import metricflow`, and every imported metric is asked of both by metric_time at a grain and by
a dimension. MetricFlow runs in its own virtual environment (tests/metricflow_env.py), installed on
first use. What the import reports instead of importing is checked too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from metricflow_env import copy_project, metricflow_python, metricflow_queries, run_dbt, write_raw_tables

import semantic_layer as sl
from semantic_layer.interop.metricflow import ImportResult, import_and_write

pytestmark = [pytest.mark.metricflow, pytest.mark.slow]

IMPORTED = [
    "signups",
    "order_count",
    "revenue",
    "revenue_2025",
    "enterprise_revenue",
    "p90_order_amount",
    "median_order_amount",
    "average_amount",
    "large_order_count",
    "delivered_revenue",
    "average_order_value",
    "completed_share",
    "revenue_growth_mom",
    "revenue_mtd",
    "revenue_trailing_30d",
    "revenue_all_time",
    "total_balance",
    "opening_balance",
    "signup_to_order_rate_30d",
    "signups_ordering_30d",
]
REPORTED = [
    "balance_per_customer",  # window_groupings
    "orders_after_signup_30d",  # conversion measure counts events, not entities
    "revenue_running_first",  # period_agg first
    "revenue_since_month_start",  # offset_to_grain
    "p90_order_amount_discrete",  # a discrete percentile
]
CUMULATIVE = {"revenue_mtd", "revenue_trailing_30d", "revenue_all_time"}
OFFSET = {"revenue_growth_mom"}
CONVERSION = {"signup_to_order_rate_30d", "signups_ordering_30d"}
SNAPSHOT = {"total_balance", "opening_balance"}
# MetricFlow's median and percentile of a DECIMAL(10, 2) column keep its two decimals (DuckDB's
# quantile_cont of a DECIMAL); here they are computed in DOUBLE. They agree to the column's scale.
TO_SCALE = {"p90_order_amount": 0.01, "median_order_amount": 0.01}
START, END = date(2024, 1, 1), date(2026, 1, 1)
# Weeks end on a Monday: a week cut by the range's end answers here as of the range's end, and in
# MetricFlow as of the week's last day, after the range. Both ends of this range start weeks.
WEEK_END = date(2025, 12, 29)
# (MetricFlow's group-by, this layer's dimensions) for each way a metric is asked.
GROUPINGS = {
    "day": (["metric_time__day"], ["metric_time:day"]),
    "month": (["metric_time__month"], ["metric_time:month"]),
    "week": (["metric_time__week"], ["metric_time:week"]),
    "region": (["customer__region"], ["customers.region"]),
    "month_region": (["metric_time__month", "customer__region"], ["metric_time:month", "customers.region"]),
}


@dataclass
class Verified:
    layer: sl.Layer
    result: ImportResult
    answers: dict[tuple[str, str], dict[str, Any]]


def _groupings(metric: str) -> list[str]:
    """By month, and by region: with the month for cumulative and offset metrics (MetricFlow needs
    metric_time for them), by week too for those whose value is a period's end, and by day for
    conversions (their window is counted in days) and snapshots."""
    if metric in CUMULATIVE:
        return ["month", "week", "month_region"]
    if metric in OFFSET:
        return ["month", "month_region"]
    if metric in CONVERSION | SNAPSHOT:
        return ["day", "month", "region"]
    return ["month", "region"]


def _end(grouping: str) -> date:
    return WEEK_END if grouping == "week" else END


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> Verified:
    python = metricflow_python()
    project = copy_project(tmp_path_factory.mktemp("dbt") / "crm_metrics")
    write_raw_tables(project / "crm.duckdb")
    run_dbt(python, project, "run")  # parses too: target/manifest.json names each relation
    output = tmp_path_factory.mktemp("imported")
    result = import_and_write(project, output)
    keys = [(metric, grouping) for metric in IMPORTED for grouping in _groupings(metric)]
    requests = [
        {
            "metrics": [metric],
            "group_by": GROUPINGS[grouping][0],
            "start": START.isoformat(),
            "end": (_end(grouping) - timedelta(days=1)).isoformat(),  # MetricFlow's end is inclusive
        }
        for metric, grouping in keys
    ]
    answers = metricflow_queries(python, project, requests)
    return Verified(sl.connect(output), result, dict(zip(keys, answers, strict=True)))


def test_the_import_reports_what_would_change_numbers(verified: Verified) -> None:
    assert sorted(verified.result.names("metrics")) == sorted(
        [*IMPORTED, "order_amount"]
    )  # the cumulative metrics' input
    reported = verified.result.report.not_imported("metric")
    assert sorted(reported) == sorted(REPORTED)


@pytest.mark.parametrize(
    ("metric", "grouping"), [(m, g) for m in IMPORTED for g in _groupings(m)], ids=lambda v: str(v)
)
def test_imported_metric_matches_metricflow(verified: Verified, metric: str, grouping: str) -> None:
    answer = verified.answers[(metric, grouping)]
    assert "error" not in answer, answer.get("error")
    mf_dims, our_dims = GROUPINGS[grouping]
    theirs = _table(answer["rows"], mf_dims, metric, conversion=metric in CONVERSION)
    result = verified.layer.query(
        metrics=[metric],
        dimensions=our_dims,
        time_range={"start": START.isoformat(), "end": _end(grouping).isoformat()},
    )
    ours = _table(result.rows, our_dims, metric, conversion=False)
    assert theirs, "MetricFlow answered no rows: the check would prove nothing"
    assert sorted(ours.keys() ^ theirs.keys()) == []
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, rel=1e-9, abs=TO_SCALE.get(metric, 1e-6)), key


def _table(
    rows: list[dict[str, Any]], dims: list[str], metric: str, *, conversion: bool
) -> dict[tuple[str, ...], float]:
    """Rows as {dimension values: value}, rows without a value left out (a NULL and no row say the
    same). MetricFlow answers NULL for a conversion with no converted base event; here that is 0."""
    table = {}
    for row in rows:
        value = row[metric]
        if value is None and conversion:
            value = 0
        if value is not None:
            table[tuple(_key(row[d]) for d in dims)] = float(value)
    return table


def _key(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    if isinstance(value, Decimal):
        return str(value)
    return str(value)[:10] if isinstance(value, str) and value[:4].isdigit() else str(value)


def test_the_imported_project_is_valid_here(verified: Verified) -> None:
    project = sl.load(verified.layer.project.root)
    assert "orders_by_delivered_at" in project.models  # a measure counted on another time
    assert project.settings.timezone == "UTC"
    assert project.dashboards.keys() == {"revenue_by_region"}


def test_relations_come_from_the_manifest(verified: Verified) -> None:
    assert verified.layer.project.models["orders"].table == "main.orders"


@pytest.fixture(scope="module", autouse=True)
def _close(verified: Verified) -> Any:
    yield
    verified.layer.close()
