"""Background refresh of rollups (`serve --refresh-rollups`): each rollup is refreshed once its
`refresh.every` has passed since its last refresh, on a thread of its own, never on the event loop.

Every process of a server may run a refresher; builds take the rollup build lock (Redis when the
server shares a cache through it, else a lock file beside the store), so one process builds while
the others skip their turn. A refresh that fails is logged and leaves the last good version in
place: queries keep reading it until it is `max_staleness` old, then the source.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from semantic_layer import definitions as d
from semantic_layer.errors import SemanticLayerError
from semantic_layer.rollups.build import RollupBuildError, build_rollups, due

from .reload import ProjectState
from .settings import ServerSettings

log = logging.getLogger("semantic_layer.server")
# How often due rollups are looked for, at most: the shortest refresh.every is used when shorter.
CHECK_SECONDS = 60.0


class RollupRefresher:
    def __init__(self, state: ProjectState, settings: ServerSettings):
        self.state = state
        self.clock = settings.clock
        self.enabled = settings.refresh_rollups
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sl-rollups")
        self._task: asyncio.Task[None] | None = None

    def interval(self) -> float:
        everies = [d.parse_duration(r.refresh.every) for r in self.state.layer.project.rollups.values()]
        return min([CHECK_SECONDS, *everies])

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rollup-refresh")

    def refresh(self) -> None:
        """One turn: build the rollups that are due (none when another process is building)."""
        layer = self.state.layer  # the current version of the project, whatever a reload did
        names = due(layer, self.clock())
        if not names:
            return
        try:
            reports = build_rollups(layer, names, now=self.clock)
        except RollupBuildError as exc:
            log.info("rollups not refreshed: %s", exc.message)
            return
        for report in reports:
            log.info("rollup %s refreshed: %d rows written", report.name, report.rows_written)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(self._worker, self.refresh)
            except SemanticLayerError as exc:  # the source failed: the last good version is read
                log.error("rollup refresh failed: %s", getattr(exc, "message", exc))
            except Exception:  # a refresher that dies silently would let every rollup go stale
                log.exception("rollup refresh failed")
            await asyncio.sleep(self.interval())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._worker.shutdown(wait=False)
