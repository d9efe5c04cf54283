"""Calendar rules: week_start, fiscal grains labelled by their first day, time-range bounds in the zone."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_rows, local, make_project

import semantic_layer as sl
from semantic_layer.timegrain import Calendar, add_months, py_truncate

REV = "CASE WHEN o.status <> 'cancelled' THEN o.amount END"
T = local("o.created_at")


@pytest.fixture(scope="module")
def sunday_fiscal_april(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> sl.Layer:
    root = make_project(tmp_path_factory.mktemp("sunday"), shop_db, week_start="sunday", fiscal_year_start_month=4)
    return sl.connect(root)


def test_weeks_start_on_sunday(sunday_fiscal_april: sl.Layer, hand: Any) -> None:
    res = sunday_fiscal_april.query(
        metrics=["revenue"], dimensions=["metric_time:week"], time_range={"start": "2024-03-01", "end": "2024-05-01"}
    )
    expected = hand(f"""SELECT CAST(date_trunc('week', {T} + INTERVAL 1 DAY) - INTERVAL 1 DAY AS DATE) w, SUM({REV})
                        FROM orders o WHERE {T} >= DATE '2024-03-01' AND {T} < DATE '2024-05-01'
                        GROUP BY 1 ORDER BY 1""")
    assert all(row["metric_time:week"].weekday() == 6 for row in res.rows)
    assert_rows(res, expected)


def test_fiscal_quarters_and_years_start_in_april(sunday_fiscal_april: sl.Layer, hand: Any) -> None:
    res = sunday_fiscal_april.query(
        metrics=["order_count"], dimensions=["metric_time:fiscal_year", "metric_time:fiscal_quarter"]
    )
    expected = hand(f"""SELECT CAST(date_trunc('year', {T} - INTERVAL 3 MONTH) + INTERVAL 3 MONTH AS DATE),
                               CAST(date_trunc('quarter', {T} - INTERVAL 3 MONTH) + INTERVAL 3 MONTH AS DATE), COUNT(*)
                        FROM orders o GROUP BY 1, 2 ORDER BY 1, 2""")
    assert {r["metric_time:fiscal_year"].month for r in res.rows} == {4}
    assert {r["metric_time:fiscal_quarter"].month for r in res.rows} <= {1, 4, 7, 10}
    assert_rows(res, expected)


def test_cumulative_grain_to_date_by_fiscal_quarter_uses_calendar_months(
    sunday_fiscal_april: sl.Layer, hand: Any
) -> None:
    res = sunday_fiscal_april.query(
        metrics=["revenue_mtd"],
        dimensions=["metric_time:fiscal_quarter"],
        time_range={"start": "2024-04-01", "end": "2025-01-01"},
    )
    expected = hand(f"""WITH o AS (SELECT {T} t, {REV} v FROM orders o)
                        SELECT CAST(q AS DATE), (SELECT SUM(v) FROM o WHERE t >= date_trunc('month',
                                 q + INTERVAL 3 MONTH - INTERVAL 1 DAY) AND t < q + INTERVAL 3 MONTH)
                        FROM generate_series(TIMESTAMP '2024-04-01', TIMESTAMP '2024-10-01', INTERVAL 3 MONTH) s(q)
                        ORDER BY 1""")
    assert_rows(res, expected)


@pytest.mark.parametrize(
    ("value", "grain", "expected"),
    [
        (datetime(2024, 3, 10, 15), "week", datetime(2024, 3, 10)),  # a Sunday starts its own week
        (datetime(2024, 3, 9, 15), "week", datetime(2024, 3, 3)),
        (datetime(2024, 3, 31), "fiscal_quarter", datetime(2024, 1, 1)),
        (datetime(2024, 4, 1), "fiscal_quarter", datetime(2024, 4, 1)),
        (datetime(2024, 3, 31), "fiscal_year", datetime(2023, 4, 1)),
        (datetime(2024, 4, 1), "fiscal_year", datetime(2024, 4, 1)),
        (datetime(2024, 8, 17, 9, 30), "hour", datetime(2024, 8, 17, 9)),
    ],
)
def test_python_truncation_matches_the_sql_rules(value: datetime, grain: str, expected: datetime) -> None:
    assert py_truncate(value, grain, Calendar("UTC", "sunday", 4)) == expected


def test_month_arithmetic_clamps_to_month_end() -> None:
    assert add_months(datetime(2024, 3, 31), -1) == datetime(2024, 2, 29)
    assert add_months(datetime(2023, 3, 31), -1) == datetime(2023, 2, 28)
    assert add_months(datetime(2024, 1, 31), 13) == datetime(2025, 2, 28)


def test_time_range_accepts_dates_and_aware_timestamps(layer: sl.Layer) -> None:
    by_string = layer.query(metrics=["order_count"], time_range={"start": "2024-03-01", "end": "2024-04-01"})
    by_date = layer.query(metrics=["order_count"], time_range=(date(2024, 3, 1), date(2024, 4, 1)))
    # 05:00 UTC on March 1 is local midnight in New York (EST, UTC-5) — the same instant.
    by_aware = layer.query(
        metrics=["order_count"], time_range={"start": "2024-03-01T05:00:00+00:00", "end": "2024-04-01T04:00:00+00:00"}
    )
    assert by_string.rows == by_date.rows == by_aware.rows


def test_time_range_end_before_start_is_refused(layer: sl.Layer) -> None:
    with pytest.raises(sl.QueryValidationError, match="not before its end"):
        layer.query(metrics=["revenue"], time_range={"start": "2024-03-01", "end": "2024-02-01"})


def test_unknown_time_zone_is_refused(layer: sl.Layer) -> None:
    with pytest.raises(sl.QueryValidationError, match="unknown time zone 'Mars/Olympus'"):
        layer.query(metrics=["revenue"], timezone="Mars/Olympus")


@pytest.mark.parametrize("name", ["A" * 10_000, "America"], ids=["10 000 characters", "a folder of zones"])
def test_a_time_zone_must_be_a_known_iana_name(layer: sl.Layer, name: str) -> None:
    """ZoneInfo opens a file named after the zone and raised OSError for these."""
    with pytest.raises(sl.QueryValidationError, match="unknown time zone") as info:
        layer.query(metrics=["revenue"], timezone=name)
    assert len(info.value.message) < 200  # a long name is not echoed whole


@pytest.mark.parametrize(
    ("time_range", "timezone", "bound"),
    [
        ({"start": "0001-01-01"}, None, "start"),
        ({"end": "9999-12-31T23:00"}, "America/Los_Angeles", "end"),
        ({"start": "0001-01-01T00:00:00+05:00"}, "UTC", "start"),
    ],
)
def test_time_range_bounds_out_of_range_are_refused(
    layer: sl.Layer, time_range: dict[str, str], timezone: str | None, bound: str
) -> None:
    """Converting them to UTC (or moving them by an offset) would overflow Python's dates."""
    with pytest.raises(
        sl.QueryValidationError,
        match=f"time_range {bound} .* is out of range — use a date from 1000-01-01 to 9000-01-01",
    ):
        layer.query(metrics=["revenue"], time_range=time_range, timezone=timezone)
