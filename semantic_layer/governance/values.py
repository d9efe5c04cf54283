"""`diff --values`: a changed metric's numbers before and after, on the warehouse.

Each metric whose SQL changes is asked in both versions for a default view: by `metric_time` at its
natural grain (the period of a retention metric it is computed from, else its thresholds' grain,
else month) over the last periods with data in either version, and by its top dimension over those
same periods — over the last of them for a share per period (a retention), which cannot be added
up across periods. The top dimension is the one queried most often with the metric in the audit
log, else among the first text dimensions it reaches the one with the fewest values. Each row shows
the old and new value, the absolute and relative change, and a flag when the relative change is
larger than the threshold (or a value appears or disappears).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..catalog import dimension_details, metric_models
from ..display import display, period_label
from ..errors import QueryError
from ..finality import final_before, local_now, settling_periods
from ..layer import Layer
from ..query import build_query
from ..timegrain import Calendar, grain_step, py_shift
from .lineage import shown_query

DEFAULT_GRAIN = "month"
TOP_VALUES = 10  # dimension values shown, the largest changes first
PROBED = 8  # text dimensions tried as a metric's top dimension when the audit log names none
MANY = 51  # a dimension with this many values or more is as good as any other with as many


@dataclass(frozen=True)
class ValueRow:
    key: str  # a period's label, or a dimension's value
    old: float | None
    new: float | None

    @property
    def change(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old

    @property
    def relative(self) -> float | None:
        change = self.change
        return None if change is None or not self.old else change / abs(self.old)

    def flagged(self, threshold: float) -> bool:
        """A change larger than `threshold` (relative), or a value that appears, disappears or
        leaves zero."""
        if self.old == self.new:
            return False
        relative = self.relative
        return relative is None or abs(relative) > threshold


@dataclass(frozen=True)
class ValueComparison:
    """One metric's default view in both versions (`error` when it could not be asked)."""

    metric: str
    format: str | None
    grain: str | None  # None: the metric has no time, one total is compared
    dimension: str | None
    periods: tuple[ValueRow, ...] = ()
    by_dimension: tuple[ValueRow, ...] = ()
    error: str | None = None
    scope: str = "over the same periods"  # what the dimension's rows cover

    def shown(self, value: float | None) -> str:
        return "∅" if value is None else str(display(value, self.format))

    def shown_change(self, row: ValueRow) -> str:
        change = row.change
        if change is None:
            return ""
        text = str(display(abs(change), self.format))
        return f"{'+' if change >= 0 else '−'}{text}"


def natural_grain(layer: Layer, metric: str) -> str:
    """The period of a retention metric it is computed from, else its thresholds' grain, else month."""
    forced = shown_query(layer.project.graph, metric).dimensions
    if forced:
        return forced[0].split(":")[1]
    thresholds = layer.project.metrics[metric].thresholds
    return thresholds.grain if thresholds is not None else DEFAULT_GRAIN


def top_dimension(layer: Layer, metric: str, usage: Counter[tuple[str, str]] | None = None) -> str | None:
    """The dimension queried most often with the metric (audit log); else, of the first text
    dimensions it reaches, the one with the fewest values (more than one) in the warehouse."""
    details = dimension_details(layer.project.graph, [metric])
    reachable = {ref for ref, _ in details}
    used = sorted((-n, ref) for (name, ref), n in (usage or Counter()).items() if name == metric and ref in reachable)
    if used:
        return used[0][1]
    candidates = [ref for ref, dim in details if dim.type == "string"][:PROBED]
    counts = []
    for ref in candidates:
        try:
            values = len(layer.run(build_query(metrics=[metric], dimensions=[ref], limit=MANY)))
        except QueryError:
            continue
        if values > 1:
            counts.append((values, candidates.index(ref), ref))
    return min(counts)[2] if counts else (candidates[0] if candidates else None)


def compare_values(
    old: Layer,
    new: Layer,
    metric: str,
    *,
    grain: str | None = None,
    dimension: str | None = None,
    periods: int = 12,
) -> ValueComparison:
    """The metric's default view in both versions."""
    fmt = new.project.metrics[metric].format
    rows: list[ValueRow] = []
    chosen: str | None = None
    try:
        graph = new.project.graph
        if all(graph.models[model].time is not None for model in metric_models(graph, metric)):
            chosen = grain or natural_grain(new, metric)
            rows, keys = _by_period(old, new, metric, chosen, periods)
        else:  # no metric_time for this metric: its total is compared
            rows, keys = _total(old, new, metric), []
        found = ValueComparison(metric, fmt, chosen, dimension, periods=tuple(rows))
        if dimension is None:
            return found
        per_period = shown_query(graph, metric).dimensions  # a share per period: one period alone
        final = _final(new, metric, chosen, keys) if per_period and chosen else []
        if final and chosen:
            scope = f"in {period_label(max(final), chosen)}, the last final period"
            return _with_dimension(found, old, new, max(final), [f"metric_time:{chosen}"], scope)
        return _with_dimension(found, old, new, min(keys) if keys else None, [], found.scope)
    except QueryError as exc:
        return ValueComparison(metric, fmt, chosen, dimension, periods=tuple(rows), error=exc.message)


def _by_period(old: Layer, new: Layer, metric: str, grain: str, periods: int) -> tuple[list[ValueRow], list[Any]]:
    """The last `periods` periods with data in either version (each side's latest are fetched, so
    every period of the union's latest that a side has is there), and their starts."""
    ref = f"metric_time:{grain}"
    sides = [_answer(layer, metric, [ref], order_by=[f"-{ref}"], limit=periods) for layer in (old, new)]
    keys = sorted({key for side in sides for key in side}, reverse=True)[:periods]
    rows = [ValueRow(period_label(key, grain), sides[0].get(key), sides[1].get(key)) for key in sorted(keys)]
    return rows, keys


def _final(layer: Layer, metric: str, grain: str, keys: list[Any]) -> list[Any]:
    """The periods among `keys` whose value is final now (finality.py): a retention's period once
    the one it looks ahead to has ended."""
    settings = layer.project.settings
    calendar = Calendar(settings.timezone, settings.week_start, settings.fiscal_year_start_month)
    limit = final_before(
        local_now(layer.clock(), settings.timezone), settling_periods(layer.project.graph, metric), calendar
    )
    step = grain_step(grain)
    return [key for key in keys if py_shift(_at(key), step) <= limit]


def _at(value: date) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def _total(old: Layer, new: Layer, metric: str) -> list[ValueRow]:
    sides = [_answer(layer, metric, []) for layer in (old, new)]
    return [ValueRow("all time", sides[0].get(()), sides[1].get(()))]


def _with_dimension(
    found: ValueComparison, old: Layer, new: Layer, start: Any, time: list[str], scope: str
) -> ValueComparison:
    """By the dimension from `start` on (grouped by `time` too when the metric needs it)."""
    assert found.dimension is not None
    window = None if start is None else {"start": _iso(start), "end": None}
    refs = [*time, found.dimension]
    sides = [_answer(layer, found.metric, refs, time_range=window) for layer in (old, new)]
    keys = {key[-1] if time else key for side in sides for key, value in side.items() if value is not None}
    values = [{(k[-1] if time else k): v for k, v in side.items()} for side in sides]
    rows = [ValueRow(_label(key), values[0].get(key), values[1].get(key)) for key in keys]
    rows.sort(key=_largest_change_first)
    return ValueComparison(
        found.metric, found.format, found.grain, found.dimension, found.periods, tuple(rows[:TOP_VALUES]), None, scope
    )


def _largest_change_first(row: ValueRow) -> tuple[int, float, str]:
    """Values that appear or disappear first, then the largest changes, then by value."""
    change = row.change
    return (1 if change is not None else 0, -abs(change or 0), row.key)


def _answer(layer: Layer, metric: str, dimensions: list[str], **extra: Any) -> dict[Any, float | None]:
    """{dimension values: value} for one query (run without an audit record: not a user's)."""
    result = layer.run(build_query(metrics=[metric], dimensions=dimensions, **extra))
    out: dict[Any, float | None] = {}
    for row in result.rows:
        key = row[dimensions[0]] if len(dimensions) == 1 else tuple(row[d] for d in dimensions)
        out[key] = _number(row[metric])
    return out


def _number(value: Any) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal | int | float) else None


def _iso(value: Any) -> str:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()


def _label(key: Any) -> str:
    if key is None:
        return "∅"
    if isinstance(key, date | datetime):
        return _iso(key)
    return str(key)
