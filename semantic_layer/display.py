"""Values and periods as a person reads them: in tables, alert messages and chat notifications."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def display(value: Any, fmt: str | None) -> Any:
    """A metric value as a person reads it: 23.1%, 105,375,291.75, 1h 23m."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    if fmt == "percent":
        return f"{value * 100:.1f}%"
    if fmt == "currency":
        return f"{value:,.2f}"
    if fmt == "integer":
        return f"{round(value):,}"
    if fmt == "duration_seconds":
        minutes, _ = divmod(round(value), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.2f}"


def period_label(start: date | datetime, grain: str) -> str:
    """The period of `grain` starting at `start`, as a person names it: 2025-09, 2025-Q3, the week of
    2025-09-08. Fiscal periods are named by their first day: fiscal years are numbered differently
    from one company to the next."""
    day = start.date() if isinstance(start, datetime) else start
    if grain == "hour":
        return start.strftime("%Y-%m-%d %H:00")
    if grain == "month":
        return f"{day:%Y-%m}"
    if grain == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if grain == "year":
        return str(day.year)
    if grain == "week":
        return f"the week of {day.isoformat()}"
    if grain.startswith("fiscal_"):
        return f"the fiscal {grain.removeprefix('fiscal_')} starting {day.isoformat()}"
    return day.isoformat()
