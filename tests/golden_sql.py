"""Checked-in SQL for the big warehouses: a change in generated SQL shows up as a diff in review.

Regenerate after an intended change with:

    python tests/golden_sql.py --update

Each file holds the pretty-printed SQL of one query in one dialect (or the compile error a dialect
gets, as a comment), re-parsed by sqlglot in that dialect.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import sqlglot

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import semantic_layer as sl  # noqa: E402

DIALECTS = ["snowflake", "bigquery", "trino", "clickhouse", "spark", "databricks", "redshift"]
QUERIES: dict[str, dict[str, Any]] = {
    "conversion_rate_by_month": dict(
        metrics=["lead_to_win_7d", "leads_won_7d"],
        dimensions=["metric_time:month", "customers.segment"],
        where=["deals.amount >= 500"],
        time_range={"start": "2024-01-01", "end": "2024-07-01"},
    ),
    "revenue_by_segment_and_month": dict(
        metrics=["revenue", "order_count"],
        dimensions=["customers.segment", "metric_time:month"],
        where=["customers.segment <> 'internal'"],
        time_range={"start": "2024-01-01", "end": "2024-07-01"},
    ),
    "fan_out_dimension": dict(metrics=["order_count", "avg_amount"], dimensions=["order_lines.ship_mode"]),
    "semi_join_filter": dict(metrics=["order_count"], where=["order_lines.returned = true"]),
    "multi_fact_ratio": dict(metrics=["tickets_per_order"], dimensions=["customers.segment"]),
    "month_over_month": dict(metrics=["revenue", "revenue_growth_mom"], dimensions=["metric_time:month"]),
    "trailing_window": dict(
        metrics=["revenue_trailing_7d"],
        dimensions=["metric_time:week"],
        time_range={"start": "2024-01-01", "end": "2024-03-01"},
    ),
    "retention_and_churn_by_month": dict(
        metrics=["buyer_retention", "buyer_churn", "revenue"],
        dimensions=["metric_time:month", "orders.status"],
        time_range={"start": "2024-01-01", "end": "2024-07-01"},
    ),
    "percentile_by_role_playing_join": dict(metrics=["p90_amount"], dimensions=["owner_rep.team"]),
    "structured_filters": dict(
        metrics=["revenue"],
        dimensions=["customers.regions.name"],
        where=[
            sl.Filter(member="orders.amount", op="between", values=[100, 500]),
            sl.Filter(member="customers.segment", op="in", values=["smb", "enterprise"]),
        ],
        order_by=["-revenue"],
        limit=10,
    ),
}


def render(layer: sl.Layer, dialect: str, query: dict[str, Any]) -> str:
    try:
        sql = layer.compile(dialect=dialect, **query)
    except sl.QueryError as exc:
        return f"-- refused: {exc.message}\n"
    return sqlglot.transpile(sql, read=dialect, write=dialect, pretty=True)[0] + "\n"


def path_of(dialect: str, name: str) -> Path:
    return HERE / "golden_sql" / dialect / f"{name}.sql"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--update", action="store_true", help="rewrite the files from the current compiler")
    args = parser.parse_args()
    layer = sl.connect(HERE / "fixtures" / "shop")
    stale = []
    for dialect in DIALECTS:
        for name, query in QUERIES.items():
            path, text = path_of(dialect, name), render(layer, dialect, query)
            if args.update:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            elif not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(HERE.parent)))
    if stale:
        raise SystemExit("stale golden SQL (run with --update after checking the change):\n" + "\n".join(stale))
    print("updated" if args.update else "up to date", len(DIALECTS) * len(QUERIES), "files")


if __name__ == "__main__":
    main()
