"""When a metric's value for a period is final.

Most metrics are final once their period has ended. A retention metric's value for period P counts
who comes back in P+offset, so it keeps changing until that later period has ended too — and so
does every metric computed from it (churn is 1 − retention). A conversion metric's base events of P
may convert until `window` after P's end, so it waits for its window likewise (one without a window
may change for ever, and is not waited for). Results warn about such periods, and alerts skip them:
a churn spike that is only the current month being half over is not an alert.

"Now" comes from the caller (`Layer(clock=...)`), so that what is final can be tested.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from . import definitions as d
from .catalog import depends_on
from .compiler.members import split_grain
from .compiler.plan import ColumnInfo
from .graph import SemanticGraph
from .timegrain import Calendar, Offset, grain_step, py_shift, py_truncate, to_local_naive


def settling_periods(graph: SemanticGraph, metric: str) -> list[tuple[str, int]]:
    """(grain, periods) for each retention metric `metric` is computed from, itself included, and
    each conversion metric's window (`90 days`: day, 90): its value for a period P is final only
    once the period `periods` grains after P has ended."""
    found: dict[tuple[str, int], None] = {}
    pending, seen = [metric], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        definition = graph.metric(name)
        if isinstance(definition, d.RetentionMetric):
            found[(definition.period, definition.offset)] = None
        elif isinstance(definition, d.ConversionMetric) and definition.window is not None:
            count, unit = d.parse_interval(definition.window)
            found[(unit, count)] = None
        pending.extend(depends_on(graph, name))
    return list(found)


def final_before(now: datetime, settling: Sequence[tuple[str, int]], calendar: Calendar) -> datetime:
    """The moment up to which periods are final at `now` (local wall-clock time): a value waiting
    for (period R, k periods) is final once the R period k periods after the one holding its last
    instant has ended, that is once its own period ends no later than the start of the current R
    period moved back k periods. With nothing to wait for, every period that has ended is final."""
    limit = now
    for period, periods in settling:
        limit = min(limit, py_shift(py_truncate(now, period, calendar), -Offset.of(periods, period)))
    return limit


@dataclass(frozen=True)
class Settling:
    """A metric column of an answer whose value waits for `settling` ((grain, periods) pairs, as
    `settling_periods` gives them), and one of the answer's metric_time columns (`column`, its
    index; its grain `grain`)."""

    metric: str
    settling: tuple[tuple[str, int], ...]
    grain: str
    column: int


def settling_columns(graph: SemanticGraph, columns: Sequence[ColumnInfo]) -> tuple[Settling, ...]:
    """The answer's metric columns whose values settle late, each with each metric_time column.

    Without metric_time an answer names no period, and has none to warn about."""
    times = []
    for index, column in enumerate(columns):
        member, grain = split_grain(column.name)
        if column.kind == "dimension" and member == "metric_time":
            times.append((grain or "day", index))
    if not times:
        return ()
    out = []
    for column in columns:
        if column.kind != "metric":
            continue
        settles = graph.memo(("settling_periods", column.name), partial(settling_periods, graph, column.name))
        if settles:
            out += [Settling(column.name, tuple(settles), grain, index) for grain, index in times]
    return tuple(out)


def not_final_warnings(
    settling: Sequence[Settling], values: Callable[[int], Iterable[Any]], now: datetime, calendar: Calendar
) -> list[str]:
    """A warning per settling column naming the answer's periods whose value is not final at `now`
    (local wall-clock time); `values(i)` gives the answer's values of column i."""
    warnings = []
    for s in settling:
        limit = final_before(now, s.settling, calendar)
        periods = {_as_datetime(v) for v in values(s.column) if v is not None}
        pending = sorted(p for p in periods if py_shift(p, grain_step(s.grain)) > limit)
        if pending:
            shown = ", ".join((p if s.grain == "hour" else p.date()).isoformat() for p in pending)
            later = " / ".join(f"{n} {g}{'s' if n > 1 else ''}" for g, n in s.settling)
            warnings.append(
                f"metric '{s.metric}' is not final for metric_time:{s.grain} {shown}: its value for a period "
                f"counts what happens up to {later} after it, and that time has not passed yet"
            )
    return warnings


def _as_datetime(value: date) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def local_now(now: datetime, timezone: str) -> datetime:
    """`now` (an aware instant; naive is read as UTC) as wall-clock time in `timezone`."""
    aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return to_local_naive(aware, timezone)
