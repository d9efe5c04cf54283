"""Conversion metrics (docs/semantics.md, conversion metrics): each edge lead of the shop data with
its answer worked out by hand, the side each filter narrows, row policies on both sides, errors,
and how each engine is asked. The golden cases (golden_cases.py) compare whole answers with
hand-written SQL on DuckDB, PostgreSQL and MariaDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from golden_cases import leads_and_wins, won
from helpers import assert_rows, make_project

import semantic_layer as sl

# Lead id → does it convert within 7 days, within a month, ever? Read on the New York clock from
# LEADS and DEALS in shopdata.py.
NEW_YORK = {
    1: (1, 1, 1),  # the win is exactly 7 local days later (7 days less an hour: DST began)
    2: (0, 1, 1),  # the win is a second past 7 local days
    3: (0, 0, 0),  # a win a second before the lead, a lost deal after it
    4: (1, 1, 1),  # a win at the same instant
    5: (1, 1, 1),  # two wins follow: converted once
    6: (1, 1, 1),  # the same two wins convert this lead too
    7: (0, 0, 1),  # a win two months later
    8: (0, 0, 0),  # a customer without deals
    9: (0, 0, 0),  # no customer, though a deal without customer is won at that time
    10: (0, 0, 0),
    11: (0, 1, 1),  # January 30 21:00 local: a month ends February 29 21:00 local, the win is 20:00
    12: (0, 0, 1),  # January 31 10:00 local: the win is a second past February 29 10:00
    13: (0, 1, 1),  # January 31 11:00 local: the win is exactly February 29 11:00
    14: (0, 0, 0),  # no time
    15: (0, 0, 0),  # the customer's win has no close time
    16: (1, 1, 1),  # June 30 local (July 1 in UTC), won July 3
    17: (1, 1, 1),  # a customer not in `customers`
    18: (1, 1, 1),  # won without an amount: a win all the same
    19: (1, 1, 1),  # no source
}
# The same leads on other clocks: in Shanghai and UTC, 7 days after lead 2 is still an hour later
# (no DST there), and a month after lead 11 ends on February 29 at the lead's hour, before its win.
OTHER_CLOCKS = {"Asia/Shanghai": {2: (1, 1, 1), 11: (0, 0, 1)}, "UTC": {2: (1, 1, 1), 11: (0, 0, 1)}}


@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Shanghai", "UTC"])
def test_each_edge_lead_converts_as_worked_out_by_hand(layer: sl.Layer, tz: str) -> None:
    res = layer.query(
        metrics=["lead_to_win_7d", "lead_to_win_1m", "lead_to_win_ever"],
        dimensions=["leads.lead_id"],
        where=["leads.lead_id <= 19"],
        timezone=tz,
    )
    expected = NEW_YORK | OTHER_CLOCKS.get(tz, {})
    assert {
        r["leads.lead_id"]: (r["lead_to_win_7d"], r["lead_to_win_1m"], r["lead_to_win_ever"]) for r in res.rows
    } == {lead: tuple(float(v) for v in flags) for lead, flags in expected.items()}


def test_the_rows_of_a_count_of_an_expr_and_of_a_sum_are_those_whose_expr_is_not_null(layer: sl.Layer) -> None:
    res = layer.query(
        metrics=["sourced_lead_to_win_7d", "lead_to_paid_win_7d"],
        dimensions=["leads.lead_id"],
        where=["leads.lead_id >= 18 AND leads.lead_id <= 19"],
    )
    # lead 18's win has no amount: no row of deals.won_amount; lead 19 has no source: no row of leads.sourced_leads
    assert [tuple(r.values()) for r in res.rows] == [(18, 1.0, 0.0), (19, None, 1.0)]


@pytest.mark.parametrize(
    ("where", "dimension", "group"),
    [
        ("customers.segment = 'smb'", "customers.segment", "smb"),
        ("leads.source = 'event'", "leads.source", "event"),
        ("orders.status = 'returned'", "orders.status", "returned"),
    ],
)
def test_a_filter_the_leads_resolve_narrows_the_leads_as_their_group_does(
    layer: sl.Layer, where: str, dimension: str, group: str
) -> None:
    """customers.segment is reachable from deals too, yet narrows the leads alone: the filtered
    answer is the group's (the group of a one_to_many dimension likewise)."""
    metrics = ["lead_to_win_7d", "leads_won_7d", "lead_to_win_ever"]
    filtered = layer.query(metrics=metrics, where=[where]).rows[0]
    grouped = {r[dimension]: r for r in layer.query(metrics=metrics, dimensions=[dimension]).rows}
    assert filtered == {m: grouped[group][m] for m in metrics}


def test_a_filter_only_the_deals_resolve_narrows_the_wins(layer: sl.Layer, hand: Any) -> None:
    """(A metric of another kind in the same query could not read it, and would refuse it.)"""
    res = layer.query(metrics=["leads_won_7d", "lead_to_win_7d"], where=["deals.stage = 'won' AND deals.amount < 600"])
    expected = hand(
        f"WITH {leads_and_wins(wins='AND amount < 600')} SELECT SUM({won('7 DAY')}), AVG({won('7 DAY')}) FROM l"
    )
    assert_rows(res, expected)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            dict(metrics=["lead_to_win_7d"], dimensions=["deals.stage"]),
            "while grouping conversion metrics on model 'leads' by 'deals.stage'",
        ),
        (
            dict(metrics=["lead_to_win_7d"], where=["leads.source = 'web' OR deals.stage = 'won'"]),
            "a filter of conversion metric 'lead_to_win_7d' is read on its base model 'leads', or else on its "
            "conversion model 'deals' as a whole",
        ),
        (
            dict(metrics=["lead_to_win_7d"], where=["deals.amount < 'abc'"]),
            "filter on 'deals.amount' expects a number, got 'abc'",
        ),
    ],
    ids=["dimension of the conversion model", "filter over both models", "value of the wrong type"],
)
def test_what_neither_side_can_read_is_refused(layer: sl.Layer, query: dict[str, Any], message: str) -> None:
    with pytest.raises(sl.QueryError) as caught:
        layer.query(**query)
    assert message in caught.value.message


POLICIES = """\
policies:
  - role: regional
    rows:
      - model: customers
        where: "region_id = {{ user.region_id }}"
  - role: big_deals
    rows:
      - model: deals
        where: "amount >= 500"
"""


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Any:
    root = make_project(tmp_path_factory.mktemp("guarded"), shop_db)
    (root / "policies.yml").write_text(POLICIES)
    with sl.connect(root) as lay:
        yield lay


def test_row_policies_narrow_the_leads_and_the_wins(guarded: sl.Layer, hand: Any) -> None:
    """A policy on customers reaches both leads and deals (each joins customers); one on deals narrows
    the wins alone: leads are not filtered through their customer's deals."""
    query = dict(metrics=["lead_to_win_7d", "leads_won_7d", "lead_count"], dimensions=["metric_time:quarter"])
    regional = guarded.query(principal=sl.Principal(("regional",), {"region_id": 2}), **query)
    in_region = "customer_id IN (SELECT customer_id FROM customers WHERE region_id = 2)"
    assert_rows(
        regional,
        hand(f"""WITH {leads_and_wins(wins="AND " + in_region)}
            SELECT CAST(date_trunc('quarter', t) AS DATE), AVG({won("7 DAY")}), SUM({won("7 DAY")}), COUNT(*)
            FROM l WHERE {in_region} AND t IS NOT NULL GROUP BY 1 ORDER BY 1"""),
    )
    big = guarded.query(principal=sl.Principal(("big_deals",)), **query)
    assert_rows(
        big,
        hand(f"""WITH {leads_and_wins(wins="AND amount >= 500")}
            SELECT CAST(date_trunc('quarter', t) AS DATE), AVG({won("7 DAY")}), SUM({won("7 DAY")}), COUNT(*)
            FROM l WHERE t IS NOT NULL GROUP BY 1 ORDER BY 1"""),
    )


@pytest.mark.parametrize(
    ("dialect", "asked", "not_asked"),
    [
        ("duckdb", ["WHERE EXISTS(", "INTERVAL '1' MONTH"], ["SELECT DISTINCT"]),
        ("postgres", ["WHERE EXISTS(", "INTERVAL '1 MONTH'"], ["SELECT DISTINCT"]),
        ("mariadb", ["SELECT DISTINCT", "JOIN __c", "+ INTERVAL '1' MONTH"], ["EXISTS"]),
        ("snowflake", ["SELECT DISTINCT", "JOIN __c", "INTERVAL '1 MONTH'"], ["EXISTS"]),
    ],
)
def test_each_engine_is_asked_for_the_semi_join_it_runs_fastest(
    layer: sl.Layer, dialect: str, asked: list[str], not_asked: list[str]
) -> None:
    """An EXISTS where it is a hash semi-join; elsewhere a join to DISTINCT conversion events, which
    MariaDB materializes and indexes (docs/engines.md). The window is calendar arithmetic in each."""
    sql = layer.compile(dialect=dialect, metrics=["lead_to_win_1m"], dimensions=["metric_time:month"])
    assert all(part in sql for part in asked), sql
    assert not any(part in sql for part in not_asked), sql


def test_an_offset_without_metric_time_reads_the_range_moved_back(layer: sl.Layer) -> None:
    """Leads of the range moved back a month, converted by wins at any time: February's own rate."""

    def rate(start: str, end: str) -> Any:
        return layer.query(metrics=["lead_to_win_7d"], time_range={"start": start, "end": end}).rows[0][
            "lead_to_win_7d"
        ]

    change = layer.query(metrics=["lead_to_win_7d_change"], time_range={"start": "2024-03-01", "end": "2024-04-01"})
    march, february = rate("2024-03-01", "2024-04-01"), rate("2024-02-01", "2024-03-01")
    assert march != february
    assert change.rows[0]["lead_to_win_7d_change"] == pytest.approx(march - february)
