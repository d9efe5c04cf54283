"""Who asks for what: `semantic-layer usage` over the audit log (semantic_layer/audit.py).

Queries are counted per metric, per role and per dashboard over a window; metrics that no query
asked for in it — neither themselves nor any metric built on them — are retirement candidates
(lint's `unused-metric` rule reports the same list).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from ..audit import AuditStore
from ..audit_record import AuditRecord
from ..definitions import parse_duration
from ..project import Project
from .lineage import Lineage

SHORT_WINDOW_RE = re.compile(r"^\s*(\d+)\s*([dhw])\s*$")
TRUSTED = "(no role)"  # queries from the Python API without a principal
DEFAULT_WINDOW = "90 days"


def parse_since(text: str, now: datetime) -> datetime:
    """'90d', '12h', '2w', '90 days', or a date ('2025-01-01', UTC): the start of the window."""
    short = SHORT_WINDOW_RE.match(text)
    if short:
        unit = {"d": "days", "h": "hours", "w": "weeks"}[short.group(2)]
        return now - timedelta(**{unit: int(short.group(1))})
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        pass
    else:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        raise ValueError(
            f"'{text}' is not a window like '90d', '12h', '2w', '90 days' or a date such as 2025-01-01"
        ) from None


@dataclass(frozen=True)
class MetricUsage:
    metric: str
    queries: int
    last: datetime | None
    roles: tuple[str, ...]
    dashboards: tuple[str, ...]


@dataclass
class UsageReport:
    since: datetime
    log_found: bool
    queries: int = 0
    metrics: list[MetricUsage] = field(default_factory=list)  # queried ones, most first
    roles: list[tuple[str, int]] = field(default_factory=list)
    dashboards: list[tuple[str, int]] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)  # retirement candidates, by name
    unused_dashboards: list[str] = field(default_factory=list)  # no request said it came from them


def usage_report(project: Project, store: AuditStore, since: datetime) -> UsageReport:
    """The audit log from `since` on, read against the project's metrics."""
    report = UsageReport(since, store.found())
    counts: Counter[str] = Counter()
    last: dict[str, float] = {}
    roles: dict[str, Counter[str]] = {}
    dashboards: dict[str, Counter[str]] = {}
    by_role: Counter[str] = Counter()
    by_dashboard: Counter[str] = Counter()
    for record in store.records(since.timestamp()):
        report.queries += 1
        who = ", ".join(record.roles) or TRUSTED
        by_role[who] += 1
        if record.dashboard:
            by_dashboard[record.dashboard] += 1
        for metric in dict.fromkeys(record.metrics):
            counts[metric] += 1
            last[metric] = max(last.get(metric, 0.0), record.at)
            roles.setdefault(metric, Counter())[who] += 1
            if record.dashboard:
                dashboards.setdefault(metric, Counter())[record.dashboard] += 1
    report.metrics = [
        MetricUsage(
            name,
            n,
            datetime.fromtimestamp(last[name], UTC),
            tuple(sorted(roles[name])),
            tuple(sorted(dashboards.get(name, ()))),
        )
        for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    report.roles = sorted(by_role.items(), key=lambda item: (-item[1], item[0]))
    report.dashboards = sorted(by_dashboard.items(), key=lambda item: (-item[1], item[0]))
    report.unused = unused_metrics(project, set(counts))
    report.unused_dashboards = sorted(set(project.dashboards) - set(by_dashboard))
    return report


def unused_metrics(project: Project, queried: set[str]) -> list[str]:
    """Metrics of the project that no query asked for, nor any metric built on them."""
    lineage = Lineage(project.graph)
    return [
        name
        for name in sorted(project.metrics)
        if name not in queried and not any(user in queried for user in lineage.downstream(name))
    ]


def queried_metrics(store: AuditStore, since: datetime) -> set[str] | None:
    """The metrics asked for since `since`, or None when there is no audit log at all."""
    if not store.found():
        return None
    return {metric for record in store.records(since.timestamp()) for metric in record.metrics}


def dimension_usage(store: AuditStore, window: str = DEFAULT_WINDOW) -> Counter[tuple[str, str]]:
    """How often each (metric, dimension) pair was asked for together in the window (metric_time
    left out), for choosing a metric's top dimension."""
    since = time.time() - parse_duration(window)
    pairs: Counter[tuple[str, str]] = Counter()
    for record in store.records(since):
        pairs.update(_pairs(record))
    return pairs


def _pairs(record: AuditRecord) -> list[tuple[str, str]]:
    dims = [ref for ref in record.dimensions if ref.split(":")[0] != "metric_time"]
    return [(metric, ref.split(":")[0]) for metric in record.metrics for ref in dims]
