"""Pass 2: one aggregate SELECT per unit, fan-out safe (docs/semantics.md, fan-out).

Three rules keep every base row counted once:
- a filter that reaches a one_to_many model the dimensions do not already join becomes a
  correlated EXISTS (a semi-join: "has at least one matching row");
- a filter on a one_to_many path the dimensions do join is applied inline, so filter and
  dimension speak of the same joined row;
- when a dimension comes through a one_to_many hop, the joined rows are first reduced to DISTINCT
  (primary key, dimension values, measure inputs) and aggregated after that, so sum, avg, median
  and the rest all see each base row once per group.

Filters are ANDed, so they hold for one joined row wherever their paths agree, exactly as if they
were written as one string with AND: every condition (where strings, structured filters, segments,
metric filters) that leaves the dimensions' joined rows through the same one_to_many hop goes into
one semi-join, in which each path is joined once. So two conditions on `order_lines` hold for one
line, and so do one on the line's part and one on its ship mode; one on `order_lines` and one on
`order_lines.shipments` hold for a line with such a shipment; two on `order_lines.shipments` hold
for one shipment. Below the shared hop, conditions share exactly the rows their paths share: two
on different one_to_many hops of the line would hold for one line, each for some row of its own.
Conditions on different one_to_many hops of the base (lines, payments) stay separate semi-joins,
each "has at least one". A semi-join below a hop the dimensions join is also correlated on that
hop's row, so it speaks of the dimension's line, not of any line of the order. Row policies take
to-one paths only and are always inline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlglot import exp

from .. import definitions as d
from ..access import CLAIM_MARKER, RowRule
from ..errors import ForbiddenError, QueryError, QueryValidationError
from ..graph import Path, SemanticGraph
from ..snippets import parse_snippet
from ..timegrain import Calendar, Offset, local_to_utc, py_shift
from .lineage import filtered_table_read
from .members import MemberRef, bind_tree, member_value, resolve_member, resolve_tree
from .plan import Plan, Unit
from .prejoin import project_before_joins
from .ranked import is_percentile, window_strategy, windowed_percentile, with_windows
from .scope import JoinScope
from .values import Params


@dataclass
class Condition:
    """A WHERE conjunct and the join paths it needs, bindable into any scope of the same base."""

    paths: list[Path]
    bind: Callable[[JoinScope], exp.Expr]


@dataclass
class UnitContext:
    graph: SemanticGraph
    plan: Plan
    params: Params
    dialect: str = "duckdb"  # the target: a few constructs (the time spine) are built per dialect

    @property
    def calendar(self) -> Calendar:
        return self.plan.calendar


def resolve_dimensions(ctx: UnitContext, base: str, context: str) -> list[MemberRef]:
    """Every requested dimension resolved from `base`; time dimensions default to day grain."""
    out = []
    for dim in ctx.plan.dimensions:
        try:
            member = resolve_member(ctx.graph, base, dim.ref)
        except QueryError as exc:
            raise type(exc)(f"{exc.message} (while grouping {context} by '{dim.ref}')") from None
        if member.dimension.dimension.type == "time" and member.grain is None:
            member = MemberRef(member.ref, "day", member.dimension, member.metric_time)
        out.append(member)
    return out


def conditions(ctx: UnitContext, base: str, offset: Offset, metric_filters: tuple[str, ...],
               *, time_range: bool = True) -> list[Condition]:
    graph, calendar = ctx.graph, ctx.calendar
    out: list[Condition] = []
    trees = list(ctx.plan.filters)
    trees += [parse_snippet(text, graph.settings.dialect) for text in metric_filters]
    for tree in trees:
        members = resolve_tree(graph, base, tree)
        out.append(Condition([m.path for m in members], partial(_bind_filter, tree=tree, calendar=calendar,
                                                                offset=offset)))
    for owner, model, where in ctx.plan.segments:
        path = graph.resolve_path(base, owner.split("."), what=f"segment '{owner}'")
        reached = path[-1].target if path else base
        if reached != model:
            raise QueryValidationError(f"segment '{owner}' reaches model '{reached}', not '{model}'")
        out.append(Condition([path], partial(_bind_segment, sql=where, path=path)))
    security = row_security(ctx, base)
    if security is not None:
        out.append(security)
    bounds = ctx.plan.time_bounds
    if time_range and (bounds.start or bounds.end):
        out.append(Condition([], lambda scope: time_range_condition(ctx, scope, offset)))
    return out


def row_security(ctx: UnitContext, base: str) -> Condition | None:
    """Row policies reach `base` along every to-one path to the filtered model (docs/semantics.md).

    A role none of whose rules reach `base`, and whose filtered tables `base` does not read, sees
    all of its rows, so the OR across roles is then true and no condition is added. A rule that
    cannot reach a `base` reading the rows it filters cannot be applied: the query is refused
    rather than answered with those rows unfiltered.
    """
    security = ctx.plan.row_security
    if security is None:
        return None
    per_role: list[list[tuple[Path, RowRule]]] = []
    stranded: list[tuple[RowRule, str]] = []
    for rules in security.rules:
        reached, missed = _reach(ctx.graph, base, rules)
        if not reached and not missed:
            return None
        per_role.append(reached)
        stranded += missed
    if stranded:
        rule, table = stranded[0]
        raise ForbiddenError(f"role '{rule.role}' may not query model '{base}': it reads table '{table}', whose rows "
                             f"that role sees only through the row policy on model '{rule.model}', and '{base}' has "
                             f"no to-one join path to '{rule.model}' to apply it on — the project needs a "
                             f"many_to_one join from '{base}' to '{rule.model}'")
    paths = [path for reached in per_role for path, _ in reached]
    return Condition(paths, partial(_bind_row_rules, per_role=per_role, ctx=ctx))


def _reach(graph: SemanticGraph, base: str,
           rules: tuple[RowRule, ...]) -> tuple[list[tuple[Path, RowRule]], list[tuple[RowRule, str]]]:
    """One role's rules as (path, rule) to apply to `base`, and (rule, table read) for each rule
    that no path carries to a `base` reading the rows it filters."""
    reached: list[tuple[Path, RowRule]] = []
    missed: list[tuple[RowRule, str]] = []
    for rule in rules:
        paths = to_one_paths(graph, base, rule.model)
        reached += [(path, rule) for path in paths]
        table = None if paths else filtered_table_read(graph, base, rule.model)
        if table is not None:
            missed.append((rule, table))
    return reached, missed


def to_one_paths(graph: SemanticGraph, base: str, model: str) -> list[Path]:
    """The nearest to-one paths from `base` to `model` (all of them when several are equally near).

    Farther paths are left alone: a ticket whose order is missing is still its own customer's ticket.
    """
    if base == model:
        return [()]
    paths = [p for p in graph.walk(base) if p[-1].target == model and not any(s.fans_out for s in p)]
    nearest = min((len(p) for p in paths), default=0)
    return [p for p in paths if len(p) == nearest]


def _bind_row_rules(scope: JoinScope, *, per_role: list[list[tuple[Path, RowRule]]], ctx: UnitContext) -> exp.Expr:
    security = ctx.plan.row_security
    assert security is not None
    roles = []
    for reached in per_role:
        parts = []
        for path, rule in reached:
            tree = scope.snippet(rule.where, path)
            for node in list(tree.find_all(exp.Placeholder)):
                name = str(node.name).removeprefix(CLAIM_MARKER)
                node.replace(ctx.params.slot(security.claim_slots[name]))
            parts.append(exp.paren(tree, copy=False))
        roles.append(exp.paren(exp.and_(*parts), copy=False))
    return exp.paren(exp.or_(*roles), copy=False)


def _bind_filter(scope: JoinScope, *, tree: exp.Expr, calendar: Calendar, offset: Offset) -> exp.Expr:
    return bind_tree(scope, tree, calendar, offset)


def _bind_segment(scope: JoinScope, *, sql: str, path: Path) -> exp.Expr:
    return scope.snippet(sql, path)


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


def fanout_prefixes(members: list[MemberRef]) -> set[Path]:
    return {m.path[:end] for m in members for end in range(1, len(m.path) + 1)}


def fanout_key(path: Path, joined: set[Path]) -> Path | None:
    """The prefix of `path` through its first one_to_many hop the dimensions do not join.

    None when the dimensions join every one_to_many hop of the path: a condition on it then reads
    the dimensions' own joined row and is safe inline.
    """
    for end, step in enumerate(path, start=1):
        if step.fans_out and path[:end] not in joined:
            return path[:end]
    return None


def semi_join_groups(conds: list[Condition], joined: set[Path]) -> dict[int, list[int]]:
    """The conditions that must share one semi-join: index of the group's first condition → members.

    Conditions whose paths leave the joined rows through the same one_to_many hop share it; a
    condition reaching several such hops (one where string over lines and payments) links their
    groups into one, as its single semi-join always did. Conditions absent from every group are
    applied inline.
    """
    groups: list[tuple[set[Path], list[int]]] = []
    for n, cond in enumerate(conds):
        keys = {key for key in (fanout_key(p, joined) for p in cond.paths) if key is not None}
        if not keys:
            continue
        linked = [g for g in groups if g[0] & keys]
        groups = [g for g in groups if not g[0] & keys]
        groups.append((keys.union(*(k for k, _ in linked)), sorted([m for _, ms in linked for m in ms] + [n])))
    return {members[0]: members for _, members in groups}


def apply_conditions(scope: JoinScope, conds: list[Condition], joined: set[Path]) -> list[exp.Expr]:
    """The WHERE conjuncts, in the order of the conditions; a group's semi-join where its first one is."""
    groups = semi_join_groups(conds, joined)
    grouped = {n for members in groups.values() for n in members}
    out = []
    for n, cond in enumerate(conds):
        if n in groups:
            out.append(semi_join(scope, [conds[m] for m in groups[n]], joined, f"s{n}_"))
        elif n not in grouped:
            out.append(cond.bind(scope))
    return out


def semi_join(outer: JoinScope, conds: list[Condition], joined: set[Path], prefix: str) -> exp.Expr:
    """EXISTS over the base model joined to the conditions' paths, all of them true of one joined row.

    Correlated on the base's primary key, and on the primary key of each one_to_many hop the
    conditions pass through that the dimensions join (the outer row's line, not just any line of
    the order). Those keys compare null-safe: on an order without lines the outer line is the
    LEFT JOIN's missing row, and an inline condition would be evaluated on that row too.
    """
    inner = JoinScope(outer.graph, outer.base, prefix=prefix)
    where = [cond.bind(inner) for cond in conds]
    keys: list[exp.Expr] = [exp.EQ(this=i, expression=o)
                            for i, o in zip(inner.primary_key(), outer.primary_key(), strict=True)]
    for hop in shared_hops(conds, joined):
        inner.need(hop)
        keys += [exp.NullSafeEQ(this=i, expression=o)
                 for i, o in zip(inner.primary_key(hop), outer.primary_key(hop), strict=True)]
    sub = inner.apply_from(exp.select(exp.Literal.number(1))).where(exp.and_(*keys, *where), copy=False)
    return exp.Exists(this=sub)


def shared_hops(conds: list[Condition], joined: set[Path]) -> list[Path]:
    """The joined one_to_many hops (as path prefixes) the conditions' paths pass through, in order."""
    hops = {path[:end]: None for cond in conds for path in cond.paths
            for end, step in enumerate(path, start=1) if step.fans_out and path[:end] in joined}
    return list(hops)


def measure_input(scope: JoinScope, measure: d.Measure) -> exp.Expr | None:
    """The per-row value a measure aggregates (None: count rows)."""
    value = None if measure.expr is None else scope.snippet(measure.expr, ())
    if measure.filter:
        keep = scope.snippet(measure.filter, ())
        value = exp.Case(ifs=[exp.If(this=keep, true=value if value is not None else exp.Literal.number(1))])
    return value


def aggregate(measure: d.Measure, value: exp.Expr | None) -> exp.Expr:
    if measure.non_additive is not None:
        raise QueryValidationError(
            f"measure '{measure.name}' is semi-additive (non_additive), which this version cannot "
            "aggregate yet — query a non-additive-free measure or wait for semi-additive support")
    if value is None:
        return exp.Count(this=exp.Star())
    agg = measure.agg
    if agg == "count":
        return exp.Count(this=value)
    if agg == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[value]))
    # Interpolated percentiles of exact decimals are not exact decimals: compute them in floating
    # point everywhere, so that no engine rounds 543.415 to its column's two decimals.
    if agg == "median":
        return exp.Median(this=exp.cast(value, exp.DataType.Type.DOUBLE))
    if agg == "percentile":
        return exp.PercentileCont(this=exp.cast(value, exp.DataType.Type.DOUBLE),
                                  expression=exp.Literal.number(measure.percentile))
    if agg == "avg":  # engines differ in the precision of AVG over integers and decimals; doubles agree
        return exp.Avg(this=exp.cast(value, exp.DataType.Type.DOUBLE))
    cls = {"sum": exp.Sum, "min": exp.Min, "max": exp.Max}[agg]
    return cls(this=value)


def build_unit(ctx: UnitContext, unit: Unit) -> exp.Select:
    key = unit.key
    if key.cumulative is not None:
        from .cumulative import build_cumulative_unit

        return build_cumulative_unit(ctx, unit)
    base = key.model
    scope = JoinScope(ctx.graph, base)
    members = resolve_dimensions(ctx, base, f"metrics on model '{base}'")
    joined = fanout_prefixes(members)
    dims = [(d.alias, member_value(scope, m, ctx.calendar, Offset()))
            for d, m in zip(ctx.plan.dimensions, members, strict=True)]
    measures = ctx.graph.measures_by_model[base]
    inputs = [(alias, measures[name], measure_input(scope, measures[name])) for name, alias in unit.measures.items()]
    where = apply_conditions(scope, conditions(ctx, base, key.offset, key.filters), joined)
    if any(m.metric_time for m in members):
        # A row without its metric time belongs to no period: it is left out, not grouped as NULL.
        where.append(exp.Not(this=exp.Is(this=scope.dimension(scope.metric_time_dimension()), expression=exp.Null())))
    fans_out = any(step.fans_out for m in members for step in m.path)
    return group(scope, dims, inputs, where, distinct_rows=fans_out, dialect=ctx.dialect)


def group(scope: JoinScope, dims: list[tuple[str, exp.Expr]],
          inputs: list[tuple[str, d.Measure, exp.Expr | None]], where: list[exp.Expr],
          *, distinct_rows: bool, dialect: str = "duckdb") -> exp.Select:
    """Aggregate `inputs` by `dims` over the scope.

    Directly when it can; through a row set first when joins fan out (DISTINCT rows) or when the
    target computes percentiles through window columns (see `ranked`).
    """
    windows = window_strategy(dialect, [m for _, m, _ in inputs])
    if not distinct_rows and windows is None:
        select = exp.select(*(e.as_(a) for a, e in dims),
                            *(aggregate(m, v).as_(a) for a, m, v in inputs))
        select = scope.apply_from(select)
        if where:
            select = select.where(exp.and_(*where), copy=False)
        if dims:
            select = select.group_by(*(e.copy() for _, e in dims), copy=False)
        return project_before_joins(select, scope.alias(()))
    keys = [k.as_(f"__pk{i}") for i, k in enumerate(scope.primary_key())] if distinct_rows else []
    rows = exp.select(*keys, *(e.as_(a) for a, e in dims),
                      *(v.as_(f"__in{i}") for i, (_, _, v) in enumerate(inputs) if v is not None))
    if distinct_rows:
        rows = rows.distinct()
    rows = scope.apply_from(rows)
    if where:
        rows = rows.where(exp.and_(*where), copy=False)
    rows = project_before_joins(rows, scope.alias(()))
    if windows is not None:
        rows = with_windows(rows, [a for a, _ in dims], [(i, m) for i, (_, m, _) in enumerate(inputs)], windows)

    def value(i: int, measure: d.Measure, v: exp.Expr | None) -> exp.Expr:
        if windows is not None and is_percentile(measure):
            return windowed_percentile(measure, i, "r", windows)
        return aggregate(measure, None if v is None else exp.column(f"__in{i}", table="r"))

    outer = exp.select(*(exp.column(a, table="r").as_(a) for a, _ in dims),
                       *(value(i, m, v).as_(a) for i, (a, m, v) in enumerate(inputs)))
    outer = outer.from_(rows.subquery("r"), copy=False)
    if dims:
        outer = outer.group_by(*(exp.column(a, table="r") for a, _ in dims), copy=False)
    return outer


def dimension_values(ctx: UnitContext) -> exp.Select:
    """A query with no metrics: the distinct combinations of the requested dimensions."""
    first = ctx.plan.dimensions[0]
    if first.is_metric_time:
        raise QueryValidationError("metric_time needs at least one metric (it is each metric's own time)")
    base = first.member.split(".")[0]
    if base not in ctx.graph.models:
        raise QueryValidationError(f"without metrics, the first dimension must start with a model name; "
                                   f"'{first.ref}' starts with '{base}'")
    scope = JoinScope(ctx.graph, base)
    members = resolve_dimensions(ctx, base, f"values of model '{base}'")
    select = exp.select(*(member_value(scope, m, ctx.calendar, Offset()).as_(d.alias)
                          for d, m in zip(ctx.plan.dimensions, members, strict=True))).distinct()
    if ctx.plan.time_bounds.start or ctx.plan.time_bounds.end:
        raise QueryValidationError("time_range filters metric_time, which needs at least one metric")
    where = [c.bind(scope) for c in conditions(ctx, base, Offset(), ())]
    select = scope.apply_from(select)
    return select.where(exp.and_(*where), copy=False) if where else select

