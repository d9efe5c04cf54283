"""PostgreSQL through psycopg 3: pooled, read-only transactions, a server-side statement timeout."""

from __future__ import annotations

from typing import Any

import psycopg
import pyarrow as pa
from psycopg import errors as pg_errors
from psycopg import sql as pg_sql

from ..errors import ExecutionError, QueryTimeoutError
from .dbapi import Fetched, Pool, PooledEngine, decimal, fetch, information_schema_columns, timeout_message
from .refusal import refusal

# Data exceptions a value causes: text that is no value of the type, a number out of range, a date
# that is no date or overflows.
BAD_VALUE_STATES = {"22P02", "22003", "22007", "22008", "22018"}
TYPE_MISMATCH_STATES = {"42883", "42804"}  # no operator for these types; datatype mismatch


def _oids(*names: str) -> list[int]:
    return [psycopg.postgres.types[name].oid for name in names]


NUMERIC = _oids("numeric")[0]
# A column with no values takes the type its values would have had (psycopg: int, float, date, …).
TYPES: dict[int, pa.DataType] = {
    **dict.fromkeys(_oids("int2", "int4", "int8", "oid"), pa.int64()),
    **dict.fromkeys(_oids("float4", "float8"), pa.float64()),
    **dict.fromkeys(_oids("text", "varchar", "bpchar", "name"), pa.string()),
    **dict.fromkeys(_oids("bool"), pa.bool_()),
    **dict.fromkeys(_oids("date"), pa.date32()),
    **dict.fromkeys(_oids("timestamp"), pa.timestamp("us")),
    **dict.fromkeys(_oids("timestamptz"), pa.timestamp("us", tz="UTC")),
    **dict.fromkeys(_oids("interval"), pa.duration("us")),
}


class PostgresEngine(PooledEngine):
    dialect = "postgres"

    def __init__(self, url: str, pool_size: int = 8):
        self.url = url
        self._pool = Pool(self._connect, pool_size)

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self.url, autocommit=False, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise ExecutionError(f"cannot connect to PostgreSQL: {str(exc).strip()}") from None
        conn.read_only = True  # every transaction this engine opens is READ ONLY
        return conn

    def _declared(self, column: Any) -> pa.DataType | None:
        if column.type_code == NUMERIC:
            return decimal(column.scale)  # None for a NUMERIC without declared scale, such as a sum
        return TYPES.get(column.type_code)

    def _fetch(self, conn: Any, sql: str, params: dict[str, Any], timeout_seconds: float | None) -> Fetched:
        def setup(cur: Any) -> None:
            if timeout_seconds:
                # SET LOCAL: the server cancels the statement itself, and only in this transaction.
                cur.execute(
                    pg_sql.SQL("SET LOCAL statement_timeout = {}").format(
                        pg_sql.Literal(f"{int(timeout_seconds * 1000)}ms")
                    )
                )

        try:
            return fetch(conn, sql, params, setup)
        except pg_errors.QueryCanceled:
            raise QueryTimeoutError(timeout_message(timeout_seconds, "PostgreSQL")) from None
        except psycopg.Error as exc:
            raise refusal(
                "PostgreSQL",
                str(exc).strip(),
                sql,
                bad_value=exc.sqlstate in BAD_VALUE_STATES,
                mismatch=exc.sqlstate in TYPE_MISMATCH_STATES,
            ) from None

    def table_columns(self, table: str) -> list[str]:
        return information_schema_columns(self, table, "current_schema()")
