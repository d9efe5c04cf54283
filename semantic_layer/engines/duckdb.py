"""DuckDB: the embedded default. One read-only connection, one cursor per query (thread-safe)."""

from __future__ import annotations

import atexit
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
from sqlglot import exp

from ..errors import ExecutionError, QueryTimeoutError
from .watchdog import WATCHDOG

T = TypeVar("T")

# We fetch Arrow from a DB-API result on purpose (see `execute`); the extra copy DuckDB warns about
# costs less than the relational API's second planning pass for the result sizes a layer returns.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)


class DuckDBEngine:
    dialect = "duckdb"

    def __init__(self, path: str):
        self.path = path
        if path == ":memory:":
            self._con = duckdb.connect(":memory:")
        else:
            if not Path(path).exists():
                raise ExecutionError(f"DuckDB file '{path}' does not exist — create it (for the demo: "
                                     "'semantic-layer demo') or fix 'connection:' in semantic_layer.yml")
            # Read-only: the layer answers questions; it must never be able to change the data.
            self._con = duckdb.connect(path, read_only=True)
        # Close at exit even when the caller did not: DuckDB reports connections left open.
        atexit.register(self.close)

    def execute(self, sql: str, params: dict[str, Any], *, timeout_seconds: float | None = None) -> pa.Table:
        # execute + a record-batch reader: measurably faster than the relational API (`sql()`),
        # which plans the statement once more before materialising it.
        def arrow(result: duckdb.DuckDBPyConnection) -> pa.Table:
            reader = result.to_arrow_reader() if result.description else None
            return reader.read_all() if reader is not None else pa.table({})

        return self._run(sql, params, timeout_seconds, arrow)

    def fetch_rows(self, sql: str, params: dict[str, Any], *,
                   timeout_seconds: float | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        def rows(result: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple[Any, ...]]]:
            if not result.description:
                return [], []
            return [d[0] for d in result.description], result.fetchall()

        return self._run(sql, params, timeout_seconds, rows)

    def _run(self, sql: str, params: dict[str, Any], timeout_seconds: float | None,
             consume: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """One statement on its own cursor, interrupted by the watchdog at the timeout."""
        cursor = self._con.cursor()
        alarm = WATCHDOG.arm(timeout_seconds, cursor.interrupt) if timeout_seconds else None
        try:
            return consume(cursor.execute(sql, params or None))
        except duckdb.InterruptException:
            raise QueryTimeoutError(f"the query ran longer than {timeout_seconds} s and was cancelled — narrow "
                                    "the time range or filters, or raise limits.timeout_seconds") from None
        except duckdb.Error as exc:
            raise ExecutionError(f"DuckDB refused the statement: {exc}") from None
        finally:
            if alarm is not None:
                WATCHDOG.disarm(alarm)
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
