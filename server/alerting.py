"""The alert scheduler of a server process: every `alerts.every` (or `serve --alerts-every`) it runs
one push cycle (semantic_layer/notify.py) on a thread of its own, never on the event loop.

Every process of a server runs a scheduler. They share the state and the lock (Redis when the server
shares a cache through it, else a file and `flock` in the project folder), and a scheduler that finds
the thresholds evaluated less than 90% of the interval ago skips its turn: one evaluation per
interval, whichever process comes first, and each change is sent once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from semantic_layer.alert_state import AlertStateError
from semantic_layer.definitions import parse_duration
from semantic_layer.notify import CycleReport, Notifier, alert_storage

from .reload import ProjectState
from .settings import ServerSettings

log = logging.getLogger("semantic_layer.server")


def alert_interval(settings: ServerSettings, state: ProjectState) -> float | None:
    """Seconds between evaluations: the server's setting, else the project's; None when neither is set."""
    every = settings.alerts_every or state.layer.project.settings.alerts.every
    return None if every is None else parse_duration(every)


class AlertScheduler:
    def __init__(self, state: ProjectState, settings: ServerSettings):
        self.every = alert_interval(settings, state)
        project = state.layer.project
        store, lock = alert_storage(project, settings.cache_url)
        # Thresholds and webhooks are read at each cycle, so a hot reload changes them; the interval
        # and where the state is kept are fixed at start.
        self.notifier = Notifier(lambda: state.layer, store, lock, clock=settings.clock, every=self.every)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sl-alerts")
        self._task: asyncio.Task[None] | None = None
        if self.every is not None and not project.settings.alerts.webhooks:
            log.warning(
                "alerts are evaluated every %.0f s, but no webhooks are configured: nothing is sent", self.every
            )

    def start(self) -> None:
        if self.every is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(self.every), name="alert-scheduler")

    async def _run(self, every: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                _log(await loop.run_in_executor(self._worker, self.notifier.cycle))
            except AlertStateError as exc:  # Redis or the state file out of reach: nothing sent, nothing lost
                log.warning("%s — no alerts evaluated; trying again in %.0f s", exc.message, every)
            except Exception:  # a scheduler that dies silently would stop alerts for good
                log.exception("alert cycle failed; trying again in %.0f s", every)
            await asyncio.sleep(every)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # A cycle under way finishes on its thread (its sends are recorded); the client closes after it.
        self._worker.submit(self.notifier.close)
        self._worker.shutdown(wait=False)


def _log(report: CycleReport) -> None:
    """What was sent (the notifier logs what failed, as it happens)."""
    if report.sent:
        log.info("alerts sent: %s", "; ".join(report.sent))
