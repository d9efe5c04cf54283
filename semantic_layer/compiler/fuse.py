"""Pass 2a: fuse the plain units of one model that differ only in their metric filters.

A ratio such as "strategic customers' share of revenue" reads `revenue` twice, once under the
filter `customers.tier = 'strategic'`: two units, each scanning and grouping the orders, stacked
and grouped again. Fused, the orders are read and grouped once, and each column aggregates the
rows its own filters keep (FILTER (WHERE …)), as hand-written SQL does.

Fusing keeps every answer:
- the rows: the metric filters the units share stay in WHERE; each column keeps its own filters'
  rows; a unit with no filter of its own read every row the others read. When every unit had
  filters of its own, the fused unit reads only rows meeting one of them, so it has exactly the
  groups the units had together;
- the values: a column aggregates exactly its old unit's rows of the group; where that unit had
  no row in the group, sum, avg, min, max and the percentiles are NULL over no rows as before,
  and counts are made NULL (aggregation.Input), as the stacked units gave.

Only units whose rows are the model's own rows are fused: no dimension through a one_to_many join
(their DISTINCT row sets would have to carry each filter), no own filter through one (a semi-join,
grouped with the shared conditions by join hop), no percentile computed through window columns
(MySQL, MariaDB), and only plain units (not running totals).
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from sqlglot import exp

from ..graph import SemanticGraph
from ..snippets import map_columns
from .dialects import DialectProfile
from .plan import FilterCondition, FilteredColumn, Plan, Reads, Unit, UnitKey
from .ranked import window_strategy


def fuse_units(plan: Plan, graph: SemanticGraph, profile: DialectProfile) -> Plan:
    """The plan with each set of fusable units of one model and offset made one unit, and its
    metrics pointed at that unit's columns."""
    families: dict[tuple[object, ...], list[Unit]] = {}
    for unit in plan.units:
        if unit.key.spec is None:
            families.setdefault((unit.key.model, unit.key.offset, unit.key.reduced), []).append(unit)
    moved: dict[tuple[str, str], exp.Column] = {}
    fused_units: dict[str, Unit] = {}  # first unit's alias → the fused unit
    gone: set[str] = set()
    for family in families.values():
        if len(family) < 2 or not _fusable(graph, profile, family):
            continue
        fused, columns = _fuse(family)
        fused_units[family[0].alias] = fused
        gone |= {u.alias for u in family[1:]}
        moved.update({key: exp.column(alias, table=fused.alias) for key, alias in columns.items()})
    if not moved:
        return plan
    units = tuple(fused_units.get(u.alias, u) for u in plan.units if u.alias not in gone)
    exprs = {
        name: map_columns(expr.copy(), lambda c: moved.get((c.table, c.name), c).copy())
        for name, expr in plan.metric_exprs.items()
    }
    return dataclasses.replace(plan, units=units, metric_exprs=MappingProxyType(exprs))


def _own(unit: Unit, shared: set[str]) -> list[FilterCondition]:
    return [
        c
        for c in unit.reads.conditions
        if isinstance(c, FilterCondition) and c.source is not None and c.source not in shared
    ]


def _fusable(graph: SemanticGraph, profile: DialectProfile, units: list[Unit]) -> bool:
    if any(step.fans_out for m in units[0].reads.dimensions for step in m.path):
        return False
    measures = graph.measures_by_model[units[0].key.model]
    if window_strategy(profile.percentiles, [measures[m] for u in units for m in u.measures]) is not None:
        return False
    shared = set.intersection(*(set(u.key.filters) for u in units))
    return not any(step.fans_out for u in units for c in _own(u, shared) for path in c.paths for step in path)


def _fuse(units: list[Unit]) -> tuple[Unit, dict[tuple[str, str], str]]:
    """One unit reading what `units` read, and where each of their columns went."""
    shared = set.intersection(*(set(u.key.filters) for u in units))
    first = units[0]
    own_sources = {c.source for u in units for c in _own(u, shared)}
    conditions = tuple(
        c for c in first.reads.conditions if not (isinstance(c, FilterCondition) and c.source in own_sources)
    )
    measures: dict[str, str] = {}
    filtered: dict[str, FilteredColumn] = {}
    columns: dict[tuple[str, str], str] = {}
    for unit in units:
        own = tuple(_own(unit, shared))
        for name, alias in unit.measures.items():
            new = f"m{len(measures) + len(filtered)}"
            if own:
                filtered[new] = FilteredColumn(name, own)
            else:
                measures[name] = new
            columns[(unit.alias, alias)] = new
    key = UnitKey(first.key.model, tuple(sorted(shared)), first.key.offset, reduced=first.key.reduced)
    fused = Unit(
        key,
        first.alias,
        MappingProxyType(measures),
        Reads(first.reads.base, first.reads.requests, first.reads.dimensions, conditions),
        MappingProxyType(filtered),
    )
    return fused, columns
