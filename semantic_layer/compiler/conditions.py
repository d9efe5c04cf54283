"""A unit's WHERE conditions: the query's filters, its metrics' filters, segments, row policies and
time_range, each with the join paths it needs (semijoin.py decides where each one goes).

They are resolved once, by the resolve pass, into the plan (`resolve_conditions`); the unit
builders bind those into their scopes (`bound_conditions`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from sqlglot import exp

from ..errors import QueryValidationError
from ..graph import SemanticGraph
from ..timegrain import Offset, local_to_utc, py_shift
from .context import UnitContext
from .members import bind_tree, resolve_tree
from .plan import (
    FilterCondition,
    PlannedCondition,
    Reads,
    RowSecurity,
    SegmentCondition,
    TimeRangeCondition,
)
from .scope import JoinScope
from .security import bind_row_policies, row_policy_condition
from .semijoin import Condition

Segment = tuple[str, str, str]  # (owner path as written, owning model, where snippet)


def resolve_conditions(
    graph: SemanticGraph,
    base: str,
    filters: Sequence[exp.Expr],
    segments: Sequence[Segment],
    security: RowSecurity | None,
    *,
    time_range: bool,
    metric_filters: Sequence[tuple[str, exp.Expr]] = (),
) -> tuple[PlannedCondition, ...]:
    """The conditions of a SELECT over `base`, in order: filters, metric filters (text, tree),
    segments, row policies, time_range."""
    out: list[PlannedCondition] = [FilterCondition(tree, tuple(resolve_tree(graph, base, tree))) for tree in filters]
    out += [FilterCondition(tree, tuple(resolve_tree(graph, base, tree)), text) for text, tree in metric_filters]
    for owner, model, where in segments:
        path = graph.resolve_path(base, owner.split("."), what=f"segment '{owner}'")
        reached = path[-1].target if path else base
        if reached != model:
            raise QueryValidationError(f"segment '{owner}' reaches model '{reached}', not '{model}'")
        out.append(SegmentCondition(where, path))
    policy = row_policy_condition(graph, base, security)
    if policy is not None:
        out.append(policy)
    if time_range:
        out.append(TimeRangeCondition())
    return tuple(out)


def bound_conditions(ctx: UnitContext, reads: Reads | Sequence[PlannedCondition], offset: Offset) -> list[Condition]:
    """The planned conditions of `reads` (or these), each bindable into a scope (offset: the unit's)."""
    conditions = reads.conditions if isinstance(reads, Reads) else reads
    return [Condition(list(cond.paths), partial(_bind, cond, ctx=ctx, offset=offset)) for cond in conditions]


def _bind(cond: PlannedCondition, scope: JoinScope, *, ctx: UnitContext, offset: Offset) -> exp.Expr:
    if isinstance(cond, FilterCondition):
        return bind_tree(scope, cond.tree, cond.members, ctx.calendar, offset)
    if isinstance(cond, SegmentCondition):
        return scope.snippet(cond.where, cond.path)
    if isinstance(cond, TimeRangeCondition):
        return time_range_condition(ctx, scope, offset)
    return bind_row_policies(scope, cond, ctx)


def time_range_condition(ctx: UnitContext, scope: JoinScope, offset: Offset) -> exp.Expr:
    """`time_range` on the raw column: local bounds moved back by the offset, then converted to UTC."""
    resolved = scope.metric_time_dimension()
    is_date = resolved.dimension.granularity == "day"
    column = scope.dimension(resolved)
    tz = ctx.calendar.timezone
    parts: list[exp.Expr] = []
    for factory, cls in ((ctx.plan.time_bounds.start, exp.GTE), (ctx.plan.time_bounds.end, exp.LT)):
        if factory is None:
            continue

        def bound(values: list, f: Callable = factory) -> object:  # type: ignore[type-arg]
            local = py_shift(f(values), -offset)
            return local.date() if is_date else local_to_utc(local, tz)

        parts.append(cls(this=column.copy(), expression=ctx.params.derived(bound)))
    return exp.and_(*parts)
