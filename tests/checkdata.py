"""Rows shaped to hit the edges of every data check kind (semantic_layer/checks.py), and a project
declaring checks on them: NULLs, repeated values, values outside a list (and NULLs, which no list
check counts), row counts on both sides of each bound, the newest timestamp and date exactly at
and just past max_age, an empty table, and a `sql:` model as a check's source."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb

ITEMS = [  # item_id, code, status, qty, loaded_at (UTC), day (calendar date)
    (1, "A", "new", 1, datetime(2026, 3, 1, 10, 0), date(2026, 3, 1)),
    (2, "B", "done", None, datetime(2026, 3, 2, 23, 30), date(2026, 3, 2)),
    (3, "B", "bad", 2, datetime(2026, 3, 3, 8, 0), date(2026, 3, 3)),
    (4, None, "new", None, None, None),
    (5, "C", None, 3, datetime(2026, 3, 4, 0, 0), date(2026, 3, 4)),
    (6, "C", "weird", 4, datetime(2026, 3, 4, 12, 0), date(2026, 3, 5)),
    (7, "C", "bad", 5, datetime(2026, 3, 2, 0, 0), date(2026, 3, 2)),
    (8, "D", "done", 0, datetime(2026, 3, 1, 0, 0), date(2026, 3, 1)),
]
NEWEST_LOAD = datetime(2026, 3, 4, 12, 0)  # UTC
NEWEST_DAY_STARTS = datetime(2026, 3, 4, 16, 0)  # 2026-03-05 00:00 in Asia/Shanghai, in UTC

PROJECT = {
    "semantic_layer.yml": "name: checks\nconnection: duckdb:///{db}\ndialect: duckdb\ntimezone: Asia/Shanghai\n",
    "models.yml": """
models:
  - name: items
    table: items
    primary_key: item_id
    time: loaded_at
    dimensions:
      - {name: code}
      - {name: status}
      - {name: loaded_at, type: time}
    measures:
      - {name: item_count, agg: count}
    checks:
      - {name: code_present, not_null: code}
      - {name: qty_present, not_null: qty}
      - {name: code_unique, unique: code}
      - {name: id_unique, unique: item_id}
      - name: known_status
        accepted_values: {column: status, values: [new, done]}
      - name: small_qty
        accepted_values: {column: qty, values: [1, 2, 3]}
      - {name: at_least_nine, row_count: {min: 9}}
      - {name: at_most_eight, row_count: {max: 8}}
      - {name: one_to_seven, row_count: {min: 1, max: 7}}
      - name: loaded_daily
        freshness: {column: loaded_at, max_age: 1 day}
      - name: days_recent
        freshness: {column: day, max_age: 2 days}
      - {name: qty_at_least_two, sql: "SELECT item_id, qty FROM items WHERE qty < 2 ORDER BY item_id"}
  - name: empty_items
    table: empty_items
    primary_key: item_id
    measures:
      - {name: empty_count, agg: count}
    checks:
      - {name: some_rows, row_count: {min: 1}}
      - {name: fresh, freshness: {column: loaded_at, max_age: 1 day}}
      - {name: code_present, not_null: code}
  - name: odd_items
    sql: "SELECT item_id, code FROM items WHERE qty IS NULL OR qty > 3"
    primary_key: item_id
    measures:
      - {name: odd_count, agg: count}
    checks:
      - {name: code_present, not_null: code}
      - {name: code_unique, unique: code}
  - name: clean_items
    table: items
    primary_key: item_id
    measures:
      - {name: clean_count, agg: count}
    checks:
      - {name: id_present, not_null: item_id}
metrics:
  - {name: item_count, type: simple, measure: items.item_count}
  - {name: odd_count, type: simple, measure: odd_items.odd_count}
  - {name: clean_count, type: simple, measure: clean_items.clean_count}
  - {name: odd_share, type: ratio, numerator: odd_count, denominator: clean_count}
""",
}


def build(folder: Path) -> Path:
    """The data (folder/checks.duckdb) and the project (folder/project); returns the project."""
    db = folder / "checks.duckdb"
    with duckdb.connect(str(db)) as con:
        columns = "item_id INTEGER, code VARCHAR, status VARCHAR, qty INTEGER, loaded_at TIMESTAMP, day DATE"
        con.execute(f"CREATE TABLE items ({columns})")
        con.execute(f"CREATE TABLE empty_items ({columns})")
        con.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)", ITEMS)
    project = folder / "project"
    project.mkdir()
    for name, text in PROJECT.items():
        (project / name).write_text(text.replace("{db}", str(db)))
    return project
