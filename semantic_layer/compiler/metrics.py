"""Metrics as expressions over unit columns.

Ratio, derived and cumulative metrics are expanded recursively down to *leaves*: a measure
aggregated under some filters, offset and window, a conversion metric's counts of base and
converted events (a rate is their ratio), or a retention metric's counts of active and retained
entities (its value is their ratio). Each distinct leaf becomes one column of one unit, so a
metric used twice (say revenue, and revenue inside average_order_value) is aggregated once.
Divisions are made safe everywhere: a zero denominator gives NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from .. import definitions as d
from ..errors import QueryError, QueryValidationError
from ..graph import SemanticGraph
from ..snippets import map_columns, parse_snippet
from ..timegrain import Offset
from .members import MemberRef, resolve_member
from .plan import (
    ConversionSpec,
    CumulativeSpec,
    DimensionRequest,
    RetentionSpec,
    SnapshotSpec,
    UnitKey,
    UnitSpec,
)


def _snapshot(
    name: str, model: str, measure: d.Measure, cumulative: CumulativeSpec | None
) -> CumulativeSpec | SnapshotSpec | None:
    """A leaf's spec: its cumulative window, or the snapshot rule of a semi-additive measure."""
    if measure.non_additive is None:
        return cumulative
    if cumulative is not None:
        raise QueryValidationError(
            f"metric '{name}': '{model}.{measure.name}' is semi-additive (non_additive: "
            f"{measure.non_additive.dimension}); its snapshots do not add up over time, so it "
            "cannot be accumulated — use it as a simple metric"
        )
    return SnapshotSpec(measure.non_additive.dimension, measure.non_additive.window)


def _identity(member: MemberRef) -> tuple[object, ...]:
    """What a dimension ref points at, whatever its spelling: metric_time, or a path and a dimension."""
    if member.metric_time:
        return ("metric_time",)
    return (member.path, member.dimension.model, member.dimension.dimension.name)


def safe_divide(numerator: exp.Expr, denominator: exp.Expr) -> exp.Expr:
    """Float division (no integer truncation on any engine), NULL when the denominator is 0."""
    return exp.Div(
        this=exp.cast(exp.paren(numerator, copy=False), exp.DataType.Type.DOUBLE),
        expression=exp.Nullif(this=exp.paren(denominator, copy=False), expression=exp.Literal.number(0)),
    )


@dataclass
class UnitDraft:
    """A unit as expansion allocates it: its key, alias and leaf columns (measure → column alias)."""

    key: UnitKey
    alias: str
    measures: dict[str, str] = field(default_factory=dict)


class MetricExpander:
    """Expands metric names into expressions, allocating units and leaf columns as it goes.

    `dimensions` are the query's: a share's denominator (`reduce_by`) is a unit grouped by those
    of them it does not reduce."""

    def __init__(self, graph: SemanticGraph, dimensions: Sequence[DimensionRequest] = ()):
        self.graph = graph
        self.dimensions = dimensions
        self.units: dict[UnitKey, UnitDraft] = {}
        self.used: list[str] = []  # every metric touched, for deprecation warnings

    def expand(self, name: str) -> exp.Expr:
        return self._expr(name, (), Offset(), None, ())

    def _unit_key(
        self, model: str, filters: tuple[str, ...], offset: Offset, spec: UnitSpec | None, reduce_by: tuple[str, ...]
    ) -> UnitKey:
        """The unit a leaf reads: its filters as a set (their order does not change the rows)."""
        return UnitKey(model, tuple(sorted(set(filters))), offset, spec, self._reduced(model, reduce_by))

    def _reduced(self, model: str, reduce_by: tuple[str, ...]) -> tuple[str, ...]:
        """Aliases of the requested dimensions that `reduce_by` names, as seen from `model` (a
        dimension may be asked for by another path to the same column's model and name)."""
        if not reduce_by:
            return ()
        targets = {_identity(resolve_member(self.graph, model, ref)) for ref in reduce_by}
        return tuple(d.alias for d in self.dimensions if self._points_at(model, d.member) in targets)

    def _points_at(self, model: str, ref: str) -> tuple[object, ...] | None:
        try:
            return _identity(resolve_member(self.graph, model, ref))
        except QueryError:
            return None  # not reachable from the model: grouping by it fails later, with context

    def _leaf(self, key: UnitKey, measure: str) -> exp.Expr:
        unit = self.units.get(key)
        if unit is None:
            unit = self.units[key] = UnitDraft(key, f"u{len(self.units)}")
        column = unit.measures.get(measure)
        if column is None:
            column = unit.measures[measure] = f"m{len(unit.measures)}"
        return exp.column(column, table=unit.alias)

    def _expr(
        self,
        name: str,
        filters: tuple[str, ...],
        offset: Offset,
        cumulative: CumulativeSpec | None,
        stack: tuple[str, ...],
        reduce_by: tuple[str, ...] = (),
    ) -> exp.Expr:
        if name in stack:
            raise QueryValidationError(f"metric '{name}' depends on itself: {' → '.join((*stack, name))}")
        metric = self.graph.metric(name)
        if name not in self.used:
            self.used.append(name)
        stack = (*stack, name)
        if metric.filter:
            filters = (*filters, metric.filter)
        result = self._by_type(metric, filters, offset, cumulative, stack, reduce_by)
        if metric.fill_nulls_with is not None:
            fill = metric.fill_nulls_with
            literal = exp.Literal.number(int(fill) if float(fill).is_integer() else fill)
            result = exp.Coalesce(this=result, expressions=[literal])
        return result

    def _by_type(
        self,
        metric: d.Metric,
        filters: tuple[str, ...],
        offset: Offset,
        cumulative: CumulativeSpec | None,
        stack: tuple[str, ...],
        reduce_by: tuple[str, ...],
    ) -> exp.Expr:
        """The metric's own expression, before fill_nulls_with."""
        if isinstance(metric, d.SimpleMetric):
            model, measure = self.graph.measure(metric.measure)
            spec = _snapshot(metric.name, model, measure, cumulative)
            key = self._unit_key(model, filters, offset, spec, reduce_by)
            return self._leaf(key, measure.name)
        if isinstance(metric, d.RatioMetric):
            num = self._side(metric.numerator, filters, offset, cumulative, stack, reduce_by)
            den = self._side(metric.denominator, filters, offset, cumulative, stack, reduce_by)
            return safe_divide(num, den)
        if isinstance(metric, d.DerivedMetric):
            return self._derived(metric, filters, offset, cumulative, stack, reduce_by)
        if isinstance(metric, d.CumulativeMetric):
            window = Offset.of(*d.parse_interval(metric.window)) if metric.window else None
            spec = CumulativeSpec(window, metric.grain_to_date)
            return self._expr(metric.metric, filters, offset, spec, stack, reduce_by)
        if isinstance(metric, d.ConversionMetric):
            return self._conversion(metric, filters, offset, reduce_by)
        if isinstance(metric, d.RetentionMetric):
            return self._retention(metric, filters, offset, reduce_by)
        raise QueryValidationError(f"metric '{metric.name}': {metric.type} metrics are not compiled by this version")

    def _conversion(
        self, metric: d.ConversionMetric, filters: tuple[str, ...], offset: Offset, reduce_by: tuple[str, ...]
    ) -> exp.Expr:
        """One unit per conversion metric, filters, offset and reduced dimensions: its base and
        converted event counts. (Only a simple metric is accumulated, so no cumulative window reaches
        here.)"""
        base_model, base = self.graph.measure(metric.base)
        conversion_model, conversion = self.graph.measure(metric.conversion)
        window = Offset.of(*d.parse_interval(metric.window)) if metric.window else None
        spec = ConversionSpec(metric.name, base.name, conversion_model, conversion.name, metric.entity, window)
        key = self._unit_key(base_model, filters, offset, spec, reduce_by)
        converted = self._leaf(key, ConversionSpec.CONVERTED)
        if metric.calculation == "count":
            return converted
        return safe_divide(converted, self._leaf(key, ConversionSpec.BASE))

    def _retention(
        self, metric: d.RetentionMetric, filters: tuple[str, ...], offset: Offset, reduce_by: tuple[str, ...]
    ) -> exp.Expr:
        """One unit per retention metric, filters, offset and reduced dimensions: its counts of
        active and retained entities per period, whose ratio is the metric."""
        spec = RetentionSpec(metric.name, metric.entity, metric.period, metric.offset)
        model = metric.activity
        key = self._unit_key(model, filters, offset, spec, reduce_by)
        return safe_divide(self._leaf(key, RetentionSpec.RETAINED), self._leaf(key, RetentionSpec.ACTIVE))

    def _side(
        self,
        ref: d.MetricRef,
        filters: tuple[str, ...],
        offset: Offset,
        cumulative: CumulativeSpec | None,
        stack: tuple[str, ...],
        reduce_by: tuple[str, ...],
    ) -> exp.Expr:
        extra = (ref.filter,) if ref.filter else ()
        reduced = tuple(dict.fromkeys((*reduce_by, *ref.reduce_by)))
        return self._expr(ref.metric, (*filters, *extra), offset, cumulative, stack, reduced)

    def _derived(
        self,
        metric: d.DerivedMetric,
        filters: tuple[str, ...],
        offset: Offset,
        cumulative: CumulativeSpec | None,
        stack: tuple[str, ...],
        reduce_by: tuple[str, ...],
    ) -> exp.Expr:
        inputs = {i.name: i for i in metric.inputs}
        tree = parse_snippet(metric.expr, self.graph.settings.dialect)
        # Make the formula's own divisions safe before inputs (with their own divisions) go in.
        tree = tree.transform(lambda n: safe_divide(n.this, n.expression) if isinstance(n, exp.Div) else n, copy=False)

        def value(column: exp.Column) -> exp.Expr:
            spec = inputs.get(column.name) or d.DerivedInput(metric=column.name)
            extra = (spec.filter,) if spec.filter else ()
            shift = Offset.of(*d.parse_interval(spec.offset)) if spec.offset else Offset()
            value = self._expr(spec.metric, (*filters, *extra), offset + shift, cumulative, stack, reduce_by)
            return exp.paren(value, copy=False)

        return exp.paren(map_columns(tree, value), copy=False)
