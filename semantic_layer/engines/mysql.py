"""MySQL and MariaDB through PyMySQL: pooled, read-only transactions, a server-side statement timeout."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pymysql
import pymysql.constants

from ..errors import ExecutionError, QueryTimeoutError
from .dbapi import Fetched, Pool, PooledEngine, decimal, fetch, information_schema_columns, timeout_message
from .refusal import refusal

TIMEOUT_CODES = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time
# A value that does not convert (incorrect or truncated value, wrong value for a type) or overflows.
BAD_VALUE_CODES = {1264, 1292, 1366, 1411, 1690}
SPINE_STEPS = 10_000_000  # periods a time spine may have: a century of hours
FT = pymysql.constants.FIELD_TYPE
DECIMALS = {FT.DECIMAL, FT.NEWDECIMAL}
# A column with no values takes the type its values would have had (PyMySQL: int, float, date, …).
TYPES: dict[int, pa.DataType] = {
    **dict.fromkeys((FT.TINY, FT.SHORT, FT.LONG, FT.LONGLONG, FT.INT24, FT.YEAR), pa.int64()),
    **dict.fromkeys((FT.FLOAT, FT.DOUBLE), pa.float64()),
    **dict.fromkeys((FT.DATE, FT.NEWDATE), pa.date32()),
    **dict.fromkeys((FT.DATETIME, FT.TIMESTAMP), pa.timestamp("us")),
    FT.TIME: pa.duration("us"),
    **dict.fromkeys((FT.VARCHAR, FT.VAR_STRING, FT.STRING, FT.ENUM), pa.string()),
}


@lru_cache(maxsize=1024)
def converted_zones(sql: str) -> frozenset[str]:
    """The zones a compiled statement converts to: each CONVERT_TZ(…, 'UTC', 'zone') the compiler wrote."""
    return frozenset(
        match.group(2) for part in sql.split("CONVERT_TZ(")[1:] if (match := _ZONE_PAIR.search(part)) is not None
    )


_ZONE_PAIR = re.compile(r"'([^']+)', '([^']+)'\)")


class MySQLEngine(PooledEngine):
    def __init__(self, url: str, pool_size: int = 8):
        parts = urlparse(url)
        self._params = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 3306,
            "user": unquote(parts.username or "root"),
            "password": unquote(parts.password or ""),
            "database": parts.path.lstrip("/") or None,
            "charset": "utf8mb4",
            "autocommit": False,
            "connect_timeout": 10,
        }
        self._pool = Pool(self._connect, pool_size)
        self._mariadb: bool | None = None
        self._zones: dict[str, bool] = {}  # zone → whether CONVERT_TZ knows it, asked once per zone

    @property
    def dialect(self) -> str:
        """'mariadb' or 'mysql', as the server says (asked once, on the first connection): MariaDB
        computes percentiles with its own window functions, MySQL through ranks."""
        if self._mariadb is None:
            with self._pool.connection():
                pass
        return "mariadb" if self._mariadb else "mysql"

    def _connect(self) -> Any:
        try:
            conn = pymysql.connect(**self._params)
        except pymysql.err.OperationalError as exc:
            raise ExecutionError(f"cannot connect to MySQL/MariaDB: {exc.args[-1]}") from None
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            row = cur.fetchone()
            self._mariadb = "mariadb" in str(row[0] if row else "").lower()
            # Time zone conversion happens in SQL (CONVERT_TZ); the session itself stays in UTC.
            cur.execute("SET time_zone = '+00:00'")
            # A time spine is a recursive CTE, one step a period; MariaDB stops after 1 000 steps
            # without a word (a cumulative metric by day over three years lost its last days), MySQL
            # with an error.
            cur.execute(
                "SET SESSION max_recursive_iterations = %s"
                if self._mariadb
                else "SET SESSION cte_max_recursion_depth = %s",
                (SPINE_STEPS,),
            )
        return conn

    def _fetched(self, sql: str, params: dict[str, Any], timeout_seconds: float | None) -> Fetched:
        self._check_zones(sql)
        return super()._fetched(sql, params, timeout_seconds)

    def _declared(self, column: Any) -> pa.DataType | None:
        """From PyMySQL's description: (name, type_code, display_size, internal_size, precision, scale, null_ok)."""
        if column[1] in DECIMALS:
            return decimal(column[5])
        return TYPES.get(column[1])

    def _fetch(self, conn: Any, sql: str, params: dict[str, Any], timeout_seconds: float | None) -> Fetched:
        def setup(cur: Any) -> None:
            if timeout_seconds and self._mariadb:
                cur.execute("SET SESSION max_statement_time = %s", (float(timeout_seconds),))
            elif timeout_seconds:
                cur.execute("SET SESSION max_execution_time = %s", (int(timeout_seconds * 1000),))
            cur.execute("START TRANSACTION READ ONLY")

        def converted_silently(cur: Any) -> None:
            """MySQL and MariaDB compare 'north' with an integer column as 0 and only warn: the
            answer would be a silently wrong one (no rows). A warning of a value that did not
            convert is a refusal, as the other databases make it."""
            if not cur.warning_count:
                return
            cur.execute("SHOW WARNINGS")
            for _, code, message in cur.fetchall():
                if code in BAD_VALUE_CODES:
                    raise refusal("MySQL/MariaDB", str(message), sql, bad_value=True)

        try:
            return fetch(conn, sql, params, setup, converted_silently)
        except pymysql.err.MySQLError as exc:
            code = exc.args[0] if exc.args else None
            if code in TIMEOUT_CODES:
                raise QueryTimeoutError(timeout_message(timeout_seconds, "the server")) from None
            raise refusal(
                "MySQL/MariaDB", str(exc.args[-1] if exc.args else exc), sql, bad_value=code in BAD_VALUE_CODES
            ) from None

    def _check_zones(self, sql: str) -> None:
        """Refuse a statement converting to a zone the server cannot convert to. Without its time zone
        tables (or without one zone in them) CONVERT_TZ returns NULL, and a query by day would answer
        one NULL row instead of its days: a wrong answer, never to be given."""
        for zone in converted_zones(sql):
            works = self._zones.get(zone)
            if works is None:
                with self._pool.connection() as conn, conn.cursor() as cur:
                    cur.execute("SELECT CONVERT_TZ('2024-01-01 00:00:00', 'UTC', %s)", (zone,))
                    row = cur.fetchone()
                    conn.rollback()
                works = self._zones[zone] = row is not None and row[0] is not None
            if not works:
                raise ExecutionError(
                    f"this MySQL/MariaDB server cannot convert times to '{zone}' (CONVERT_TZ gives "
                    "NULL): load its time zone tables with 'mariadb-tzinfo-to-sql "
                    "/usr/share/zoneinfo | mariadb -u root mysql' (mysql_tzinfo_to_sql for "
                    "MySQL), or ask in a zone it knows"
                )

    def table_columns(self, table: str) -> list[str]:
        return information_schema_columns(self, table, "DATABASE()")
