"""Retention metrics (docs/semantics.md, retention): the shares worked out by hand on the visits of
tests/shopdata.py, calendar rules, the queries refused, row policies, and the warnings about periods
whose value is not final yet. The golden cases (golden_cases.py) compare more with hand-written SQL
on every engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from golden_cases import back, months
from helpers import assert_rows, local, make_project

import semantic_layer as sl
from semantic_layer.query import build_query

MONTHLY = dict(metrics=["visitor_retention", "visitor_retention_m2"], dimensions=["metric_time:month"])


def shares(result: sl.Result, metric: str) -> dict[str, float | None]:
    return {str(row["metric_time:month"]): row[metric] for row in result.rows}


def test_shares_worked_out_by_hand_in_new_york(layer: sl.Layer) -> None:
    """Visitors active in January (New York): 1, 2, 4 (three times), 5 (late on the 31st), 6, 8, 9;
    of those 1, 4, 5 and 8 come back in February, 2 only in March; 3 is new in February; visits
    without a visitor count for no one. February's five visitors do not come back in March; no one
    visits in April, so March has a share of 0 and April none at all."""
    result = layer.query(**MONTHLY)
    assert shares(result, "visitor_retention") == {
        "2023-12-01": 1.0,  # visitor 6 again in January, across the year
        "2024-01-01": 4 / 7,
        "2024-02-01": 0.0,
        "2024-03-01": 0.0,
        "2024-05-01": 0.0,
        "2024-12-01": 1.0,  # visitor 10, whose 04:00 UTC visit on January 1 is still December 31 here
        "2025-01-01": 0.0,
    }
    assert shares(result, "visitor_retention_m2") == {
        "2023-12-01": 0.0,
        "2024-01-01": 1 / 7,  # visitor 2, back in March after a gap
        "2024-02-01": 0.0,
        "2024-03-01": 0.5,  # visitor 7, back in May after the empty April
        "2024-05-01": 0.0,
        "2024-12-01": 0.0,
        "2025-01-01": 0.0,
    }


def test_months_of_another_time_zone_move_the_visits_near_midnight(layer: sl.Layer) -> None:
    """In UTC visitor 5 visits in February and March instead of January and February."""
    result = layer.query(**MONTHLY, timezone="UTC")
    assert shares(result, "visitor_retention")["2024-01-01"] == 3 / 6
    assert shares(result, "visitor_retention")["2024-02-01"] == 1 / 5


def test_the_cohort_is_its_group_in_p_and_a_return_in_any_group_counts(layer: sl.Layer) -> None:
    """January on the app: 4, 6, 8, 9, of whom 4 (app) and 8 (web) come back; on the web: 1, 2, 5, 8,
    of whom 1 (on the app), 5 and 8 come back. A filter instead keeps only web visits in both months."""
    by_channel = layer.query(metrics=["visitor_retention"], dimensions=["metric_time:month", "visits.channel"])
    january = {
        r["visits.channel"]: r["visitor_retention"]
        for r in by_channel.rows
        if str(r["metric_time:month"]) == "2024-01-01"
    }
    assert january == {"app": 0.5, "web": 0.75}
    web = layer.query(metrics=["visitor_retention"], dimensions=["metric_time:month"], where=["visits.channel = 'web'"])
    assert shares(web, "visitor_retention")["2024-01-01"] == 2 / 4  # 5 and 8; 1 came back on the app


def test_time_range_picks_whole_periods_and_reads_p_plus_offset_after_it(layer: sl.Layer) -> None:
    result = layer.query(**MONTHLY, time_range={"start": "2024-01-15", "end": "2024-02-10"})
    assert [(str(r["metric_time:month"]), r["visitor_retention"], r["visitor_retention_m2"]) for r in result.rows] == [
        ("2024-01-01", 4 / 7, 1 / 7),
        ("2024-02-01", 0.0, 0.0),
    ]


def test_the_activity_is_read_once(layer: sl.Layer) -> None:
    sql = layer.compile(metrics=["visitor_retention", "visitor_churn"], dimensions=["metric_time:month"])
    assert sql.count("FROM visits") == 1 and sql.count("JOIN") == 1, sql


def test_weeks_start_on_the_project_week_start(tmp_path: Path, shop_db: Path, hand: Any) -> None:
    """Visitor 9 visits on Sunday January 7 and Monday January 8: two weeks from Monday, one from Sunday."""
    root = make_project(tmp_path / "sunday", shop_db, week_start="sunday")
    week = "CAST(date_trunc('week', {t} + INTERVAL 1 DAY) - INTERVAL 1 DAY AS DATE)"
    cases = [
        ("visitor_retention_week", "visitor_id", "visits v", "visited_at", local("v.visited_at")),
        ("buyer_retention_week", "customer_id", "orders o", "created_at", local("o.created_at")),
    ]
    with sl.connect(root) as sunday:
        for metric, entity, source, time, t in cases:
            expected = hand(f"""WITH a AS (SELECT DISTINCT {entity} e, {week.format(t=t)} p FROM {source}
                                           WHERE {entity} IS NOT NULL AND {time} IS NOT NULL)
                                SELECT p, AVG({back("7 DAY")}) FROM a GROUP BY 1 ORDER BY 1""")
            assert_rows(sunday.query(metrics=[metric], dimensions=["metric_time:week"]), expected)
        weeks = sunday.query(metrics=["visitor_retention_week"], dimensions=["metric_time:week"]).rows
        assert {str(r["metric_time:week"]) for r in weeks} >= {"2023-12-31", "2024-01-07"}


# -- refused --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            dict(metrics=["visitor_retention"]),
            "retention metric 'visitor_retention' is a share per month (of the entities active in a month, "
            "those active again 1 month later) — group it by 'metric_time:month'",
        ),
        (
            dict(metrics=["visitor_churn"], dimensions=["visits.channel"]),
            "retention metric 'visitor_retention' is a share per month",
        ),
        (
            dict(metrics=["visitor_retention"], dimensions=["metric_time:quarter"]),
            "retention metric 'visitor_retention' has period 'month' and cannot be grouped by "
            "'metric_time:quarter' — group it by 'metric_time:month'; for retention at another grain or "
            "offset (a cohort view), define one retention metric per period and offset",
        ),
        (
            dict(metrics=["visitor_retention"], dimensions=["metric_time:month", "metric_time:week"]),
            "cannot be grouped by 'metric_time:week'",
        ),
        (
            dict(metrics=["buyer_retention", "buyer_retention_week"], dimensions=["metric_time:month"]),
            "retention metric 'buyer_retention_week' has period 'week'",
        ),
    ],
    ids=["no metric_time", "derived, by another dimension", "another grain", "two grains", "two periods"],
)
def test_a_query_not_by_the_metric_period_is_refused(layer: sl.Layer, query: dict[str, Any], message: str) -> None:
    with pytest.raises(sl.QueryValidationError) as caught:
        layer.query(**query)
    assert message in caught.value.message
    assert caught.value.code == "VALIDATION"


# -- row policies ---------------------------------------------------------------------------
def test_row_policies_apply_to_the_activity(tmp_path: Path, shop_db: Path, hand: Any) -> None:
    root = make_project(tmp_path / "rls", shop_db)
    (root / "policies.yml").write_text(
        "policies:\n  - role: regional\n    rows:\n      - model: customers\n"
        '        where: "region_id = {{ user.region_id }}"\n'
    )
    expected = hand(f"""WITH a AS (SELECT DISTINCT o.customer_id e, {months(local("o.created_at"))} p
                                   FROM orders o JOIN customers c USING (customer_id) WHERE c.region_id = 2)
                        SELECT p, AVG({back("1 MONTH")}) FROM a GROUP BY 1 ORDER BY 1""")
    with sl.connect(root) as secured:
        rep = sl.Principal(("regional",), {"region_id": 2})
        answer = secured.query(metrics=["buyer_retention"], dimensions=["metric_time:month"], principal=rep)
        assert_rows(answer, expected)
        everyone = secured.query(metrics=["buyer_retention"], dimensions=["metric_time:month"])
        assert [tuple(r.values()) for r in everyone.rows] != expected


# -- finality -------------------------------------------------------------------------------
def clock(*args: int) -> Callable[[], datetime]:
    """A fixed 'now', given in UTC."""
    return lambda: datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def warnings_at(shop_project: Path, now: Callable[[], datetime], **query: Any) -> list[str]:
    """The answer's warnings (through `run`, which does not raise them as Python warnings too)."""
    with sl.connect(shop_project, clock=now) as layer:
        return layer.run(build_query(**query)).warnings


def test_periods_whose_next_period_has_not_ended_are_not_final(shop_project: Path) -> None:
    """At 2024-02-15, January's share waits for February's visits, February's for March's; December's
    is final. The derived churn warns too; a plain metric beside them does not."""
    query = dict(
        metrics=["visitor_retention", "visitor_churn", "visit_count", "visitor_retention_m2"],
        dimensions=["metric_time:month"],
        time_range={"start": "2023-12-01", "end": "2024-03-01"},
    )
    assert warnings_at(shop_project, clock(2024, 2, 15), **query) == [
        "metric 'visitor_retention' is not final for metric_time:month 2024-01-01, 2024-02-01: its value for "
        "a period counts what happens up to 1 month after it, and that time has not passed yet",
        "metric 'visitor_churn' is not final for metric_time:month 2024-01-01, 2024-02-01: its value for "
        "a period counts what happens up to 1 month after it, and that time has not passed yet",
        "metric 'visitor_retention_m2' is not final for metric_time:month 2023-12-01, 2024-01-01, "
        "2024-02-01: its value for a period counts what happens up to 2 months after it, and that time has "
        "not passed yet",
    ]


def test_a_period_is_final_when_the_later_period_ends_in_the_query_time_zone(shop_project: Path) -> None:
    """February ends at 05:00 UTC on March 1 in New York, at 00:00 UTC in UTC."""
    query = dict(metrics=["visitor_retention"], dimensions=["metric_time:month"], time_range={"end": "2024-02-01"})
    end_in_new_york = datetime(2024, 3, 1, 5, tzinfo=UTC)
    before = end_in_new_york - timedelta(microseconds=1)
    assert warnings_at(shop_project, lambda: before, **query) == [
        "metric 'visitor_retention' is not final for metric_time:month 2024-01-01: its value for a period "
        "counts what happens up to 1 month after it, and that time has not passed yet"
    ]
    assert warnings_at(shop_project, lambda: end_in_new_york, **query) == []
    assert warnings_at(shop_project, clock(2024, 3, 1), **query, timezone="UTC") == []
    assert warnings_at(shop_project, clock(2024, 2, 29, 23), **query, timezone="UTC") != []


def test_finality_warnings_follow_the_answer_rows_and_reach_the_server_answer(shop_project: Path) -> None:
    """Only periods the answer has are named; the server's answer (answer_json) warns alike."""
    with sl.connect(shop_project, clock=clock(2024, 5, 20)) as layer:
        query = build_query(metrics=["visitor_retention"], dimensions=["metric_time:month"])
        compiled, values = layer.prepare(query)
        body = layer.answer_json(compiled, values)
        assert (
            body["warnings"]
            == layer.run(query).warnings
            == [
                "metric 'visitor_retention' is not final for metric_time:month 2024-05-01, 2024-12-01, "
                "2025-01-01: its value for a period counts what happens up to 1 month after it, and that time "
                "has not passed yet"
            ]
        )  # April has no visits, so no row to warn about


def test_a_conversion_window_keeps_the_months_it_reaches_into_open(shop_project: Path) -> None:
    """A 7-day conversion by month: May's last leads may convert until June 7 (New York), so May is
    final from June 8 00:00 there (04:00 UTC); finality is judged at the query's grain, whatever the
    grain of what it waits for."""
    query = dict(
        metrics=["lead_to_win_7d"],
        dimensions=["metric_time:month"],
        time_range={"start": "2024-05-01", "end": "2024-07-01"},
    )
    both, june = ("2024-05-01, 2024-06-01", "2024-06-01")
    for now, shown in ((clock(2024, 6, 8, 3, 59), both), (clock(2024, 6, 8, 4), june)):
        assert warnings_at(shop_project, now, **query) == [
            f"metric 'lead_to_win_7d' is not final for metric_time:month {shown}: its value for a period "
            "counts what happens up to 7 days after it, and that time has not passed yet"
        ]


def test_not_final_is_a_python_warning_of_its_own_and_the_cut_stays_last(tmp_path: Path, shop_db: Path) -> None:
    root = make_project(tmp_path / "small", shop_db, limits="{default_rows: 2, max_rows: 100, timeout_seconds: 30}")
    with sl.connect(root, clock=clock(2024, 2, 15)) as layer, pytest.warns(sl.SemanticLayerWarning) as caught:
        result = layer.query(metrics=["visitor_retention"], dimensions=["metric_time:month"])
    assert result.truncated and result.warnings[-1].startswith("the answer was cut at 2 rows")
    assert [w.category for w in caught if issubclass(w.category, sl.SemanticLayerWarning)] == [
        sl.NotFinalWarning,
        sl.TruncatedResultWarning,
    ]


def test_the_server_judges_finality_by_its_clock(shop_project: Path) -> None:
    """Behind the server, "now" is ServerSettings.clock, as for its alerts."""
    from liveserver import LiveServer
    from served import run

    from server import ServerSettings, create_app

    settings = ServerSettings(project=shop_project, cache_url=None, clock=clock(2024, 2, 15))
    query = dict(metrics=["visitor_churn"], dimensions=["metric_time:month"], timeRange={"end": "2024-02-01"})
    expected = [
        "metric 'visitor_churn' is not final for metric_time:month 2024-01-01: its value for a period "
        "counts what happens up to 1 month after it, and that time has not passed yet"
    ]
    with LiveServer(create_app(settings)) as live:
        assert run(live, bearer=None, **query)["data"]["query"]["warnings"] == expected
        with sl.Client(live.url) as client, pytest.warns(sl.NotFinalWarning):  # the Arrow answer
            arrow = client.query(
                metrics=query["metrics"], dimensions=query["dimensions"], time_range=query["timeRange"]
            )
    assert arrow.warnings == expected
