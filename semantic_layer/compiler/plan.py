"""The query plan: what to aggregate where, before any SQL exists.

A *unit* is one aggregation over one model with one set of metric-level filters, one time offset
and, for cumulative metrics, one window. Every requested metric is an expression over the columns
that units produce; units are combined on the requested dimensions. A unit's *kind* (plain, or
its spec's: cumulative; next conversion, retention) picks its builder in builders.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlglot import exp

from ..access import RowRule
from ..timegrain import Calendar, Offset


@dataclass(frozen=True)
class UnitSpec:
    """What makes a unit other than a plain aggregate; `kind` names its builder (builders.py)."""

    kind: ClassVar[str]


@dataclass(frozen=True)
class CumulativeSpec(UnitSpec):
    """A running aggregate: over `window`, since the start of `grain_to_date`, or all-time."""

    kind: ClassVar[str] = "cumulative"
    window: Offset | None = None
    grain_to_date: str | None = None


@dataclass(frozen=True)
class UnitKey:
    model: str
    filters: tuple[str, ...] = ()
    offset: Offset = field(default_factory=Offset)
    spec: UnitSpec | None = None

    @property
    def kind(self) -> str:
        return "plain" if self.spec is None else self.spec.kind


@dataclass
class Unit:
    key: UnitKey
    alias: str
    measures: dict[str, str] = field(default_factory=dict)  # measure name → column alias


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
class TimeBounds:
    """Param factories for the local start and end of `time_range` (either may be absent)."""

    start: Callable[[list[Any]], Any] | None
    end: Callable[[list[Any]], Any] | None


@dataclass(frozen=True)
class RowSecurity:
    """Per-role row rules (OR across roles, AND within one) and the value slot of each claim."""

    rules: tuple[tuple[RowRule, ...], ...]
    claim_slots: dict[str, int]


@dataclass
class Plan:
    calendar: Calendar
    dimensions: list[DimensionRequest]
    units: list[Unit]
    metric_exprs: dict[str, exp.Expr]  # requested + having-only metrics
    output_metrics: list[str]
    filters: list[exp.Expr]  # where conditions over member refs, values already placeholders
    segments: list[tuple[str, str, str]]  # (owner path as written, model, where snippet)
    having: list[exp.Expr]
    time_bounds: TimeBounds
    order_by: list[tuple[str, bool]]  # (column alias, descending)
    limit: int | None
    offset: int | None
    warnings: list[str] = field(default_factory=list)
    # When the caller set no limit: limits.default_rows. The statement asks for one row more, so
    # that an answer cut there says so instead of passing for whole.
    cap: int | None = None
    row_security: RowSecurity | None = None
