"""The audit log of queries: who asked for which metrics, how long it took, whether it was cached.

One record per answered query — time, roles, metrics, dimensions, dashboard, duration, cached —
and never a filter value or a row: the log says what is used, not what was seen. It is what
`semantic-layer usage` and lint's `unused-metric` rule read to find metrics nobody asks for.

Records are appended by a background thread, in batches, to SQLite files in WAL mode in the
project's state folder (semantic_layer/state.py): a query only puts its record on a queue, so
neither the server's event loop nor a notebook waits for the disk. Several processes (server
workers, notebooks, cron jobs) append to the same file; SQLite's locking serialises their short
transactions. Files are numbered (`usage.000001.sqlite3`, …): when the newest grows past
`audit.max_megabytes` a writer starts the next one under a lock file, and every writer moves to it
before its next batch; files beyond `audit.keep_files` are deleted, oldest first.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import definitions as d

log = logging.getLogger("semantic_layer")
FILE_RE = re.compile(r"^usage\.(\d{6})\.sqlite3$")
LOCK_FILE = "usage.lock"
BATCH = 500  # records per transaction at most
QUEUE_LIMIT = 100_000  # records waiting at most; beyond, records are dropped (and counted)
WARN_EVERY = 60.0  # seconds between warnings about records that could not be written
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS queries (at REAL NOT NULL, source TEXT NOT NULL, roles TEXT NOT NULL, "
    "metrics TEXT NOT NULL, dimensions TEXT NOT NULL, dashboard TEXT, duration_ms REAL NOT NULL, "
    "cached INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS queries_at ON queries (at)",
)


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


def log_files(folder: Path) -> list[Path]:
    """The log files of a state folder, oldest first."""
    try:
        names = [p for p in folder.iterdir() if FILE_RE.match(p.name)]
    except OSError:
        return []
    return sorted(names, key=lambda p: p.name)


def read_records(folder: Path, since: float) -> Iterator[AuditRecord]:
    """The records at or after `since` in every log file of `folder`, oldest file first."""
    for path in log_files(folder):
        try:
            conn = sqlite3.connect(path, timeout=5)
        except sqlite3.Error as exc:
            log.warning("cannot read the audit log %s: %s", path, exc)
            continue
        try:
            rows = conn.execute(
                "SELECT at, source, roles, metrics, dimensions, duration_ms, cached, dashboard FROM queries "
                "WHERE at >= ? ORDER BY at",
                (since,),
            ).fetchall()
        except sqlite3.Error as exc:  # a file another process is creating, or damaged
            log.warning("cannot read the audit log %s: %s", path, exc)
            rows = []
        finally:
            conn.close()
        for at, source, roles, metrics, dimensions, duration, cached, dashboard in rows:
            yield AuditRecord(
                at,
                source,
                tuple(json.loads(roles)),
                tuple(json.loads(metrics)),
                tuple(json.loads(dimensions)),
                duration,
                bool(cached),
                dashboard,
            )


class AuditLog:
    """Appends records to the log files of one folder, from a thread of its own."""

    def __init__(self, folder: Path, max_bytes: int, keep_files: int):
        self.folder = folder
        self.max_bytes = max_bytes
        self.keep_files = keep_files
        self.dropped = 0  # records lost to a full queue or a failed write
        self._queue: queue.Queue[AuditRecord | None] = queue.Queue(QUEUE_LIMIT)
        self._written = 0
        self._queued = 0
        self._done = threading.Condition()
        self._path: Path | None = None
        self._conn: sqlite3.Connection | None = None
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
        if self._conn is not None:
            self._conn.close()

    def _write(self, batch: list[AuditRecord]) -> None:
        try:
            conn = self._connection()
            with conn:
                conn.executemany("INSERT INTO queries VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [r.row() for r in batch])
            if self._size() > self.max_bytes:
                self._rotate()
        except (sqlite3.Error, OSError) as exc:
            self.dropped += len(batch)
            if time.monotonic() - self._warned > WARN_EVERY:  # a folder that cannot be written: a warning a minute
                self._warned = time.monotonic()
                log.warning("audit log: records not written to %s (%d so far): %s", self.folder, self.dropped, exc)
            self._close()

    def _connection(self) -> sqlite3.Connection:
        """The connection to the newest file, moving to it when another process started one."""
        files = log_files(self.folder)
        newest = files[-1] if files else self.folder / "usage.000001.sqlite3"
        if self._conn is None or newest != self._path:
            self._open(newest)
        assert self._conn is not None
        return self._conn

    def _open(self, path: Path) -> None:
        self._close()
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for statement in SCHEMA:
            conn.execute(statement)
        conn.isolation_level = "DEFERRED"  # `with conn:` wraps each batch in one transaction
        self._conn, self._path = conn, path

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
        self._conn, self._path = None, None

    def _size(self) -> int:
        assert self._path is not None
        total = 0
        for path in (self._path, self._path.with_name(self._path.name + "-wal")):
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return total

    def _rotate(self) -> None:
        """Start the next file (unless another process just did) and delete the oldest beyond
        `keep_files`, under the folder's lock."""
        with open(self.folder / LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            files = log_files(self.folder)
            if not files or files[-1] != self._path or self._size() <= self.max_bytes:
                return
            number = int(FILE_RE.match(files[-1].name).group(1)) + 1  # type: ignore[union-attr]
            self._open(self.folder / f"usage.{number:06d}.sqlite3")
            for old in files[: max(len(files) + 1 - self.keep_files, 0)]:
                for path in (old, old.with_name(old.name + "-wal"), old.with_name(old.name + "-shm")):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        self.flush(timeout)
        self._queue.put(None)
        self._thread.join(timeout)


_LOGS: dict[Path, AuditLog] = {}
_LOGS_LOCK = threading.Lock()


def audit_log(folder: Path, settings: d.AuditSettings) -> AuditLog:
    """The process's one writer for `folder`: the layers of reloaded projects share it."""
    key = folder.resolve()
    with _LOGS_LOCK:
        found = _LOGS.get(key)
        if found is None:
            found = _LOGS[key] = AuditLog(key, int(settings.max_megabytes * 2**20), settings.keep_files)
        else:  # a reloaded project may have changed its limits
            found.max_bytes, found.keep_files = int(settings.max_megabytes * 2**20), settings.keep_files
        return found


@atexit.register
def _flush_all() -> None:
    """Records queued by a short-lived process (a script, the CLI) are written before it exits."""
    for found in list(_LOGS.values()):
        found.flush(timeout=5)
