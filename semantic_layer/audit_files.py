"""The audit log kept as SQLite files in WAL mode in a state folder (the default store).

Several processes (server workers, notebooks, cron jobs) append to the same file; SQLite's locking
serialises their short transactions. Files are numbered (`usage.000001.sqlite3`, …): when the newest
grows past `max_bytes` a writer starts the next one under a lock file, and every writer moves to it
before its next batch; files beyond `keep_files` are deleted, oldest first.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from .audit_record import COLUMNS, AuditRecord

log = logging.getLogger("semantic_layer")
FILE_RE = re.compile(r"^usage\.(\d{6})\.sqlite3$")
LOCK_FILE = "usage.lock"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS queries (at REAL NOT NULL, source TEXT NOT NULL, roles TEXT NOT NULL, "
    "metrics TEXT NOT NULL, dimensions TEXT NOT NULL, dashboard TEXT, duration_ms REAL NOT NULL, "
    "cached INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS queries_at ON queries (at)",
)


def log_files(folder: Path) -> list[Path]:
    """The log files of a state folder, oldest first."""
    try:
        names = [p for p in folder.iterdir() if FILE_RE.match(p.name)]
    except OSError:
        return []
    return sorted(names, key=lambda p: p.name)


class LogFiles:
    """The numbered SQLite files of one folder: written by one AuditLog thread per process, read by
    `semantic-layer usage` and lint."""

    def __init__(self, folder: Path, max_bytes: int = 64 * 2**20, keep_files: int = 4):
        self.folder = folder
        self.max_bytes = max_bytes
        self.keep_files = keep_files
        self._path: Path | None = None
        self._conn: sqlite3.Connection | None = None

    @property
    def place(self) -> str:
        return str(self.folder)

    def found(self) -> bool:
        return bool(log_files(self.folder))

    def records(self, since: float) -> Iterator[AuditRecord]:
        """The records at or after `since` in every file, oldest file first."""
        for path in log_files(self.folder):
            try:
                conn = sqlite3.connect(path, timeout=5)
            except sqlite3.Error as exc:
                log.warning("cannot read the audit log %s: %s", path, exc)
                continue
            try:
                rows = conn.execute(f"SELECT {COLUMNS} FROM queries WHERE at >= ? ORDER BY at", (since,)).fetchall()
            except sqlite3.Error as exc:  # a file another process is creating, or damaged
                log.warning("cannot read the audit log %s: %s", path, exc)
                rows = []
            finally:
                conn.close()
            yield from map(AuditRecord.from_row, rows)

    def write(self, batch: list[AuditRecord]) -> None:
        """Append a batch in one transaction; raises on failure (the connection is then closed)."""
        try:
            conn = self._connection()
            with conn:
                conn.executemany("INSERT INTO queries VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [r.row() for r in batch])
            if self._size() > self.max_bytes:
                self._rotate()
        except (sqlite3.Error, OSError):
            self.close()
            raise

    def _connection(self) -> sqlite3.Connection:
        """The connection to the newest file, moving to it when another process started one."""
        files = log_files(self.folder)
        newest = files[-1] if files else self.folder / "usage.000001.sqlite3"
        if self._conn is None or newest != self._path:
            self._open(newest)
        assert self._conn is not None
        return self._conn

    def _open(self, path: Path) -> None:
        self.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for statement in SCHEMA:
            conn.execute(statement)
        conn.isolation_level = "DEFERRED"  # `with conn:` wraps each batch in one transaction
        self._conn, self._path = conn, path

    def close(self) -> None:
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
