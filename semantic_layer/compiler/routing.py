"""Pass 1b: answer units from rollups (docs/rollups.md) — coverage, then a rewrite of the source.

A unit is *covered* by a rollup of its model, stored in the query's time zone, when the rollup
stores every measure it aggregates, every dimension it groups by and every member its conditions
read, metric_time at a grain the stored one rolls up to. A segment or a row policy is covered when
each column its SQL reads is a stored dimension that is that very column (a row policy filtering
`region` on customers, and the rollup storing `customers.region`, whose SQL is `region`). Measures
that do not add up again (count_distinct, median, percentile) are covered only by a rollup grouped
exactly as the unit is.
The plan is answered from rollups only when every unit is covered; each unit then reads the
smallest rollup covering it.

The rewrite changes only where a unit reads from: its model becomes the rollup's stored model
(rollups/shape.py), whose dimensions are the stored columns and whose measures re-aggregate them,
and its members are resolved there. Every later pass and builder runs unchanged on it. An avg is
read as its stored sum and count, and divided where the metric uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ..access import RowRule
from ..graph import Path, ResolvedDimension
from ..snippets import map_columns, parse_snippet
from ..timegrain import Calendar, offset_fits_grain, py_truncate
from .members import MemberRef
from .metrics import safe_divide
from .plan import (
    CumulativeSpec,
    FilterCondition,
    Plan,
    PlannedCondition,
    Reads,
    RowPolicyCondition,
    SegmentCondition,
    Unit,
)

if TYPE_CHECKING:
    from ..rollups.shape import RollupShape, StoredDimension

# The grains a stored grain rolls up to exactly, beyond itself (fiscal periods start on a month).
_COARSER = {
    "day": ("week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year"),
    "month": ("quarter", "year", "fiscal_quarter", "fiscal_year"),
    "quarter": ("year",),
    "fiscal_quarter": ("fiscal_year",),
}
SUM_PART, COUNT_PART = "sum", "count"


def rolls_up(stored: str, asked: str) -> bool:
    return asked == stored or asked in _COARSER.get(stored, ())


@dataclass(frozen=True)
class RollupCatalog:
    """The rollups a query may be answered from now (built from the current definition, fresh
    enough), smallest first; `key` tells one catalogue from another in the statement cache."""

    shapes: tuple[RollupShape, ...]
    key: tuple[Any, ...]


@dataclass(frozen=True)
class Routed:
    """A plan answered from rollups: the rewritten plan, the rollups it reads (by name, in unit
    order, once each) and the grains its time_range bounds must fall on for the answer to be exact."""

    plan: Plan
    rollups: tuple[str, ...]
    grains: tuple[str, ...]


def route(plan: Plan, shapes: Sequence[RollupShape]) -> Routed | None:
    """The plan rewritten onto the smallest covering rollup per unit, or None when some unit (or a
    query of dimensions alone) is not covered: it is then answered from the source."""
    if not plan.units:
        return None
    rewritten: list[Unit] = []
    used: list[RollupShape] = []
    exprs = dict(plan.metric_exprs)
    for unit in plan.units:
        shape = next((s for s in shapes if s.timezone == plan.calendar.timezone and _covers(s, unit)), None)
        if shape is None:
            return None
        new_unit, divided = _rewrite(shape, unit)
        rewritten.append(new_unit)
        exprs = {name: _divide(expr, divided) for name, expr in exprs.items()}
        if shape not in used:
            used.append(shape)
    routed = dataclasses.replace(plan, units=tuple(rewritten), metric_exprs=MappingProxyType(exprs))
    return Routed(routed, tuple(s.name for s in used), tuple(dict.fromkeys(s.grain for s in used)))


def aligned(bounds: Sequence[datetime | None], grains: Sequence[str], calendar: Calendar) -> bool:
    """Whether every given time_range bound (local time) starts a period of every grain: a rollup
    holds whole periods, so a range cutting one is answered from the source."""
    return all(b is None or py_truncate(b, g, calendar) == b for b in bounds for g in grains)


# -- coverage --------------------------------------------------------------------------------------
def _covers(shape: RollupShape, unit: Unit) -> bool:
    spec = unit.key.spec
    if unit.key.model != shape.model or unit.other_reads or unit.filtered:
        return False
    if spec is not None and not (isinstance(spec, CumulativeSpec) and _accumulates(shape, spec)):
        return False
    if not offset_fits_grain(unit.key.offset, shape.grain):
        return False
    stored = shape.measures
    if any(name not in stored for name in unit.measures):
        return False
    if any(_stored(shape, m) is None for m in unit.reads.dimensions):
        return False
    if any(_moved_condition(shape, c) is None for c in unit.reads.conditions):
        return False
    if any(stored[name].exact_only for name in unit.measures):
        return _grouped_exactly(shape, unit)
    return True


def _accumulates(shape: RollupShape, spec: CumulativeSpec) -> bool:
    """A running total is read from daily rows only: a window's edges and an as-of-end day fall on days."""
    return shape.grain == "day" and (spec.window is None or offset_fits_grain(spec.window, "day"))


def _stored(shape: RollupShape, member: MemberRef) -> StoredDimension | str | None:
    """The stored dimension a member is read from (metric_time: its grain), or None."""
    if member.metric_time:
        return member.grain if member.grain is not None and rolls_up(shape.grain, member.grain) else None
    dim = member.dimension.dimension
    if dim.type == "time" and member.grain is None:
        return None  # compared as the raw timestamp, which the rollup does not keep
    path = tuple(step.alias for step in member.path)
    for stored in shape.dimensions:
        spot, model, name, grain = stored.identity
        same = (spot, model, name) == (path, member.dimension.model, dim.name)
        if same and (grain is None or rolls_up(grain, member.grain or "")):
            return stored
    return None


def _grouped_exactly(shape: RollupShape, unit: Unit) -> bool:
    """Grouped by every stored dimension at its stored grain and by metric_time at the stored grain:
    each group is one stored row, read as it is."""
    if unit.key.spec is not None:
        return False
    times = [m for m in unit.reads.dimensions if m.metric_time]
    others = [m for m in unit.reads.dimensions if not m.metric_time]
    if len(times) != 1 or times[0].grain != shape.grain or len(others) != len(shape.dimensions):
        return False
    found = {_exactly(shape, m) for m in others}
    return None not in found and len(found) == len(shape.dimensions)


def _exactly(shape: RollupShape, member: MemberRef) -> str | None:
    """The stored column holding this member at exactly its grain."""
    stored = _stored(shape, member)
    if stored is None or isinstance(stored, str):
        return None
    asked = member.grain if member.dimension.dimension.type == "time" else None
    return stored.column if asked == stored.grain else None


# -- the rewrite -----------------------------------------------------------------------------------
def _rewrite(shape: RollupShape, unit: Unit) -> tuple[Unit, dict[str, tuple[str, str]]]:
    """The unit reading the rollup's stored model; and for each avg column, its sum and count columns."""
    model = shape.model_name
    measures: dict[str, str] = {}
    divided: dict[str, tuple[str, str]] = {}
    for name, alias in unit.measures.items():
        columns = shape.measures[name].columns
        if SUM_PART in columns:
            measures[columns[SUM_PART]], measures[columns[COUNT_PART]] = f"{alias}s", f"{alias}c"
            divided[alias] = (f"{alias}s", f"{alias}c")
        else:
            measures[next(iter(columns.values()))] = alias
    reads = unit.reads
    conditions = tuple(c for c in (_moved_condition(shape, c) for c in reads.conditions) if c is not None)
    new_reads = Reads(model, reads.requests, tuple(_moved(shape, m) for m in reads.dimensions), conditions)
    key = dataclasses.replace(unit.key, model=model)
    return dataclasses.replace(unit, key=key, measures=MappingProxyType(measures), reads=new_reads), {
        f"{unit.alias}.{alias}": parts for alias, parts in divided.items()
    }


def _moved(shape: RollupShape, member: MemberRef) -> MemberRef:
    """The member as the stored model's column (metric_time as its own stored column)."""
    model = shape.model_name
    stored_model = shape.stored_model()
    if member.metric_time:
        time = next(dim for dim in stored_model.dimensions if dim.name == stored_model.time)
        return MemberRef(member.ref, member.grain, ResolvedDimension((), model, time), True)
    stored = _stored(shape, member)
    assert stored is not None and not isinstance(stored, str)
    column = next(dim for dim in stored_model.dimensions if dim.name == stored.column)
    return MemberRef(member.ref, member.grain, ResolvedDimension((), model, column), False)


def _moved_condition(shape: RollupShape, cond: PlannedCondition) -> PlannedCondition | None:
    """The condition over the stored model, or None when it reads what the rollup does not keep."""
    if isinstance(cond, FilterCondition):
        if any(_stored(shape, m) is None for m in cond.members):
            return None
        return dataclasses.replace(cond, members=tuple(_moved(shape, m) for m in cond.members))
    if isinstance(cond, SegmentCondition):
        where = _stored_sql(shape, cond.where, cond.path)
        return None if where is None else SegmentCondition(where, ())
    if isinstance(cond, RowPolicyCondition):
        per_role = []
        for reached in cond.per_role:
            moved = [(rule, _stored_sql(shape, rule.where, path)) for path, rule in reached]
            if any(where is None for _, where in moved):
                return None
            per_role.append(tuple(((), RowRule(shape.model_name, str(w), r.claims, r.role)) for r, w in moved))
        return RowPolicyCondition(tuple(per_role))
    return cond


def _stored_sql(shape: RollupShape, sql: str, path: Path) -> str | None:
    """SQL over the columns of the model at `path` as SQL over the stored columns, or None when it
    reads a column that is not stored as it is (or a column of a further join)."""
    tree = parse_snippet(sql, shape.dialect)
    spot = tuple(step.alias for step in path)
    model = path[-1].target if path else shape.model
    columns: dict[str, str] = {}
    for column in tree.find_all(exp.Column):
        stored = next(
            (s for s in shape.dimensions if not column.table and s.holds_column(spot, model, column.name)), None
        )
        if stored is None:
            return None
        columns[column.name] = stored.column
    moved = map_columns(tree.copy(), lambda c: exp.column(columns[c.name]))
    return str(moved.sql(shape.dialect))


def _divide(expr: exp.Expr, divided: dict[str, tuple[str, str]]) -> exp.Expr:
    """An avg column read as its stored sum over its stored count."""
    if not divided:
        return expr

    def value(column: exp.Column) -> exp.Expr:
        parts = divided.get(f"{column.table}.{column.name}")
        if parts is None:
            return column
        total, count = (exp.column(p, table=column.table) for p in parts)
        return safe_divide(total, count)

    return map_columns(expr.copy(), value)
