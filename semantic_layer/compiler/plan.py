"""The query plan: what to aggregate where, before any SQL exists.

A *unit* is one aggregation over one model with one set of metric-level filters, one time offset
and, for cumulative metrics, one window. Every requested metric is an expression over the columns
that units produce; units are combined on the requested dimensions. A unit's *kind* (plain, or
its spec's: cumulative, snapshot, conversion, retention) picks its builder in builders.py.

The resolve pass (resolve.py) builds the plan once per query shape and checks everything a
caller can get wrong on the way, so it holds members already resolved — for each unit the
requested dimensions and every condition's members and join paths, as seen from the unit's model
— and later passes never resolve a member name again. The plan is frozen: dataclasses, tuples and
read-only mappings. Its sqlglot trees are shared, so passes copy them before changing them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from sqlglot import exp

from ..access import RowRule
from ..graph import Path
from ..timegrain import Calendar, Offset
from .members import MemberRef


@dataclass(frozen=True)
class UnitSpec:
    """What makes a unit other than a plain aggregate; `kind` names its builder (builders.py) and
    `noun` its metrics in errors."""

    kind: ClassVar[str]
    noun: ClassVar[str]
    # Whether time_range is one of the unit's WHERE conditions; a kind that bounds its rows in a
    # way of its own (a cumulative window reads rows before the range) says False.
    time_range_filters_rows: ClassVar[bool] = True


@dataclass(frozen=True)
class CumulativeSpec(UnitSpec):
    """A running aggregate: over `window`, since the start of `grain_to_date`, or all-time."""

    kind: ClassVar[str] = "cumulative"
    noun: ClassVar[str] = "cumulative metrics"
    time_range_filters_rows: ClassVar[bool] = False
    window: Offset | None = None
    grain_to_date: str | None = None


@dataclass(frozen=True)
class SnapshotSpec(UnitSpec):
    """A semi-additive measure (`non_additive`): added up within each snapshot of `dimension`,
    and across time one snapshot per period — the last or first that has data — or the period's
    lowest or highest snapshot total (`window`: last, first, min, max)."""

    kind: ClassVar[str] = "snapshot"
    noun: ClassVar[str] = "semi-additive metrics"
    dimension: str = ""
    window: str = "last"


@dataclass(frozen=True)
class ConversionSpec(UnitSpec):
    """Base events (the rows of a count measure of the unit's model) and whether an event of the
    conversion measure with the same entity follows each one within `window` (conversion.py).

    Its unit has up to two columns per group, its leaves: the BASE events and the CONVERTED ones. The
    conversion events are read by the unit's second `Reads` (`Unit.other_reads`).
    """

    kind: ClassVar[str] = "conversion"
    noun: ClassVar[str] = "conversion metrics"
    BASE: ClassVar[str] = "base"
    CONVERTED: ClassVar[str] = "converted"
    # The conversion metric, named in errors; metrics defined alike (a rate and a count) share a unit.
    metric: str = field(compare=False)
    base_measure: str  # a count measure of the unit's model
    conversion_model: str
    conversion_measure: str
    entity: str  # a snippet over the columns of either model
    window: Offset | None  # None: any later conversion counts


@dataclass(frozen=True)
class RetentionSpec(UnitSpec):
    """Of the entities active in a period, those active again `offset` periods later
    (retention.py). Its unit has two columns, ACTIVE and RETAINED entity counts, per period."""

    kind: ClassVar[str] = "retention"
    noun: ClassVar[str] = "retention metrics"
    # time_range picks the periods P shown; their P+offset activity lies after it.
    time_range_filters_rows: ClassVar[bool] = False
    ACTIVE: ClassVar[str] = "active"
    RETAINED: ClassVar[str] = "retained"
    # The retention metric, named in errors; metrics defined alike share a unit.
    metric: str = field(compare=False)
    entity: str  # a snippet over the activity model's columns
    period: str
    offset: int


@dataclass(frozen=True)
class UnitKey:
    model: str
    filters: tuple[str, ...] = ()
    offset: Offset = field(default_factory=Offset)
    spec: UnitSpec | None = None
    # Requested dimensions (their aliases) the unit is not grouped by: a share's total, from a
    # ratio denominator's `reduce_by`. It is joined on the dimensions it keeps (combine.py).
    reduced: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "plain" if self.spec is None else self.spec.kind

    @property
    def noun(self) -> str:
        return "metrics" if self.spec is None else self.spec.noun

    @property
    def time_range_filters_rows(self) -> bool:
        return self.spec is None or self.spec.time_range_filters_rows


# -- conditions, resolved: each knows its join paths; conditions.py binds them into a scope --------
@dataclass(frozen=True)
class FilterCondition:
    """A where string, structured filter or metric filter over member refs, values as placeholders."""

    tree: exp.Expr
    members: tuple[MemberRef, ...]  # one per column of `tree`, in `find_all` order
    source: str | None = None  # the metric filter's text, for a condition that is one (fuse.py)

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(m.path for m in self.members)


@dataclass(frozen=True)
class SegmentCondition:
    """A segment's `where`, over the columns of the model at the end of `path`."""

    where: str
    path: Path

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.path,)


@dataclass(frozen=True)
class RowPolicyCondition:
    """Per role, the (to-one path, rule) pairs that carry its row rules to the unit's model."""

    per_role: tuple[tuple[tuple[Path, RowRule], ...], ...]

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(path for reached in self.per_role for path, _ in reached)


@dataclass(frozen=True)
class TimeRangeCondition:
    """`time_range` on the unit model's own time column (no join)."""

    @property
    def paths(self) -> tuple[Path, ...]:
        return ()


PlannedCondition = FilterCondition | SegmentCondition | RowPolicyCondition | TimeRangeCondition


@dataclass(frozen=True)
class Reads:
    """What one SELECT reads from its model: the requested dimensions it groups by (`requests`;
    all of them unless the unit is reduced), each resolved from the model (`dimensions`, time
    dimensions at day grain unless asked otherwise), and its WHERE conditions, in order."""

    base: str
    requests: tuple[DimensionRequest, ...]
    dimensions: tuple[MemberRef, ...]
    conditions: tuple[PlannedCondition, ...]

    @property
    def grouping(self) -> tuple[tuple[DimensionRequest, MemberRef], ...]:
        return tuple(zip(self.requests, self.dimensions, strict=True))


@dataclass(frozen=True)
class FilteredColumn:
    """A column of a fused unit (fuse.py) that aggregates `measure` over the unit's rows meeting
    `conditions` too: the metric filters of the unit it came from, beyond those the unit keeps."""

    measure: str
    conditions: tuple[FilterCondition, ...]


@dataclass(frozen=True)
class Unit:
    key: UnitKey
    alias: str
    measures: Mapping[str, str]  # measure name (a leaf's name, for a kind with leaves of its own) → column alias
    reads: Reads
    filtered: Mapping[str, FilteredColumn] = field(default_factory=lambda: MappingProxyType({}))  # alias → column
    # What the unit's kind reads from other models besides `reads`: a conversion unit's conversion events.
    other_reads: tuple[Reads, ...] = ()

    @property
    def column_aliases(self) -> list[str]:
        return [*self.measures.values(), *self.filtered]


@dataclass(frozen=True)
class DimensionRequest:
    """A requested dimension: `ref` as asked, `member` without its grain."""

    ref: str
    alias: str
    member: str
    grain: str | None

    @property
    def is_metric_time(self) -> bool:
        return self.member == "metric_time"


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    kind: str  # dimension | metric
    type: str  # string | number | boolean | date | timestamp
    format: str | None = None
    alias: str = ""


@dataclass(frozen=True)
class TimeBounds:
    """Param factories for the local start and end of `time_range` (either may be absent)."""

    start: Callable[[list[Any]], Any] | None
    end: Callable[[list[Any]], Any] | None


@dataclass(frozen=True)
class RowSecurity:
    """Per-role row rules (OR across roles, AND within one) and the value slot of each claim."""

    rules: tuple[tuple[RowRule, ...], ...]
    claim_slots: Mapping[str, int]


@dataclass(frozen=True)
class Plan:
    calendar: Calendar
    dimensions: tuple[DimensionRequest, ...]
    units: tuple[Unit, ...]
    values: Reads | None  # a query of dimensions alone: what its SELECT DISTINCT reads
    columns: tuple[ColumnInfo, ...]
    metric_exprs: Mapping[str, exp.Expr]  # requested + having-only metrics
    output_metrics: tuple[str, ...]
    having: tuple[exp.Expr, ...]
    time_bounds: TimeBounds
    order_by: tuple[tuple[str, bool], ...]  # (column alias, descending)
    limit: int | None
    offset: int | None
    warnings: tuple[str, ...]
    # When the caller set no limit: limits.default_rows. The statement asks for one row more, so
    # that an answer cut there says so instead of passing for whole.
    cap: int | None
    row_security: RowSecurity | None
