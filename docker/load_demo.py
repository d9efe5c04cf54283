"""Write the CRM demo data set and copy it into PostgreSQL (the compose file's `demo` service).

    python load_demo.py postgresql://user:password@host:5432/crm [--scale 0.2]

Tables are replaced if present, in the connection's first schema on the search path (public by
default), so running it again starts from a fresh demo. Each table is streamed with COPY.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from semantic_layer.demo import write_demo


def load(url: str, scale: float, seed: int) -> dict[str, int]:
    """The demo's tables in the database at `url`: table → rows copied."""
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "crm.duckdb"
        write_demo(db, scale=scale, seed=seed)
        with duckdb.connect(str(db), read_only=True) as source, psycopg.connect(url) as target:
            return {name: _copy(source, target, name) for name in _tables(source)}


def _tables(source: duckdb.DuckDBPyConnection) -> list[str]:
    rows = source.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def _copy(source: duckdb.DuckDBPyConnection, target: psycopg.Connection, table: str) -> int:
    columns = source.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    name = sql.Identifier(table)
    target.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(name))
    # The demo's DuckDB types (VARCHAR, BIGINT, DECIMAL, DATE, TIMESTAMP, BOOLEAN) are PostgreSQL types too.
    definition = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns)
    target.execute(sql.SQL("CREATE TABLE {} ({})").format(name, definition))
    rows = source.table(table).fetchall()
    with target.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(name)) as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="PostgreSQL connection URL")
    parser.add_argument("--scale", type=float, default=0.2, help="1 ≈ 10 000 customers and 100 000 orders")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    counts = load(args.url, args.scale, args.seed)
    print(f"loaded {sum(counts.values())} rows into {len(counts)} tables")


if __name__ == "__main__":
    main()
