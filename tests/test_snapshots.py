"""Semi-additive measures (non_additive) beyond their golden answers (golden_cases.SNAPSHOT_CASES,
checked on every engine): what a project may declare, and how the unit is planned."""

from __future__ import annotations

from pathlib import Path

import pytest
from tinyproject import plan_of

import semantic_layer as sl
from semantic_layer.compiler.plan import SnapshotSpec

PROJECT = """
models:
  - name: balances
    table: balances
    primary_key: [snapshot_date, customer_id]
    time: snapshot_date
    dimensions:
      - {name: snapshot_date, type: time, granularity: day}
    measures:
      - {name: balance, agg: sum, expr: amount, non_additive: {dimension: snapshot_date, window: last}}
metrics:
  - {name: balance, type: simple, measure: balances.balance}
"""


def test_a_running_total_of_a_snapshot_is_a_load_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "semantic_layer.yml").write_text("name: t\n")
    line = "  - {name: balance_to_date, type: cumulative, metric: balance}"
    (tmp_path / "balances.yml").write_text(PROJECT + line + "\n")
    with pytest.raises(sl.ValidationError) as info:
        sl.load(tmp_path)
    (error,) = info.value.errors
    assert "semi-additive" in error.message and "cannot be accumulated" in error.message
    assert error.file.endswith("balances.yml") and error.line == (PROJECT + line).splitlines().index(line) + 1


def test_each_window_plans_a_snapshot_unit_of_its_own(layer: sl.Layer) -> None:
    plan, _ = plan_of(
        graph=layer.project.graph, metrics=["balance", "opening_balance", "lowest_balance", "order_count"]
    )
    specs = sorted((u.key.spec.window, u.key.spec.dimension) for u in plan.units if u.key.spec is not None)
    assert specs == [("first", "snapshot_date"), ("last", "snapshot_date"), ("min", "snapshot_date")]
    assert all(isinstance(u.key.spec, SnapshotSpec) for u in plan.units if u.key.model == "balances")
