"""One thread that cancels queries past their deadline.

DuckDB has no server to enforce a statement timeout: the engine interrupts the cursor itself. A
`threading.Timer` per query would do, but starting a thread costs about 0.15 ms, which a served
query pays on every request. This keeps one daemon thread and a heap of deadlines instead.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("semantic_layer.engines")


class Watchdog:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, action: Callable[[], None]) -> int:
        """Run `action` in `seconds` unless disarmed first; returns the handle for `disarm`."""
        handle = next(self._ids)
        entry = (time.monotonic() + seconds, handle)
        with self._wake:
            self._armed[handle] = action
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sl-watchdog", daemon=True)
                self._thread.start()
            # The thread already sleeps until an earlier deadline and will see this one then; waking
            # it for every query would cost a thread switch per request for nothing.
            if self._heap[0] is entry:
                self._wake.notify()
        return handle

    def disarm(self, handle: int) -> None:
        with self._wake:
            self._armed.pop(handle, None)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][1] not in self._armed:
                    heapq.heappop(self._heap)  # disarmed: drop it
                if not self._heap:
                    self._wake.wait()
                    continue
                deadline, handle = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
                action = self._armed.pop(handle)
            try:
                action()
            except Exception:  # the query may have finished in the meantime; never kill the watchdog
                log.debug("watchdog action failed", exc_info=True)
            del action  # hold no cursor while waiting: it would outlive its connection at exit


WATCHDOG = Watchdog()
