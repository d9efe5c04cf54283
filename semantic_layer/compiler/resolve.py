"""Pass 1: resolve a query against the semantic graph into a plan.

Everything a user can get wrong is checked here, before any SQL is built: unknown members (with a
suggestion), grains, having and order_by refs, limits, deprecated metrics (a warning), and then,
for each unit in turn, every member and join path as seen from the unit's model, and the row
policies that reach it. Each value compared with a member is recorded with that member's type, to
check every query's values. Later passes read members only from the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from types import MappingProxyType
from typing import Any

from sqlglot import exp

from ..errors import LimitExceededError, QueryError, QueryValidationError, UnknownMemberError, did_you_mean
from ..filters import LOCAL_PREFIX, parse_filter
from ..graph import SemanticGraph
from ..query import Filter, Query
from ..snippets import parse_snippet
from ..timegrain import Calendar, to_local_naive
from .conditions import Segment, resolve_conditions
from .conversion import conversion_reads
from .members import MemberRef, member_column, ref_of, resolve_member, split_grain
from .metrics import MetricExpander, UnitDraft
from .plan import ColumnInfo, ConversionSpec, DimensionRequest, Plan, Reads, RowSecurity, TimeBounds, Unit
from .typecheck import check_filter_types
from .values import Extracted, Params, check_value

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ)


def column_alias(ref: str) -> str:
    """A SQL-safe alias for a member ref: 'customers.region' → 'customers__region'."""
    return ref.replace(".", "__").replace(":", "__")


def plan_query(
    graph: SemanticGraph, query: Query, ex: Extracted, params: Params, calendar: Calendar, security: RowSecurity | None
) -> Plan:
    dialect = graph.settings.dialect
    dims = _dimensions(query)
    expander = MetricExpander(graph, dims)
    metric_exprs = _expand_requested(expander, query.metrics)
    output_metrics = list(query.metrics)
    clash = {column_alias(d.ref) for d in dims} & set(output_metrics)
    if clash:
        raise QueryValidationError(f"'{clash.pop()}' names both a metric and a dimension column")
    having = _having(graph, query, ex, params, expander, metric_exprs)

    typing_models = _typing_models(expander, dims)

    def member_type(ref: str) -> str | None:
        return _member_type(graph, typing_models, ref)

    filters = [
        _with_params(_typed_where(shape, text, dialect, member_type), slots, params, member_type)
        for text, (shape, slots) in zip(query.where, ex.where, strict=True)
    ]
    filters += [
        _structured(f, slots, params, member_type(f.member)) for f, slots in zip(query.filters, ex.filters, strict=True)
    ]
    bounds = _time_bounds(ex, calendar.timezone)
    segments = _segments(graph, query)
    order_by = _order(query, dims, output_metrics)
    limit = _limit(graph, query)
    if not output_metrics and not dims:  # `having` alone adds units but no column
        raise QueryValidationError("a query needs at least one metric or one dimension")

    time_range = bounds.start is not None or bounds.end is not None
    units = [_unit(graph, draft, dims, filters, segments, security, time_range) for draft in expander.units.values()]
    values = None if units else _values(graph, dims, filters, segments, security, time_range)
    # A unit grouped by every dimension (a share's numerator is) types the dimension columns.
    whole = next((u.reads for u in units if not u.key.reduced), values)
    assert whole is not None

    return Plan(
        calendar=calendar,
        dimensions=tuple(dims),
        units=tuple(units),
        values=values,
        columns=_columns(graph, dims, whole.dimensions, output_metrics),
        metric_exprs=MappingProxyType(metric_exprs),
        output_metrics=tuple(output_metrics),
        having=tuple(having),
        time_bounds=bounds,
        order_by=tuple(order_by),
        limit=limit,
        offset=query.offset,
        warnings=_deprecation_warnings(graph, expander.used),
        cap=None if query.limit is not None else limit,
        row_security=security,
    )


def _unit(
    graph: SemanticGraph,
    draft: UnitDraft,
    dims: list[DimensionRequest],
    filters: list[exp.Expr],
    segments: Sequence[Segment],
    security: RowSecurity | None,
    time_range: bool,
) -> Unit:
    """A unit with the dimensions it groups by and its conditions resolved from its model (and,
    for a conversion unit, its conversion events' conditions from the conversion model)."""
    key, model = draft.key, draft.key.model
    grouped = tuple(d for d in dims if d.alias not in key.reduced)
    members = _resolve_dimensions(graph, list(grouped), model, f"{key.noun} on model '{model}'")
    measures = MappingProxyType(dict(draft.measures))
    metric_filters = [(text, parse_snippet(text, graph.settings.dialect)) for text in key.filters]
    bounded = time_range and key.time_range_filters_rows
    if isinstance(key.spec, ConversionSpec):
        reads, events = conversion_reads(
            graph, key, grouped, members, filters, segments, security, time_range=bounded, metric_filters=metric_filters
        )
        return Unit(key, draft.alias, measures, reads, other_reads=(events,))
    conditions = resolve_conditions(
        graph, model, filters, segments, security, time_range=bounded, metric_filters=metric_filters
    )
    return Unit(key, draft.alias, measures, Reads(model, grouped, members, conditions))


def _expand_requested(expander: MetricExpander, names: tuple[str, ...]) -> dict[str, exp.Expr]:
    metric_exprs: dict[str, exp.Expr] = {}
    for name in names:
        if name in metric_exprs:
            raise QueryValidationError(f"metric '{name}' is asked for twice")
        metric_exprs[name] = expander.expand(name)
    return metric_exprs


def _having(
    graph: SemanticGraph,
    query: Query,
    ex: Extracted,
    params: Params,
    expander: MetricExpander,
    metric_exprs: dict[str, exp.Expr],
) -> list[exp.Expr]:
    """`having` conditions over metrics; a metric named only there is computed too (not output)."""
    having = []
    for text, (shape, slots) in zip(query.having, ex.having, strict=True):
        tree = _with_params(
            parse_filter(shape, graph.settings.dialect, what="having", original=text), slots, params, lambda _: "number"
        )  # having compares metrics, and every metric is a number
        for column in tree.find_all(exp.Column):
            name = column.name
            if column.table or name not in graph.metrics:
                raise UnknownMemberError(
                    f"having '{text}': '{column.sql()}' is not a metric{did_you_mean(column.sql(), graph.metrics)}"
                )
            if name not in metric_exprs:
                metric_exprs[name] = expander.expand(name)
        having.append(tree)
    return having


def _deprecation_warnings(graph: SemanticGraph, used: Iterable[str]) -> tuple[str, ...]:
    warnings = []
    for name in used:
        metric = graph.metrics[name]
        if metric.status == "deprecated":
            instead = f" — use '{metric.replaced_by}' instead" if metric.replaced_by else ""
            warnings.append(f"metric '{name}' is deprecated{instead}")
    return tuple(warnings)


def _time_bounds(ex: Extracted, tz: str) -> TimeBounds:
    start, end = ex.start_slot, ex.end_slot
    return TimeBounds(
        start=None if start is None else partial(_local_bound, slot=start, tz=tz),
        end=None if end is None else partial(_local_bound, slot=end, tz=tz),
    )


def _resolve_dimensions(
    graph: SemanticGraph, dims: list[DimensionRequest], base: str, context: str
) -> tuple[MemberRef, ...]:
    """Every requested dimension resolved from `base`; time dimensions default to day grain."""
    out = []
    for dim in dims:
        try:
            member = resolve_member(graph, base, dim.ref)
        except QueryError as exc:
            raise type(exc)(f"{exc.message} (while grouping {context} by '{dim.ref}')") from None
        if member.dimension.dimension.type == "time" and member.grain is None:
            member = MemberRef(member.ref, "day", member.dimension, member.metric_time)
        out.append(member)
    return tuple(out)


def _values(
    graph: SemanticGraph,
    dims: list[DimensionRequest],
    filters: list[exp.Expr],
    segments: Sequence[Segment],
    security: RowSecurity | None,
    time_range: bool,
) -> Reads:
    """What a query with no metrics reads: the first dimension's model, joined to the others."""
    first = dims[0]
    if first.is_metric_time:
        raise QueryValidationError("metric_time needs at least one metric (it is each metric's own time)")
    base = first.member.split(".")[0]
    if base not in graph.models:
        raise QueryValidationError(
            f"without metrics, the first dimension must start with a model name; '{first.ref}' starts with '{base}'"
        )
    members = _resolve_dimensions(graph, dims, base, f"values of model '{base}'")
    if time_range:
        raise QueryValidationError("time_range filters metric_time, which needs at least one metric")
    conditions = resolve_conditions(graph, base, filters, segments, security, time_range=False)
    return Reads(base, tuple(dims), members, conditions)


def _columns(
    graph: SemanticGraph, dims: list[DimensionRequest], members: tuple[MemberRef, ...], metrics: list[str]
) -> tuple[ColumnInfo, ...]:
    """The result's columns: dimensions typed as the first unit resolves them (time as a date, or a
    timestamp at hour grain), then metrics."""
    out = []
    for dim, member in zip(dims, members, strict=True):
        kind: str = member.dimension.dimension.type
        if kind == "time":
            kind = "timestamp" if member.grain == "hour" else "date"
        out.append(ColumnInfo(dim.ref, "dimension", kind, member.dimension.dimension.format, dim.alias))
    for name in metrics:
        out.append(ColumnInfo(name, "metric", "number", graph.metrics[name].format, name))
    return tuple(out)


def _local_bound(values: list[Any], *, slot: int, tz: str) -> Any:
    return to_local_naive(values[slot], tz)


def _dimensions(query: Query) -> list[DimensionRequest]:
    out: list[DimensionRequest] = []
    for ref in query.dimensions:
        member, grain = split_grain(ref)
        if any(d.ref == ref for d in out):
            raise QueryValidationError(f"dimension '{ref}' is asked for twice")
        out.append(DimensionRequest(ref, column_alias(ref), member, grain))
    return out


def _typing_models(expander: MetricExpander, dims: list[DimensionRequest]) -> list[str]:
    """The models filter members are resolved from to learn their types, in order: the first
    unit's (as for the result's columns), or for a query of dimensions alone the first dimension's
    model; then the conversion models of conversion units, which read the filters their base
    models cannot."""
    if not expander.units:
        return [dims[0].member.split(".")[0]] if dims else []
    keys = list(expander.units)
    conversion = [k.spec.conversion_model for k in keys if isinstance(k.spec, ConversionSpec)]
    return list(dict.fromkeys([keys[0].model, *conversion]))


def _member_type(graph: SemanticGraph, models: list[str], ref: str) -> str | None:
    """The type of the dimension `ref` names from the first of `models` it resolves from, or None
    when it resolves from none (the unit builder reports that, with the context it has)."""
    for model in models:
        try:
            return resolve_member(graph, model, ref).dimension.dimension.type
        except QueryError:
            continue
    return None


def _typed_where(shape: str, text: str, dialect: str, member_type: Callable[[str], str | None]) -> exp.Expr:
    tree = parse_filter(shape, dialect, what="where", original=text)
    check_filter_types(tree, member_type, what="where", original=text)
    return tree


def _with_params(
    tree: exp.Expr, slots: list[int], params: Params, member_type: Callable[[str], str | None]
) -> exp.Expr:
    """Swap the filter's local literal markers for the query-wide placeholders, recording the
    member each literal is compared with."""
    for node in list(tree.find_all(exp.Placeholder)):
        slot = slots[int(str(node.name)[len(LOCAL_PREFIX) :])]
        member = _compared_member(node)
        if member is not None:
            ref = ref_of(member)
            params.compare(slot, ref, member_type(ref))
        node.replace(params.slot(slot))
    for flag in tree.find_all(exp.Boolean):  # TRUE and FALSE are part of the shape: checked once, here
        member = _compared_member(flag)
        if member is not None:
            check_value(flag.this, ref_of(member), member_type(ref_of(member)))
    return tree


def _compared_member(value: exp.Expr) -> exp.Column | None:
    """The member a literal is compared with — `m = v`, `v < m`, `m IN (v, …)`, `m BETWEEN v AND w`,
    in parentheses or signed — or None when the literal is used otherwise (in arithmetic, as an
    argument), where the member's type says nothing about the literal's."""
    node = value
    while isinstance(node.parent, exp.Paren | exp.Neg):
        node = node.parent
    parent = node.parent
    if isinstance(parent, COMPARISONS):
        other = parent.expression if node.arg_key == "this" else parent.this
    elif (isinstance(parent, exp.In) and node.arg_key == "expressions") or (
        isinstance(parent, exp.Between) and node.arg_key in ("low", "high")
    ):
        other = parent.this
    else:
        return None
    other = other.unnest()
    return other if isinstance(other, exp.Column) else None


def _structured(f: Filter, slots: list[int], params: Params, kind: str | None) -> exp.Expr:
    col = member_column(f.member)
    vals = [params.slot(s) for s in slots]
    op = f.op
    text_op = op in ("contains", "starts_with")
    if text_op and kind in ("number", "time", "boolean"):
        raise QueryValidationError(
            f"filter on '{f.member}': op '{op}' looks for text, and '{f.member}' is a "
            f"{kind} — compare it with equals, in, gt, lt or between"
        )
    for slot in slots:  # a substring is text, whatever the member's type
        params.compare(slot, f.member, None if text_op else kind)
    return _FILTER_OPS[op](col, vals)


def _substring_at(col: exp.Expr, value: exp.Expr) -> exp.Expr:
    return exp.StrPosition(this=col, substr=value)


# A structured filter's op as the condition it builds from the member's column and the bound values.
_FILTER_OPS: dict[str, Callable[[exp.Expr, Sequence[exp.Expr]], exp.Expr]] = {
    "equals": lambda col, v: exp.EQ(this=col, expression=v[0]),
    "not_equals": lambda col, v: exp.NEQ(this=col, expression=v[0]),
    "gt": lambda col, v: exp.GT(this=col, expression=v[0]),
    "gte": lambda col, v: exp.GTE(this=col, expression=v[0]),
    "lt": lambda col, v: exp.LT(this=col, expression=v[0]),
    "lte": lambda col, v: exp.LTE(this=col, expression=v[0]),
    "in": lambda col, v: exp.In(this=col, expressions=v),
    "not_in": lambda col, v: exp.Not(this=exp.In(this=col, expressions=v)),
    "between": lambda col, v: exp.Between(this=col, low=v[0], high=v[1]),
    "contains": lambda col, v: exp.GT(this=_substring_at(col, v[0]), expression=exp.Literal.number(0)),
    "starts_with": lambda col, v: exp.EQ(this=_substring_at(col, v[0]), expression=exp.Literal.number(1)),
    "is_null": lambda col, v: exp.Is(this=col, expression=exp.Null()),
    "is_not_null": lambda col, v: exp.Not(this=exp.Is(this=col, expression=exp.Null())),
}


def _segments(graph: SemanticGraph, query: Query) -> list[Segment]:
    """(owner path as written, owning model, where snippet) per requested segment."""
    out = []
    for ref in query.segments:
        owner, _, name = ref.rpartition(".")
        model = owner.rsplit(".", 1)[-1]
        segments = graph.segments_by_model.get(model)
        if not owner or segments is None or name not in segments:
            known = [f"{m}.{s}" for m, segs in graph.segments_by_model.items() for s in segs]
            raise UnknownMemberError(f"unknown segment '{ref}'{did_you_mean(ref, known)}")
        out.append((owner, model, segments[name].where))
    return out


def _order(query: Query, dims: list[DimensionRequest], metrics: list[str]) -> list[tuple[str, bool]]:
    known = {d.ref: d.alias for d in dims} | {m: m for m in metrics}
    if not query.order_by:
        return [(d.alias, False) for d in dims]
    out = []
    for item in query.order_by:
        desc = item.startswith("-")
        ref = item[1:] if desc else item
        if ref not in known:
            raise QueryValidationError(
                f"order_by '{ref}' is not among the query's metrics and dimensions"
                f"{did_you_mean(ref, known)} — add it to the query to sort by it"
            )
        out.append((known[ref], desc))
    return out


def _limit(graph: SemanticGraph, query: Query) -> int:
    limits = graph.settings.limits
    if query.limit is None:
        return min(limits.default_rows, limits.max_rows)
    if query.limit > limits.max_rows:
        raise LimitExceededError(
            f"limit {query.limit} exceeds the project's max_rows {limits.max_rows} — "
            "ask for fewer rows or page with offset"
        )
    return query.limit
