"""Threshold alerts: which period is judged, the value read for it (checked against hand-written SQL),
and the level, bound and message that follow."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from alertproject import alert_project, month_revenue_sql
from helpers import local, same_value
from pydantic import TypeAdapter

import semantic_layer as sl
from semantic_layer import definitions as d
from semantic_layer.alerts import Alert, AlertPlan, last_complete_start, plan_alerts
from semantic_layer.graph import SemanticGraph
from semantic_layer.timegrain import Calendar

NY_CALENDAR = Calendar("America/New_York", "monday", 1)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Path:
    return alert_project(tmp_path_factory.mktemp("alerts"), shop_db, policies=True)


@pytest.fixture(scope="module")
def layer(project: Path) -> Iterator[sl.Layer]:
    with sl.connect(project) as lay:
        yield lay


def utc(*parts: int) -> datetime:
    return datetime(*parts).replace(tzinfo=UTC)


def one(layer: sl.Layer, metric: str, **kwargs: Any) -> Alert:
    (alert,) = layer.alerts([metric], **kwargs)
    return alert


def hand_value(hand: Callable[[str], list[tuple[Any, ...]]], sql: str) -> Any:
    ((value,),) = hand(sql)
    return value


# -- the period judged ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "period", "start", "end", "level"),
    [
        # 04:59 UTC on Dec 1 is still Nov 30 in New York: November has not ended there.
        (utc(2024, 12, 1, 4, 59), date(2024, 10, 1), "2024-10-01", "2024-11-01", "warn"),
        (utc(2024, 12, 1, 5, 0), date(2024, 11, 1), "2024-11-01", "2024-12-01", "ok"),
        (utc(2025, 1, 10), date(2024, 12, 1), "2024-12-01", "2025-01-01", "critical"),
    ],
)
def test_the_last_month_that_has_ended_in_the_project_time_zone_is_judged(
    layer: sl.Layer, hand: Any, now: datetime, period: date, start: str, end: str, level: str
) -> None:
    alert = one(layer, "monthly_revenue", now=now)
    assert (alert.period, alert.grain, alert.level) == (period, "month", level)
    assert same_value(alert.value, hand_value(hand, month_revenue_sql(start, end)))
    assert alert.note is None


def test_a_crossed_bound_is_named_in_the_alert_and_its_message(layer: sl.Layer) -> None:
    alert = one(layer, "monthly_revenue", now=utc(2025, 1, 10))
    assert (alert.bound, alert.bound_kind, alert.bound_level, alert.direction) == (45000, "below", "critical", "up")
    assert alert.message == "monthly_revenue 38,661.98 is below the critical bound 45,000.00 for 2024-12"
    ok = one(layer, "monthly_revenue", now=utc(2024, 12, 5))
    assert (ok.bound, ok.bound_kind, ok.bound_level) == (None, None, None)
    assert ok.message == "monthly_revenue 64,078.64 is within its thresholds for 2024-11"


def test_without_data_in_the_last_complete_period_the_latest_period_with_data_is_judged(
    layer: sl.Layer, hand: Any
) -> None:
    """The data ends on 2025-01-15: in March, February has no data, and January's value is judged,
    with a note that says the feed is behind."""
    alert = one(layer, "monthly_revenue", now=utc(2025, 3, 10))
    assert (alert.period, alert.level) == (date(2025, 1, 1), "critical")
    assert same_value(alert.value, hand_value(hand, month_revenue_sql("2025-01-01", "2025-02-01")))
    assert alert.note == "no data after 2025-01; the last complete month is 2025-02"


def test_a_null_value_is_ok_and_says_so(layer: sl.Layer) -> None:
    """October 2023 has one order, cancelled: a row whose revenue is NULL."""
    alert = one(layer, "monthly_revenue", now=utc(2025, 1, 10), time_range={"end": "2023-11-01"})
    assert (alert.period, alert.level, alert.value, alert.bound) == (date(2023, 10, 1), "ok", None, None)
    assert alert.message == "monthly_revenue has no value for 2023-10"
    assert alert.note == "the value for 2023-10 is NULL: counted as ok"


def test_no_data_at_all_is_ok_and_says_so(layer: sl.Layer) -> None:
    alert = one(layer, "monthly_revenue", now=utc(2025, 6, 10), time_range={"start": "2025-03-01"})
    assert (alert.period, alert.level, alert.value) == (date(2025, 5, 1), "ok", None)
    assert alert.note == "no data for any complete month from 2025-03 up to 2025-05: counted as ok"


def test_the_time_range_bounds_the_periods_considered(layer: sl.Layer, hand: Any) -> None:
    """A period counts only if it lies wholly inside the range: June is not over on June 15."""
    alert = one(layer, "monthly_revenue", now=utc(2025, 1, 10), time_range={"start": "2024-05-01", "end": "2024-06-15"})
    assert alert.period == date(2024, 5, 1)
    assert same_value(alert.value, hand_value(hand, month_revenue_sql("2024-05-01", "2024-06-01")))
    with pytest.raises(sl.QueryValidationError, match="the time range holds no complete month"):
        layer.alerts(["monthly_revenue"], {"start": "2024-05-10", "end": "2024-06-15"}, now=utc(2025, 1, 10))


def test_the_grain_can_be_overridden(layer: sl.Layer, hand: Any) -> None:
    alert = one(layer, "monthly_revenue", grain="quarter", now=utc(2025, 1, 10))
    assert (alert.period, alert.grain, alert.level) == (date(2024, 10, 1), "quarter", "ok")
    assert same_value(alert.value, hand_value(hand, month_revenue_sql("2024-10-01", "2025-01-01")))
    assert alert.message == "monthly_revenue 149,902.36 is within its thresholds for 2024-Q4"


@pytest.mark.parametrize(
    ("now", "period", "level", "kind"),
    [
        (utc(2024, 8, 1), date(2024, 4, 1), "ok", None),
        (utc(2024, 11, 1), date(2024, 7, 1), "warn", "above"),
        (utc(2025, 1, 2), date(2024, 10, 1), "warn", "below"),
    ],
)
def test_a_band_fires_on_either_side(
    layer: sl.Layer, hand: Any, now: datetime, period: date, level: str, kind: str | None
) -> None:
    alert = one(layer, "order_value", now=now)
    assert (alert.period, alert.grain, alert.level, alert.bound_kind) == (period, "quarter", level, kind)
    t = local("o.created_at")
    end = f"TIMESTAMP '{period.isoformat()}' + INTERVAL 3 MONTH"
    sql = (
        "SELECT SUM(amount) FILTER (WHERE status <> 'cancelled') / COUNT(*) FROM orders o "
        f"WHERE {t} >= TIMESTAMP '{period.isoformat()}' AND {t} < {end}"
    )
    assert same_value(alert.value, hand_value(hand, sql))


@pytest.mark.parametrize(
    ("now", "week", "count", "level"),
    [
        (utc(2024, 11, 5), date(2024, 10, 28), 7, "warn"),  # at the critical bound: not above it
        (utc(2024, 11, 12), date(2024, 11, 4), 8, "critical"),
        (utc(2024, 11, 18, 6), date(2024, 11, 11), 4, "ok"),
    ],
)
def test_weeks_start_on_the_project_week_start_across_dst(
    layer: sl.Layer, hand: Any, now: datetime, week: date, count: int, level: str
) -> None:
    alert = one(layer, "weekly_tickets", now=now)
    assert (alert.period, alert.grain, alert.value, alert.level) == (week, "week", count, level)
    t = local("t.created_at")
    sql = (
        f"SELECT COUNT(*) FROM tickets t WHERE {t} >= TIMESTAMP '{week}' AND {t} < TIMESTAMP '{week}' + INTERVAL 7 DAY"
    )
    assert hand_value(hand, sql) == count


def test_every_metric_with_thresholds_by_default(layer: sl.Layer) -> None:
    alerts = layer.alerts(now=utc(2024, 11, 12))
    assert [a.metric for a in alerts] == ["monthly_revenue", "order_value", "weekly_tickets"]
    assert [a.level for a in alerts] == ["warn", "warn", "critical"]  # Oct 2024, Q3 2024, the week of Nov 4


def test_the_current_time_is_the_default_clock(layer: sl.Layer) -> None:
    (alert,) = layer.alerts(["monthly_revenue"])
    assert alert.period <= datetime.now(UTC).date()


# -- access and mistakes ---------------------------------------------------------------------------
def test_row_policies_apply_to_alerts(layer: sl.Layer, hand: Any) -> None:
    east = sl.Principal(roles=("regional",), claims={"region_id": 3})
    alert = one(layer, "monthly_revenue", principal=east, now=utc(2024, 12, 5))
    sql = month_revenue_sql("2024-11-01", "2024-12-01", "c.region_id = 3")
    assert same_value(alert.value, hand_value(hand, sql)) and alert.level == "critical"
    with pytest.raises(sl.ForbiddenError):
        layer.alerts(principal=sl.Principal(roles=("regional",)), now=utc(2024, 12, 5))


def test_a_hidden_metric_is_unknown_and_left_out(layer: sl.Layer) -> None:
    caller = sl.Principal(roles=("no_revenue",))
    with pytest.raises(sl.UnknownMemberError, match="unknown metric 'monthly_revenue'"):
        layer.alerts(["monthly_revenue"], principal=caller)
    assert [a.metric for a in layer.alerts(principal=caller, now=utc(2024, 12, 5))] == ["order_value", "weekly_tickets"]


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"metrics": ["monthly_revenu"]}, sl.UnknownMemberError, "did you mean 'monthly_revenue'"),
        ({"metrics": ["revenue"]}, sl.QueryValidationError, "metric 'revenue' has no thresholds"),
        ({"grain": "monthly"}, sl.QueryValidationError, "unknown grain 'monthly' — use one of: hour, day"),
        ({"time_range": {"end": "soon"}}, sl.QueryValidationError, "time_range end 'soon' is not a date"),
    ],
)
def test_mistakes_are_query_errors(layer: sl.Layer, kwargs: dict[str, Any], error: type, says: str) -> None:
    with pytest.raises(error, match=says):
        layer.alerts(**kwargs)


# -- pure parts: the period, finality, the verdict ---------------------------------------------------
@pytest.mark.parametrize(
    ("now", "grain", "calendar", "start"),
    [
        (datetime(2025, 3, 1), "month", NY_CALENDAR, datetime(2025, 2, 1)),  # the period ended at midnight
        (datetime(2025, 3, 31, 23, 59), "month", NY_CALENDAR, datetime(2025, 2, 1)),
        (datetime(2025, 3, 5, 14, 30), "hour", NY_CALENDAR, datetime(2025, 3, 5, 13)),
        (datetime(2025, 3, 5), "day", NY_CALENDAR, datetime(2025, 3, 4)),
        (datetime(2025, 3, 5), "week", Calendar("UTC", "sunday", 1), datetime(2025, 2, 23)),  # Mar 5 is a Wednesday
        (datetime(2025, 5, 20), "quarter", NY_CALENDAR, datetime(2025, 1, 1)),
        (datetime(2025, 5, 20), "fiscal_quarter", Calendar("UTC", "monday", 4), datetime(2025, 1, 1)),
        (datetime(2025, 5, 20), "fiscal_year", Calendar("UTC", "monday", 4), datetime(2024, 4, 1)),
        (datetime(2025, 5, 20), "year", NY_CALENDAR, datetime(2024, 1, 1)),
    ],
)
def test_the_last_complete_period_of_each_grain(now: datetime, grain: str, calendar: Calendar, start: datetime) -> None:
    assert last_complete_start(now, grain, calendar) == start


@pytest.mark.parametrize(
    ("settling", "grain", "start"),
    [
        ([], "month", datetime(2025, 2, 1)),
        # A month's retention counts who returns the next month: February's is final once March has ended.
        ([("month", 1)], "month", datetime(2025, 1, 1)),
        ([("month", 2)], "month", datetime(2024, 12, 1)),
        # Quarterly retention judged by month: September's quarter (Q3) is final once Q4 has ended.
        ([("quarter", 1)], "month", datetime(2024, 9, 1)),
        ([("quarter", 1)], "quarter", datetime(2024, 7, 1)),
        ([("month", 1), ("quarter", 1)], "month", datetime(2024, 9, 1)),  # the later of both
        # Mar 10 is a Monday: the week of Mar 3–9 waits for this one; the week of Feb 24 is final.
        ([("week", 1)], "day", datetime(2025, 3, 2)),
        # A 90-day conversion: November's last lead may convert until February 28, December's until
        # March 31 — November is the latest final month on March 10, and December 9 the latest day.
        ([("day", 90)], "month", datetime(2024, 11, 1)),
        ([("day", 90)], "day", datetime(2024, 12, 9)),
    ],
)
def test_a_period_waits_for_the_retention_it_is_computed_from(
    settling: list[tuple[str, int]], grain: str, start: datetime
) -> None:
    assert last_complete_start(datetime(2025, 3, 10, 9), grain, NY_CALENDAR, settling) == start


RETENTION = """
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
  - {name: order_count, type: simple, measure: orders.order_count, thresholds: {warn: {below: 10}}}
  - {name: retention_q, type: retention, activity: orders, entity: customer_id, period: quarter, offset: 1}
  - {name: churn, type: derived, expr: "1 - retention_q", thresholds: {critical: {above: 0.2}}}
"""


def test_plans_wait_for_retention_and_only_metrics_that_depend_on_it_do() -> None:
    data = yaml.safe_load(RETENTION)
    models = {m["name"]: d.Model.model_validate(m) for m in data["models"]}
    metrics = {m["name"]: TypeAdapter(d.Metric).validate_python(m) for m in data["metrics"]}
    graph = SemanticGraph(d.Settings(), models, metrics)
    plans = {p.metric.name: p for p in plan_alerts(graph, graph, now=utc(2025, 3, 10))}
    assert (plans["order_count"].last, plans["churn"].last) == (datetime(2025, 2, 1), datetime(2024, 9, 1))
    quarterly = plan_alerts(graph, graph, ["churn"], grain="quarter", now=utc(2025, 3, 10))
    assert [p.last for p in quarterly] == [datetime(2024, 7, 1)]


def plan(thresholds: dict[str, Any], metric_format: str | None = None) -> AlertPlan:
    metric = d.SimpleMetric(
        name="m", type="simple", measure="x.m", format=metric_format, direction="down", thresholds=thresholds
    )
    assert metric.thresholds is not None
    return AlertPlan(metric, metric.thresholds, "month", datetime(2025, 2, 1), None)


def judge(p: AlertPlan, value: Any) -> Alert:
    return p.judge([{"metric_time:month": "2025-02-01", "m": value}])  # as rows arrive over JSON


@pytest.mark.parametrize(
    ("value", "level", "kind", "bound"),
    [
        (0.05, "ok", None, None),
        (0.08, "ok", None, None),  # on the bound: not beyond it
        (0.0801, "warn", "above", 0.08),
        (0.12, "warn", "above", 0.08),
        (0.13, "critical", "above", 0.12),  # both crossed: the most severe wins
        (0.01, "warn", "below", 0.02),
        (-1, "critical", "below", 0.0),
    ],
)
def test_levels_bounds_and_bands(value: float, level: str, kind: str | None, bound: float | None) -> None:
    alert = judge(plan({"warn": {"above": 0.08, "below": 0.02}, "critical": {"above": 0.12, "below": 0}}), value)
    assert (alert.level, alert.bound_kind, alert.bound) == (level, kind, bound)
    assert alert.bound_level == (None if level == "ok" else level)


def test_the_message_reads_values_and_bounds_in_the_metric_format() -> None:
    alert = judge(plan({"critical": {"above": 0.12}}, "percent"), 0.3103)
    assert alert.message == "m 31.0% is above the critical bound 12.0% for 2025-02"
    assert alert.to_json() == {
        "metric": "m",
        "level": "critical",
        "value": 0.3103,
        "period": "2025-02-01",
        "grain": "month",
        "message": "m 31.0% is above the critical bound 12.0% for 2025-02",
        "direction": "down",
        "bound": 0.12,
        "bound_kind": "above",
        "bound_level": "critical",
        "note": None,
    }
    durations = judge(plan({"warn": {"above": 14400}}, "duration_seconds"), 16200)
    assert durations.message == "m 4h 30m is above the warn bound 4h 00m for 2025-02"
