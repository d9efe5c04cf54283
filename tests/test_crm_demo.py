"""The CRM reference project on a scale-0.1 demo file: valid, deterministic, every metric answers, and
the catalogue metrics equal hand-written SQL."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from helpers import assert_rows, retention_period
from typer.testing import CliRunner

import semantic_layer as sl
from semantic_layer.catalog import dimensions_for, markdown_table
from semantic_layer.cli import app
from semantic_layer.demo import write_demo

ROOT = Path(__file__).resolve().parents[1]
METRICS = ROOT / "metrics"


def L(column: str) -> str:
    return f"(({column} AT TIME ZONE 'UTC') AT TIME ZONE 'Asia/Shanghai')"


VALID = "o.status NOT IN ('cancelled', 'refunded')"


@pytest.fixture(scope="session")
def crm_sql(crm: sl.Layer, crm_db: Path) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
    con = duckdb.connect(str(crm_db), read_only=True)
    yield lambda sql: con.execute(sql).fetchall()
    con.close()


def checksums(path: Path) -> dict[str, tuple[int, int]]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {t: con.execute(f'SELECT COUNT(*), SUM(hash(t)) FROM "{t}" AS t').fetchone() for t in tables}  # type: ignore[misc]


def test_the_same_seed_gives_identical_data(tmp_path: Path) -> None:
    first = checksums(Path(write_demo(tmp_path / "a.duckdb", scale=0.05, seed=7) and tmp_path / "a.duckdb"))
    write_demo(tmp_path / "b.duckdb", scale=0.05, seed=7)
    write_demo(tmp_path / "c.duckdb", scale=0.05, seed=8)
    assert first == checksums(tmp_path / "b.duckdb")
    assert first != checksums(tmp_path / "c.duckdb")
    assert len(first) == 15 and all(count > 0 for count, _ in first.values())


def test_scale_sets_the_size_and_no_partial_file_is_left(tmp_path: Path) -> None:
    counts = write_demo(tmp_path / "d.duckdb", scale=0.1)
    assert counts["customers"] == 1_000
    assert 7_000 < counts["orders"] < 13_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.duckdb"]


def test_a_non_positive_scale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale must be positive"):
        write_demo(tmp_path / "x.duckdb", scale=0)


def test_the_demo_command_writes_the_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--scale", "0.02", "--output", str(tmp_path / "out.duckdb")])
    assert result.exit_code == 0, result.stderr
    assert "200 customers" in result.stdout and (tmp_path / "out.duckdb").exists()


def test_the_metrics_project_validates() -> None:
    result = CliRunner().invoke(app, ["validate", "--project", str(METRICS)])
    assert result.exit_code == 0, result.stderr
    assert f"{len(sl.load(METRICS).metrics)} metrics" in result.stdout and "crm" in result.stdout


def test_the_metrics_project_validates_against_the_warehouse(crm: sl.Layer) -> None:
    assert crm.validate_warehouse() == []


def test_every_catalogue_metric_has_governance_fields() -> None:
    project = sl.load(METRICS)
    for metric in project.metrics.values():
        assert metric.description and metric.owner and metric.tier and metric.format and metric.direction, metric.name
        assert metric.label, metric.name
    thresholds = {m.name: m.thresholds for m in project.metrics.values() if m.thresholds}
    churn = thresholds["churn_rate"]
    assert churn.warn.above == 0.08 and churn.critical.above == 0.12 and churn.grain == "quarter"
    assert thresholds["collection_rate"].warn.below == 0.9
    assert thresholds["first_response_time"].warn.above == 4 * 3600
    assert thresholds["first_response_time"].critical.above == 24 * 3600


def test_access_policies_for_the_demo_roles() -> None:
    project = sl.load(METRICS)
    policies = {p.role: p for p in project.policies}
    assert set(policies) == {"admin", "sales_manager", "sales_rep"}
    assert policies["admin"].rows == [] and policies["admin"].hide == []
    assert set(policies["sales_manager"].hide) == {"contacts.phone", "contacts.email"}
    assert policies["sales_rep"].rows[0].model == "customers"
    assert "{{ user.region }}" in policies["sales_rep"].rows[0].where


NAMES = sorted(sl.load(METRICS).metrics)


@pytest.mark.parametrize("name", NAMES)
def test_every_metric_answers_alone_by_month_and_by_a_dimension(crm: sl.Layer, name: str) -> None:
    """Retention, and what is computed from it, is a share per period: it answers by its period
    (quarter) instead of by month, and alone it is refused with that fix."""
    period = retention_period(crm.project.graph, name)
    grain = period or "month"
    per_period = [f"metric_time:{grain}"] if period else []
    if period:
        with pytest.raises(sl.QueryValidationError, match=f"group it by 'metric_time:{grain}'"):
            crm.query(metrics=[name])
    else:
        assert len(crm.query(metrics=[name]).rows) == 1
    periodic = crm.query(
        metrics=[name], dimensions=[f"metric_time:{grain}"], time_range={"start": "2024-01-01", "end": "2025-01-01"}
    )
    periods = [r[f"metric_time:{grain}"].isoformat() for r in periodic.rows]
    assert periods and all("2024-01-01" <= p < "2025-01-01" for p in periods) and len(set(periods)) == len(periods)
    dims = [d for d in dimensions_for(crm.project.graph, [name]) if d != "metric_time"]
    by_dim = crm.query(metrics=[name], dimensions=[dims[0], *per_period])
    assert by_dim.rows and by_dim.columns[0].name == dims[0]


@pytest.mark.parametrize("dialect", ["snowflake", "bigquery"])
def test_every_catalogue_metric_compiles_for_the_warehouses(crm: sl.Layer, dialect: str) -> None:
    """What the README shows (`compile -m lead_to_win_rate_90d -d channels.name --dialect snowflake`),
    for every metric of the catalogue: SQL that the warehouse's parser reads back."""
    graph = crm.project.graph
    queries = [
        dict(metrics=[name], dimensions=[f"metric_time:{retention_period(graph, name) or 'month'}"]) for name in NAMES
    ]
    queries.append(dict(metrics=["lead_to_win_rate_90d"], dimensions=["channels.name"]))
    for query in queries:
        sql = crm.compile(dialect=dialect, **query)
        assert len(sqlglot.parse(sql, read=dialect)) == 1, query


GOLDEN: list[tuple[str, dict[str, Any], str]] = [
    (
        "revenue by month",
        dict(
            metrics=["revenue", "order_count", "average_order_value"],
            dimensions=["metric_time:month"],
            time_range={"start": "2025-01-01", "end": "2025-07-01"},
        ),
        f"""SELECT CAST(date_trunc('month', {L("signed_at")}) AS DATE), SUM(amount), COUNT(*),
                SUM(amount)::DOUBLE / COUNT(*)
         FROM orders o WHERE {VALID} AND {L("signed_at")} >= DATE '2025-01-01' AND {L("signed_at")} < DATE '2025-07-01'
         GROUP BY 1 ORDER BY 1""",
    ),
    (
        "high-value customer share by year",
        dict(metrics=["high_value_customer_share"], dimensions=["metric_time:year"]),
        f"""SELECT CAST(date_trunc('year', {L("o.signed_at")}) AS DATE),
                SUM(o.amount) FILTER (WHERE c.tier = 'strategic')::DOUBLE / SUM(o.amount)
         FROM orders o JOIN customers c USING (customer_id) WHERE {VALID} GROUP BY 1 ORDER BY 1""",
    ),
    (
        "channel contribution: each acquisition channel's share of its quarter's revenue",
        dict(
            metrics=["channel_contribution"],
            dimensions=["customers.acquisition_channel.name", "metric_time:quarter"],
            time_range={"start": "2025-01-01", "end": "2025-07-01"},
        ),
        f"""SELECT name, q, r::DOUBLE / SUM(r) OVER (PARTITION BY q) FROM (
           SELECT ch.name, CAST(date_trunc('quarter', {L("o.signed_at")}) AS DATE) q, SUM(o.amount) r
           FROM orders o JOIN customers c USING (customer_id) LEFT JOIN channels ch ON ch.channel_id = c.channel_id
           WHERE {VALID} AND {L("o.signed_at")} >= DATE '2025-01-01' AND {L("o.signed_at")} < DATE '2025-07-01'
           GROUP BY 1, 2) AS g ORDER BY 1 NULLS LAST, 2""",
    ),
    (
        "new customers and customer growth rate by month",
        dict(
            metrics=["new_customers", "customer_growth_rate"],
            dimensions=["metric_time:month"],
            time_range={"start": "2024-01-01", "end": "2024-07-01"},
        ),
        f"""WITH m AS (SELECT CAST(date_trunc('month', {L("created_at")}) AS DATE) m, COUNT(*) n FROM customers GROUP BY 1)
         SELECT m.m, m.n, m.n::DOUBLE / (SELECT COUNT(*) FROM customers WHERE {L("created_at")} < m.m)
         FROM m WHERE m.m >= DATE '2024-01-01' AND m.m < DATE '2024-07-01' ORDER BY 1""",
    ),
    (
        "active customers by quarter",
        dict(metrics=["active_customers"], dimensions=["metric_time:quarter"]),
        f"""SELECT CAST(date_trunc('quarter', {L("t")}) AS DATE), COUNT(DISTINCT customer_id) FROM (
           SELECT customer_id, signed_at t FROM orders o WHERE {VALID}
           UNION ALL SELECT customer_id, completed_at FROM follow_ups WHERE status = 'completed') AS a
         GROUP BY 1 ORDER BY 1""",
    ),
    (
        "repurchase rate by quarter",
        dict(metrics=["repurchase_rate"], dimensions=["metric_time:quarter"]),
        f"""WITH p AS (SELECT customer_id, {L("signed_at")} t,
                           row_number() OVER (PARTITION BY customer_id ORDER BY signed_at, order_id) n
                    FROM orders o WHERE {VALID})
         SELECT CAST(date_trunc('quarter', t) AS DATE),
                COUNT(DISTINCT customer_id) FILTER (WHERE n > 1)::DOUBLE / COUNT(DISTINCT customer_id)
         FROM p GROUP BY 1 ORDER BY 1""",
    ),
    (
        "retention and churn by quarter",
        dict(metrics=["retention_rate", "churn_rate"], dimensions=["metric_time:quarter"]),
        f"""WITH q AS (SELECT DISTINCT customer_id, CAST(date_trunc('quarter', {L("signed_at")}) AS DATE) q
                    FROM orders o WHERE {VALID})
         SELECT q.q, AVG(CASE WHEN n.customer_id IS NULL THEN 0 ELSE 1 END),
                1 - AVG(CASE WHEN n.customer_id IS NULL THEN 0 ELSE 1 END)
         FROM q LEFT JOIN q n ON n.customer_id = q.customer_id AND n.q = q.q + INTERVAL 3 MONTH
         GROUP BY 1 ORDER BY 1""",
    ),
    (
        "retention by quarter and order size in 2024",
        dict(
            metrics=["retention_rate"],
            dimensions=["metric_time:quarter", "orders.size_band"],
            time_range={"start": "2024-01-01", "end": "2025-01-01"},
        ),
        f"""WITH q AS (SELECT DISTINCT customer_id, CAST(date_trunc('quarter', {L("signed_at")}) AS DATE) q,
                           CASE WHEN amount >= 50000 THEN 'large' WHEN amount >= 5000 THEN 'medium' ELSE 'small' END b
                    FROM orders o WHERE {VALID} AND {L("signed_at")} >= DATE '2024-01-01'
                      AND {L("signed_at")} < DATE '2025-04-01'),
              n AS (SELECT DISTINCT customer_id, q FROM q)
         SELECT q.q, q.b, AVG(CASE WHEN n.customer_id IS NULL THEN 0 ELSE 1 END)
         FROM q LEFT JOIN n ON n.customer_id = q.customer_id AND n.q = q.q + INTERVAL 3 MONTH
         WHERE q.q < DATE '2025-01-01' GROUP BY 1, 2 ORDER BY 1, 2""",
    ),
    (
        "lead to win within 90 days by quarter",
        dict(metrics=["lead_to_win_rate_90d"], dimensions=["metric_time:quarter"]),
        # Asia/Shanghai keeps no daylight saving time: 90 local days are 90 days of UTC.
        f"""SELECT CAST(date_trunc('quarter', {L("l.created_at")}) AS DATE),
                AVG(CASE WHEN w.lead_id IS NULL THEN 0 ELSE 1 END)
         FROM leads l LEFT JOIN (
           SELECT b.lead_id FROM leads b WHERE EXISTS (
             SELECT 1 FROM opportunities o WHERE o.customer_id = b.customer_id AND o.stage = 'won'
               AND o.closed_at >= b.created_at AND o.closed_at <= b.created_at + INTERVAL 90 DAY)) w
         ON w.lead_id = l.lead_id
         GROUP BY 1 ORDER BY 1""",
    ),
    (
        "campaign response rate by campaign",
        dict(metrics=["campaign_response_rate"], dimensions=["campaigns.name"]),
        """SELECT k.name, COUNT(DISTINCT r.customer_id) FILTER (WHERE r.responded)::DOUBLE / COUNT(DISTINCT r.customer_id)
        FROM campaign_responses r JOIN campaigns k USING (campaign_id) GROUP BY 1 ORDER BY 1""",
    ),
    (
        "satisfaction by ticket type",
        dict(
            metrics=["csat", "csat_satisfied_share", "first_response_time", "resolution_time"],
            dimensions=["tickets.type"],
        ),
        """SELECT type, AVG(csat), COUNT(*) FILTER (WHERE csat >= 4)::DOUBLE / COUNT(csat),
               MEDIAN(date_diff('second', created_at, first_response_at)),
               MEDIAN(date_diff('second', created_at, resolved_at)) FILTER (WHERE resolved_at IS NOT NULL)
        FROM tickets GROUP BY 1 ORDER BY 1""",
    ),
    (
        "complaint rate by month",
        dict(
            metrics=["complaint_rate"],
            dimensions=["metric_time:month"],
            time_range={"start": "2025-01-01", "end": "2025-04-01"},
        ),
        f"""WITH t AS (SELECT CAST(date_trunc('month', {L("created_at")}) AS DATE) m, COUNT(*) n FROM tickets
                    WHERE type = 'complaint' GROUP BY 1),
              o AS (SELECT CAST(date_trunc('month', {L("signed_at")}) AS DATE) m, COUNT(*) n FROM orders o
                    WHERE {VALID} GROUP BY 1)
         SELECT o.m, t.n::DOUBLE / o.n FROM o LEFT JOIN t USING (m)
         WHERE o.m >= DATE '2025-01-01' AND o.m < DATE '2025-04-01' ORDER BY 1""",
    ),
    (
        "collection rate by quarter",
        dict(metrics=["collection_rate"], dimensions=["metric_time:quarter"]),
        """SELECT CAST(date_trunc('quarter', due_date) AS DATE),
               SUM(amount_paid) FILTER (WHERE paid_date <= due_date)::DOUBLE / SUM(amount_due)
        FROM payments GROUP BY 1 ORDER BY 1""",
    ),
    (
        "overdue receivables as of each month end: due on or before it, unpaid at its end",
        dict(
            metrics=["overdue_receivables"],
            dimensions=["metric_time:month"],
            time_range={"start": "2025-01-01", "end": "2025-06-01"},
        ),
        """SELECT CAST(m AS DATE), SUM(amount_due - COALESCE(amount_paid, 0))
        FROM generate_series(TIMESTAMP '2025-01-01', TIMESTAMP '2025-05-01', INTERVAL 1 MONTH) s(m)
        JOIN payments ON due_date <= CAST(m + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE)
         AND (paid_date IS NULL OR paid_date > CAST(m + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE))
        GROUP BY 1 ORDER BY 1""",
    ),
    (
        "pipeline value as of each month's last snapshot day, by customer tier",
        dict(
            metrics=["pipeline_value"],
            dimensions=["metric_time:month", "customers.tier"],
            time_range={"start": "2025-01-01", "end": "2025-04-01"},
        ),
        """WITH s AS (SELECT CAST(date_trunc('month', snapshot_date) AS DATE) m, snapshot_date d, c.tier, s.amount
                   FROM opportunity_snapshots s JOIN customers c USING (customer_id)
                   WHERE snapshot_date >= DATE '2025-01-01' AND snapshot_date < DATE '2025-04-01'),
              e AS (SELECT m, MAX(d) d FROM s GROUP BY 1)
         SELECT e.m, s.tier, SUM(s.amount) FROM e JOIN s ON s.m = e.m AND s.d = e.d GROUP BY 1, 2 ORDER BY 1, 2""",
    ),
    (
        "sales cycle by quarter closed",
        dict(metrics=["sales_cycle", "won_deals"], dimensions=["metric_time:quarter"]),
        f"""SELECT CAST(date_trunc('quarter', {L("closed_at")}) AS DATE), MEDIAN(date_diff('day', created_at, closed_at)),
                COUNT(*)
         FROM opportunities WHERE stage = 'won' GROUP BY 1 ORDER BY 1""",
    ),
    (
        "visit completion and follow-ups by rep team",
        dict(metrics=["visit_completion_rate", "follow_up_count"], dimensions=["follow_up_rep.team"]),
        """SELECT r.team, COUNT(*) FILTER (WHERE f.kind = 'visit' AND f.status = 'completed')::DOUBLE
                       / COUNT(*) FILTER (WHERE f.kind = 'visit'), COUNT(*) FILTER (WHERE f.status = 'completed')
        FROM follow_ups f JOIN sales_reps r ON r.rep_id = f.rep_id GROUP BY 1 ORDER BY 1""",
    ),
    (
        "lifetime value by acquisition cohort",
        dict(metrics=["customer_lifetime_value"], dimensions=["customers.created_at:year"]),
        f"""WITH c AS (SELECT customer_id, CAST(date_trunc('year', {L("created_at")}) AS DATE) y FROM customers)
         SELECT y, (SELECT SUM(amount) FROM orders o WHERE {VALID} AND o.customer_id IN
                     (SELECT customer_id FROM c c2 WHERE c2.y = c.y))::DOUBLE / COUNT(*)
         FROM c GROUP BY y ORDER BY 1""",
    ),
]


@pytest.mark.parametrize(("query", "sql"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_catalogue_metrics_equal_hand_written_sql(crm: sl.Layer, crm_sql: Any, query: dict[str, Any], sql: str) -> None:
    assert_rows(crm.query(**query), crm_sql(sql))


def test_the_readme_catalogue_is_generated_from_metrics() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- catalog:start -->\n", 1)[1].split("<!-- catalog:end -->", 1)[0]
    assert section == markdown_table(sl.load(METRICS).graph), (
        "README's metric catalogue is stale — run: semantic-layer docs --project metrics --readme README.md"
    )


def test_the_demo_connection_points_at_the_default_output() -> None:
    project = sl.load(METRICS)
    assert project.connection_url() == f"duckdb:///{(ROOT / 'data' / 'crm.duckdb').resolve()}"
    assert os.path.isabs(project.connection_url().removeprefix("duckdb:///"))


def test_the_demo_data_passes_the_crm_data_checks(crm: sl.Layer) -> None:
    results = crm.check()
    assert {(r.model, r.kind) for r in results} >= {
        ("orders", kind) for kind in ("unique", "not_null", "accepted_values", "sql", "row_count", "freshness")
    }
    assert [(r.model, r.name, r.message) for r in results if r.status != "pass"] == []
