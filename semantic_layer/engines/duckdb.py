"""DuckDB: the embedded default. One read-only connection, one cursor per query (thread-safe)."""

from __future__ import annotations

import atexit
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
from sqlglot import exp

from ..definitions import EngineSettings
from ..errors import ExecutionError, LimitExceededError, QueryTimeoutError
from .refusal import refusal
from .watchdog import WATCHDOG

T = TypeVar("T")

# We fetch Arrow from a DB-API result on purpose (see `execute`); the extra copy DuckDB warns about
# costs less than the relational API's second planning pass for the result sizes a layer returns.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
BAD_VALUE = (duckdb.ConversionException, duckdb.OutOfRangeException)  # a value that does not convert or overflows
TYPE_MISMATCH = re.compile(
    r"Cannot compare values of type|No function matches|explicit cast is required|"
    r"Cannot mix values of type"
)


def _config(settings: EngineSettings) -> dict[str, str | bool | int]:
    """DuckDB's own defaults suit a notebook, not a server: it may take 80 % of the machine, and
    memory a query freed (even one cancelled at its timeout) stays with the process. The allocator's
    background threads hand it back to the system within seconds, and a task that peaked above
    32 MiB (not DuckDB's 128) flushes its thread's cache, so that what many mid-sized queries
    leave behind does not pile up in each worker thread over hours of load."""
    memory = settings.memory_limit or f"{max(1024, _physical_mib() // 4)}MiB"
    config: dict[str, str | bool | int] = {
        "memory_limit": memory.replace(" ", ""),
        "allocator_background_threads": True,
        "allocator_flush_threshold": "32MiB",
    }
    if settings.threads is not None:
        config["threads"] = settings.threads
    return config


def _physical_mib() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)


class DuckDBEngine:
    dialect = "duckdb"

    def __init__(self, path: str, settings: EngineSettings | None = None):
        self.path = path
        if path == ":memory:":
            self._con = duckdb.connect(":memory:")
        else:
            if not Path(path).exists():
                raise ExecutionError(
                    f"DuckDB file '{path}' does not exist — create it (for the demo: "
                    "'semantic-layer demo') or fix 'connection:' in semantic_layer.yml"
                )
            # Read-only: the layer answers questions; it must never be able to change the data.
            self._con = duckdb.connect(path, read_only=True)
        # Set, not passed as connect(config=…): DuckDB refuses a second connection to a file with
        # another configuration, and a notebook may well have the same file open already.
        for name, value in _config(settings or EngineSettings()).items():
            item = exp.SetItem(this=exp.EQ(this=exp.var(name), expression=exp.convert(value)))
            self._con.execute(exp.Set(expressions=[item]).sql("duckdb"))
        # Close at exit even when the caller did not: DuckDB reports connections left open.
        atexit.register(self.close)

    def execute(self, sql: str, params: dict[str, Any], *, timeout_seconds: float | None = None) -> pa.Table:
        # execute + a record-batch reader: measurably faster than the relational API (`sql()`),
        # which plans the statement once more before materialising it.
        def arrow(result: duckdb.DuckDBPyConnection) -> pa.Table:
            reader = result.to_arrow_reader() if result.description else None
            return reader.read_all() if reader is not None else pa.table({})

        return self._run(sql, params, timeout_seconds, arrow)

    def fetch_rows(
        self, sql: str, params: dict[str, Any], *, timeout_seconds: float | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        def rows(result: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple[Any, ...]]]:
            if not result.description:
                return [], []
            return [d[0] for d in result.description], result.fetchall()

        return self._run(sql, params, timeout_seconds, rows)

    def _run(
        self,
        sql: str,
        params: dict[str, Any],
        timeout_seconds: float | None,
        consume: Callable[[duckdb.DuckDBPyConnection], T],
    ) -> T:
        """One statement on its own cursor, interrupted by the watchdog at the timeout."""
        cursor = self._con.cursor()
        alarm = WATCHDOG.arm(timeout_seconds, cursor.interrupt) if timeout_seconds else None
        try:
            return consume(cursor.execute(sql, params or None))
        except duckdb.InterruptException:
            raise QueryTimeoutError(
                f"the query ran longer than {timeout_seconds} s and was cancelled — narrow "
                "the time range or filters, or raise limits.timeout_seconds"
            ) from None
        except duckdb.OutOfMemoryException:
            raise LimitExceededError(
                "the query needs more memory than engine.memory_limit allows — narrow the "
                "time range or filters, or raise engine.memory_limit in "
                "semantic_layer.yml"
            ) from None
        except duckdb.Error as exc:
            mismatch = isinstance(exc, duckdb.BinderException) and TYPE_MISMATCH.search(str(exc)) is not None
            raise refusal("DuckDB", str(exc), sql, bad_value=isinstance(exc, BAD_VALUE), mismatch=mismatch) from None
        finally:
            if alarm is not None:
                WATCHDOG.disarm(alarm)
            cursor.close()

    def ping(self, timeout_seconds: float) -> None:
        self._run("SELECT 1", {}, timeout_seconds, lambda result: result.fetchall())  # a cursor of its own

    def memory_bytes(self) -> int | None:
        """What DuckDB's buffer manager holds (cached table blocks, hash tables, …); memory its
        allocator keeps for reuse is not counted — RSS minus this tells that part."""
        cursor = self._con.cursor()
        try:
            row = cursor.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
            return int(row[0]) if row and row[0] is not None else 0
        finally:
            cursor.close()

    def table_columns(self, table: str) -> list[str]:
        cursor = self._con.cursor()
        try:
            probe = exp.select("*").from_(exp.to_table(table, dialect="duckdb")).limit(0)
            return list(cursor.sql(probe.sql("duckdb")).columns)
        except duckdb.Error as exc:
            raise ExecutionError(str(exc).splitlines()[0]) from None
        finally:
            cursor.close()

    def close(self) -> None:
        self._con.close()
        atexit.unregister(self.close)
