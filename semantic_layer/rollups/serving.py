"""Which rollups a layer may answer from now, and the engine reading them.

A rollup is served when the store holds it built from its current definition (model, calendar
settings and the rollup itself: rows built from another definition are never read) and its last
successful refresh is at most `max_staleness` old. A refresh that failed leaves the last good
version in place, served until it is that old; after that the source answers.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .. import definitions as d
from ..compiler.routing import RollupCatalog
from ..engines.duckdb import DuckDBEngine
from ..project import Project
from .checks import store_path
from .shape import RollupShape, resolve_rollup
from .store import RollupStore, StoredRollup, definition_hash


class RollupServing:
    def __init__(self, project: Project, state_folder: Path, clock: Callable[[], datetime]):
        graph = project.graph
        self.clock = clock
        self.shapes = {name: resolve_rollup(graph, rollup) for name, rollup in project.rollups.items()}
        self.definitions = {
            name: definition_hash(rollup, project.settings, graph.models[rollup.model])
            for name, rollup in project.rollups.items()
        }
        self.store = RollupStore(store_path(project.settings.rollup_store, state_folder), project.settings.engine)
        self._catalog: RollupCatalog | None = None
        self._lock = threading.Lock()

    def servable(self, shape: RollupShape, stored: StoredRollup | None, now: datetime) -> bool:
        if stored is None or stored.definition != self.definitions[shape.name]:
            return False
        limit = shape.rollup.max_staleness
        return limit is None or stored.age_seconds(now) <= d.parse_duration(limit)

    def catalog(self) -> RollupCatalog | None:
        """The rollups served now, smallest first (None: none is)."""
        state = self.store.state()
        now = self.clock()
        fresh = sorted(
            (shape for name, shape in self.shapes.items() if self.servable(shape, state.get(name), now)),
            key=lambda shape: (state[shape.name].row_count, shape.name),
        )
        if not fresh:
            return None
        key = tuple((shape.name, state[shape.name].refreshed_at.isoformat()) for shape in fresh)
        with self._lock:
            if self._catalog is None or self._catalog.key != key:
                self._catalog = RollupCatalog(tuple(fresh), key)
            return self._catalog

    def engine(self) -> DuckDBEngine | None:
        return self.store.engine()

    def close(self) -> None:
        self.store.close()


@dataclass(frozen=True)
class RollupStatus:
    """One rollup as `rollups status` reports it."""

    name: str
    model: str
    time_grain: str
    state: str  # fresh | stale | outdated (built from another definition) | missing (never built)
    rows: int | None
    refreshed_at: datetime | None
    age_seconds: float | None
    newest_period: date | None
    build_seconds: float | None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def rollup_status(serving: RollupServing) -> list[RollupStatus]:
    state = serving.store.state()
    now = serving.clock()
    out = []
    for name, shape in serving.shapes.items():
        stored = state.get(name)
        if stored is None:
            out.append(RollupStatus(name, shape.model, shape.grain, "missing", None, None, None, None, None))
            continue
        if stored.definition != serving.definitions[name]:
            condition = "outdated"
        else:
            condition = "fresh" if serving.servable(shape, stored, now) else "stale"
        out.append(
            RollupStatus(
                name,
                shape.model,
                shape.grain,
                condition,
                stored.row_count,
                stored.refreshed_at,
                stored.age_seconds(now),
                stored.newest_period,
                stored.build_seconds,
            )
        )
    return out
