"""Threshold alerts: each metric's latest final value judged against its `thresholds:`.

A metric is judged on the last complete period at its thresholds' grain: the latest period that
has ended (now, in the project's time zone) and whose value is final — a value computed from a
retention metric keeps changing until the later period it looks at has ended too
(`finality.settling_periods`). When that period has no data, the latest earlier period that has
some is judged instead, and the alert's note says how far back it had to go: a feed that stopped
shows up as an old period, not as a silent "ok".

Everything here but the queries is pure: `plan_alerts` turns a request and a clock into one
`AlertPlan` per metric, which names the queries to run and judges their rows. The Python layer runs
them directly, the server through its cache, so both answer the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from . import definitions as d
from .display import display, period_label
from .errors import ExecutionError, QueryValidationError
from .finality import final_before, local_now, settling_periods
from .graph import SemanticGraph
from .query import Query, build_query
from .timegrain import (
    GRAINS,
    Calendar,
    as_datetime,
    grain_step,
    parse_bound,
    py_shift,
    py_truncate,
    to_local_naive,
)

Level = Literal["ok", "warn", "critical"]


@dataclass(frozen=True)
class Alert:
    """One metric's alert level on one period. `bound`, `bound_kind` and `bound_level` name the bound
    crossed (None when the level is ok); `note` says what a reader should know beyond the message:
    the value was NULL, or the latest period with data is older than the last complete one."""

    metric: str
    level: Level
    value: float | None
    period: date | datetime  # the period's start, local time; a datetime for hours, else a date
    grain: str
    message: str
    direction: str | None = None
    bound: float | None = None
    bound_kind: Literal["above", "below"] | None = None
    bound_level: Literal["warn", "critical"] | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["period"] = self.period.isoformat()
        return out

    def __repr__(self) -> str:
        return f"<Alert {self.level}: {self.message}>"


@dataclass(frozen=True)
class AlertPlan:
    """How one metric is judged: the periods it may be judged on, the queries that read them, and
    the verdict on their rows."""

    metric: d.Metric
    thresholds: d.Thresholds
    grain: str
    last: datetime  # start of the latest complete, final period (local wall-clock time)
    first: datetime | None  # start of the earliest period inside the time range (None: no lower bound)

    @property
    def column(self) -> str:
        return f"metric_time:{self.grain}"

    def latest(self) -> Query:
        """The last complete period alone: the query that answers in the common case, reading one
        period's rows."""
        end = py_shift(self.last, grain_step(self.grain))
        return self._query(self.last, end)

    def earlier(self) -> Query | None:
        """The latest earlier period with data, when the last complete one has none (None: the time
        range holds no earlier period)."""
        if self.first is not None and self.first >= self.last:
            return None
        return self._query(self.first, self.last, order_by=[f"-{self.column}"], limit=1)

    def _query(self, start: datetime | None, end: datetime, **extra: Any) -> Query:
        return build_query(
            metrics=[self.metric.name],
            dimensions=[self.column],
            time_range={"start": start, "end": end},
            **extra,
        )

    def judge(self, rows: Sequence[dict[str, Any]]) -> Alert:
        """The alert for the first row of `latest()`'s answer or, when it had none, of `earlier()`'s."""
        if not rows:
            return self._alert("ok", None, self.last, f"{self.metric.name} has no data", self._no_data())
        row = rows[0]
        period = _period_start(row[self.column], self.grain)
        value = _number(row[self.metric.name])
        label, stale = self._label(period), self._stale(period)
        if value is None:
            note = _join(f"the value for {label} is NULL: counted as ok", stale)
            return self._alert("ok", None, period, f"{self.metric.name} has no value for {label}", note)
        shown = display(value, self.metric.format)
        crossed = _crossed(self.thresholds, value)
        if crossed is None:
            return self._alert(
                "ok", value, period, f"{self.metric.name} {shown} is within its thresholds for {label}", stale
            )
        level, kind, bound = crossed
        message = (
            f"{self.metric.name} {shown} is {kind} the {level} bound {display(bound, self.metric.format)} for {label}"
        )
        return self._alert(level, value, period, message, stale, bound=bound, bound_kind=kind, bound_level=level)

    def _alert(
        self, level: Level, value: float | None, period: datetime, message: str, note: str | None, **bound: Any
    ) -> Alert:
        return Alert(
            metric=self.metric.name,
            level=level,
            value=value,
            period=_as_period(period, self.grain),
            grain=self.grain,
            message=message,
            direction=self.metric.direction,
            note=note,
            **bound,
        )

    def _label(self, start: datetime) -> str:
        return period_label(start, self.grain)

    def _stale(self, period: datetime) -> str | None:
        if period >= self.last:
            return None
        return f"no data after {self._label(period)}; the last complete {self.grain} is {self._label(self.last)}"

    def _no_data(self) -> str:
        since = "" if self.first is None else f" from {self._label(self.first)}"
        return f"no data for any complete {self.grain}{since} up to {self._label(self.last)}: counted as ok"


def plan_alerts(
    graph: SemanticGraph,
    definitions: SemanticGraph,
    metrics: Iterable[str] | None = None,
    time_range: Any = None,
    grain: str | None = None,
    now: datetime | None = None,
) -> list[AlertPlan]:
    """One plan per metric: `metrics` (each must have thresholds), or every metric of `graph` that
    has some. `graph` is what the caller may see; `definitions` the whole project, which says which
    retention metrics a value waits for (finality is a property of the definition, not of access).
    `now` defaults to the current time; a naive `now` is UTC."""
    if grain is not None and grain not in GRAINS:
        raise QueryValidationError(f"unknown grain '{grain}' — use one of: {', '.join(GRAINS)}")
    settings = graph.settings
    calendar = Calendar(settings.timezone, settings.week_start, settings.fiscal_year_start_month)
    local_now = _local_now(now, settings.timezone)
    start, end = _range(time_range, settings.timezone)
    plans = []
    for metric in _chosen(graph, metrics):
        assert metric.thresholds is not None  # _chosen keeps metrics with thresholds only
        chosen = grain or metric.thresholds.grain
        settling = settling_periods(definitions, metric.name)
        last = last_complete_start(local_now, chosen, calendar, settling, end)
        first = None if start is None else first_start(start, chosen, calendar)
        if first is not None and first > last:
            raise QueryValidationError(
                f"the time range holds no complete {chosen} that has ended and is final "
                f"(the latest is {period_label(last, chosen)}) — widen it, or ask for a finer grain"
            )
        plans.append(AlertPlan(metric, metric.thresholds, chosen, last, first))
    return plans


def last_complete_start(
    now: datetime,
    grain: str,
    calendar: Calendar,
    settling: Sequence[tuple[str, int]] = (),
    end: datetime | None = None,
) -> datetime:
    """Start of the latest `grain` period that has ended by `now` (and by `end`) and whose value is
    final (finality.final_before)."""
    limit = final_before(now, settling, calendar)
    if end is not None:
        limit = min(limit, end)
    return py_shift(py_truncate(limit, grain, calendar), -grain_step(grain))


def first_start(start: datetime, grain: str, calendar: Calendar) -> datetime:
    """Start of the first `grain` period that lies wholly after `start`."""
    truncated = py_truncate(start, grain, calendar)
    return truncated if truncated == start else py_shift(truncated, grain_step(grain))


def _chosen(graph: SemanticGraph, names: Iterable[str] | None) -> list[d.Metric]:
    if names is None:
        return [m for m in graph.metrics.values() if m.thresholds is not None]
    chosen = []
    for name in dict.fromkeys(names):
        metric = graph.metric(name)  # UNKNOWN_MEMBER for a metric that does not exist or is hidden
        if metric.thresholds is None:
            raise QueryValidationError(
                f"metric '{name}' has no thresholds, so it has no alert level — add 'thresholds:' "
                "(warn and critical bounds) to its definition, or leave it out of the metrics asked for"
            )
        chosen.append(metric)
    return chosen


def _crossed(
    thresholds: d.Thresholds, value: float
) -> tuple[Literal["warn", "critical"], Literal["above", "below"], float] | None:
    """The most severe level `value` is strictly beyond a bound of, with the bound's side and number."""
    for name, level in thresholds.levels():
        if level.above is not None and value > level.above:
            return _level(name), "above", level.above
        if level.below is not None and value < level.below:
            return _level(name), "below", level.below
    return None


def _level(name: str) -> Literal["warn", "critical"]:
    return "critical" if name == "critical" else "warn"


def _local_now(now: datetime | None, timezone: str) -> datetime:
    return local_now(datetime.now(UTC) if now is None else now, timezone)


def _range(time_range: Any, timezone: str) -> tuple[datetime | None, datetime | None]:
    """The time range's bounds as local wall-clock times (either may be open)."""
    if time_range is None:
        return None, None
    parsed = build_query(time_range=time_range).time_range
    if parsed is None:
        return None, None
    start = None if parsed.start is None else to_local_naive(parse_bound(parsed.start, "start"), timezone)
    end = None if parsed.end is None else to_local_naive(parse_bound(parsed.end, "end"), timezone)
    return start, end


def _period_start(value: Any, grain: str) -> datetime:
    """A period as an answer holds it (a date, a datetime, or their ISO text over JSON)."""
    moment = as_datetime(value)
    if moment is None:
        raise ExecutionError(f"the answer holds no {grain} period where one was expected: {value!r}")
    return moment.replace(tzinfo=None)


def _as_period(start: datetime, grain: str) -> date | datetime:
    return start if grain == "hour" else start.date()


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return float(value)
    raise QueryValidationError(f"an alert needs a number, and the metric's value is {type(value).__name__}")


def _join(*notes: str | None) -> str | None:
    kept = [n for n in notes if n]
    return "; ".join(kept) or None
