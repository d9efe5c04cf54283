"""The shop project with thresholds on a few metrics, for the alert tests (evaluation, pushes,
server, command line), and the hand-written SQL their values are checked against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import local, make_project

# The shop data in New York time, as hand-written SQL counts it:
# - monthly revenue: 2023-10 NULL (one cancelled order), 2024-10 47 161.74 (warn), 2024-11 64 078.64 (ok),
#   2024-12 38 661.98 (critical), 2025-01 21 802.33 (critical; the data ends on 2025-01-15);
# - order value by quarter: 2024-Q2 528.14 (ok, inside the band), 2024-Q3 538.33 (above it: warn),
#   2024-Q4 504.72 (below it: warn);
# - tickets by week (from Monday): Oct 28 7 (warn: at the critical bound, not above it), Nov 4 8
#   (critical), Nov 11 4 (ok). The week of Oct 28 ends on the night DST ends (Nov 3).
ALERTS = """
metrics:
  - name: monthly_revenue
    type: simple
    measure: orders.revenue
    format: currency
    direction: up
    thresholds:
      warn: {below: 55000}
      critical: {below: 45000}
  - name: order_value
    type: ratio
    numerator: revenue
    denominator: order_count
    direction: up
    thresholds:
      grain: quarter
      warn: {below: 510, above: 535}
  - name: weekly_tickets
    type: simple
    measure: tickets.ticket_count
    format: integer
    direction: down
    thresholds:
      grain: week
      warn: {above: 6}
      critical: {above: 7}
"""
POLICIES = """
policies:
  - role: admin
  - role: regional
    rows:
      - model: customers
        where: "region_id = {{ user.region_id }}"
  - role: no_revenue
    hide: [monthly_revenue]
"""
REVENUE = "SUM(o.amount) FILTER (WHERE o.status <> 'cancelled')"


def alert_project(root: Path, db: Path, *, policies: bool = False, settings: str = "", **overrides: Any) -> Path:
    """The shop project at `root` with ALERTS (and POLICIES), `settings` appended to semantic_layer.yml
    and `overrides` replacing settings of the shop project (`name="x"`)."""
    make_project(root, db, **overrides)
    (root / "alerts.yml").write_text(ALERTS)
    if policies:
        (root / "policies.yml").write_text(POLICIES)
    if settings:
        with (root / "semantic_layer.yml").open("a") as out:
            out.write(settings)
    return root


def month_revenue_sql(start: str, end: str, where: str = "TRUE") -> str:
    """Revenue of the orders created in [start, end) New York time, written by hand."""
    t = local("o.created_at")
    return (
        f"SELECT {REVENUE} FROM orders o LEFT JOIN customers c ON c.customer_id = o.customer_id "
        f"WHERE {t} >= TIMESTAMP '{start}' AND {t} < TIMESTAMP '{end}' AND {where}"
    )
