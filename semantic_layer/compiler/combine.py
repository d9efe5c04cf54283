"""Pass 3: combine the units on the requested dimensions, then finalize (having, order, limit).

Units are never joined to each other directly (that would multiply rows). Each unit has at most one
row per dimension combination, so the units are stacked with UNION ALL — each filling its own
columns, NULL elsewhere — and grouped by the dimensions: GROUP BY treats NULLs as equal, needs no
FULL OUTER JOIN and hashes on every engine. Two kinds of unit are left-joined to that instead,
null-safe, on the dimensions they keep: an offset unit (which stacks only its periods, moved
forward by the offset) on `unit period = period − offset`, and a share's total (a unit reduced by
some dimensions) on the dimensions it is still grouped by — each of its rows meets every row of
the combinations it totals.
"""

from __future__ import annotations

from sqlglot import exp

from ..errors import QueryValidationError
from ..snippets import map_columns
from ..timegrain import as_period_value, offset_fits_grain, py_truncate, shift
from .context import UnitContext
from .nodes import cross_join, left_join, table, table_alias
from .plan import DimensionRequest, Plan, Unit
from .shares import point_dimensions

COMBINED = "combined"


def combine(ctx: UnitContext, selects: dict[str, exp.Select]) -> exp.Select:
    plan = ctx.plan
    units = list(plan.units)
    aliases = [d.alias for d in plan.dimensions]
    time_dims = [d for d in plan.dimensions if d.is_metric_time]
    offset_units = [u for u in units if u.key.offset]
    if offset_units:
        _check_offsets(offset_units, time_dims)
    joined = [u for u in units if u.key.offset or u.key.reduced]
    stacked = [u for u in units if not u.key.reduced]  # an offset unit stacks its periods too
    metric_cols = [plan.metric_exprs[m].copy().as_(m, copy=False) for m in plan.metric_exprs]

    ctes: list[tuple[str, exp.Expr]] = [(u.alias, selects[u.alias]) for u in units]
    if not aliases:
        select = exp.select(*metric_cols).from_(table(units[0].alias), copy=False)
        for unit in units[1:]:
            select = cross_join(select, table(unit.alias))
    elif len(units) == 1 and not joined:
        metric_cols = [point_dimensions(c, units[0].alias) for c in metric_cols]
        select = exp.select(*(exp.column(a, table=units[0].alias).as_(a, copy=False) for a in aliases), *metric_cols)
        select = select.from_(table(units[0].alias), copy=False)
    else:
        ctes.append((COMBINED, _stack(ctx, stacked)))
        plain = {u.alias for u in stacked if not u.key.offset}
        metric_cols = [
            point_dimensions(_from_stack(plan.metric_exprs[m].copy(), plain), COMBINED).as_(m, copy=False)
            for m in plan.metric_exprs
        ]
        select = exp.select(*(exp.column(a, table=COMBINED).as_(a, copy=False) for a in aliases), *metric_cols)
        select = select.from_(table(COMBINED), copy=False)
        for unit in joined:
            select = left_join(select, table(unit.alias), _key_match(unit))
    for alias, body in ctes:
        select = select.with_(table_alias(alias), as_=body, copy=False)
    return finalize(plan, select)


def _stack(ctx: UnitContext, units: list[Unit]) -> exp.Select:
    """UNION ALL of every unit's rows, grouped by the dimensions: one row per combination."""
    dims = ctx.plan.dimensions
    value_columns = [(u, m) for u in units if not u.key.offset for m in u.column_aliases]
    parts: list[exp.Select] = []
    for unit in units:
        cols: list[exp.Expr] = []
        for dim in dims:
            col: exp.Expr = exp.column(dim.alias, table=unit.alias)
            if dim.is_metric_time and unit.key.offset:
                col = as_period_value(shift(col, unit.key.offset), dim.grain or "day")
            cols.append(col.as_(dim.alias, copy=False))
        for owner, measure in value_columns:
            value = exp.column(measure, table=unit.alias) if owner is unit else _typed_null(owner.alias, measure)
            cols.append(value.as_(_stacked(owner.alias, measure), copy=False))
        part = exp.select(*cols).from_(table(unit.alias), copy=False)
        if unit.key.offset and any(d.is_metric_time for d in dims):
            part = _keep_in_range(ctx, part, unit)
        parts.append(part)
    union: exp.Expr = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False, copy=False)
    grouped = exp.select(
        *(exp.column(d.alias, table="s").as_(d.alias, copy=False) for d in dims),
        *(
            exp.Max(this=exp.column(_stacked(u.alias, m), table="s")).as_(_stacked(u.alias, m), copy=False)
            for u, m in value_columns
        ),
    )
    return grouped.from_(exp.Subquery(this=union, alias=table_alias("s")), copy=False).group_by(
        *(exp.column(d.alias, table="s") for d in dims), copy=False
    )


def _typed_null(unit: str, measure: str) -> exp.Expr:
    """NULL of the column's own type: strict engines (PostgreSQL) will not unite untyped NULLs with numbers.

    An uncorrelated scalar subquery over no rows is NULL, typed like the column, and evaluated once.
    """
    empty = (
        exp.select(exp.column(measure, table=unit))
        .from_(table(unit), copy=False)
        .where(exp.EQ(this=exp.Literal.number(1), expression=exp.Literal.number(0)), copy=False)
    )
    return exp.Subquery(this=empty)


def _stacked(unit: str, measure: str) -> str:
    return f"{unit}__{measure}"


def _from_stack(expr: exp.Expr, plain: set[str]) -> exp.Expr:
    """Point a metric's columns of plain units at the stacked result (offset units stay joined)."""
    return map_columns(expr, lambda c: exp.column(_stacked(c.table, c.name), table=COMBINED) if c.table in plain else c)


def _check_offsets(offset_units: list[Unit], time_dims: list[DimensionRequest]) -> None:
    """Offsets align periods on the one metric_time grain; without one they shift the time range."""
    if not time_dims:
        return
    if len(time_dims) > 1:
        raise QueryValidationError(
            "metrics with a time offset align periods on one 'metric_time:<grain>' "
            "dimension; ask for a single metric_time grain"
        )
    grain = time_dims[0].grain or "day"
    for unit in offset_units:
        if not offset_fits_grain(unit.key.offset, grain):
            raise QueryValidationError(
                f"an offset of {unit.key.offset.label()} does not align with grain '{grain}' — "
                "query a grain the offset is a whole number of (e.g. month for '1 month')"
            )


def _keep_in_range(ctx: UnitContext, part: exp.Select, unit: Unit) -> exp.Select:
    """Moved periods that land outside time_range are not the query's periods."""
    bounds = ctx.plan.time_bounds
    dim = next(d for d in ctx.plan.dimensions if d.is_metric_time)
    moved = part.selects[[d.alias for d in ctx.plan.dimensions].index(dim.alias)].this
    conds: list[exp.Expr] = []
    grain = dim.grain or "day"
    if bounds.start is not None:
        start = bounds.start
        conds.append(
            exp.GTE(
                this=moved.copy(),
                expression=exp.cast(
                    ctx.params.derived(lambda v: py_truncate(start(v), grain, ctx.calendar)),
                    exp.DataType.Type.TIMESTAMP,
                ),
            )
        )
    if bounds.end is not None:
        end = bounds.end
        conds.append(
            exp.LT(this=moved.copy(), expression=exp.cast(ctx.params.derived(end), exp.DataType.Type.TIMESTAMP))
        )
    return part.where(exp.and_(*conds), copy=False) if conds else part


def _key_match(unit: Unit) -> exp.Expr:
    """The combined row's dimensions that `unit` is grouped by equal its own (TRUE when a share's
    total is reduced by all of them: its one row meets every row)."""
    conds = []
    for dim in unit.reads.requests:
        key: exp.Expr = exp.column(dim.alias, table=COMBINED)
        if dim.is_metric_time and unit.key.offset:
            key = as_period_value(shift(key, -unit.key.offset), dim.grain or "day")
        conds.append(exp.NullSafeEQ(this=exp.column(dim.alias, table=unit.alias), expression=key))
    return exp.and_(*conds) if conds else exp.true()


def finalize(plan: Plan, select: exp.Select) -> exp.Select:
    outputs = [d.alias for d in plan.dimensions] + list(plan.output_metrics)
    if plan.having or len(plan.metric_exprs) > len(plan.output_metrics):
        inner = select
        select = exp.select(*(exp.column(c, table="q") for c in outputs)).from_(
            inner.subquery("q", copy=False), copy=False
        )
        if plan.having:
            conds = []
            for tree in plan.having:
                conds.append(map_columns(tree.copy(), lambda c: exp.column(c.name, table="q")))
            select = select.where(exp.and_(*conds), copy=False)
    order = [exp.Ordered(this=exp.column(alias), desc=desc, nulls_first=False) for alias, desc in plan.order_by]
    if order:
        select = select.order_by(*order, copy=False)
    if plan.limit is not None:
        # one more row: was it cut?
        select = select.limit(exp.Literal.number(plan.limit + (plan.cap is not None)), copy=False)
    if plan.offset:
        select = select.offset(exp.Literal.number(plan.offset), copy=False)
    return select
