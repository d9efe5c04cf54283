"""`semantic-layer demo`: the CRM demo warehouse, written batch by batch into DuckDB."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from . import generator as g
from .schema import CHANNELS, DDL, REGIONS, SNAPSHOTS

TABLE_ORDER = [
    "customers",
    "contacts",
    "leads",
    "opportunities",
    "orders",
    "payments",
    "follow_ups",
    "tickets",
    "campaign_responses",
]


def write_demo(
    output: Path, *, scale: float = 1.0, seed: int = 42, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Write the demo data set to `output` and return row counts per table.

    The file is built beside the target and moved into place only when complete, so an
    interrupted run never leaves a half-written database where a good one was.
    """
    if scale <= 0:
        raise ValueError("scale must be positive (1 ≈ 10 000 customers and 100 000 orders)")
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    customers = max(1, round(10_000 * scale))
    batches = (customers + g.BATCH_CUSTOMERS - 1) // g.BATCH_CUSTOMERS
    con = duckdb.connect(str(partial))
    try:
        con.execute(DDL)
        ref = g.reference(seed, scale)
        _insert(con, "regions", pa.table({"region": [r for r, _ in REGIONS], "name_zh": [z for _, z in REGIONS]}))
        _insert(
            con,
            "channels",
            pa.table(
                {
                    "channel_id": pa.array([c for c, _, _ in CHANNELS], pa.int32()),
                    "name": [n for _, n, _ in CHANNELS],
                    "kind": [k for _, _, k in CHANNELS],
                }
            ),
        )
        _insert(con, "sales_reps", ref.reps)
        _insert(con, "campaigns", ref.campaigns)
        ids = g.Counters()
        for number in range(batches):
            first = number * g.BATCH_CUSTOMERS + 1
            size = min(g.BATCH_CUSTOMERS, customers - first + 1)
            tables = g.batch(seed, number, first, size, ref, ids)
            for name in TABLE_ORDER:
                _insert(con, name, tables[name])
            if progress:
                progress(number + 1, batches)
        for snapshot in SNAPSHOTS:
            con.execute(snapshot.format(end="2026-01-01"))
        counts = {
            name: con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]  # type: ignore[index]
            for name in [
                "regions",
                "channels",
                "sales_reps",
                "campaigns",
                *TABLE_ORDER,
                "opportunity_snapshots",
                "receivable_snapshots",
            ]
        }
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(partial, output)
    return counts


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    con.register("incoming", rows)
    try:
        columns = ", ".join(f'"{c}"' for c in rows.column_names)
        con.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM incoming')
    finally:
        con.unregister("incoming")
