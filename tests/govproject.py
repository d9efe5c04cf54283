"""A small project in a temporary git repository, for the governance commands (diff, lint, usage,
the catalogue site, the CI recipe): orders and customers, five metrics, a policy, and rows small
enough to compute every value by hand.

The change the tests make is the one a pull request typically holds: a ratio's denominator changed
(average_order_value: order_count → buyers), a measure renamed (orders.revenue → gross_revenue,
its metric following), and a new metric that is deprecated from the start (sales, the old name of
revenue).
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path

import duckdb

SETTINGS = "name: gov\nconnection: duckdb:///{db}\ndialect: duckdb\ntimezone: UTC\n"
MODELS = """models:
  - name: orders
    table: orders
    primary_key: order_id
    time: created_at
    joins:
      - {model: customers, on: orders.customer_id = customers.customer_id, relationship: many_to_one}
    dimensions:
      - {name: status}
      - {name: created_at, type: time}
    measures:
      - {name: revenue, agg: sum, expr: amount, filter: "status <> 'cancelled'"}
      - {name: order_count, agg: count, filter: "status <> 'cancelled'"}
      - {name: buyers, agg: count_distinct, expr: customer_id}
    checks:
      - {name: order_id_present, not_null: order_id}
      - name: known_status
        accepted_values: {column: status, values: [done, cancelled]}
  - name: customers
    table: customers
    primary_key: customer_id
    dimensions:
      - {name: tier}
      - {name: region}
"""
METRICS = """metrics:
  - name: revenue
    type: simple
    measure: orders.revenue
    label: Revenue
    description: Amounts of orders not cancelled.
    owner: sales
    tier: strategic
    format: currency
    synonyms: [gmv, 销售额]
  - name: order_count
    type: simple
    measure: orders.order_count
    description: Orders not cancelled.
    owner: sales
    tier: operational
    format: integer
  - name: buyers
    type: simple
    measure: orders.buyers
    description: Customers with an order.
    owner: sales
    tier: operational
    format: integer
  - name: average_order_value
    type: ratio
    numerator: revenue
    denominator: order_count
    description: Revenue per order.
    owner: sales
    tier: tactical
    format: currency
  - name: gold_share
    type: ratio
    numerator: {metric: revenue, filter: "customers.tier = 'gold'"}
    denominator: revenue
    description: Share of revenue from gold customers.
    owner: sales
    tier: tactical
    format: percent
"""
POLICIES = """policies:
  - role: admin
  - role: viewer
    rows:
      - {model: customers, where: "region = {{ user.region }}"}
"""
DASHBOARDS = """dashboards:
  - name: sales_overview
    title: Sales overview
    tiles:
      - {metrics: [revenue], kind: kpi}
      - {metrics: [average_order_value], dimensions: [metric_time], kind: line, title: Order value by month}
      - {metrics: [revenue, order_count], dimensions: [customers.tier], kind: table}
"""
CUSTOMERS = [(1, "gold", "east"), (2, "silver", "west"), (3, "gold", "west")]
ORDERS = [  # order_id, customer_id, status, amount, created_at (UTC)
    (1, 1, "done", 100, datetime(2025, 1, 5)),
    (2, 2, "done", 50, datetime(2025, 1, 20)),
    (3, 1, "cancelled", 70, datetime(2025, 1, 21)),
    (4, 3, "done", 200, datetime(2025, 2, 2)),
    (5, 3, "done", 100, datetime(2025, 2, 10)),
    (6, 2, "done", 30, datetime(2025, 3, 1)),
    (7, 1, "done", 20, datetime(2025, 3, 15)),
    (8, 1, "done", 80, datetime(2025, 3, 20)),
]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "analyst",
    "GIT_AUTHOR_EMAIL": "analyst@example.com",
    "GIT_COMMITTER_NAME": "analyst",
    "GIT_COMMITTER_EMAIL": "analyst@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",  # no user configuration: the same behaviour on every machine
}


def build_data(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE customers (customer_id INTEGER, tier VARCHAR, region VARCHAR)")
        con.execute(
            "CREATE TABLE orders (order_id INTEGER, customer_id INTEGER, status VARCHAR, amount DECIMAL(10, 2), "
            "created_at TIMESTAMP)"
        )
        con.executemany("INSERT INTO customers VALUES (?, ?, ?)", CUSTOMERS)
        con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", ORDERS)
    return path


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True)
    return done.stdout


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def branch(repo: Path, name: str) -> None:
    git(repo, "checkout", "-q", "-b", name)


def new_repo(root: Path, db: Path, folder: str = "metrics") -> Path:
    """A repository at `root` holding the project in `folder` (committed on main); returns the
    project folder."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    project = root / folder if folder else root
    project.mkdir(parents=True, exist_ok=True)
    (project / "semantic_layer.yml").write_text(SETTINGS.replace("{db}", str(db)))
    (project / "models.yml").write_text(MODELS)
    (project / "metrics.yml").write_text(METRICS)
    (project / "policies.yml").write_text(POLICIES)
    (project / "dashboards.yml").write_text(DASHBOARDS)
    commit(root, "the project")
    return project


def change(project: Path) -> None:
    """The pull request: a changed ratio, a renamed measure, a new deprecated metric."""
    models = (project / "models.yml").read_text()
    (project / "models.yml").write_text(models.replace("{name: revenue, agg: sum", "{name: gross_revenue, agg: sum"))
    metrics = (project / "metrics.yml").read_text()
    metrics = metrics.replace("measure: orders.revenue\n", "measure: orders.gross_revenue\n")
    metrics = metrics.replace(
        "numerator: revenue\n    denominator: order_count", "numerator: revenue\n    denominator: buyers"
    )
    metrics += """  - name: sales
    type: simple
    measure: orders.gross_revenue
    description: The old name of revenue.
    owner: sales
    tier: strategic
    status: deprecated
    replaced_by: revenue
"""
    (project / "metrics.yml").write_text(metrics)
