"""Readiness: whether the database answers, found without waiting behind the queries it is running.

/ready is asked by load balancers every few seconds, and most of all when the server is busy. A
probe that takes its turn in the query thread pool (or the connection pool) reports a busy server
as a dead one — nine long queries kept it waiting 27 s. So the probe runs on a thread of its own,
over the engine's reserved connection; one probe at a time, its answer reused for a second.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from semantic_layer.errors import QueryError
from semantic_layer.layer import Layer

PROBE_TIMEOUT_SECONDS = 5.0
FRESH_SECONDS = 1.0


class Readiness:
    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sl-ready")
        self._probe: asyncio.Future[tuple[bool, str]] | None = None
        self._last: tuple[float, bool, str] | None = None

    async def check(self, layer: Layer) -> tuple[bool, str]:
        """(ready, reason), from a probe at most a second old."""
        if self._last is not None and time.monotonic() - self._last[0] < FRESH_SECONDS:
            return self._last[1], self._last[2]
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self._run(layer))
        return await asyncio.shield(self._probe)

    async def _run(self, layer: Layer) -> tuple[bool, str]:
        loop = asyncio.get_running_loop()

        def probe() -> None:
            layer.engine.ping(PROBE_TIMEOUT_SECONDS)  # connecting is part of the probe: it may fail too

        try:
            await asyncio.wait_for(loop.run_in_executor(self._thread, probe), PROBE_TIMEOUT_SECONDS + 1)
            result = (True, "ok")
        except TimeoutError:
            result = (False, f"the database did not answer within {PROBE_TIMEOUT_SECONDS:g} s")
        except (QueryError, OSError) as exc:
            result = (False, f"database not answering: {getattr(exc, 'message', exc)}")
        self._last = (time.monotonic(), *result)
        return result

    async def engine_memory(self, layer: Layer) -> int | None:
        """The engine's own memory for /metrics, read on the probe's thread for the same reason."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, layer.engine.memory_bytes)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
