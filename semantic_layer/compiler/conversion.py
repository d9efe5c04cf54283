"""Conversion units (docs/semantics.md, conversion metrics).

A base event is a row of the base measure: a row of its model that the measure counts (its
`filter` holds and, for a count of an `expr`, the expr is not NULL). It converts when a conversion
event — a row of the conversion measure, counted the same way — with the same entity happens at
or after it and at most `window` later, both ends inclusive. Times are compared on the local clock
of the query's time zone, where the window is calendar arithmetic, as every window of the layer
is. A base event converts at most once, however many conversions follow it.

One statement per unit, keyed by the requested dimensions like every unit:

    WITH __r AS (the base events: primary key, dimension values, entity, local time),
         __c AS (the conversion events: entity, local time),
         __h AS (the primary keys of the base events that some conversion event follows)
    SELECT dimensions, COUNT(*) AS <base>,
           COUNT(*) FILTER (WHERE __r.__pk0 IN (SELECT __pk0 FROM __h)) AS <converted>
    FROM __r GROUP BY dimensions

`__h` is a semi-join on the entity, so a base event counts once however many conversions follow
it, and no base event is paired with another entity's conversions. DialectProfile.exists_semi_joins
says how each target runs it fastest: EXISTS and IN where they are hash semi-joins, elsewhere a join
to DISTINCT conversion events, and the converted base events are those a LEFT JOIN to the DISTINCT
keys of `__h` finds. A dimension through a one_to_many join repeats a base event once per
group, as everywhere (DISTINCT rows); it counts once in each, converted or not as a whole.

The base events are grouped and filtered as the rows of any unit of the base model; a filter that
does not resolve there but on the conversion model narrows the conversion events instead
(`conversion_reads`), and row policies narrow both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlglot import exp

from .. import definitions as d
from ..errors import QueryError
from ..graph import SemanticGraph
from ..timegrain import Calendar, Offset, shift
from .conditions import Segment, bound_conditions, resolve_conditions
from .context import UnitContext
from .members import MemberRef, member_value
from .nodes import inner_join, left_join, table, table_alias
from .plan import ConversionSpec, DimensionRequest, Reads, RowSecurity, Unit, UnitKey
from .prejoin import project_before_joins
from .scope import JoinScope, check_grain, period_of
from .semijoin import apply_conditions, fanout_prefixes

ROWS, EVENTS, HITS = "__r", "__c", "__h"
ENTITY, TIME = "__e", "__t"


# -- planning: which side each condition narrows ------------------------------------------------
def conversion_reads(
    graph: SemanticGraph,
    key: UnitKey,
    requests: tuple[DimensionRequest, ...],
    members: tuple[MemberRef, ...],
    filters: Sequence[exp.Expr],
    segments: Sequence[Segment],
    security: RowSecurity | None,
    *,
    time_range: bool,
    metric_filters: Sequence[tuple[str, exp.Expr]],
) -> tuple[Reads, Reads]:
    """What a conversion unit reads: its base events, and its conversion events.

    Each filter, segment and metric filter is read on the base model when it resolves there, else
    on the conversion model; row policies apply to both models, time_range to the base events only.
    """
    spec = key.spec
    assert isinstance(spec, ConversionSpec)
    base, other = key.model, spec.conversion_model

    def on_base(filters: Sequence[exp.Expr] = (), segments: Sequence[Segment] = ()) -> bool:
        def probe(model: str) -> object:
            return resolve_conditions(graph, model, filters, segments, None, time_range=False)

        return _on_base(spec, base, probe)

    base_filters, other_filters = _split(filters, lambda tree: on_base(filters=[tree]))
    base_segments, other_segments = _split(segments, lambda segment: on_base(segments=[segment]))
    base_metric, other_metric = _split(metric_filters, lambda item: on_base(filters=[item[1]]))
    base_side = resolve_conditions(
        graph, base, base_filters, base_segments, security, time_range=time_range, metric_filters=base_metric
    )
    other_side = resolve_conditions(
        graph, other, other_filters, other_segments, security, time_range=False, metric_filters=other_metric
    )
    return Reads(base, requests, members, base_side), Reads(other, (), (), other_side)


T = TypeVar("T")


def _split(items: Sequence[T], on_base: Callable[[T], bool]) -> tuple[list[T], list[T]]:
    base: list[T] = []
    other: list[T] = []
    for item in items:
        (base if on_base(item) else other).append(item)
    return base, other


def _on_base(spec: ConversionSpec, base: str, resolve: Callable[[str], object]) -> bool:
    """Whether a condition is read on the base model (it resolves there) rather than on the
    conversion model; one that resolves on neither is refused with the base model's reason."""
    try:
        resolve(base)
        return True
    except QueryError as exc:
        try:
            resolve(spec.conversion_model)
        except QueryError:
            raise type(exc)(
                f"{exc.message} (a filter of conversion metric '{spec.metric}' is read on its base model "
                f"'{base}', or else on its conversion model '{spec.conversion_model}' as a whole)"
            ) from None
        return False


# -- building -------------------------------------------------------------------------------------
def build_conversion_unit(ctx: UnitContext, unit: Unit) -> exp.Select:
    spec = unit.key.spec
    assert isinstance(spec, ConversionSpec)
    (events,) = unit.other_reads
    fans_out = any(step.fans_out for m in unit.reads.dimensions for step in m.path)
    rows, keys = _base_rows(ctx, unit, spec, distinct=fans_out)
    semi = ctx.profile.exists_semi_joins
    dims = [(d.alias, _dimension(m, ctx.calendar, d.alias)) for d, m in unit.reads.grouping]
    columns = {ConversionSpec.BASE: exp.Count(this=exp.Star()), ConversionSpec.CONVERTED: _converted(keys, semi)}
    select = exp.select(
        *(e.as_(a, copy=False) for a, e in dims),
        *(columns[leaf].copy().as_(alias, copy=False) for leaf, alias in unit.measures.items()),
    )
    select = select.with_(table_alias(ROWS), as_=rows, copy=False)
    conversions = _conversion_rows(ctx, unit, spec, events, distinct=not semi)
    select = select.with_(table_alias(EVENTS), as_=conversions, copy=False)
    # A key met twice is one IN hit, but two join partners: joined, each key must come once.
    select = select.with_(table_alias(HITS), as_=_hits(keys, spec.window, semi=semi, distinct=not semi), copy=False)
    select = select.from_(table(ROWS), copy=False)
    if not semi:
        on = [exp.EQ(this=exp.column(k, table=HITS), expression=exp.column(k, table=ROWS)) for k in keys]
        select = left_join(select, table(HITS), exp.and_(*on))
    if dims:
        select = select.group_by(*(e.copy() for _, e in dims), copy=False)
    return select


def _converted(keys: list[str], semi: bool) -> exp.Expr:
    """The count of base events among the hits: those whose key is IN them, where that is a hash
    semi-join, else those the LEFT JOIN to the (DISTINCT) hits finds a row for."""
    if not semi:
        return exp.Count(this=exp.column(keys[0], table=HITS))
    columns = [exp.column(k, table=ROWS) for k in keys]
    probe = columns[0] if len(columns) == 1 else exp.Tuple(expressions=columns)
    hit = exp.In(this=probe, query=exp.select(*(exp.column(k, table=HITS) for k in keys)).from_(table(HITS)).subquery())
    return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=hit))


def _dimension(member: MemberRef, calendar: Calendar, alias: str) -> exp.Expr:
    """A dimension of the result from the base events: metric_time is the period of their local
    time, which is converted to the query's zone once per row; the others are columns of theirs."""
    if not member.metric_time:
        return exp.column(alias, table=ROWS)
    check_grain(member.dimension, member.grain)
    return period_of(exp.column(TIME, table=ROWS), member.grain or "day", calendar)


def _event_rows(scope: JoinScope, measure: d.Measure) -> list[exp.Expr]:
    """The rows a measure counts: those its filter keeps and, when it has an expr, where that is not NULL."""
    out = [scope.snippet(measure.filter, ())] if measure.filter else []
    if measure.expr is not None:
        out.append(exp.Not(this=exp.Is(this=scope.snippet(measure.expr, ()), expression=exp.Null())))
    return out


def _base_rows(ctx: UnitContext, unit: Unit, spec: ConversionSpec, *, distinct: bool) -> tuple[exp.Select, list[str]]:
    """The base events with their key, dimension values, entity and local time (DISTINCT when a
    dimension repeats them), and the names of the key columns."""
    scope = JoinScope(ctx.graph, unit.key.model)
    members = unit.reads.dimensions
    calendar = ctx.calendar
    dims = [(d.alias, member_value(scope, m, calendar, Offset())) for d, m in unit.reads.grouping if not m.metric_time]
    where = apply_conditions(
        scope,
        bound_conditions(ctx, unit.reads, unit.key.offset),
        fanout_prefixes(members),
        correlated=ctx.profile.correlated_exists,
    )
    where += _event_rows(scope, ctx.graph.measures_by_model[unit.key.model][spec.base_measure])
    if any(m.metric_time for m in members):
        # A row without its metric time belongs to no period: it is left out, not grouped as NULL.
        where.append(exp.Not(this=exp.Is(this=scope.dimension(scope.metric_time_dimension()), expression=exp.Null())))
    keys = [f"__pk{i}" for i in range(len(scope.primary_key()))]
    select = exp.select(
        *(k.as_(name, copy=False) for k, name in zip(scope.primary_key(), keys, strict=True)),
        *(e.as_(a, copy=False) for a, e in dims),
        scope.snippet(spec.entity, ()).as_(ENTITY, copy=False),
        scope.metric_time(calendar, None).as_(TIME, copy=False),
    )
    select = scope.apply_from(select.distinct(copy=False) if distinct else select)
    if where:
        select = select.where(exp.and_(*where), copy=False)
    return project_before_joins(select, scope.alias(())), keys


def _conversion_rows(ctx: UnitContext, unit: Unit, spec: ConversionSpec, reads: Reads, *, distinct: bool) -> exp.Select:
    """The conversion events: entity and local time of each row of the conversion measure that
    the conditions on the conversion model keep."""
    scope = JoinScope(ctx.graph, spec.conversion_model)
    where = apply_conditions(
        scope, bound_conditions(ctx, reads, unit.key.offset), set(), correlated=ctx.profile.correlated_exists
    )
    where += _event_rows(scope, ctx.graph.measures_by_model[spec.conversion_model][spec.conversion_measure])
    select = exp.select(
        scope.snippet(spec.entity, ()).as_(ENTITY, copy=False),
        scope.metric_time(ctx.calendar, None).as_(TIME, copy=False),
    )
    select = scope.apply_from(select.distinct(copy=False) if distinct else select)
    if where:
        select = select.where(exp.and_(*where), copy=False)
    return project_before_joins(select, scope.alias(()))


def _hits(keys: list[str], window: Offset | None, *, semi: bool, distinct: bool) -> exp.Select:
    """The keys of the base events some conversion event follows: an EXISTS, or a join."""
    base_time = exp.column(TIME, table=ROWS)
    follows: list[exp.Expr] = [exp.GTE(this=exp.column(TIME, table=EVENTS), expression=base_time)]
    if window is not None:
        follows.append(exp.LTE(this=exp.column(TIME, table=EVENTS), expression=shift(base_time.copy(), window)))
    same = exp.EQ(this=exp.column(ENTITY, table=EVENTS), expression=exp.column(ENTITY, table=ROWS))
    select = exp.select(*(exp.column(k, table=ROWS).as_(k, copy=False) for k in keys)).from_(table(ROWS), copy=False)
    if semi:
        probe = exp.select(exp.Literal.number(1)).from_(table(EVENTS), copy=False)
        select = select.where(exp.Exists(this=probe.where(exp.and_(same, *follows), copy=False)), copy=False)
    else:
        select = inner_join(select, table(EVENTS), same).where(exp.and_(*follows), copy=False)
    return select.distinct(copy=False) if distinct else select
