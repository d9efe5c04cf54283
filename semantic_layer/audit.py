"""The audit log of queries: who asked for which metrics, how long it took, whether it was cached.

One record per answered query — time, roles, metrics, dimensions, dashboard, duration, cached —
and never a filter value or a row: the log says what is used, not what was seen. It is what
`semantic-layer usage` and lint's `unused-metric` rule read to find metrics nobody asks for.

A query only puts its record on a queue: a background thread appends them in batches to the
store, so neither the server's event loop nor a notebook waits for the disk or the network. The
store is SQLite files in the state folder (audit_files.py), or a PostgreSQL table when
`audit: {url: …}` (or SEMANTIC_LAYER_AUDIT_URL) names one (audit_postgres.py) — for servers on
several machines, whose state folders are not shared.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from . import definitions as d
from .audit_files import LogFiles
from .audit_record import AuditRecord

log = logging.getLogger("semantic_layer")
BATCH = 500  # records per transaction at most
QUEUE_LIMIT = 100_000  # records waiting at most; beyond, records are dropped (and counted)
WARN_EVERY = 60.0  # seconds between warnings about records that could not be written
URL_VARIABLE = "SEMANTIC_LAYER_AUDIT_URL"


class AuditStore(Protocol):
    """Where records are kept: written by one AuditLog thread per process, read by usage and lint."""

    @property
    def place(self) -> str:
        """Where the records are, for messages (never a password)."""
        ...

    def found(self) -> bool:
        """Whether any log exists there yet."""
        ...

    def records(self, since: float) -> Iterator[AuditRecord]:
        """The records at or after `since` (seconds since the epoch), oldest first."""
        ...

    def write(self, batch: list[AuditRecord]) -> None:
        """Append a batch in one transaction; raise on failure."""
        ...

    def close(self) -> None: ...


def audit_store(folder: Path, settings: d.AuditSettings) -> AuditStore:
    """The store the project's settings name: a PostgreSQL table (SEMANTIC_LAYER_AUDIT_URL, else
    `audit.url`), or the SQLite files of `folder`."""
    url = os.environ.get(URL_VARIABLE) or settings.url
    if url:
        from .audit_postgres import PostgresTable

        return PostgresTable(url, settings.table)
    return LogFiles(folder, int(settings.max_megabytes * 2**20), settings.keep_files)


class AuditLog:
    """Appends records to a store, from a thread of its own."""

    def __init__(self, store: AuditStore):
        self.store = store
        self.dropped = 0  # records lost to a full queue or a failed write
        self._queue: queue.Queue[AuditRecord | None] = queue.Queue(QUEUE_LIMIT)
        self._written = 0
        self._queued = 0
        self._done = threading.Condition()
        self._warned = -WARN_EVERY
        self._thread = threading.Thread(target=self._loop, name="sl-audit", daemon=True)
        self._thread.start()

    def record(self, record: AuditRecord) -> None:
        """Queue a record; never blocks, never raises."""
        with self._done:
            self._queued += 1
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            with self._done:
                self._queued -= 1
                self.dropped += 1

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record queued so far is written (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._done:
            target = self._queued
            while self._written < target:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._done.wait(left)
        return True

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(more)
            self._write(batch)
            with self._done:
                self._written += len(batch)
                self._done.notify_all()
        self.store.close()

    def _write(self, batch: list[AuditRecord]) -> None:
        try:
            self.store.write(batch)
        except Exception as exc:
            self.dropped += len(batch)
            if time.monotonic() - self._warned > WARN_EVERY:  # a store that cannot be written: a warning a minute
                self._warned = time.monotonic()
                log.warning("audit log: records not written to %s (%d so far): %s", self.store.place, self.dropped, exc)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        self.flush(timeout)
        self._queue.put(None)
        self._thread.join(timeout)


_LOGS: dict[str, AuditLog] = {}
_LOGS_LOCK = threading.Lock()


def audit_log(folder: Path, settings: d.AuditSettings) -> AuditLog:
    """The process's one writer for the store the settings name: the layers of reloaded projects
    share it (a reload that changes the files' limits changes them in place)."""
    store = audit_store(folder.resolve(), settings)
    with _LOGS_LOCK:
        found = _LOGS.get(store.place)
        if found is None:
            found = _LOGS[store.place] = AuditLog(store)
        elif isinstance(found.store, LogFiles) and isinstance(store, LogFiles):
            found.store.max_bytes, found.store.keep_files = store.max_bytes, store.keep_files
        return found


@atexit.register
def _flush_all() -> None:
    """Records queued by a short-lived process (a script, the CLI) are written before it exits."""
    for found in list(_LOGS.values()):
        found.flush(timeout=5)
