"""A small, deterministic shop data set shaped to hit every compiler rule.

- fan-out both ways: orders have 1–3 lines (one_to_many), customers have many orders;
- a role-playing join: sales_reps reached as orders.owner_rep and customers.account_owner;
- multi-fact: tickets and orders both join customers;
- month ends: orders on 2024-01-31 and 2024-03-31 (offsets by one month);
- empty days: no orders at all from 2024-02-10 to 2024-02-16 (inside cumulative windows);
- DST: orders around 2024-03-10 and 2024-11-03 in America/New_York, on both sides of midnight;
- NULLs: customers without a region, orders without a customer, orders without lines.
- daily snapshots (balances, semi-additive): each of 30 customers on about two days in three of
  2024-01-01..2024-06-30; nobody on 2024-01-30 and 2024-01-31 (January's last snapshot is the
  29th) nor in April (a month without snapshots).
- conversion edges (leads and deals, written out before a drawn part): in America/New_York, a win
  exactly 7 local days after its lead across the spring DST change and one a second later (which
  UTC or Asia/Shanghai arithmetic would still count), a win a second before its lead and one at
  the same instant, a lost deal after a lead, several leads and wins of one customer, a customer
  with leads and no deal, leads and wins without a customer, one-month windows over month ends
  (January 30 and 31 local), a lead without a time, a won deal without a close time, a lead that
  is June in New York and July in UTC, a customer that is not in `customers`, a lead without a
  source and a won deal without an amount;
- retention edges (visits, written out rather than drawn): a visitor active in January and
  February, one with a gap (January, then March), one active only in the later month, one active
  three times in one month, visits without a visitor, months without any visit (April, June to
  November), visits just after midnight UTC that are the previous day (and month) in New York,
  December to January across a year, a Sunday and the Monday after it (weeks by week_start), and
  a visit without a time;
- rows below a one_to_many hop: each line has a part (to-one, some missing) and 0–2 shipments
  (one_to_many again); orders have 0–3 payments (a second one_to_many hop from orders). These are
  drawn from a generator of their own, so the tables above stay exactly as they were.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

SCHEMA = """
CREATE TABLE regions (region_id INTEGER PRIMARY KEY, name VARCHAR);
CREATE TABLE sales_reps (rep_id INTEGER PRIMARY KEY, name VARCHAR, team VARCHAR, region_id INTEGER);
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name VARCHAR, segment VARCHAR, region_id INTEGER,
                        owner_rep_id INTEGER, created_at TIMESTAMP);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, owner_rep_id INTEGER, status VARCHAR,
                     amount DECIMAL(12, 2), created_at TIMESTAMP);
CREATE TABLE order_lines (order_id INTEGER, line_no INTEGER, ship_mode VARCHAR, returned BOOLEAN,
                          quantity INTEGER, part_id INTEGER, PRIMARY KEY (order_id, line_no));
CREATE TABLE parts (part_id INTEGER PRIMARY KEY, brand VARCHAR, size VARCHAR);
CREATE TABLE shipments (shipment_id INTEGER PRIMARY KEY, order_id INTEGER, line_no INTEGER, carrier VARCHAR,
                        late BOOLEAN);
CREATE TABLE payments (payment_id INTEGER PRIMARY KEY, order_id INTEGER, installment INTEGER, method VARCHAR);
CREATE TABLE tickets (ticket_id INTEGER PRIMARY KEY, customer_id INTEGER, priority VARCHAR, created_at TIMESTAMP);
CREATE TABLE balances (snapshot_date DATE, customer_id INTEGER, amount DECIMAL(12, 2),
                       PRIMARY KEY (snapshot_date, customer_id));
CREATE TABLE leads (lead_id INTEGER PRIMARY KEY, customer_id INTEGER, source VARCHAR, created_at TIMESTAMP);
CREATE TABLE deals (deal_id INTEGER PRIMARY KEY, customer_id INTEGER, stage VARCHAR, amount DECIMAL(12, 2),
                    closed_at TIMESTAMP);
CREATE TABLE visits (visit_id INTEGER PRIMARY KEY, visitor_id INTEGER, channel VARCHAR, visited_at TIMESTAMP);
"""

Row = tuple[Any, ...]
START = datetime(2023, 11, 1)
END = datetime(2025, 1, 15)
GAP = (datetime(2024, 2, 10), datetime(2024, 2, 17))
YEAR = (datetime(2024, 1, 1), datetime(2025, 1, 1))
EDGE_TIMES = [  # UTC instants chosen around local midnights, month ends and DST changes (New York)
    datetime(2024, 1, 31, 23, 0),
    datetime(2024, 2, 1, 4, 30),
    datetime(2024, 3, 31, 12, 0),
    datetime(2024, 4, 1, 3, 59),
    datetime(2024, 3, 10, 4, 30),
    datetime(2024, 3, 10, 5, 30),
    datetime(2024, 3, 10, 6, 59),
    datetime(2024, 3, 10, 7, 30),
    datetime(2024, 3, 11, 3, 30),
    datetime(2024, 11, 3, 3, 30),
    datetime(2024, 11, 3, 4, 30),
    datetime(2024, 11, 3, 5, 30),
    datetime(2024, 11, 4, 4, 59),
    datetime(2024, 11, 4, 5, 0),
    datetime(2024, 12, 31, 23, 30),
]

# (customer, source, UTC instant) and (customer, stage, amount, UTC close instant), written to hit
# the edges of conversion; the comments read them on the New York clock.
LEADS: list[tuple[int | None, str | None, datetime | None]] = [
    (1, "web", datetime(2024, 3, 5, 15)),  # 10:00 EST; 7 local days later is March 12 10:00 EDT, 14:00 UTC
    (2, "web", datetime(2024, 3, 5, 16)),  # 11:00 EST; its window ends March 12 15:00 UTC
    (3, "event", datetime(2024, 4, 10, 15)),
    (4, "referral", datetime(2024, 5, 2, 13)),
    (5, "web", datetime(2024, 6, 1, 15)),
    (5, "event", datetime(2024, 6, 4, 15)),
    (5, "web", datetime(2024, 6, 20, 15)),
    (6, "web", datetime(2024, 6, 10, 15)),  # never a deal
    (None, "web", datetime(2024, 6, 12, 15)),  # no customer: never converts
    (None, "event", datetime(2024, 6, 12, 15)),
    (8, "web", datetime(2024, 1, 31, 2)),  # January 30 21:00 EST; a month later is March 1 02:00 UTC
    (9, "event", datetime(2024, 1, 31, 15)),  # January 31 10:00 EST; a month later is February 29 15:00 UTC
    (10, "web", datetime(2024, 1, 31, 16)),
    (11, "web", None),  # no time: a lead of no period, which never converts
    (12, "referral", datetime(2024, 8, 5, 15)),
    (13, "web", datetime(2024, 7, 1, 3)),  # June 30 23:00 EDT, July 1 in UTC
    (130, "event", datetime(2024, 9, 9, 15)),  # no such customer
    (14, "web", datetime(2024, 10, 1, 15)),
    (15, None, datetime(2024, 10, 5, 15)),  # no source: not a lead counted by source
]
DEALS: list[tuple[int | None, str, float | None, datetime | None]] = [
    (1, "won", 800.0, datetime(2024, 3, 12, 14)),  # exactly at the end of customer 1's window: converts
    (2, "won", 900.0, datetime(2024, 3, 12, 15, 0, 1)),  # a second after customer 2's: does not
    (3, "won", 300.0, datetime(2024, 4, 10, 14, 59, 59)),  # a second before the lead: does not
    (3, "lost", 700.0, datetime(2024, 4, 11, 15)),  # not a win
    (4, "won", 650.0, datetime(2024, 5, 2, 13)),  # the same instant as the lead: converts
    (5, "won", 200.0, datetime(2024, 6, 6, 15)),  # converts the leads of June 1 and June 4 ...
    (5, "won", 950.0, datetime(2024, 6, 7, 15)),  # ... each once
    (5, "won", 120.0, datetime(2024, 9, 1, 15)),  # the lead of June 20, with no window only
    (None, "won", 500.0, datetime(2024, 6, 12, 15)),  # no customer: converts nothing
    (8, "won", 510.0, datetime(2024, 3, 1, 1)),  # February 29 20:00 EST: within the month
    (9, "won", 520.0, datetime(2024, 2, 29, 15, 0, 1)),  # a second past the month
    (10, "won", 530.0, datetime(2024, 2, 29, 16)),  # exactly a month later
    (11, "won", 540.0, datetime(2024, 6, 1, 15)),
    (12, "won", 550.0, None),  # won without a close time: no conversion event
    (13, "won", 560.0, datetime(2024, 7, 3, 15)),
    (130, "won", 570.0, datetime(2024, 9, 10, 15)),
    (14, "won", None, datetime(2024, 10, 2, 15)),  # no amount: a win, but no row of a sum of amounts
    (15, "won", 580.0, datetime(2024, 10, 6, 15)),
]

# (visitor, channel, UTC instant); the comments give the month in America/New_York where it differs.
VISITS: list[tuple[int | None, str, datetime | None]] = [
    (1, "web", datetime(2024, 1, 5, 15)),
    (1, "app", datetime(2024, 2, 10, 15)),
    (2, "web", datetime(2024, 1, 10, 15)),
    (2, "web", datetime(2024, 3, 3, 15)),  # a gap: January, then March
    (3, "app", datetime(2024, 2, 20, 15)),  # active only in February
    (4, "app", datetime(2024, 1, 2, 15)),
    (4, "app", datetime(2024, 1, 15, 15)),
    (4, "app", datetime(2024, 1, 28, 15)),
    (4, "app", datetime(2024, 2, 1, 15)),
    (None, "web", datetime(2024, 1, 7, 15)),  # no visitor: not an entity
    (None, "web", datetime(2024, 2, 7, 15)),
    (5, "web", datetime(2024, 2, 1, 4, 30)),  # January 31 in New York
    (5, "web", datetime(2024, 3, 1, 3, 0)),  # February 29 in New York
    (6, "web", datetime(2023, 12, 15, 15)),
    (6, "app", datetime(2024, 1, 20, 15)),
    (7, "web", datetime(2024, 3, 15, 15)),
    (7, "web", datetime(2024, 5, 10, 15)),  # no visit at all in April
    (8, "app", datetime(2024, 1, 12, 15)),
    (8, "web", datetime(2024, 1, 13, 15)),
    (8, "web", datetime(2024, 2, 14, 15)),
    (9, "app", datetime(2024, 1, 7, 15)),  # a Sunday
    (9, "app", datetime(2024, 1, 8, 15)),  # the Monday after it
    (10, "web", datetime(2024, 12, 31, 23, 30)),
    (10, "web", datetime(2025, 1, 1, 4, 0)),  # still December 31 in New York
    (10, "app", datetime(2025, 1, 2, 15)),
    (1, "web", None),  # no time: in no period
]


def build(path: Path, seed: int = 7) -> Path:
    rng = random.Random(seed)
    regions = [(1, "north"), (2, "south"), (3, "east"), (4, "west")]
    reps = [(r, f"rep{r}", rng.choice(["alpha", "beta"]), rng.choice([1, 2, 3, 4])) for r in range(1, 9)]
    customers = []
    for c in range(1, 121):
        region = None if c % 17 == 0 else rng.choice([1, 2, 3, 4])
        customers.append(
            (
                c,
                f"customer{c}",
                rng.choice(["enterprise", "smb", "smb", "consumer"]),
                region,
                rng.randint(1, 8),
                _random_time(rng, START, datetime(2024, 12, 1)),
            )
        )
    orders, lines = [], []
    order_id = 0
    times = [_random_time(rng, START, END) for _ in range(1500)] + EDGE_TIMES
    for when in times:
        if GAP[0] <= when < GAP[1] + timedelta(hours=12):
            continue
        order_id += 1
        customer = None if order_id % 97 == 0 else rng.randint(1, 120)
        status = rng.choices(["complete", "cancelled", "returned", "pending"], [70, 12, 8, 10])[0]
        amount = round(rng.uniform(5, 1200), 2)
        orders.append((order_id, customer, rng.randint(1, 8), status, amount, when))
        for line_no in range(1, rng.choice([0, 1, 1, 2, 3]) + 1):
            lines.append(
                (order_id, line_no, rng.choice(["air", "ground", "sea"]), rng.random() < 0.15, rng.randint(1, 5))
            )
    tickets = [
        (t, rng.randint(1, 125), rng.choice(["low", "high"]), _random_time(rng, START, END)) for t in range(1, 401)
    ]
    lines, parts, shipments, payments = _below_lines(random.Random(seed + 1), lines, [o[0] for o in orders])
    balances = _balances(random.Random(seed + 2))
    leads, deals = _leads_and_deals(random.Random(seed + 3))
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    con.execute(SCHEMA)
    for table, rows in (
        ("regions", regions),
        ("sales_reps", reps),
        ("customers", customers),
        ("orders", orders),
        ("order_lines", lines),
        ("tickets", tickets),
        ("parts", parts),
        ("shipments", shipments),
        ("payments", payments),
        ("balances", balances),
        ("leads", leads),
        ("deals", deals),
        ("visits", [(i, *visit) for i, visit in enumerate(VISITS, start=1)]),
    ):
        # In bulk, column by column through Arrow: a row-by-row executemany took seconds.
        names = [c[0] for c in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
        batch = pa.table({name: list(column) for name, column in zip(names, zip(*rows, strict=True), strict=True)})
        con.register("batch", batch)
        con.execute(f"INSERT INTO {table} SELECT * FROM batch")
        con.unregister("batch")
    con.close()
    return path


def _balances(rng: random.Random) -> list[Row]:
    """Daily balances with gaps: per customer a snapshot on most days, none on some days for all."""
    rows = []
    day = datetime(2024, 1, 1)
    while day < datetime(2024, 7, 1):
        if day.month != 4 and not (day.month == 1 and day.day >= 30):
            for customer in range(1, 31):
                if rng.random() < 0.65:
                    rows.append((day.date(), customer, round(rng.uniform(0, 900), 2)))
        day += timedelta(days=1)
    return rows


def _below_lines(
    rng: random.Random, lines: list[Row], order_ids: list[int]
) -> tuple[list[Row], list[Row], list[Row], list[Row]]:
    """Lines with their part, the parts, each line's shipments and each order's payments."""
    parts = [(p, rng.choice(["acme", "globex", "initech"]), rng.choice(["S", "M", "L"])) for p in range(1, 13)]
    with_part = [(*line, None if rng.random() < 0.05 else rng.randint(1, len(parts))) for line in lines]
    shipments = [
        (order_id, line_no, rng.choice(["ups", "fedex", "dhl"]), rng.random() < 0.3)
        for order_id, line_no, *_ in lines
        for _ in range(rng.choice([0, 1, 1, 2]))
    ]
    payments = [
        (order_id, n, rng.choice(["card", "wire", "voucher"]))
        for order_id in order_ids
        for n in range(1, rng.choice([0, 1, 1, 2, 3]) + 1)
    ]
    return (
        with_part,
        parts,
        [(i, *s) for i, s in enumerate(shipments, start=1)],
        [(i, *p) for i, p in enumerate(payments, start=1)],
    )


def _leads_and_deals(rng: random.Random) -> tuple[list[Row], list[Row]]:
    """The written-out edges, then drawn leads of 2024 (of other customers, some without one) and deals, many
    of them closed by the lead's customer from days before the lead to weeks after it (won, lost,
    or still open without a close time)."""

    def customer() -> int | None:
        return None if rng.random() < 0.1 else rng.randint(20, 125)  # not the customers of the edges

    def deal(who: int | None, around: datetime) -> Row:
        stage = rng.choices(["won", "lost", "open"], [50, 35, 15])[0]
        closed = around + timedelta(seconds=rng.randrange(-5 * 86400, 40 * 86400))
        return (who, stage, round(rng.uniform(50, 1000), 2), None if stage == "open" else closed)

    drawn = [(customer(), rng.choice(["web", "event", "referral"]), _random_time(rng, *YEAR)) for _ in range(200)]
    deals = list(DEALS) + [deal(who, when) for who, _, when in drawn if rng.random() < 0.5]
    deals += [deal(customer(), _random_time(rng, *YEAR)) for _ in range(40)]
    leads = LEADS + drawn
    return [(i, *row) for i, row in enumerate(leads, start=1)], [(i, *row) for i, row in enumerate(deals, start=1)]


def _random_time(rng: random.Random, start: datetime, end: datetime) -> datetime:
    seconds = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(seconds))
