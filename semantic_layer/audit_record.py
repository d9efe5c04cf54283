"""One audit record: what every store of the audit log writes and reads back, the same way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# The columns of a stored record, in the order `row` gives and `from_row` takes them.
COLUMNS = "at, source, roles, metrics, dimensions, dashboard, duration_ms, cached"


@dataclass(frozen=True)
class AuditRecord:
    """One answered query. `at` is seconds since the epoch (UTC); `source` is 'server' or 'python'."""

    at: float
    source: str
    roles: tuple[str, ...]
    metrics: tuple[str, ...]
    dimensions: tuple[str, ...]
    duration_ms: float
    cached: bool
    dashboard: str | None = None

    def row(self) -> tuple[object, ...]:
        return (
            self.at,
            self.source,
            json.dumps(list(self.roles)),
            json.dumps(list(self.metrics), ensure_ascii=False),
            json.dumps(list(self.dimensions), ensure_ascii=False),
            self.dashboard,
            self.duration_ms,
            int(self.cached),
        )

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> AuditRecord:
        at, source, roles, metrics, dimensions, dashboard, duration, cached = row
        return cls(
            float(at),
            source,
            tuple(json.loads(roles)),
            tuple(json.loads(metrics)),
            tuple(json.loads(dimensions)),
            float(duration),
            bool(cached),
            dashboard,
        )
