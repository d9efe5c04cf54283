"""Time: zones, grains, calendar offsets — in SQL and, for bounds known up front, in Python.

Stored timestamps are UTC instants (naive TIMESTAMP columns holding UTC). They are converted to
the query time zone *before* truncating, so a day is the local day, correct on DST days
(docs/semantics.md, time zones). `time_range` bounds are local wall-clock times converted to UTC
in Python, so the database compares raw columns (and can prune) instead of converting every row
to filter it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from sqlglot import exp

from .errors import QueryValidationError, brief

# time_range bounds are converted to UTC and moved by metric offsets and cumulative windows in
# Python, whose dates end at years 1 and 9999; MySQL's DATETIME starts at 1000-01-01. Bounds inside
# this range keep all of that clear of both ends.
EARLIEST_BOUND, LATEST_BOUND = datetime(1000, 1, 1), datetime(9000, 1, 1)
GRAINS = ("hour", "day", "week", "month", "quarter", "year", "fiscal_quarter", "fiscal_year")


@dataclass(frozen=True)
class Calendar:
    """The calendar rules a query is evaluated under."""

    timezone: str
    week_start: str  # monday | sunday
    fiscal_start_month: int

    @property
    def week_shift_days(self) -> int:
        """Days from Monday (ISO week start, what DATE_TRUNC uses) back to the configured start."""
        return 1 if self.week_start == "sunday" else 0

    @property
    def fiscal_shift_months(self) -> int:
        return self.fiscal_start_month - 1


@dataclass(frozen=True, order=True)
class Offset:
    """A calendar offset kept as months, days and hours so that months stay calendar months."""

    months: int = 0
    days: int = 0
    hours: int = 0

    @classmethod
    def of(cls, count: int, unit: str) -> Offset:
        return {
            "hour": cls(hours=count),
            "day": cls(days=count),
            "week": cls(days=7 * count),
            "month": cls(months=count),
            "quarter": cls(months=3 * count),
            "year": cls(months=12 * count),
        }[unit]

    def __add__(self, other: Offset) -> Offset:
        return Offset(self.months + other.months, self.days + other.days, self.hours + other.hours)

    def __neg__(self) -> Offset:
        return Offset(-self.months, -self.days, -self.hours)

    def __bool__(self) -> bool:
        return bool(self.months or self.days or self.hours)

    def label(self) -> str:
        parts = [f"{v} {u}" for v, u in ((self.months, "month"), (self.days, "day"), (self.hours, "hour")) if v]
        return " ".join(parts) or "0"


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`. The name is looked up in the zone database's list first: ZoneInfo
    opens a file named after whatever it is given, and fails on odd names in odd ways (OSError for
    a long one)."""
    if name not in _known_zones():
        raise QueryValidationError(
            f"unknown time zone '{brief(name)}' — use an IANA name such as 'UTC', 'Asia/Shanghai' or 'America/New_York'"
        )
    return ZoneInfo(name)


def grain_step(grain: str) -> Offset:
    """The length of one period of `grain` as a calendar offset."""
    return {
        "hour": Offset(hours=1),
        "day": Offset(days=1),
        "week": Offset(days=7),
        "month": Offset(months=1),
        "quarter": Offset(months=3),
        "year": Offset(months=12),
        "fiscal_quarter": Offset(months=3),
        "fiscal_year": Offset(months=12),
    }[grain]


def offset_fits_grain(offset: Offset, grain: str) -> bool:
    """A calendar-aligned offset must move a period start onto another period start."""
    if grain == "hour":
        return True
    if offset.hours:
        return False
    if grain == "day":
        return True
    if grain == "week":
        return not offset.months and offset.days % 7 == 0
    step = grain_step(grain).months
    return not offset.days and offset.months % step == 0


# -- SQL ------------------------------------------------------------------------------------
def _signed_parts(offset: Offset) -> list[tuple[int, exp.Interval]]:
    return [
        (v, exp.Interval(this=exp.Literal.string(str(abs(v))), unit=exp.Var(this=u)))
        for v, u in ((offset.months, "MONTH"), (offset.days, "DAY"), (offset.hours, "HOUR"))
        if v
    ]


def shift(expr: exp.Expr, offset: Offset) -> exp.Expr:
    """`expr` moved by `offset` (months first, so month ends clamp the way the database does)."""
    out = expr
    for value, part in _signed_parts(offset):
        out = exp.Add(this=out, expression=part) if value > 0 else exp.Sub(this=out, expression=part)
    return out


def to_local(expr: exp.Expr, calendar_: Calendar, *, is_date: bool) -> exp.Expr:
    """A UTC instant as local wall-clock time in the query zone (dates are already local)."""
    if is_date or calendar_.timezone == "UTC":
        return expr
    return exp.ConvertTimezone(
        source_tz=exp.Literal.string("UTC"), target_tz=exp.Literal.string(calendar_.timezone), timestamp=expr
    )


def _trunc(expr: exp.Expr, unit: str) -> exp.Expr:
    return exp.TimestampTrunc(this=expr, unit=exp.Var(this=unit))


def truncate(expr: exp.Expr, grain: str, calendar_: Calendar) -> exp.Expr:
    """Start of the `grain` period containing local time `expr` (week start and fiscal year applied)."""
    if grain == "week" and calendar_.week_shift_days:
        back = Offset(days=calendar_.week_shift_days)
        return shift(_trunc(shift(expr, back), "WEEK"), -back)
    if grain in ("fiscal_quarter", "fiscal_year") and calendar_.fiscal_shift_months:
        back = Offset(months=-calendar_.fiscal_shift_months)
        unit = "QUARTER" if grain == "fiscal_quarter" else "YEAR"
        return shift(_trunc(shift(expr, back), unit), -back)
    unit = {"fiscal_quarter": "QUARTER", "fiscal_year": "YEAR"}.get(grain, grain.upper())
    return _trunc(expr, unit)


def as_period_value(expr: exp.Expr, grain: str) -> exp.Expr:
    """Day and coarser periods are reported as dates; hours stay timestamps."""
    return expr if grain == "hour" else exp.cast(expr, exp.DataType.Type.DATE)


# -- Python ---------------------------------------------------------------------------------
def add_months(value: datetime, months: int) -> datetime:
    """Calendar month arithmetic, clamping to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def py_shift(value: datetime, offset: Offset) -> datetime:
    return add_months(value, offset.months) + timedelta(days=offset.days, hours=offset.hours)


def py_truncate(value: datetime, grain: str, calendar_: Calendar) -> datetime:
    """The Python twin of `truncate`, for spine bounds computed before the query runs."""
    if grain == "hour":
        return value.replace(minute=0, second=0, microsecond=0)
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == "day":
        return day
    if grain == "week":
        back = (day.weekday() + calendar_.week_shift_days) % 7
        return day - timedelta(days=back)
    shift_months = calendar_.fiscal_shift_months if grain.startswith("fiscal_") else 0
    moved = add_months(day.replace(day=1), -shift_months)
    span = 3 if grain.endswith("quarter") else 12 if grain.endswith("year") else 1
    month0 = (moved.month - 1) // span * span
    return add_months(moved.replace(month=month0 + 1), shift_months)


def parse_bound(value: object, what: str) -> datetime:
    """A time_range bound: a date, a datetime, or an ISO-8601 string of either, between
    EARLIEST_BOUND and LATEST_BOUND."""
    bound = as_datetime(value)
    if bound is None:
        raise QueryValidationError(
            f"time_range {what} '{brief(str(value))}' is not a date or timestamp — use "
            "ISO-8601 such as '2024-01-01' or '2024-01-01T08:00:00'"
        )
    if not EARLIEST_BOUND <= bound.replace(tzinfo=None) < LATEST_BOUND:
        raise QueryValidationError(
            f"time_range {what} '{brief(str(value))}' is out of range — use a date from "
            f"{EARLIEST_BOUND.date()} to {LATEST_BOUND.date()}"
        )
    return bound


def as_datetime(value: object) -> datetime | None:
    """A date, a datetime, or an ISO-8601 string of either as a datetime; None for anything else."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def local_to_utc(value: datetime, tz: str) -> datetime:
    """A local wall-clock bound as a naive UTC instant (an aware value keeps its own offset)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=zone(tz))
    return aware.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def to_local_naive(value: datetime, tz: str) -> datetime:
    """A bound as local wall-clock time in `tz` (aware values are converted, naive ones kept)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(zone(tz)).replace(tzinfo=None)


def step_interval(grain: str) -> exp.Interval:
    """One period of `grain` as a single SQL interval (a spine's step)."""
    ((_, part),) = _signed_parts(grain_step(grain))
    return part
