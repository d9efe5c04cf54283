"""The semi-additive unit: snapshots added up across dimensions, never across time.

Open pipeline is recorded once a day per opportunity. Summed over opportunities it is the pipeline
of that day; summed over days it means nothing. So the unit is a plain unit grouped by the
snapshot as well (each snapshot's total per group, through the same joins, filters and fan-out
rules as any measure), and then one snapshot per period is kept:

- `last` / `first`: the latest / earliest snapshot that has data in the period, among all the
  query's rows — not the calendar's last day, and not each group's own last day: a group with
  nothing on that day has nothing at the period's end. Without a time dimension the period is the
  whole time range (or all data).
- `min` / `max`: each group's lowest / highest snapshot total in the period.
"""

from __future__ import annotations

import dataclasses

from sqlglot import exp

from ..graph import ResolvedDimension
from .context import UnitContext
from .members import MemberRef
from .plan import DimensionRequest, SnapshotSpec, Unit
from .units import build_plain_unit

SNAPSHOT = "__snapshot"
EDGE = "__edge"
EDGES: dict[str, type[exp.AggFunc]] = {"last": exp.Max, "first": exp.Min}
EXTREMES: dict[str, type[exp.AggFunc]] = {"min": exp.Min, "max": exp.Max}


def build_snapshot_unit(ctx: UnitContext, unit: Unit) -> exp.Select:
    spec = unit.key.spec
    assert isinstance(spec, SnapshotSpec)
    per_snapshot = build_plain_unit(ctx, _grouped_by_snapshot(ctx, unit, spec)).subquery("s", copy=False)
    dims = [exp.column(d.alias) for d in unit.reads.requests]
    values = [exp.column(alias) for alias in unit.column_aliases]
    if spec.window in EXTREMES:
        pick = EXTREMES[spec.window]
        select = exp.select(*dims, *(pick(this=v).as_(v.name, copy=False) for v in values)).from_(per_snapshot)
        return select.group_by(*(d.copy() for d in dims), copy=False) if dims else select
    periods = [exp.column(d.alias) for d, m in unit.reads.grouping if _is_period(m, spec)]
    edge = exp.Window(this=EDGES[spec.window](this=exp.column(SNAPSHOT)), partition_by=periods)
    ranked = exp.select(*dims, *values, exp.column(SNAPSHOT), edge.as_(EDGE, copy=False)).from_(per_snapshot)
    kept = exp.EQ(this=exp.column(SNAPSHOT), expression=exp.column(EDGE))
    return (
        exp.select(*(d.copy() for d in dims), *(v.copy() for v in values))
        .from_(ranked.subquery("r", copy=False), copy=False)
        .where(kept, copy=False)
    )


def _grouped_by_snapshot(ctx: UnitContext, unit: Unit, spec: SnapshotSpec) -> Unit:
    """The unit as a plain one grouped by the snapshot too (its raw value: only its order matters)."""
    model = unit.key.model
    dimension = ResolvedDimension((), model, ctx.graph.dimensions_by_model[model][spec.dimension])
    reads = dataclasses.replace(
        unit.reads,
        requests=(*unit.reads.requests, DimensionRequest(SNAPSHOT, SNAPSHOT, SNAPSHOT, None)),
        dimensions=(*unit.reads.dimensions, MemberRef(SNAPSHOT, None, dimension, False)),
    )
    return dataclasses.replace(unit, key=dataclasses.replace(unit.key, spec=None), reads=reads)


def _is_period(member: MemberRef, spec: SnapshotSpec) -> bool:
    """A requested dimension that cuts time into periods: metric_time, or the snapshot dimension
    at some grain. Other dimensions are groups, which share their period's edge."""
    return member.metric_time or (not member.path and member.dimension.dimension.name == spec.dimension)
