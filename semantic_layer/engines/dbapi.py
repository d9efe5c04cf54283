"""What the PostgreSQL and MySQL/MariaDB engines share: placeholders, pooling, Arrow results."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pyarrow as pa

from ..errors import ExecutionError


def pyformat(template: str) -> str:
    """Our rendered placeholders (`:__slp0__` or `%(__slp0__)s`) as the driver's `%(name)s`.

    Every other `%` in the statement (LIKE patterns, DATE_FORMAT) is doubled so the driver leaves it.
    """
    escaped = template.replace("%", "%%")
    return re.sub(r"(?::|%%\()(__slp\d+__)(?:\)s)?", r"%(\1)s", escaped)


def information_schema_columns(engine: Any, table: str, default_schema: str) -> list[str]:
    """Column names of `schema.table` (or of `table` in the connection's default schema)."""
    schema, _, name = table.rpartition(".")
    found = engine.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :__slp0__ "
        f"AND table_schema = COALESCE(:__slp1__, {default_schema}) ORDER BY ordinal_position",
        {"__slp0__": name, "__slp1__": schema or None},
    )
    columns = found.column(0).to_pylist() if found.num_rows else []
    if not columns:
        raise ExecutionError(f"table '{table}' does not exist")
    return [str(c) for c in columns]


def fetch(
    conn: Any,
    sql: str,
    params: dict[str, Any],
    setup: Callable[[Any], None],
    check: Callable[[Any], None] | None = None,
) -> Fetched:
    """Run one statement after `setup` (timeouts, READ ONLY) in a transaction that is always rolled
    back: its column names, rows, and the driver's description of each column; `check` looks at
    the cursor once the rows are in (a server's warnings)."""
    try:
        with conn.cursor() as cur:
            setup(cur)
            cur.execute(pyformat(sql), params)  # a dict, even empty: the doubled % are then undone
            description = list(cur.description or [])
            rows = list(cur.fetchall()) if cur.description else []
            if check is not None:
                check(cur)
    finally:
        conn.rollback()
    return [d[0] for d in description], rows, description


def timeout_message(seconds: float | None, server: str) -> str:
    return (
        f"the query ran longer than {seconds} s and was cancelled by {server} — narrow the query or raise "
        "limits.timeout_seconds"
    )


def to_arrow(columns: list[str], rows: list[tuple[Any, ...]], declared: list[pa.DataType | None]) -> pa.Table:
    """Rows as Arrow, each column's type following its declaration rather than its values where
    the two would differ: a column with no values (an empty answer, all NULL) takes the type the
    driver declares instead of Arrow's `null`, and a decimal is decimal128(38, scale) — the scale
    declared, else that of its values — rather than the narrowest precision its values fit, which
    would change from one answer to the next."""
    if not columns:
        return pa.table({})
    data: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in columns]
    arrays = [_array(list(values), kind) for values, kind in zip(data, declared, strict=True)]
    return pa.table(dict(zip(columns, arrays, strict=True)))


def _array(values: list[Any], declared: pa.DataType | None) -> pa.Array:
    found = pa.array(values)
    if pa.types.is_null(found.type) and declared is not None:
        return pa.array(values, type=declared)
    if pa.types.is_decimal128(found.type):
        scale = declared.scale if isinstance(declared, pa.Decimal128Type) else found.type.scale
        wide = pa.decimal128(38, max(scale, found.type.scale))
        if found.type.precision - found.type.scale <= wide.precision - wide.scale:
            return found.cast(wide)
    return found


def decimal(scale: int | None) -> pa.DataType:
    """A DECIMAL column as Arrow: as wide as decimal128 goes, at the declared scale (0 unknown)."""
    return pa.decimal128(38, min(scale or 0, 38))


class Pool:
    """A small blocking pool: connections are reused, at most `size` exist, broken ones are replaced."""

    def __init__(self, connect: Callable[[], Any], size: int):
        self._connect = connect
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = queue.Queue[None]()
        for _ in range(size):
            self._slots.put(None)
        self._reserved: Any = None
        self._reserved_lock = threading.Lock()

    @contextmanager
    def reserved(self) -> Iterator[Any]:
        """One more connection, outside the slots, for health probes: with every slot held by a long
        query, a probe through `connection` would wait for one to finish."""
        with self._reserved_lock:
            if self._reserved is None:
                self._reserved = self._connect()
            try:
                yield self._reserved
            except Exception:
                _close_quietly(self._reserved)
                self._reserved = None
                raise

    @contextmanager
    def connection(self) -> Iterator[Any]:
        self._slots.get()
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            try:
                yield conn
            except Exception:
                _close_quietly(conn)
                raise
            self._idle.put(conn)
        finally:
            self._slots.put(None)

    def close(self) -> None:
        with self._reserved_lock:
            if self._reserved is not None:
                _close_quietly(self._reserved)
                self._reserved = None
        while True:
            try:
                _close_quietly(self._idle.get_nowait())
            except queue.Empty:
                return


def _close_quietly(conn: Any) -> None:
    with suppress(Exception):  # a connection that cannot close is being discarded anyway
        conn.close()


Rows = tuple[list[str], list[tuple[Any, ...]]]
Fetched = tuple[list[str], list[tuple[Any, ...]], list[Any]]  # names, rows, the cursor's description


class PooledEngine:
    """What the DB-API engines share: a query takes a pooled connection, a probe the reserved one,
    Arrow is built from rows. Each engine says how one statement runs on a connection (`_fetch`)."""

    _pool: Pool

    def _fetch(self, conn: Any, sql: str, params: dict[str, Any], timeout_seconds: float | None) -> Fetched:
        raise NotImplementedError

    def _declared(self, column: Any) -> pa.DataType | None:
        """The Arrow type of a column as the driver's description declares it (None: not known)."""
        raise NotImplementedError

    def execute(self, sql: str, params: dict[str, Any], *, timeout_seconds: float | None = None) -> pa.Table:
        names, rows, description = self._fetched(sql, params, timeout_seconds)
        return to_arrow(names, rows, [self._declared(column) for column in description])

    def fetch_rows(self, sql: str, params: dict[str, Any], *, timeout_seconds: float | None = None) -> Rows:
        names, rows, _ = self._fetched(sql, params, timeout_seconds)
        return names, rows

    def _fetched(self, sql: str, params: dict[str, Any], timeout_seconds: float | None) -> Fetched:
        with self._pool.connection() as conn:
            return self._fetch(conn, sql, params, timeout_seconds)

    def memory_bytes(self) -> int | None:
        return None  # the database runs in a process of its own

    def ping(self, timeout_seconds: float) -> None:
        with self._pool.reserved() as conn:
            self._fetch(conn, "SELECT 1", {}, timeout_seconds)

    def close(self) -> None:
        self._pool.close()
