"""Helpers shared by the test modules: the shop project's copies and answer comparison."""

from __future__ import annotations

import math
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import semantic_layer as sl
from semantic_layer import definitions as d
from semantic_layer.catalog import depends_on
from semantic_layer.graph import SemanticGraph

FIXTURE = Path(__file__).parent / "fixtures" / "shop"
NY = "America/New_York"


def local(column: str, tz: str = NY) -> str:
    """Hand-written UTC → local conversion, independent of the compiler's."""
    return f"(({column} AT TIME ZONE 'UTC') AT TIME ZONE '{tz}')"


def make_project(root: Path, db: Path, **settings: Any) -> Path:
    """A copy of the shop project pointing at `db`, with settings overridden."""
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    text = (root / "semantic_layer.yml").read_text()
    text = text.replace("duckdb:///shop.duckdb", f"duckdb:///{db}")
    for key, value in settings.items():
        lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key}:")]
        text = "\n".join([*lines, f"{key}: {value}"]) + "\n"
    (root / "semantic_layer.yml").write_text(text)
    return root


def same_value(a: Any, b: Any) -> bool:
    """Equal as an analyst would read them: a Decimal and a float of the same number are equal, and
    numbers compare with a relative tolerance of 1e-9 (engines sum in different orders)."""
    a, b = (float(v) if isinstance(v, Decimal) else v for v in (a, b))
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def assert_rows(result: sl.Result, expected: list[tuple[Any, ...]]) -> None:
    got = [tuple(row.values()) for row in result.rows]
    assert len(got) == len(expected), f"{len(got)} rows, expected {len(expected)}\n{got[:10]}\n{expected[:10]}"
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert len(g) == len(e), f"row {i}: {g} vs {e}"
        assert all(same_value(x, y) for x, y in zip(g, e, strict=True)), f"row {i}: got {g}, expected {e}"


def retention_period(graph: SemanticGraph, metric: str) -> str | None:
    """The period of the retention metric `metric` is computed from (itself included), or None: such
    a metric is asked for by metric_time at that period only."""
    definition = graph.metric(metric)
    if isinstance(definition, d.RetentionMetric):
        return definition.period
    return next(filter(None, (retention_period(graph, m) for m in depends_on(graph, metric))), None)


class FakeClock:
    """A `time` module stand-in whose monotonic clock moves only when a test advances it, so expiry is
    tested without sleeping (patch it over the module's `time`: asyncio keeps the real clock)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def run_cli(*args: str) -> tuple[int, str, str]:
    """`semantic-layer ARGS` in process: its exit code, standard output and standard error."""
    from typer.testing import CliRunner

    from semantic_layer.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr
