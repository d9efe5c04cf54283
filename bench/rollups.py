"""Rollups on the CRM demo: per dashboard tile, the median time to answer from the warehouse and
from rollups (through `Layer.query`, compiled statements warm), the build's time and size, and an
incremental refresh after one more day of orders. Prints tables with medians; asserts nothing.

    python bench/rollups.py [--scale 1] [--runs 15] [--dashboard strategic_cockpit ...]

The warehouse is the demo at `--scale` (data/crm.duckdb for scale 1, written when missing; other
scales are written to a temporary folder), the project is metrics/ with its rollups
(metrics/rollups.yml), and the rollups are built into a temporary state folder. Tiles bounded by
the dashboard's time range ask for the twelve months before 2025-10-01, as the cockpit's default.
Goal: the strategic cockpit's tiles that a rollup answers take at most 20 ms at scale 100, at least
ten times faster than from the warehouse.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from semantic_layer.dashboards import tile_query  # noqa: E402
from semantic_layer.demo import write_demo  # noqa: E402
from semantic_layer.layer import Layer  # noqa: E402
from semantic_layer.project import load  # noqa: E402
from semantic_layer.rollups.build import build_rollups  # noqa: E402

GOAL_MS, GOAL_SPEEDUP = 20.0, 10.0
RANGE = {"start": "2024-10-01", "end": "2025-10-01"}


def warehouse(scale: float, folder: Path) -> Path:
    if scale == 1 and (ROOT / "data" / "crm.duckdb").exists():
        return ROOT / "data" / "crm.duckdb"
    path = folder / f"crm-{scale:g}.duckdb"
    write_demo(path, scale=scale, seed=42)
    return path


def median_ms(layer: Layer, query: dict[str, Any], runs: int) -> tuple[float, str | None]:
    result = layer.query(**query)  # compiles the statement and warms the engine's caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        layer.query(**query)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result.rollup


def tiles(layer: Layer, names: list[str]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name in names:
        dashboard = layer.project.dashboards[name]
        for i, tile in enumerate(dashboard.tiles):
            query = tile_query(layer.project.graph, dashboard, tile).model_dump(exclude_defaults=True)
            if query.get("time_range"):
                query["time_range"] = RANGE
            label = tile.title or " + ".join(tile.metrics)
            out.append((f"{name}[{i}] {label}"[:70], query))
    return out


def one_more_day(db: Path) -> None:
    """A day of orders after the newest: a copy of the newest day's orders, a day later."""
    with duckdb.connect(str(db)) as con:
        con.execute(
            "INSERT INTO orders SELECT * REPLACE (order_id + 10000000 AS order_id, signed_at + INTERVAL 1 DAY AS "
            "signed_at) FROM orders WHERE signed_at >= (SELECT max(signed_at) - INTERVAL 1 DAY FROM orders)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--dashboard", action="append", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    console = Console(width=160)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = warehouse(args.scale, folder)
        db = folder / "warehouse.duckdb"
        shutil.copyfile(source, db)
        project = load(ROOT / "metrics")
        names = args.dashboard or ["strategic_cockpit"]
        with Layer(project, f"duckdb:///{db}", state_folder=folder / "state") as rolled:
            started = time.perf_counter()
            build_rollups(rolled)
            built = time.perf_counter() - started
            assert rolled.rollups is not None
            size = rolled.rollups.store.size_bytes()
            stored = {name: s.row_count for name, s in rolled.rollups.store.state().items()}
            with Layer(project, f"duckdb:///{db}", state_folder=folder / "none") as raw:
                table = Table(title=f"tiles at scale {args.scale:g}: median of {args.runs} runs", title_justify="left")
                for column in ("tile", "rollup", "warehouse ms", "rollup ms", "speed-up"):
                    table.add_column(column)
                for label, query in tiles(raw, names):
                    slow, _ = median_ms(raw, query, args.runs)
                    fast, rollup = median_ms(rolled, query, args.runs)
                    speedup = f"{slow / fast:.1f}×" if rollup else "—"
                    table.add_row(label, rollup or "—", f"{slow:.1f}", f"{fast:.1f}" if rollup else "—", speedup)
            console.print(table)
            rolled.close()
            one_more_day(db)
            started = time.perf_counter()
            reports = build_rollups(rolled)
            refreshed = time.perf_counter() - started
        summary = Table(title="build", title_justify="left")
        for column in ("what", "value"):
            summary.add_column(column)
        summary.add_row("full build, all rollups", f"{built:.2f} s")
        summary.add_row("store size", f"{size / 1e6:.1f} MB")
        summary.add_row("rows stored", ", ".join(f"{k} {v}" for k, v in stored.items()))
        summary.add_row("refresh after one more day (lookback 3 days)", f"{refreshed:.2f} s")
        summary.add_row("rows written by the refresh", str(sum(r.rows_written for r in reports)))
        summary.add_row(
            "goal", f"routed cockpit tiles ≤ {GOAL_MS:g} ms at scale 100, ≥ {GOAL_SPEEDUP:g}× the warehouse"
        )
        console.print(summary)


if __name__ == "__main__":
    main()
