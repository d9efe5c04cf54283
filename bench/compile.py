"""Compile speed: warm shapes, new shapes, and loading a large project. Prints a table; asserts nothing.

    python bench/compile.py [--runs 2000]

The query is the issue's yardstick: 2 metrics, 2 dimensions, 1 filter. "Warm shape" re-asks it
with a different filter value each time (the compiled statement is cached per shape, values are
bound); "new shape" compiles from scratch each time. MetricFlow's published 9–30 ms per compile
is printed alongside as the peer baseline (it is not installed here, so it is not re-measured).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import semantic_layer as sl  # noqa: E402
from semantic_layer.compiler import Compiler  # noqa: E402
from semantic_layer.query import build_query  # noqa: E402


def timed(fn: Callable[[int], object], runs: int) -> list[float]:
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def row(table: Table, label: str, samples: list[float], goal: str, peer: str) -> None:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    table.add_row(label, f"{statistics.median(samples):.3f}", f"{p99:.3f}", goal, peer)


def query_args(i: int) -> dict[str, object]:
    return {"metrics": ["revenue", "order_count"], "dimensions": ["customers.segment", "metric_time:month"],
            # A value never seen before on every run: no per-string cache can hide the tokenizing cost.
            "where": [f"customers.segment = 'segment_{i}_{time.perf_counter_ns()}'"]}


def generated_project(folder: Path, models: int = 100, metrics: int = 1000) -> Path:
    """A synthetic project: `models` models in a join chain, `metrics` metrics of every type."""
    (folder / "semantic_layer.yml").write_text("name: generated\nconnection: 'duckdb:///:memory:'\n")
    lines = ["models:"]
    for m in range(models):
        lines += [f"  - name: model_{m}", f"    table: t_{m}", "    primary_key: id", "    time: created_at",
                  "    joins:" if m + 1 < models else "    joins: []"]
        if m + 1 < models:
            lines += [f"      - model: model_{m + 1}", f"        on: model_{m}.next_id = model_{m + 1}.id",
                      "        relationship: many_to_one"]
        lines += ["    dimensions:", "      - {name: created_at, type: time}"]
        lines += [f"      - {{name: dim_{d}, expr: \"upper(col_{d})\"}}" for d in range(5)]
        lines += ["    measures:", "      - {name: row_count, agg: count}"]
        lines += [f"      - {{name: total_{k}, agg: sum, expr: amount_{k}, filter: \"status <> 'x'\"}}"
                  for k in range(5)]
    lines.append("metrics:")
    for i in range(metrics):
        m = i % models
        kind = i % 4
        if kind == 0:
            lines.append(f"  - {{name: metric_{i}, type: simple, measure: model_{m}.total_{i % 5}, "
                         f"filter: \"model_{m}.dim_1 <> 'z'\"}}")
        elif kind == 1:
            lines.append(f"  - {{name: metric_{i}, type: ratio, numerator: metric_{i - 1}, "
                         f"denominator: metric_{i - 1}}}")
        elif kind == 2:
            lines += [f"  - name: metric_{i}", "    type: derived", f"    expr: \"metric_{i - 2} / prev - 1\"",
                      f"    inputs: [{{metric: metric_{i - 2}, alias: prev, offset: 1 month}}]"]
        else:
            lines.append(f"  - {{name: metric_{i}, type: cumulative, metric: metric_{i - 3}, window: 7 days}}")
    (folder / "models.yml").write_text("\n".join(lines) + "\n")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    layer = sl.connect(ROOT / "tests" / "fixtures" / "shop")
    compiler = layer.compiler

    def warm(i: int) -> None:
        compiled, values = compiler.compile(build_query(**query_args(i)))
        compiled.bind(values)

    def warm_text(i: int) -> None:
        layer.compile(**query_args(i))

    def cold(i: int) -> None:
        Compiler(layer.project.graph).compile(build_query(**query_args(i)))

    for fn in (warm, warm_text, cold):
        timed(fn, 50)  # warm-up: imports, regex compilation, parser caches
    table = Table(title=f"compile: 2 metrics, 2 dimensions, 1 filter ({args.runs} runs; ms)")
    for column in ("case", "median", "p99", "goal", "MetricFlow"):
        table.add_column(column)
    row(table, "warm shape, new values → bound statement", timed(warm, args.runs), "≤ 0.5", "9–30")
    row(table, "warm shape, new values → SQL text (layer.compile)", timed(warm_text, args.runs), "—", "9–30")
    row(table, "new shape (full compile)", timed(cold, max(args.runs // 4, 50)), "≤ 5", "9–30")

    with tempfile.TemporaryDirectory() as tmp:
        folder = generated_project(Path(tmp))
        loads = timed(lambda _: sl.load(folder), 5)
    row(table, "load + validate 1 000 metrics / 100 models", loads, "< 1000", "—")
    Console().print(table)


if __name__ == "__main__":
    main()
