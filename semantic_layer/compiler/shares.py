"""Pass 2a: a share's total taken from its numerator's groups when they add up to it.

A ratio like "each channel's share of its month's revenue" divides revenue grouped by month and
channel by revenue grouped by month alone: a unit reduced by the channel (plan.UnitKey.reduced).
Read as a unit of its own, that total scans the orders a second time. But where the numerator's
unit reads the same rows (same model, filters and offset, no window) and groups them by every
requested dimension with each row in exactly one group — no dimension through a one_to_many join —
the total is its groups' values added up over the dimensions the total keeps: a window over the
combined rows, as hand-written SQL computes a share. Distinct counts, averages and percentiles do
not add up from groups; their totals stay units of their own, joined on the kept dimensions.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from sqlglot import exp

from ..graph import SemanticGraph
from ..snippets import map_columns
from .plan import Plan, Unit

# How a group's value adds up into a total, per aggregation that can.
REAGGREGATE: dict[str, type[exp.AggFunc]] = {"sum": exp.Sum, "count": exp.Sum, "min": exp.Min, "max": exp.Max}
# The table a window's PARTITION BY columns name until combine.py points them at the rows it runs over.
DIMENSIONS = "__dimensions"


def window_shares(plan: Plan, graph: SemanticGraph) -> Plan:
    """The plan with each reduced unit that its twin's groups add up to replaced by windows."""
    twins = {dataclasses.replace(u.key, reduced=()): u for u in plan.units if not u.key.reduced}
    moved: dict[tuple[str, str], exp.Expr] = {}
    for unit in plan.units:
        twin = twins.get(dataclasses.replace(unit.key, reduced=())) if unit.key.reduced else None
        if twin is not None and _adds_up(graph, unit, twin):
            moved.update(_windows(graph, unit, twin))
    if not moved:
        return plan
    gone = {unit for unit, _ in moved}
    exprs = {
        name: map_columns(expr.copy(), lambda c: moved.get((c.table, c.name), c).copy())
        for name, expr in plan.metric_exprs.items()
    }
    units = tuple(u for u in plan.units if u.alias not in gone)
    return dataclasses.replace(plan, units=units, metric_exprs=MappingProxyType(exprs))


def _adds_up(graph: SemanticGraph, unit: Unit, twin: Unit) -> bool:
    if unit.key.offset or unit.key.spec is not None or unit.filtered:
        return False
    if any(step.fans_out for member in twin.reads.dimensions for step in member.path):
        return False
    measures = graph.measures_by_model[unit.key.model]
    return all(name in twin.measures and measures[name].agg in REAGGREGATE for name in unit.measures)


def _windows(graph: SemanticGraph, unit: Unit, twin: Unit) -> dict[tuple[str, str], exp.Expr]:
    """Each of the reduced unit's columns as a window over its twin's column."""
    measures = graph.measures_by_model[unit.key.model]
    partition = [exp.column(d.alias, table=DIMENSIONS) for d in unit.reads.requests]
    return {
        (unit.alias, alias): exp.Window(
            this=REAGGREGATE[measures[name].agg](this=exp.column(twin.measures[name], table=twin.alias)),
            partition_by=[p.copy() for p in partition],
        )
        for name, alias in unit.measures.items()
    }


def point_dimensions(expr: exp.Expr, rows: str) -> exp.Expr:
    """A metric expression with its windows partitioned by the columns of `rows`."""
    return map_columns(expr, lambda c: exp.column(c.name, table=rows) if c.table == DIMENSIONS else c)
