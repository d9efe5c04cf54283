"""The rollup store: one DuckDB file, replaced whole by each build.

A builder copies the current file, changes the copy (a rollup's new partitions replace its old ones
in one transaction) and moves it over the old one (`os.replace`, atomic). A reader opens the file
read-only and keeps the version it opened until it sees a newer one on disk: several server
processes read while one builder writes, and none ever sees half a build. What was built, when, and
from which definition is kept in the file itself (table `rollup_state`), so it is swapped together
with the data it describes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from .. import definitions as d
from ..engines.duckdb import DuckDBEngine
from ..errors import ExecutionError

# What was built, when, from which definition (a hash): one row per rollup, in the file it describes.
STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS rollup_state (name VARCHAR PRIMARY KEY, definition VARCHAR, "
    "refreshed_at TIMESTAMPTZ, newest_period DATE, row_count BIGINT, build_seconds DOUBLE)"
)
STATE_ROWS = "SELECT name, definition, refreshed_at, newest_period, row_count, build_seconds FROM rollup_state"


def definition_hash(rollup: d.Rollup, settings: d.Settings, model: d.Model) -> str:
    """What the stored rows depend on: the rollup, its model and the calendar settings. Rows built
    from another definition are never read."""
    digest = hashlib.sha256(rollup.model_dump_json(exclude={"refresh", "max_staleness", "description"}).encode())
    digest.update(model.model_dump_json().encode())
    digest.update(f"{settings.timezone}|{settings.week_start}|{settings.fiscal_year_start_month}".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class StoredRollup:
    """A rollup as the store holds it."""

    name: str
    definition: str
    refreshed_at: datetime
    newest_period: date | None
    row_count: int
    build_seconds: float

    def age_seconds(self, now: datetime) -> float:
        return (now - self.refreshed_at).total_seconds()


class RollupStore:
    """The store file at `path`: its state, a read-only engine on its current version, and new
    versions written through `writing`."""

    def __init__(self, path: Path, settings: d.EngineSettings | None = None):
        self.path = path
        self.settings = settings
        self._lock = threading.Lock()
        self._version: tuple[int, int] | None = None
        self._engine: DuckDBEngine | None = None
        self._retired: DuckDBEngine | None = None  # the previous version, still read by queries in flight
        self._state: dict[str, StoredRollup] = {}

    def _disk_version(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def _refresh(self) -> None:
        """Reopen when a builder replaced the file (a stat: cheap enough for every query)."""
        version = self._disk_version()
        if version == self._version:
            return
        with self._lock:
            if version == self._version:
                return
            if self._retired is not None:
                self._retired.close()
            self._retired, self._engine, self._state = self._engine, None, {}
            if version is not None:
                self._engine = DuckDBEngine(str(self.path), self.settings)
                self._state = _read_state(self._engine)
            self._version = version

    def state(self) -> dict[str, StoredRollup]:
        self._refresh()
        return self._state

    def engine(self) -> DuckDBEngine | None:
        self._refresh()
        return self._engine

    def size_bytes(self) -> int:
        version = self._disk_version()
        return 0 if version is None else self.path.stat().st_size

    @contextlib.contextmanager
    def writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writable copy of the current version, moved over it when the block ends without an
        error (and thrown away when it does not). The caller holds the build lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".building", dir=self.path.parent)
        os.close(fd)
        tmp = Path(name)
        tmp.unlink()  # DuckDB creates the file itself; an empty file is not a database
        try:
            con = duckdb.connect(str(tmp))
            try:
                if self.path.exists():
                    _copy_from(con, self.path)
                con.execute(STATE_DDL)
                yield con
                con.execute("CHECKPOINT")
            finally:
                con.close()
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            for engine in (self._engine, self._retired):
                if engine is not None:
                    engine.close()
            self._engine = self._retired = None
            self._version = None


def _copy_from(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Every table of the version at `path`, copied into the new one table by table: the copy is
    compact (the old file keeps the space of rows deleted from it, a copied file would too)."""
    con.execute("ATTACH ? AS previous (READ_ONLY)", [str(path)])
    try:
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'previous'"
        ).fetchall()
        for (name,) in tables:
            source = exp.select("*").from_(
                exp.table_(exp.to_identifier(name, quoted=True), db="main", catalog="previous")
            )
            copy = exp.Create(kind="TABLE", this=table(name), expression=source)
            con.execute(copy.sql("duckdb"))
    finally:
        con.execute("DETACH previous")


def table(name: str) -> exp.Table:
    """A table of the store by name (rollup names are snake_case; quoted all the same)."""
    return exp.table_(exp.to_identifier(name, quoted=True))


def record(con: duckdb.DuckDBPyConnection, stored: StoredRollup) -> None:
    con.execute("DELETE FROM rollup_state WHERE name = ?", [stored.name])
    con.execute(
        "INSERT INTO rollup_state VALUES (?, ?, ?, ?, ?, ?)",
        [
            stored.name,
            stored.definition,
            stored.refreshed_at,
            stored.newest_period,
            stored.row_count,
            stored.build_seconds,
        ],
    )


def read_record(con: duckdb.DuckDBPyConnection, name: str) -> StoredRollup | None:
    rows = [row for row in con.execute(STATE_ROWS).fetchall() if row[0] == name]
    return _stored(rows[0]) if rows else None


def _read_state(engine: DuckDBEngine) -> dict[str, StoredRollup]:
    try:
        rows = engine.execute(STATE_ROWS, {})
    except ExecutionError:  # a file without state (not written by a builder) has no usable rollups
        return {}
    return {row["name"]: _stored(tuple(row.values())) for row in rows.to_pylist()}


def _stored(row: tuple[Any, ...]) -> StoredRollup:
    name, definition, refreshed_at, newest, rows, seconds = row
    if refreshed_at.tzinfo is None:
        refreshed_at = refreshed_at.replace(tzinfo=UTC)
    return StoredRollup(name, definition, refreshed_at, newest, int(rows), float(seconds))
