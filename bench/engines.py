"""Generated SQL vs hand-written SQL, per engine, on the scale-1 demo. Prints a table; asserts nothing.

    python bench/engines.py [--runs 5] [--engines duckdb,postgres,mysql,clickhouse,spark]

The queries are the CRM golden checks of tests/test_crm_demo.py: each pairs a layer query with the
hand-written DuckDB SQL that must give the same answer. For PostgreSQL and MariaDB the hand-written
SQL is transpiled by sqlglot (its UTC → local conversion becomes CONVERT_TZ on MariaDB, and its date
truncation MariaDB's date functions, through the same `portable` and `adapt` rewrites the layer
applies to its own SQL); the few baselines sqlglot cannot carry to MariaDB are hand-written for it
(MARIADB_HAND). Both
statements run through the same driver; the ratio is generated time over hand-written time
(medians). The demo is copied into an `sl_bench_<pid>` schema (PostgreSQL) or database (MariaDB), which
is dropped at the end, and for ClickHouse into a database of a temporary chdb folder (embedded, in this
process), through the tests' own copy (tests/engines.py); its hand-written SQL is transpiled as for
PostgreSQL, but for two baselines written for it (CLICKHOUSE_HAND);
for Spark (a local session in this process, needing Java and PySpark), into a temporary warehouse
folder by saveAsTable, read through `spark+local://`.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_crm_demo import GOLDEN  # noqa: E402

import semantic_layer as sl  # noqa: E402
from semantic_layer.compiler.dialects import adapt  # noqa: E402
from semantic_layer.query import build_query  # noqa: E402
from semantic_layer.snippets import portable  # noqa: E402

DATA = ROOT / "data" / "crm.duckdb"
BENCH = f"sl_bench_{os.getpid()}"  # a schema / database of this run's own: two runs never drop each other's


def timed(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm caches and plans
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


# MariaDB has no generate_series and no MEDIAN aggregate (only the MEDIAN window): these baselines
# are written for it by hand, with the SEQUENCE engine's seq_0_to_N tables and MEDIAN() OVER.
_Q = "CAST(MAKEDATE(YEAR({t}), 1) + INTERVAL (QUARTER({t}) - 1) QUARTER AS DATE)"
_SH = "CONVERT_TZ({}, 'UTC', 'Asia/Shanghai')"
MARIADB_HAND = {
    "satisfaction by ticket type": """
        SELECT type, AVG(csat), COUNT(CASE WHEN csat >= 4 THEN 1 END) / COUNT(csat), MAX(frt), MAX(rt)
        FROM (SELECT type, csat,
                     MEDIAN(TIMESTAMPDIFF(SECOND, created_at, first_response_at)) OVER (PARTITION BY type) frt,
                     MEDIAN(TIMESTAMPDIFF(SECOND, created_at, resolved_at)) OVER (PARTITION BY type) rt
              FROM tickets) t GROUP BY 1 ORDER BY 1""",
    # Without hash joins, MariaDB finds a lead's wins by key only in a materialized (DISTINCT) derived
    # table; the semi-join written as EXISTS runs per lead (minutes).
    "lead to win within 90 days by quarter": f"""
        SELECT {_Q.format(t=_SH.format("l.created_at"))} q, AVG(CASE WHEN w.lead_id IS NULL THEN 0 ELSE 1 END)
        FROM leads l LEFT JOIN (
          SELECT DISTINCT b.lead_id FROM leads b
          JOIN (SELECT DISTINCT customer_id, closed_at FROM opportunities WHERE stage = 'won') o
            ON o.customer_id = b.customer_id AND o.closed_at >= b.created_at
           AND o.closed_at <= b.created_at + INTERVAL 90 DAY) w
        ON w.lead_id = l.lead_id
        GROUP BY 1 ORDER BY 1""",
    "sales cycle by quarter closed": f"""
        SELECT q, MAX(med), COUNT(*)
        FROM (SELECT q, MEDIAN(DATEDIFF(closed_at, created_at)) OVER (PARTITION BY q) med
              FROM (SELECT {_Q.format(t=_SH.format("closed_at"))} q, closed_at, created_at
                    FROM opportunities WHERE stage = 'won') o) x
        GROUP BY 1 ORDER BY 1""",
    "overdue receivables as of each month end: due on or before it, unpaid at its end": """
        SELECT m, SUM(amount_due - COALESCE(amount_paid, 0))
        FROM (SELECT DATE '2025-01-01' + INTERVAL seq MONTH m FROM seq_0_to_4) s
        JOIN payments ON due_date <= LAST_DAY(m) AND (paid_date IS NULL OR paid_date > LAST_DAY(m))
        GROUP BY 1 ORDER BY 1""",
}


# ClickHouse joins on equalities only and has no GENERATE_SERIES table, and sqlglot cannot carry the
# grouped window over to it: these two baselines are written for it by hand, as its users would.
CLICKHOUSE_HAND = {
    "channel contribution: each acquisition channel's share of its quarter's revenue": """
        SELECT name, q, toFloat64(r) / SUM(r) OVER (PARTITION BY q) FROM (
          SELECT ch.name AS name, toStartOfQuarter(o.signed_at, 'Asia/Shanghai') AS q, SUM(o.amount) AS r
          FROM orders AS o JOIN customers AS c ON c.customer_id = o.customer_id
          LEFT JOIN channels AS ch ON ch.channel_id = c.channel_id
          WHERE o.status NOT IN ('cancelled', 'refunded') AND toDate(o.signed_at, 'Asia/Shanghai') >= '2025-01-01'
            AND toDate(o.signed_at, 'Asia/Shanghai') < '2025-07-01'
          GROUP BY name, q) AS g
        ORDER BY name, q SETTINGS join_use_nulls = 1""",
    "overdue receivables as of each month end: due on or before it, unpaid at its end": """
        SELECT m, SUM(amount_due - coalesce(amount_paid, 0))
        FROM (SELECT addMonths(toDate32('2025-01-01'), number) AS m FROM numbers(5)) AS s CROSS JOIN payments
        WHERE due_date <= toLastDayOfMonth(m) AND (paid_date IS NULL OR paid_date > toLastDayOfMonth(m))
        GROUP BY m ORDER BY m""",
}


def hand_sql(name: str, sql: str, dialect: str) -> str:
    if dialect == "duckdb":
        return sql
    mysql_family = dialect in ("mysql", "mariadb")
    if mysql_family and name in MARIADB_HAND:
        return MARIADB_HAND[name]
    if dialect == "clickhouse" and name in CLICKHOUSE_HAND:
        return CLICKHOUSE_HAND[name]
    # the layer's date functions, and FILTER as CASE where the engine has none (MariaDB)
    return adapt(portable(sqlglot.parse_one(sql, read="duckdb")), dialect).sql(dialect)


def _rows(db: Path) -> Iterator[tuple[str, list[tuple[str, str]], list[tuple[Any, ...]]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        for (name,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall():
            cols = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [name],
            ).fetchall()
            yield name, cols, con.execute(f'SELECT * FROM "{name}"').fetchall()


def _primary_keys(db: Path) -> list[tuple[str, list[str]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    return [(name, list(keys)) for name, keys in rows]


@contextmanager
def postgres() -> Iterator[str]:
    import psycopg

    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True)
    admin.execute(f"DROP SCHEMA IF EXISTS {BENCH} CASCADE")
    admin.execute(f"CREATE SCHEMA {BENCH}")
    try:
        for name, cols, rows in _rows(DATA):
            admin.execute(f'CREATE TABLE {BENCH}."{name}" ({", ".join(f"{c} {t}" for c, t in cols)})')
            with admin.cursor().copy(f'COPY {BENCH}."{name}" FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        admin.execute("ANALYZE")
        yield f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{BENCH}"
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {BENCH} CASCADE")
        admin.close()


@contextmanager
def mysql() -> Iterator[str]:
    import pymysql

    admin = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {BENCH}")
        cur.execute(f"CREATE DATABASE {BENCH}")
        for name, cols, rows in _rows(DATA):
            types = {"VARCHAR": "VARCHAR(255)", "TIMESTAMP": "DATETIME(6)"}
            cur.execute(f"CREATE TABLE {BENCH}.`{name}` ({', '.join(f'`{c}` {types.get(t, t)}' for c, t in cols)})")
            marks = ", ".join(["%s"] * len(cols))
            for start in range(0, len(rows), 5000):
                cur.executemany(f"INSERT INTO {BENCH}.`{name}` VALUES ({marks})", rows[start : start + 5000])
        for name, keys in _primary_keys(DATA):  # MariaDB joins without keys fall back to nested loops
            cur.execute(f"ALTER TABLE {BENCH}.`{name}` ADD PRIMARY KEY ({', '.join(f'`{k}`' for k in keys)})")
    try:
        yield f"mysql://root@127.0.0.1:3306/{BENCH}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {BENCH}")
        admin.close()


@contextmanager
def duck() -> Iterator[str]:
    yield f"duckdb:///{DATA}"


@contextmanager
def clickhouse() -> Iterator[str]:
    from engines import clickhouse_copy

    with clickhouse_copy(DATA) as url:
        yield url


@contextmanager
def spark() -> Iterator[str]:
    import tempfile

    from pyspark.sql import SparkSession

    with tempfile.TemporaryDirectory(prefix="sl_bench_spark_") as folder:
        session = (
            SparkSession.builder.master("local[*]")
            .config("spark.sql.warehouse.dir", folder)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        try:
            with duckdb.connect(str(DATA), read_only=True) as con:
                for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
                    data = con.execute(f'SELECT * FROM "{name}"').to_arrow_table()
                    session.createDataFrame(data).write.saveAsTable(name)
            yield f"spark+local:///{folder}"
        finally:
            session.stop()


ENGINES = {"duckdb": duck, "postgres": postgres, "mysql": mysql, "clickhouse": clickhouse, "spark": spark}


def measure(engine: str, runs: int) -> dict[str, float | None]:
    ratios: dict[str, float | None] = {}
    with ENGINES[engine]() as url, sl.connect(ROOT / "metrics", connection=url) as layer:
        for name, query, sql in GOLDEN:
            try:
                compiled, values = layer.prepare(build_query(**query), layer.engine.dialect)
            except sl.QueryError:
                ratios[name] = None  # refused on this engine (e.g. median on MariaDB)
                continue
            params = compiled.bind(values)
            hand = hand_sql(name, sql, layer.engine.dialect)
            try:
                baseline = timed(lambda h=hand: layer.engine.execute(h, {}), runs)
            except sl.QueryError as exc:  # the transpiled baseline itself does not run there
                print(f"{engine}: no baseline for '{name}': {exc.message[:120]}", file=sys.stderr)
                ratios[name] = None
                continue
            generated = timed(lambda c=compiled, p=params: layer.engine.execute(c.template, p), runs)
            ratios[name] = generated / baseline
    return ratios


def main() -> None:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # ORDER BY 1 NULLS LAST has no MySQL spelling
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", default="duckdb,postgres,mysql,clickhouse")
    args = parser.parse_args()
    if not DATA.exists():
        subprocess.run([sys.executable, "-m", "semantic_layer", "demo"], cwd=ROOT, check=True)
    engines = args.engines.split(",")
    results = {e: measure(e, args.runs) for e in engines}
    table = Table(title=f"generated ÷ hand-written SQL time (median of {args.runs}), CRM demo at scale 1")
    table.add_column("query")
    for engine in engines:
        table.add_column(engine, justify="right")
    for name, _, _ in GOLDEN:
        table.add_row(name, *("—" if results[e][name] is None else f"{results[e][name]:.2f}" for e in engines))
    means = []
    for engine in engines:
        values = [v for v in results[engine].values() if v is not None]
        means.append(f"{math.exp(sum(map(math.log, values)) / len(values)):.2f}")
    table.add_row("geometric mean (goal ≤ 1.05 DuckDB, ≤ 1.2 others)", *means)
    Console().print(table)


if __name__ == "__main__":
    main()
