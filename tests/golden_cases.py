"""The golden cases: queries and the hand-written SQL that must give the same answer. DuckDB checks
them against that SQL (test_golden_duckdb.py); the other engines and dialects reuse the queries."""

from __future__ import annotations

from typing import Any

from helpers import NY, local

import semantic_layer as sl

REV = "CASE WHEN o.status <> 'cancelled' THEN o.amount END"
T = local("o.created_at")
V = local("v.visited_at")


def back(step: str) -> str:
    """Hand-written retention of a row of `a` (entity e, period p): 1 when its entity has a row of
    `a` `step` after the period, in whatever group, else 0 — averaged per period, the share."""
    return f"CASE WHEN EXISTS (SELECT 1 FROM a b WHERE b.e = a.e AND b.p = a.p + INTERVAL {step}) THEN 1 ELSE 0 END"


def months(expr: str) -> str:
    return f"CAST(date_trunc('month', {expr}) AS DATE)"


OC = "FROM orders o LEFT JOIN customers c USING (customer_id)"
# Shares of a total (a ratio whose denominator is reduced by some dimensions): the hand-written
# form groups once and divides by a window total over the dimensions that stay.
SHARE_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "share of total: each segment's share of its month's revenue",
        dict(metrics=["segment_share_of_revenue", "revenue"], dimensions=["metric_time:month", "customers.segment"]),
        f"""SELECT m, segment, r::DOUBLE / NULLIF(SUM(r) OVER (PARTITION BY m), 0), r FROM
              (SELECT date_trunc('month', {T})::DATE m, c.segment, SUM({REV}) r {OC}
               WHERE o.created_at IS NOT NULL GROUP BY 1, 2)
            ORDER BY 1, 2 NULLS LAST""",
    ),
    (
        "share of total with nothing left to group the total by: the share of the grand total",
        dict(metrics=["segment_share_of_revenue"], dimensions=["customers.segment"]),
        f"""SELECT segment, r::DOUBLE / NULLIF(SUM(r) OVER (), 0) FROM
              (SELECT c.segment, SUM({REV}) r {OC} GROUP BY 1) ORDER BY 1 NULLS LAST""",
    ),
    (
        "share of total under filters: the total is of the filtered rows",
        dict(
            metrics=["segment_share_of_revenue"],
            dimensions=["customers.segment", "orders.status"],
            where=["orders.amount >= 100", "customers.segment <> 'smb'"],
        ),
        f"""SELECT segment, status, r::DOUBLE / NULLIF(SUM(r) OVER (PARTITION BY status), 0) FROM
              (SELECT c.segment, o.status, SUM({REV}) r {OC}
               WHERE o.amount >= 100 AND c.segment <> 'smb' GROUP BY 1, 2)
            ORDER BY 1 NULLS LAST, 2 NULLS LAST""",
    ),
    (
        "share of total reduced by two dimensions, grouped by a third",
        dict(metrics=["share_of_orders"], dimensions=["customers.segment", "regions.name", "orders.status"]),
        f"""SELECT segment, name, status, n::DOUBLE / NULLIF(SUM(n) OVER (PARTITION BY status), 0) FROM
              (SELECT c.segment, r.name, o.status, COUNT(*) n {OC} LEFT JOIN regions r USING (region_id)
               GROUP BY 1, 2, 3)
            ORDER BY 1 NULLS LAST, 2 NULLS LAST, 3 NULLS LAST""",
    ),
    (
        "share of total when only one of its reduced dimensions is asked for",
        dict(metrics=["share_of_orders"], dimensions=["regions.name", "orders.status"]),
        f"""SELECT name, status, n::DOUBLE / NULLIF(SUM(n) OVER (PARTITION BY status), 0) FROM
              (SELECT r.name, o.status, COUNT(*) n {OC} LEFT JOIN regions r USING (region_id) GROUP BY 1, 2)
            ORDER BY 1 NULLS LAST, 2 NULLS LAST""",
    ),
    (
        "share of total of a distinct count: the total counts each buyer once, not once per segment",
        dict(metrics=["buyer_share"], dimensions=["customers.segment", "orders.status"]),
        f"""WITH g AS (SELECT c.segment, o.status, COUNT(DISTINCT o.customer_id) b {OC} GROUP BY 1, 2),
                 t AS (SELECT o.status, COUNT(DISTINCT o.customer_id) b FROM orders o GROUP BY 1)
            SELECT g.segment, g.status, g.b::DOUBLE / NULLIF(t.b, 0) FROM g LEFT JOIN t
              ON g.status IS NOT DISTINCT FROM t.status
            ORDER BY 1 NULLS LAST, 2 NULLS LAST""",
    ),
    (
        "share of total through a one_to_many dimension: an order in two ship modes counts once in the total",
        dict(metrics=["segment_share_of_revenue"], dimensions=["customers.segment", "order_lines.ship_mode"]),
        f"""WITH p AS (SELECT DISTINCT o.order_id, c.segment, l.ship_mode, o.amount, o.status {OC}
                       LEFT JOIN order_lines l ON l.order_id = o.order_id),
                 g AS (SELECT segment, ship_mode, SUM(CASE WHEN status <> 'cancelled' THEN amount END) r
                       FROM p GROUP BY 1, 2),
                 t AS (SELECT ship_mode, SUM(CASE WHEN status <> 'cancelled' THEN amount END) r
                       FROM (SELECT DISTINCT order_id, ship_mode, amount, status FROM p) GROUP BY 1)
            SELECT g.segment, g.ship_mode, g.r::DOUBLE / NULLIF(t.r, 0) FROM g LEFT JOIN t
              ON g.ship_mode IS NOT DISTINCT FROM t.ship_mode
            ORDER BY 1 NULLS LAST, 2 NULLS LAST""",
    ),
    (
        "share of total over time: each month's share of the range, beside a metric of another model",
        dict(
            metrics=["month_share_of_revenue", "ticket_count"],
            dimensions=["metric_time:month"],
            time_range={"start": "2024-02-01", "end": "2024-06-01"},
        ),
        f"""WITH r AS (SELECT date_trunc('month', {T})::DATE m, SUM({REV}) r FROM orders o
                       WHERE {T} >= TIMESTAMP '2024-02-01' AND {T} < TIMESTAMP '2024-06-01' GROUP BY 1),
                 k AS (SELECT date_trunc('month', {local("t.created_at")})::DATE m, COUNT(*) k FROM tickets t
                       WHERE {local("t.created_at")} >= TIMESTAMP '2024-02-01'
                         AND {local("t.created_at")} < TIMESTAMP '2024-06-01' GROUP BY 1)
            SELECT COALESCE(r.m, k.m), r.r::DOUBLE / NULLIF(SUM(r.r) OVER (), 0), k.k
            FROM r FULL JOIN k ON r.m = k.m ORDER BY 1""",
    ),
    (
        "share of total beside a metric of another model grouped by the reduced dimension",
        dict(metrics=["segment_share_of_revenue", "ticket_count"], dimensions=["customers.segment"]),
        f"""WITH r AS (SELECT c.segment, SUM({REV}) r {OC} GROUP BY 1),
                 k AS (SELECT c.segment, COUNT(*) k FROM tickets t LEFT JOIN customers c USING (customer_id)
                       GROUP BY 1)
            SELECT COALESCE(r.segment, k.segment), r.r::DOUBLE / NULLIF((SELECT SUM(r) FROM r), 0), k.k
            FROM r FULL JOIN k ON r.segment IS NOT DISTINCT FROM k.segment ORDER BY 1 NULLS LAST""",
    ),
]


B = "FROM balances b LEFT JOIN customers c USING (customer_id)"
H1 = "b.snapshot_date >= DATE '2024-01-01' AND b.snapshot_date < DATE '2024-07-01'"
# Semi-additive measures (non_additive): added up within a snapshot day, one day per period.
SNAPSHOT_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "semi-additive: each month's balance on its last snapshot day with data (not the 31st)",
        dict(
            metrics=["balance"],
            dimensions=["metric_time:month"],
            time_range={"start": "2024-01-01", "end": "2024-07-01"},
        ),
        f"""WITH b AS (SELECT date_trunc('month', b.snapshot_date)::DATE m, b.snapshot_date d, b.amount {B} WHERE {H1}),
                 e AS (SELECT m, MAX(d) d FROM b GROUP BY m)
            SELECT e.m, SUM(b.amount) FROM e JOIN b ON b.m = e.m AND b.d = e.d GROUP BY 1 ORDER BY 1""",
    ),
    (
        "semi-additive by a group: every group on the period's last day, not on its own last day",
        dict(metrics=["balance"], dimensions=["metric_time:month", "customers.segment"]),
        f"""WITH b AS (SELECT date_trunc('month', b.snapshot_date)::DATE m, b.snapshot_date d, c.segment, b.amount {B}),
                 e AS (SELECT m, MAX(d) d FROM b GROUP BY m)
            SELECT e.m, b.segment, SUM(b.amount) FROM e JOIN b ON b.m = e.m AND b.d = e.d
            GROUP BY 1, 2 ORDER BY 1, 2 NULLS LAST""",
    ),
    (
        "semi-additive without a time dimension: the last snapshot day of the time range",
        dict(
            metrics=["balance"],
            dimensions=["customers.segment"],
            time_range={"start": "2024-01-01", "end": "2024-02-01"},
        ),
        f"""SELECT c.segment, SUM(b.amount) {B}
            WHERE b.snapshot_date = (SELECT MAX(snapshot_date) FROM balances WHERE snapshot_date < DATE '2024-02-01')
            GROUP BY 1 ORDER BY 1 NULLS LAST""",
    ),
    (
        "semi-additive with nothing else: the last snapshot day of all data",
        dict(metrics=["balance", "opening_balance"]),
        """SELECT (SELECT SUM(amount) FROM balances WHERE snapshot_date = (SELECT MAX(snapshot_date) FROM balances)),
                  (SELECT SUM(amount) FROM balances WHERE snapshot_date = (SELECT MIN(snapshot_date) FROM balances))""",
    ),
    (
        "semi-additive under a filter: the last day that has data among the filtered rows",
        dict(metrics=["balance"], dimensions=["metric_time:quarter"], where=["customers.segment = 'enterprise'"]),
        f"""WITH b AS (SELECT date_trunc('quarter', b.snapshot_date)::DATE q, b.snapshot_date d, b.amount {B}
                       WHERE c.segment = 'enterprise'),
                 e AS (SELECT q, MAX(d) d FROM b GROUP BY q)
            SELECT e.q, SUM(b.amount) FROM e JOIN b ON b.q = e.q AND b.d = e.d GROUP BY 1 ORDER BY 1""",
    ),
    (
        "semi-additive first, lowest and highest: the first day, and each group's extremes over its days",
        dict(
            metrics=["opening_balance", "lowest_balance", "highest_balance"],
            dimensions=["metric_time:month", "customers.segment"],
        ),
        f"""WITH b AS (SELECT date_trunc('month', b.snapshot_date)::DATE m, b.snapshot_date d, c.segment, b.amount {B}),
                 e AS (SELECT m, MIN(d) d FROM b GROUP BY m),
                 f AS (SELECT e.m, b.segment, SUM(b.amount) v FROM e JOIN b ON b.m = e.m AND b.d = e.d GROUP BY 1, 2),
                 t AS (SELECT m, segment, SUM(amount) v FROM b GROUP BY m, d, segment),
                 x AS (SELECT m, segment, MIN(v) lo, MAX(v) hi FROM t GROUP BY 1, 2)
            SELECT x.m, x.segment, f.v, x.lo, x.hi FROM x LEFT JOIN f
              ON f.m = x.m AND f.segment IS NOT DISTINCT FROM x.segment
            ORDER BY 1, 2 NULLS LAST""",
    ),
    (
        "semi-additive beside an additive metric: a month without snapshots has no balance",
        dict(
            metrics=["balance", "order_count"],
            dimensions=["metric_time:month"],
            time_range={"start": "2024-03-01", "end": "2024-06-01"},
        ),
        f"""WITH b AS (SELECT date_trunc('month', b.snapshot_date)::DATE m, b.snapshot_date d, b.amount {B}
                       WHERE b.snapshot_date >= DATE '2024-03-01' AND b.snapshot_date < DATE '2024-06-01'),
                 e AS (SELECT m, MAX(d) d FROM b GROUP BY m),
                 s AS (SELECT e.m, SUM(b.amount) v FROM e JOIN b ON b.m = e.m AND b.d = e.d GROUP BY 1),
                 o AS (SELECT date_trunc('month', {T})::DATE m, COUNT(*) n FROM orders o
                       WHERE {T} >= TIMESTAMP '2024-03-01' AND {T} < TIMESTAMP '2024-06-01' GROUP BY 1)
            SELECT o.m, s.v, o.n FROM o LEFT JOIN s ON s.m = o.m ORDER BY 1""",
    ),
]


# Conversion: leads (l) that a won deal (w) of the same customer follows within a window, on the
# local clock (tests/shopdata.py writes the edges out: LEADS, DEALS).
def leads_and_wins(tz: str = NY, wins: str = "") -> str:
    """The CTEs l (leads with local time t) and w (won deals with local time t), `wins` narrowing w."""
    return f"""l AS (SELECT lead_id, customer_id, source, {local("created_at", tz)} t FROM leads),
        w AS (SELECT customer_id, amount, {local("closed_at", tz)} t FROM deals WHERE stage = 'won' {wins})"""


def won(window: str | None) -> str:
    """1 when a win of the lead's customer is at or after the lead and at most `window` later, else 0."""
    end = f" AND w.t <= l.t + INTERVAL {window}" if window else ""
    return (
        f"CASE WHEN EXISTS (SELECT 1 FROM w WHERE w.customer_id = l.customer_id AND w.t >= l.t{end}) THEN 1 ELSE 0 END"
    )


CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "to-one dimension with a measure filter",
        dict(metrics=["revenue", "order_count"], dimensions=["customers.segment"]),
        f"""SELECT c.segment, SUM({REV}), COUNT(*) FROM orders o LEFT JOIN customers c USING (customer_id)
         GROUP BY 1 ORDER BY 1 NULLS LAST""",
    ),
    (
        "a dimension through a one_to_many hop counts each order once per group",
        dict(metrics=["order_count", "revenue", "avg_amount", "median_amount"], dimensions=["order_lines.ship_mode"]),
        """WITH pairs AS (SELECT DISTINCT o.order_id, l.ship_mode, o.amount, o.status FROM orders o
                        LEFT JOIN order_lines l ON l.order_id = o.order_id)
         SELECT ship_mode, COUNT(*), SUM(CASE WHEN status <> 'cancelled' THEN amount END), AVG(amount),
                MEDIAN(amount::DOUBLE) FROM pairs GROUP BY 1 ORDER BY 1 NULLS LAST""",
    ),
    (
        "fan-out the other way: a customer counts once in each status it has orders in",
        dict(metrics=["customer_count"], dimensions=["orders.status"]),
        """SELECT s, COUNT(*) FROM (SELECT DISTINCT c.customer_id, o.status AS s FROM customers c
                                  LEFT JOIN orders o ON o.customer_id = c.customer_id) GROUP BY 1 ORDER BY 1 NULLS LAST""",
    ),
    (
        "a filter on a one_to_many model means 'has at least one matching row'",
        dict(metrics=["order_count", "revenue"], where=["order_lines.returned = true"]),
        f"""SELECT COUNT(*), SUM({REV}) FROM orders o
         WHERE EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id AND l.returned)""",
    ),
    (
        "filter and dimension through the same hop speak of the same line",
        dict(metrics=["order_count"], dimensions=["order_lines.ship_mode"], where=["order_lines.returned = true"]),
        """SELECT ship_mode, COUNT(DISTINCT o.order_id) FROM orders o JOIN order_lines l ON l.order_id = o.order_id
        WHERE l.returned GROUP BY 1 ORDER BY 1""",
    ),
    (
        "multi-fact: each model aggregated alone, then joined on the dimension",
        dict(metrics=["ticket_count", "order_count", "tickets_per_order"], dimensions=["customers.segment"]),
        """WITH t AS (SELECT c.segment s, COUNT(*) n FROM tickets t LEFT JOIN customers c USING (customer_id) GROUP BY 1),
             o AS (SELECT c.segment s, COUNT(*) n FROM orders o LEFT JOIN customers c USING (customer_id) GROUP BY 1),
             k AS (SELECT s FROM t UNION SELECT s FROM o)
        SELECT k.s, t.n, o.n, t.n::DOUBLE / NULLIF(o.n, 0) FROM k LEFT JOIN t ON t.s IS NOT DISTINCT FROM k.s
        LEFT JOIN o ON o.s IS NOT DISTINCT FROM k.s ORDER BY 1 NULLS LAST""",
    ),
    (
        "role-playing join: the same model under two join names",
        dict(metrics=["revenue"], dimensions=["owner_rep.team", "customers.account_owner.team"]),
        f"""SELECT r1.team, r2.team, SUM({REV}) FROM orders o LEFT JOIN sales_reps r1 ON r1.rep_id = o.owner_rep_id
         LEFT JOIN customers c ON c.customer_id = o.customer_id LEFT JOIN sales_reps r2 ON r2.rep_id = c.owner_rep_id
         GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2 NULLS LAST""",
    ),
    (
        "a joined model's time dimension with a grain (its value is computed before the join)",
        dict(metrics=["revenue", "order_count"], dimensions=["customers.created_at:quarter", "customers.segment"]),
        f"""SELECT CAST(date_trunc('quarter', {local("c.created_at")}) AS DATE), c.segment, SUM({REV}), COUNT(*)
         FROM orders o LEFT JOIN customers c USING (customer_id) GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2 NULLS LAST""",
    ),
    (
        "through a one_to_many hop: a month and a CASE of the joined rows, customers without orders kept",
        dict(metrics=["customer_count"], dimensions=["orders.created_at:month", "orders.size_band"]),
        f"""SELECT m, b, COUNT(*) FROM (
           SELECT DISTINCT c.customer_id, CAST(date_trunc('month', {local("o.created_at")}) AS DATE) m,
                  CASE WHEN o.amount >= 500 THEN 'large' ELSE 'small' END b
           FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id)
         GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2 NULLS LAST""",
    ),
    (
        "a CASE over a joined model answers as before for rows the join misses (orders without a customer)",
        dict(metrics=["order_count"], dimensions=["customers.segment_group"]),
        """SELECT CASE WHEN c.segment = 'enterprise' THEN 'enterprise' ELSE 'other' END, COUNT(*)
         FROM orders o LEFT JOIN customers c USING (customer_id) GROUP BY 1 ORDER BY 1""",
    ),
    (
        "a longer path ref",
        dict(metrics=["revenue"], dimensions=["customers.regions.name"]),
        f"""SELECT r.name, SUM({REV}) FROM orders o LEFT JOIN customers c USING (customer_id)
         LEFT JOIN regions r ON r.region_id = c.region_id GROUP BY 1 ORDER BY 1 NULLS LAST""",
    ),
    (
        "ratio at the row grain, by local month",
        dict(metrics=["average_order_value"], dimensions=["metric_time:month"]),
        f"""SELECT CAST(date_trunc('month', {T}) AS DATE) m, SUM({REV})::DOUBLE / NULLIF(COUNT(*), 0)
         FROM orders o GROUP BY 1 ORDER BY 1""",
    ),
    (
        "offsets reach a month outside time_range; March includes March 31",
        dict(
            metrics=["revenue", "revenue_last_month", "revenue_growth_mom"],
            dimensions=["metric_time:month"],
            time_range={"start": "2024-02-01", "end": "2024-05-01"},
        ),
        f"""WITH m AS (SELECT CAST(date_trunc('month', {T}) AS DATE) m, SUM({REV}) r FROM orders o GROUP BY 1)
         SELECT cur.m, cur.r, prev.r, cur.r::DOUBLE / NULLIF(prev.r, 0) - 1 FROM m cur
         LEFT JOIN m prev ON prev.m = cur.m - INTERVAL 1 MONTH
         WHERE cur.m >= DATE '2024-02-01' AND cur.m < DATE '2024-05-01' ORDER BY 1""",
    ),
    (
        "a one-month offset at day grain: March 31 reads the last day of February",
        dict(
            metrics=["revenue", "revenue_last_month"],
            dimensions=["metric_time:day"],
            time_range={"start": "2024-03-28", "end": "2024-04-02"},
        ),
        f"""WITH d AS (SELECT CAST({T} AS DATE) d, SUM({REV}) r FROM orders o GROUP BY 1),
              days AS (SELECT CAST(x AS DATE) d FROM generate_series(DATE '2024-03-28', DATE '2024-04-01',
                                                                  INTERVAL 1 DAY) t(x))
         SELECT days.d, cur.r, prev.r FROM days LEFT JOIN d cur ON cur.d = days.d
         LEFT JOIN d prev ON prev.d = CAST(days.d - INTERVAL 1 MONTH AS DATE)
         WHERE cur.r IS NOT NULL OR prev.r IS NOT NULL ORDER BY 1""",
    ),
    (
        "cumulative windows over a spine: every day present, including the empty ones",
        dict(
            metrics=["revenue_trailing_7d", "revenue_mtd", "revenue_running"],
            dimensions=["metric_time:day"],
            time_range={"start": "2024-02-08", "end": "2024-02-20"},
        ),
        f"""WITH o AS (SELECT {T} t, {REV} v FROM orders o),
              spine AS (SELECT x AS d FROM generate_series(TIMESTAMP '2024-02-08', TIMESTAMP '2024-02-19',
                                                        INTERVAL 1 DAY) t(x))
         SELECT CAST(d AS DATE),
                (SELECT SUM(v) FROM o WHERE t >= d + INTERVAL 1 DAY - INTERVAL 7 DAY AND t < d + INTERVAL 1 DAY),
                (SELECT SUM(v) FROM o WHERE t >= date_trunc('month', d) AND t < d + INTERVAL 1 DAY),
                (SELECT SUM(v) FROM o WHERE t < d + INTERVAL 1 DAY)
         FROM spine ORDER BY 1""",
    ),
    (
        "cumulative at month grain is the value as of the month's last day, per segment",
        dict(
            metrics=["revenue_trailing_7d"],
            dimensions=["metric_time:month", "customers.segment"],
            time_range={"start": "2024-01-01", "end": "2024-04-01"},
        ),
        f"""WITH o AS (SELECT {T} t, c.segment s, {REV} v FROM orders o LEFT JOIN customers c USING (customer_id)),
              spine AS (SELECT x AS m FROM generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '2024-03-01',
                                                        INTERVAL 1 MONTH) t(x)),
              segs AS (SELECT DISTINCT s FROM o WHERE t >= TIMESTAMP '2024-01-25' AND t < TIMESTAMP '2024-04-01')
         SELECT CAST(m AS DATE), segs.s, (SELECT SUM(v) FROM o WHERE o.s IS NOT DISTINCT FROM segs.s
                                      AND t >= m + INTERVAL 1 MONTH - INTERVAL 7 DAY AND t < m + INTERVAL 1 MONTH)
         FROM spine, segs ORDER BY 1, 2 NULLS LAST""",
    ),
    (
        "cumulative without metric_time is the value as of the end of time_range",
        dict(
            metrics=["revenue_trailing_7d", "revenue_mtd", "revenue_running"],
            dimensions=["customers.segment"],
            time_range={"start": "2024-02-01", "end": "2024-03-15"},
        ),
        f"""WITH o AS (SELECT {T} t, c.segment s, {REV} v FROM orders o LEFT JOIN customers c USING (customer_id))
         SELECT s, SUM(v) FILTER (WHERE t >= TIMESTAMP '2024-03-08'),
                SUM(v) FILTER (WHERE t >= TIMESTAMP '2024-03-01'), SUM(v)
         FROM o WHERE t < TIMESTAMP '2024-03-15' GROUP BY 1 ORDER BY 1 NULLS LAST""",
    ),
    (
        "an all-time running total with no range covers every row",
        dict(metrics=["revenue_running", "revenue"]),
        f"SELECT SUM({REV}), SUM({REV}) FROM orders o",
    ),
    (
        "an offset without metric_time shifts the time range",
        dict(
            metrics=["revenue", "revenue_last_month", "revenue_growth_mom"],
            time_range={"start": "2024-03-01", "end": "2024-04-01"},
        ),
        f"""SELECT SUM({REV}) FILTER (WHERE {T} >= DATE '2024-03-01'), SUM({REV}) FILTER (WHERE {T} < DATE '2024-03-01'),
                (SUM({REV}) FILTER (WHERE {T} >= DATE '2024-03-01'))::DOUBLE /
                 SUM({REV}) FILTER (WHERE {T} < DATE '2024-03-01') - 1
         FROM orders o WHERE {T} >= DATE '2024-02-01' AND {T} < DATE '2024-04-01'""",
    ),
    (
        "DST day: local days and hours in America/New_York",
        dict(
            metrics=["order_count"],
            dimensions=["metric_time:hour"],
            time_range={"start": "2024-03-09T20:00:00", "end": "2024-03-10T06:00:00"},
        ),
        f"""SELECT date_trunc('hour', {T}), COUNT(*) FROM orders o
         WHERE {T} >= TIMESTAMP '2024-03-09 20:00' AND {T} < TIMESTAMP '2024-03-10 06:00' GROUP BY 1 ORDER BY 1""",
    ),
    (
        "DST days by local day, fall and spring",
        dict(
            metrics=["order_count", "revenue"],
            dimensions=["metric_time:day"],
            where=[
                "metric_time >= '2024-03-09' and metric_time < '2024-03-12' or "
                "metric_time >= '2024-11-02' and metric_time < '2024-11-05'"
            ],
        ),
        f"""SELECT CAST({T} AS DATE), COUNT(*), SUM({REV}) FROM orders o
         WHERE ({T} >= DATE '2024-03-09' AND {T} < DATE '2024-03-12') OR
               ({T} >= DATE '2024-11-02' AND {T} < DATE '2024-11-05') GROUP BY 1 ORDER BY 1""",
    ),
    (
        "a query time zone overrides the project's: bounds and days in Asia/Shanghai",
        dict(
            metrics=["order_count"],
            dimensions=["metric_time:day"],
            timezone="Asia/Shanghai",
            time_range={"start": "2024-03-30", "end": "2024-04-02"},
        ),
        f"""SELECT CAST({local("o.created_at", "Asia/Shanghai")} AS DATE) d, COUNT(*) FROM orders o
         WHERE {local("o.created_at", "Asia/Shanghai")} >= TIMESTAMP '2024-03-30'
           AND {local("o.created_at", "Asia/Shanghai")} < TIMESTAMP '2024-04-02' GROUP BY 1 ORDER BY 1""",
    ),
    (
        "segments, having, descending order, limit and offset",
        dict(
            metrics=["revenue", "order_count"],
            dimensions=["owner_rep.name"],
            segments=["orders.large"],
            having=["order_count >= 20"],
            order_by=["-revenue"],
            limit=3,
            offset=1,
        ),
        f"""SELECT r.name, SUM({REV}) rev, COUNT(*) n FROM orders o LEFT JOIN sales_reps r ON r.rep_id = o.owner_rep_id
         WHERE o.amount >= 500 GROUP BY 1 HAVING COUNT(*) >= 20 ORDER BY rev DESC NULLS LAST LIMIT 3 OFFSET 1""",
    ),
    (
        "a metric filter and a filtered ratio side",
        dict(metrics=["enterprise_revenue", "enterprise_share"], dimensions=["metric_time:quarter"]),
        f"""SELECT CAST(date_trunc('quarter', {T}) AS DATE),
                SUM(CASE WHEN c.segment = 'enterprise' THEN {REV} END),
                SUM(CASE WHEN c.segment = 'enterprise' THEN {REV} END)::DOUBLE / NULLIF(SUM({REV}), 0)
         FROM orders o LEFT JOIN customers c USING (customer_id) GROUP BY 1 ORDER BY 1""",
    ),
    (
        "a derived metric that is one division is float division, NULL on a zero denominator",
        dict(metrics=["revenue_per_order"], dimensions=["orders.status"]),
        f"""SELECT o.status, SUM({REV})::DOUBLE / NULLIF(COUNT(*), 0) FROM orders o GROUP BY 1 ORDER BY 1""",
    ),
    (
        "percentile, count_distinct, min and max",
        dict(metrics=["p90_amount", "buyers", "min_amount", "max_amount"], dimensions=["orders.status"]),
        """SELECT status, quantile_cont(amount::DOUBLE, 0.9), COUNT(DISTINCT customer_id), MIN(amount), MAX(amount)
        FROM orders GROUP BY 1 ORDER BY 1""",
    ),
    (
        "fill_nulls_with turns a missing group into 0 (days with tickets and no orders)",
        dict(
            metrics=["ticket_count", "orders_filled"],
            dimensions=["metric_time:day"],
            time_range={"start": "2024-02-08", "end": "2024-02-20"},
        ),
        f"""WITH t AS (SELECT CAST({local("created_at")} AS DATE) d, COUNT(*) n FROM tickets
                   WHERE {local("created_at")} >= DATE '2024-02-08' AND {local("created_at")} < DATE '2024-02-20'
                   GROUP BY 1),
              o AS (SELECT CAST({T} AS DATE) d, COUNT(*) n FROM orders o
                    WHERE {T} >= DATE '2024-02-08' AND {T} < DATE '2024-02-20' GROUP BY 1),
              k AS (SELECT d FROM t UNION SELECT d FROM o)
         SELECT k.d, t.n, COALESCE(o.n, 0) FROM k LEFT JOIN t USING (d) LEFT JOIN o USING (d) ORDER BY 1""",
    ),
    (
        "a dimension-only query lists distinct values",
        dict(dimensions=["customers.segment", "customers.regions.name"]),
        """SELECT DISTINCT c.segment, r.name FROM customers c LEFT JOIN regions r USING (region_id)
        ORDER BY 1 NULLS LAST, 2 NULLS LAST""",
    ),
    (
        "an order's own time dimension at a grain, next to metric_time",
        dict(metrics=["customer_count"], dimensions=["customers.created_at:year"]),
        f"""SELECT CAST(date_trunc('year', {local("created_at")}) AS DATE), COUNT(*) FROM customers GROUP BY 1
         ORDER BY 1""",
    ),
    # The same-joined-row rule: where entries are ANDed, so entries reaching a one_to_many model
    # through the same hop hold for one and the same row, as if written as one string with AND.
    (
        "two filters on one one_to_many model hold for the same line",
        dict(
            metrics=["order_count", "revenue"], where=["order_lines.returned = true", "order_lines.ship_mode = 'air'"]
        ),
        f"""SELECT COUNT(*), SUM({REV}) FROM orders o
         WHERE EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id AND l.returned
                       AND l.ship_mode = 'air')""",
    ),
    (
        "a line's part and the same line's ship mode",
        dict(metrics=["order_count"], where=["parts.brand = 'acme'", "order_lines.ship_mode = 'air'"]),
        """SELECT COUNT(*) FROM orders o
        WHERE EXISTS (SELECT 1 FROM order_lines l JOIN parts p ON p.part_id = l.part_id
                      WHERE l.order_id = o.order_id AND p.brand = 'acme' AND l.ship_mode = 'air')""",
    ),
    (
        "a dimension on the line: filters on that line and on that line's shipments",
        dict(
            metrics=["order_count"],
            dimensions=["order_lines.ship_mode"],
            where=["order_lines.returned = true", "shipments.late = true"],
        ),
        """SELECT l.ship_mode, COUNT(DISTINCT o.order_id) FROM orders o JOIN order_lines l ON l.order_id = o.order_id
        WHERE l.returned AND EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = l.order_id
                                     AND s.line_no = l.line_no AND s.late)
        GROUP BY 1 ORDER BY 1""",
    ),
    (
        "a dimension beyond the line (its part): filters on that line and on its shipments",
        dict(
            metrics=["order_count"],
            dimensions=["parts.brand"],
            where=["order_lines.returned = true", "shipments.carrier = 'ups'"],
        ),
        """SELECT p.brand, COUNT(DISTINCT o.order_id) FROM orders o JOIN order_lines l ON l.order_id = o.order_id
        LEFT JOIN parts p ON p.part_id = l.part_id
        WHERE l.returned AND EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = l.order_id
                                     AND s.line_no = l.line_no AND s.carrier = 'ups')
        GROUP BY 1 ORDER BY 1 NULLS LAST""",
    ),
    (
        "two one_to_many hops: a returned line that has a late shipment",
        dict(metrics=["order_count"], where=["order_lines.returned = true", "shipments.late = true"]),
        """SELECT COUNT(*) FROM orders o
        WHERE EXISTS (SELECT 1 FROM order_lines l JOIN shipments s ON s.order_id = l.order_id AND s.line_no = l.line_no
                      WHERE l.order_id = o.order_id AND l.returned AND s.late)""",
    ),
    (
        "two filters two hops down hold for the same shipment",
        dict(metrics=["order_count"], where=["shipments.late = true", "shipments.carrier = 'ups'"]),
        """SELECT COUNT(*) FROM orders o
        WHERE EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.order_id AND s.late AND s.carrier = 'ups')""",
    ),
    (
        "filters on different one_to_many models stay independent: the same line, any payment",
        dict(
            metrics=["order_count"],
            where=["order_lines.returned = true", "payments.method = 'wire'", "order_lines.ship_mode = 'air'"],
        ),
        """SELECT COUNT(*) FROM orders o
        WHERE EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id AND l.returned
                      AND l.ship_mode = 'air')
          AND EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.order_id AND p.method = 'wire')""",
    ),
    (
        "one where string over lines and payments joins the group of a second filter on lines",
        dict(
            metrics=["order_count"],
            where=["order_lines.returned = true OR payments.method = 'wire'", "order_lines.ship_mode = 'air'"],
        ),
        """SELECT COUNT(*) FROM orders o
        WHERE EXISTS (SELECT 1 FROM order_lines l LEFT JOIN payments p ON p.order_id = l.order_id
                      WHERE l.order_id = o.order_id AND l.ship_mode = 'air' AND (l.returned OR p.method = 'wire'))""",
    ),
    (
        "a structured filter and a where string on the same line",
        dict(
            metrics=["order_count"],
            where=["order_lines.returned = true"],
            filters=[sl.Filter(member="order_lines.ship_mode", op="in", values=["air", "sea"])],
        ),
        """SELECT COUNT(*) FROM orders o
        WHERE EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id AND l.returned
                      AND l.ship_mode IN ('air', 'sea'))""",
    ),
    (
        "a segment and a where string on the same line",
        dict(metrics=["order_count"], segments=["order_lines.returned_lines"], where=["order_lines.ship_mode = 'sea'"]),
        """SELECT COUNT(*) FROM orders o
        WHERE EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id AND l.returned
                      AND l.ship_mode = 'sea')""",
    ),
    (
        "a metric's filter and a where string on the same line",
        dict(metrics=["orders_with_returns"], where=["order_lines.ship_mode = 'ground'"]),
        """SELECT COUNT(*) FROM orders o
        WHERE EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id AND l.returned
                      AND l.ship_mode = 'ground')""",
    ),
    (
        "a running total takes the same line too",
        dict(
            metrics=["revenue_running", "revenue"],
            where=["order_lines.returned = true", "order_lines.ship_mode = 'sea'"],
        ),
        f"""SELECT SUM({REV}), SUM({REV}) FROM orders o
         WHERE EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id AND l.returned
                       AND l.ship_mode = 'sea')""",
    ),
    *SHARE_CASES,
    *SNAPSHOT_CASES,
    (
        "conversion: each lead converts once however many wins follow it, rate and count by month",
        dict(metrics=["lead_to_win_7d", "leads_won_7d", "lead_count"], dimensions=["metric_time:month"]),
        f"""WITH {leads_and_wins()}
         SELECT CAST(date_trunc('month', t) AS DATE), AVG(c), SUM(c), COUNT(*)
         FROM (SELECT t, {won("7 DAY")} c FROM l WHERE t IS NOT NULL) x GROUP BY 1 ORDER BY 1""",
    ),
    (
        "conversion without dimensions: every lead, the one without a time never converting; the rows of "
        "a count of an expr and of a sum are those whose expr is not NULL",
        dict(
            metrics=[
                "lead_to_win_7d",
                "lead_to_win_1m",
                "lead_to_win_ever",
                "leads_won_7d",
                "sourced_lead_to_win_7d",
                "lead_to_paid_win_7d",
            ]
        ),
        f"""WITH {leads_and_wins()}, paid AS (SELECT * FROM w WHERE amount IS NOT NULL)
         SELECT AVG({won("7 DAY")}), AVG({won("1 MONTH")}), AVG({won(None)}), SUM({won("7 DAY")}),
                AVG(CASE WHEN source IS NOT NULL THEN {won("7 DAY")} END),
                AVG({won("7 DAY").replace("FROM w", "FROM paid w")}) FROM l""",
    ),
    (
        "conversion: time_range bounds the leads, not the wins after the range",
        dict(
            metrics=["lead_to_win_7d", "leads_won_7d"],
            dimensions=["metric_time:day"],
            time_range={"start": "2024-03-01", "end": "2024-03-08"},
        ),
        f"""WITH {leads_and_wins()}
         SELECT CAST(t AS DATE), AVG({won("7 DAY")}), SUM({won("7 DAY")}) FROM l
         WHERE t >= TIMESTAMP '2024-03-01' AND t < TIMESTAMP '2024-03-08' GROUP BY 1 ORDER BY 1""",
    ),
    (
        "conversion windows on the local clock: 7 days across the DST change, a month over month ends",
        dict(
            metrics=["lead_to_win_7d", "lead_to_win_1m", "lead_count"],
            dimensions=["metric_time:day"],
            where=[
                "metric_time >= '2024-01-30' and metric_time < '2024-02-01' or "
                "metric_time >= '2024-03-05' and metric_time < '2024-03-06'"
            ],
        ),
        f"""WITH {leads_and_wins()}
         SELECT CAST(t AS DATE), AVG({won("7 DAY")}), AVG({won("1 MONTH")}), COUNT(*) FROM l
         WHERE (t >= DATE '2024-01-30' AND t < DATE '2024-02-01') OR (t >= DATE '2024-03-05' AND t < DATE '2024-03-06')
         GROUP BY 1 ORDER BY 1""",
    ),
    (
        "conversion in another time zone: its clock (a second past New York's window is inside Shanghai's)",
        dict(
            metrics=["lead_to_win_7d", "leads_won_7d"],
            dimensions=["metric_time:day"],
            timezone="Asia/Shanghai",
            time_range={"start": "2024-03-05", "end": "2024-03-07"},
        ),
        f"""WITH {leads_and_wins("Asia/Shanghai")}
         SELECT CAST(t AS DATE), AVG({won("7 DAY")}), SUM({won("7 DAY")}) FROM l
         WHERE t >= TIMESTAMP '2024-03-05' AND t < TIMESTAMP '2024-03-07' GROUP BY 1 ORDER BY 1""",
    ),
    (
        "conversion: a filter on the lead's customer narrows the leads, one only deals resolve the wins",
        dict(
            metrics=["lead_to_win_7d", "leads_won_7d"],
            dimensions=["customers.segment"],
            where=["customers.segment <> 'consumer'"],
            filters=[sl.Filter(member="deals.amount", op="gte", values=[500])],
        ),
        f"""WITH {leads_and_wins(wins="AND amount >= 500")}
         SELECT c.segment, AVG({won("7 DAY")}), SUM({won("7 DAY")}) FROM l
         LEFT JOIN customers c ON c.customer_id = l.customer_id WHERE c.segment <> 'consumer'
         GROUP BY 1 ORDER BY 1""",
    ),
    (
        "conversion: a dimension through a one_to_many join counts a lead once per group",
        dict(metrics=["lead_to_win_7d", "leads_won_7d", "lead_count"], dimensions=["orders.status"]),
        f"""WITH {leads_and_wins()},
              p AS (SELECT DISTINCT l.lead_id, o.status, {won("7 DAY")} c FROM l
                    LEFT JOIN customers k ON k.customer_id = l.customer_id
                    LEFT JOIN orders o ON o.customer_id = k.customer_id)
         SELECT status, AVG(c), SUM(c), COUNT(*) FROM p GROUP BY 1 ORDER BY 1 NULLS LAST""",
    ),
    (
        "conversion: a one_to_many filter on each side is an EXISTS on that side",
        dict(
            metrics=["lead_to_win_7d", "lead_to_win_1m"],
            where=["orders.status = 'returned'", "deals.customers.orders.status = 'cancelled'"],
        ),
        f"""WITH {
            leads_and_wins(
                wins="AND customer_id IN (SELECT k.customer_id FROM customers k JOIN orders o "
                "ON o.customer_id = k.customer_id WHERE o.status = 'cancelled')"
            )
        }
         SELECT AVG({won("7 DAY")}), AVG({won("1 MONTH")}) FROM l
         WHERE EXISTS (SELECT 1 FROM customers k JOIN orders o ON o.customer_id = k.customer_id
                       WHERE k.customer_id = l.customer_id AND o.status = 'returned')""",
    ),
    (
        "conversion: a segment of the leads, a base measure's filter, a metric filter on the wins",
        dict(
            metrics=["web_lead_to_win_7d", "big_win_rate_7d"],
            dimensions=["metric_time:quarter"],
            segments=["customers.enterprise"],
        ),
        f"""WITH {leads_and_wins()}, big AS (SELECT * FROM w WHERE amount >= 500)
         SELECT CAST(date_trunc('quarter', t) AS DATE), AVG(CASE WHEN l.source = 'web' THEN {won("7 DAY")} END),
                AVG({won("7 DAY").replace("FROM w", "FROM big w")})
         FROM l JOIN customers c ON c.customer_id = l.customer_id
         WHERE c.segment = 'enterprise' AND t IS NOT NULL GROUP BY 1 ORDER BY 1""",
    ),
    (
        "conversion as an offset input: the rate's change from the month before",
        dict(
            metrics=["lead_to_win_7d_change", "lead_to_win_7d"],
            dimensions=["metric_time:month"],
            time_range={"start": "2024-03-01", "end": "2024-08-01"},
        ),
        f"""WITH {leads_and_wins()},
              m AS (SELECT CAST(date_trunc('month', t) AS DATE) m, AVG({won("7 DAY")}) r FROM l
                    WHERE t IS NOT NULL GROUP BY 1)
         SELECT cur.m, cur.r - prev.r, cur.r FROM m cur LEFT JOIN m prev ON prev.m = cur.m - INTERVAL 1 MONTH
         WHERE cur.m >= DATE '2024-03-01' AND cur.m < DATE '2024-08-01' ORDER BY 1""",
    ),
    (
        "conversion with another model's metric, combined on the dimensions",
        dict(metrics=["lead_to_win_7d", "ticket_count"], dimensions=["customers.segment"]),
        f"""WITH {leads_and_wins()},
              a AS (SELECT c.segment s, AVG({won("7 DAY")}) r FROM l LEFT JOIN customers c USING (customer_id)
                    GROUP BY 1),
              t AS (SELECT c.segment s, COUNT(*) n FROM tickets t LEFT JOIN customers c USING (customer_id) GROUP BY 1),
              k AS (SELECT s FROM a UNION SELECT s FROM t)
         SELECT k.s, a.r, t.n FROM k LEFT JOIN a ON a.s IS NOT DISTINCT FROM k.s
         LEFT JOIN t ON t.s IS NOT DISTINCT FROM k.s ORDER BY 1 NULLS LAST""",
    ),
    (
        "conversion inside ratios: over another unit's metric, and a share reduced by a dimension",
        dict(
            metrics=["won_lead_share", "source_share_of_conversions"],
            dimensions=["metric_time:quarter", "leads.source"],
        ),
        f"""WITH {leads_and_wins()},
              g AS (SELECT CAST(date_trunc('quarter', t) AS DATE) q, source, SUM({won("7 DAY")}) c, COUNT(*) n
                    FROM l WHERE t IS NOT NULL GROUP BY 1, 2)
         SELECT q, source, c::DOUBLE / n, c::DOUBLE / NULLIF(SUM(c) OVER (PARTITION BY q), 0)
         FROM g ORDER BY 1, 2 NULLS LAST""",
    ),
    (
        "conversion from calendar dates (each the day's start) with a two-column key",
        dict(metrics=["snapshot_to_win_7d"], dimensions=["metric_time:month"]),
        f"""WITH {leads_and_wins()}
         SELECT CAST(date_trunc('month', b.snapshot_date) AS DATE),
                AVG(CASE WHEN EXISTS (SELECT 1 FROM w WHERE w.customer_id = b.customer_id AND w.t >= b.snapshot_date
                                      AND w.t <= b.snapshot_date + INTERVAL 7 DAY) THEN 1 ELSE 0 END)
         FROM balances b GROUP BY 1 ORDER BY 1""",
    ),
    (
        "conversion over no leads: the rate is NULL and the count 0",
        dict(metrics=["lead_to_win_7d", "leads_won_7d"], time_range={"start": "2022-01-01", "end": "2022-02-01"}),
        f"""WITH {leads_and_wins()}
         SELECT AVG({won("7 DAY")}), COUNT(*) FILTER (WHERE {won("7 DAY")} = 1) FROM l
         WHERE t >= TIMESTAMP '2022-01-01' AND t < TIMESTAMP '2022-02-01'""",
    ),
    # Retention: of the entities active in a period, the share active again `offset` periods later.
    (
        "retention by month: gaps, repeats, later-only and NULL visitors, New York month ends, empty months",
        dict(
            metrics=["visitor_retention", "visitor_retention_m2", "visitor_churn", "visit_count"],
            dimensions=["metric_time:month"],
        ),
        f"""WITH a AS (SELECT DISTINCT visitor_id e, {months(V)} p FROM visits v
                    WHERE visitor_id IS NOT NULL AND visited_at IS NOT NULL),
              r AS (SELECT p, AVG({back("1 MONTH")}) r1, AVG({back("2 MONTH")}) r2 FROM a GROUP BY p),
              n AS (SELECT {months(V)} p, COUNT(*) n FROM visits v WHERE visited_at IS NOT NULL GROUP BY 1)
         SELECT n.p, r.r1, r.r2, 1 - r.r1, n.n FROM n LEFT JOIN r USING (p) ORDER BY 1""",
    ),
    (
        "retention by the channel of the visit: the cohort is the group in P, its return counts in any channel",
        dict(metrics=["visitor_retention"], dimensions=["metric_time:month", "visits.channel"]),
        f"""WITH a AS (SELECT DISTINCT visitor_id e, {months(V)} p, channel g FROM visits v
                    WHERE visitor_id IS NOT NULL AND visited_at IS NOT NULL)
         SELECT p, g, AVG({back("1 MONTH")}) FROM a GROUP BY 1, 2 ORDER BY 1, 2""",
    ),
    (
        "a where filter narrows the activity in P and in P+1 alike",
        dict(
            metrics=["visitor_retention", "visitor_churn"],
            dimensions=["metric_time:month"],
            where=["visits.channel = 'web'"],
        ),
        f"""WITH a AS (SELECT DISTINCT visitor_id e, {months(V)} p FROM visits v
                    WHERE visitor_id IS NOT NULL AND visited_at IS NOT NULL AND channel = 'web')
         SELECT p, AVG({back("1 MONTH")}), 1 - AVG({back("1 MONTH")}) FROM a GROUP BY 1 ORDER BY 1""",
    ),
    (
        "a retention metric's own filter narrows its activity in P and in P+1",
        dict(metrics=["web_visitor_retention", "visitor_retention"], dimensions=["metric_time:month"]),
        f"""WITH a AS (SELECT DISTINCT visitor_id e, {months(V)} p, channel = 'web' web FROM visits v
                    WHERE visitor_id IS NOT NULL AND visited_at IS NOT NULL),
              everyone AS (SELECT DISTINCT e, p FROM a),
              web AS (SELECT p, AVG(CASE WHEN EXISTS (SELECT 1 FROM a b WHERE b.web AND b.e = a.e
                                      AND b.p = a.p + INTERVAL 1 MONTH) THEN 1 ELSE 0 END) r
                      FROM (SELECT DISTINCT e, p FROM a WHERE web) a GROUP BY 1)
         SELECT p, web.r, AVG({back("1 MONTH")}) FROM everyone a LEFT JOIN web USING (p) GROUP BY p, web.r
         ORDER BY 1""",
    ),
    (
        "weekly retention across a Sunday and its Monday",
        dict(metrics=["visitor_retention_week"], dimensions=["metric_time:week"]),
        f"""WITH a AS (SELECT DISTINCT visitor_id e, CAST(date_trunc('week', {V}) AS DATE) p FROM visits v
                    WHERE visitor_id IS NOT NULL AND visited_at IS NOT NULL)
         SELECT p, AVG({back("7 DAY")}) FROM a GROUP BY 1 ORDER BY 1""",
    ),
    (
        "retention with churn, a month-ago input and revenue: P+1 after time_range counts, P-1 before it too",
        dict(
            metrics=["buyer_retention", "buyer_churn", "buyer_retention_change", "revenue"],
            dimensions=["metric_time:month"],
            time_range={"start": "2024-02-01", "end": "2024-12-01"},
        ),
        f"""WITH a AS (SELECT DISTINCT customer_id e, {months(T)} p FROM orders o WHERE customer_id IS NOT NULL),
              r AS (SELECT p, AVG({back("1 MONTH")}) r FROM a GROUP BY p),
              rev AS (SELECT {months(T)} p, SUM({REV}) v FROM orders o GROUP BY 1)
         SELECT r.p, r.r, 1 - r.r, r.r - prev.r, rev.v FROM r JOIN rev USING (p)
         LEFT JOIN r prev ON prev.p = r.p - INTERVAL 1 MONTH
         WHERE r.p >= DATE '2024-02-01' AND r.p < DATE '2024-12-01' ORDER BY 1""",
    ),
    (
        "retention by month and order status, filtered by the customer's segment and a segment of orders",
        dict(
            metrics=["buyer_retention"],
            dimensions=["metric_time:month", "orders.status"],
            where=[sl.Filter(member="customers.segment", op="in", values=["smb", "enterprise"])],
            segments=["orders.large"],
        ),
        f"""WITH a AS (SELECT DISTINCT o.customer_id e, {months(T)} p, o.status g
                    FROM orders o LEFT JOIN customers c USING (customer_id)
                    WHERE o.customer_id IS NOT NULL AND c.segment IN ('smb', 'enterprise') AND o.amount >= 500)
         SELECT p, g, AVG({back("1 MONTH")}) FROM a GROUP BY 1, 2 ORDER BY 1, 2""",
    ),
    (
        "quarterly retention by a joined dimension, filtered through a one_to_many join",
        dict(
            metrics=["buyer_retention_quarter"],
            dimensions=["metric_time:quarter", "customers.segment"],
            where=["order_lines.returned = true"],
        ),
        f"""WITH a AS (SELECT DISTINCT o.customer_id e, CAST(date_trunc('quarter', {T}) AS DATE) p, c.segment g
                    FROM orders o LEFT JOIN customers c USING (customer_id)
                    WHERE o.customer_id IS NOT NULL
                      AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id AND l.returned))
         SELECT p, g, AVG({back("3 MONTH")}) FROM a GROUP BY 1, 2 ORDER BY 1, 2 NULLS LAST""",
    ),
    (
        "retention by a dimension through a one_to_many join: the cohort of each ship mode the orders' lines have",
        dict(metrics=["buyer_retention"], dimensions=["metric_time:month", "order_lines.ship_mode"]),
        f"""WITH a AS (SELECT DISTINCT o.customer_id e, {months(T)} p, l.ship_mode g
                    FROM orders o LEFT JOIN order_lines l ON l.order_id = o.order_id
                    WHERE o.customer_id IS NOT NULL)
         SELECT p, g, AVG({back("1 MONTH")}) FROM a GROUP BY 1, 2 ORDER BY 1, 2 NULLS LAST""",
    ),
    (
        "retention two months on",
        dict(metrics=["buyer_retention_m2"], dimensions=["metric_time:month"]),
        f"""WITH a AS (SELECT DISTINCT customer_id e, {months(T)} p FROM orders o WHERE customer_id IS NOT NULL)
         SELECT p, AVG({back("2 MONTH")}) FROM a GROUP BY 1 ORDER BY 1""",
    ),
    (
        "retention by day around the days without orders",
        dict(
            metrics=["buyer_retention_day"],
            dimensions=["metric_time:day"],
            time_range={"start": "2024-02-05", "end": "2024-02-20"},
        ),
        f"""WITH a AS (SELECT DISTINCT customer_id e, CAST({T} AS DATE) p FROM orders o WHERE customer_id IS NOT NULL)
         SELECT p, AVG({back("1 DAY")}) FROM a WHERE p >= DATE '2024-02-05' AND p < DATE '2024-02-20'
         GROUP BY 1 ORDER BY 1""",
    ),
    (
        "retention by week",
        dict(metrics=["buyer_retention_week"], dimensions=["metric_time:week"]),
        f"""WITH a AS (SELECT DISTINCT customer_id e, CAST(date_trunc('week', {T}) AS DATE) p FROM orders o
                    WHERE customer_id IS NOT NULL)
         SELECT p, AVG({back("7 DAY")}) FROM a GROUP BY 1 ORDER BY 1""",
    ),
    (
        "retention by year, December to January",
        dict(metrics=["buyer_retention_year"], dimensions=["metric_time:year"]),
        f"""WITH a AS (SELECT DISTINCT customer_id e, CAST(date_trunc('year', {T}) AS DATE) p FROM orders o
                    WHERE customer_id IS NOT NULL)
         SELECT p, AVG({back("1 YEAR")}) FROM a GROUP BY 1 ORDER BY 1""",
    ),
    (
        "retention by the months of the query's time zone",
        dict(metrics=["buyer_retention"], dimensions=["metric_time:month"], timezone="Asia/Shanghai"),
        f"""WITH a AS (SELECT DISTINCT customer_id e, {months(local("o.created_at", "Asia/Shanghai"))} p
                    FROM orders o WHERE customer_id IS NOT NULL)
         SELECT p, AVG({back("1 MONTH")}) FROM a GROUP BY 1 ORDER BY 1""",
    ),
]


STRUCTURED = [
    ("equals", ["smb"], "c.segment = 'smb'"),
    ("not_equals", ["smb"], "c.segment <> 'smb'"),
    ("in", ["smb", "enterprise"], "c.segment IN ('smb', 'enterprise')"),
    ("not_in", ["smb", "enterprise"], "c.segment NOT IN ('smb', 'enterprise')"),
    ("contains", ["nter"], "c.segment LIKE '%nter%'"),
    ("starts_with", ["con"], "c.segment LIKE 'con%'"),
    ("is_null", [], "c.segment IS NULL"),
    ("is_not_null", [], "c.segment IS NOT NULL"),
]


NUMERIC = [
    ("gt", [500], "> 500"),
    ("gte", [500], ">= 500"),
    ("lt", [100.5], "< 100.5"),
    ("lte", [100], "<= 100"),
    ("between", [100, 200], "BETWEEN 100 AND 200"),
]
