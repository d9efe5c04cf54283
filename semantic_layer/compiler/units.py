"""The plain unit: one aggregate SELECT over one model, fan-out safe (docs/semantics.md, fan-out).

Conditions go inline or into semi-joins (semijoin.py); dimensions through a one_to_many hop are
aggregated over DISTINCT rows (aggregation.py). Other kinds of unit have builders of their own,
chosen in builders.py.
"""

from __future__ import annotations

from sqlglot import exp

from ..timegrain import Offset
from .aggregation import group, measure_input
from .conditions import bound_conditions
from .context import UnitContext
from .members import member_value
from .plan import Unit
from .scope import JoinScope
from .semijoin import apply_conditions, fanout_prefixes


def build_plain_unit(ctx: UnitContext, unit: Unit) -> exp.Select:
    key = unit.key
    base = key.model
    scope = JoinScope(ctx.graph, base)
    members = unit.reads.dimensions
    joined = fanout_prefixes(members)
    dims = [(d.alias, member_value(scope, m, ctx.calendar, Offset())) for d, m in unit.reads.grouping]
    measures = ctx.graph.measures_by_model[base]
    inputs = [measure_input(scope, measures[name], alias) for name, alias in unit.measures.items()]
    where = apply_conditions(
        scope, bound_conditions(ctx, unit.reads, key.offset), joined, correlated=ctx.profile.correlated_exists
    )
    own_rows: dict[tuple[str | None, ...], exp.Expr] = {}
    for alias, column in unit.filtered.items():
        # A fused unit's filtered column (fuse.py): its own metric filters are to-one, so inline.
        sources = tuple(c.source for c in column.conditions)
        if sources not in own_rows:
            bound = bound_conditions(ctx, column.conditions, key.offset)
            own_rows[sources] = exp.and_(*(c.bind(scope) for c in bound))
        data = measure_input(scope, measures[column.measure], alias)
        data.own = own_rows[sources].copy()
        data.keep = data.own.copy() if data.keep is None else exp.and_(data.own.copy(), data.keep)
        inputs.append(data)
    if own_rows and not unit.measures:
        # Every fused unit had filters of its own: a row meeting none of them was in none of them.
        where.append(exp.or_(*(o.copy() for o in own_rows.values())))
    if any(m.metric_time for m in members):
        # A row without its metric time belongs to no period: it is left out, not grouped as NULL.
        where.append(exp.Not(this=exp.Is(this=scope.dimension(scope.metric_time_dimension()), expression=exp.Null())))
    fans_out = any(step.fans_out for m in members for step in m.path)
    return group(scope, dims, inputs, where, distinct_rows=fans_out, percentiles=ctx.profile.percentiles)


def dimension_values(ctx: UnitContext) -> exp.Select:
    """A query with no metrics: the distinct combinations of the requested dimensions."""
    reads = ctx.plan.values
    assert reads is not None
    scope = JoinScope(ctx.graph, reads.base)
    select = exp.select(
        *(member_value(scope, m, ctx.calendar, Offset()).as_(d.alias, copy=False) for d, m in reads.grouping)
    ).distinct(copy=False)
    where = [c.bind(scope) for c in bound_conditions(ctx, reads, Offset())]
    select = scope.apply_from(select)
    return select.where(exp.and_(*where), copy=False) if where else select
