"""ClickHouse: embedded (chdb, a data folder in this process) or a server over HTTP (clickhouse-connect).

Both run the same SQL the same way: values are the server's own query parameters (`{name:Type}`,
typed from the bound Python value), every session reads in UTC with `join_use_nulls` (an outer
join's missing side is NULL, not the column type's default: ClickHouse columns are not Nullable
unless declared so), each statement runs under `max_execution_time`, and answers come back as
Arrow with the types the other engines give (naive timestamps, signed integers, nullable fields).
"""

from __future__ import annotations

import importlib
import re
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from ..errors import ExecutionError, LimitExceededError, QueryTimeoutError, QueryValidationError
from .dbapi import Pool, timeout_message
from .refusal import refusal

# Every session: UTC wall clock for naive timestamps, NULL for an outer join's missing side, no
# writes (readonly=2 still lets a statement carry its own settings, such as its timeout).
SESSION_SETTINGS: dict[str, Any] = {"session_timezone": "UTC", "join_use_nulls": 1, "readonly": 2}
TIMEOUT_CODES = {159, 160}  # TIMEOUT_EXCEEDED, TOO_SLOW
MEMORY_CODES = {241}  # MEMORY_LIMIT_EXCEEDED
# A value that does not parse as its type, or is out of its range.
BAD_VALUE_CODES = {6, 27, 38, 41, 69, 70, 72, 321, 407, 456, 457}
MISMATCH_CODES = {43, 53, 386}  # ILLEGAL_TYPE_OF_ARGUMENT, TYPE_MISMATCH, NO_COMMON_TYPE
_NOT_CONVERTED = re.compile(r"Cannot convert string|cannot be safely converted|Cannot parse")
_CODE = re.compile(r"Code: (\d+)")
_PLACEHOLDER = re.compile(r"\{(__slp\d+__): \}")  # how sqlglot renders our untyped placeholders


def parameter_type(value: Any) -> str:
    """The ClickHouse type a bound value is sent as: the member's own type, as the layer bound it
    (a number member's value is an exact Decimal, a date stays a date)."""
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):  # past Int64 a Decimal: ClickHouse compares a DECIMAL with an Int128 by
        return "Int64" if -(2**63) <= value < 2**63 else "Decimal(76, 0)"  # converting it into the DECIMAL
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return f"Decimal(76, {min(scale, 76)})"
    if isinstance(value, datetime):
        return "DateTime64(6)"
    if isinstance(value, date):
        return "Date32"
    return "String"


def typed_placeholders(sql: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The statement with each placeholder typed by its value (`{__slp0__:Decimal(76, 2)}`), and the
    values to send. A NULL is no value of any type the server would parse: it is written as the
    keyword NULL instead (a constant, never user text). A Decimal is sent in positional notation
    (the server reads no exponent: 1E+37)."""
    sent = {
        name: format(value, "f") if isinstance(value, Decimal) else value
        for name, value in params.items()
        if value is not None
    }

    def typed(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"{{{name}:{parameter_type(params[name])}}}" if name in sent else "NULL"

    return _PLACEHOLDER.sub(typed, sql), sent


def same_types(table: pa.Table) -> pa.Table:
    """An answer with the types the other engines give: timestamps naive wall-clock time (a
    ClickHouse DateTime carries its zone), integers signed 64-bit (count() is UInt64), dictionary
    (LowCardinality) columns plain, and every field nullable."""
    columns = [_plain(table.column(i)) for i in range(table.num_columns)]
    fields = [pa.field(name, column.type) for name, column in zip(table.column_names, columns, strict=True)]
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _plain(column.cast(kind.value_type))
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        return pc.local_timestamp(column).cast(pa.timestamp("us"))
    if pa.types.is_timestamp(kind) and kind.unit != "us":
        return column.cast(pa.timestamp("us"))
    if pa.types.is_integer(kind) and kind != pa.int64():
        return column.cast(pa.int64())
    if pa.types.is_large_string(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return column.cast(pa.string())
    if pa.types.is_decimal256(kind) and kind.precision - kind.scale <= 38 - min(kind.scale, 38):
        return column.cast(pa.decimal128(38, kind.scale))
    return column


def failure(server: str, message: str, sql: str, timeout_seconds: float | None) -> Exception:
    """The layer's error for ClickHouse's `message` (which starts `Code: N.`)."""
    found = _CODE.search(message)
    code = int(found.group(1)) if found else None
    if code in TIMEOUT_CODES:
        return QueryTimeoutError(timeout_message(timeout_seconds, server))
    if code in MEMORY_CODES:
        return LimitExceededError(
            f"the query needs more memory than {server} allows (max_memory_usage) — narrow the time range or filters"
        )
    # TYPE_MISMATCH is also how a comparison says a value did not convert ('north' with an Int32).
    bad_value = code in BAD_VALUE_CODES or (code in MISMATCH_CODES and _NOT_CONVERTED.search(message) is not None)
    return refusal(server, message, sql, bad_value=bad_value, mismatch=code in MISMATCH_CODES)


def statement_settings(timeout_seconds: float | None) -> dict[str, Any]:
    return {"max_execution_time": timeout_seconds} if timeout_seconds else {}


class ClickHouseAnswers:
    """What both ClickHouse engines share: typed parameters in, Arrow and rows out. Each engine
    says how one statement runs (`_arrow`)."""

    dialect = "clickhouse"

    def _arrow(self, sql: str, params: dict[str, Any], timeout_seconds: float | None, *, probe: bool) -> pa.Table:
        raise NotImplementedError

    def execute(self, sql: str, params: dict[str, Any], *, timeout_seconds: float | None = None) -> pa.Table:
        statement, values = typed_placeholders(sql, params)
        return same_types(self._arrow(statement, values, timeout_seconds, probe=False))

    def fetch_rows(
        self, sql: str, params: dict[str, Any], *, timeout_seconds: float | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        table = self.execute(sql, params, timeout_seconds=timeout_seconds)
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        return list(table.column_names), list(zip(*columns, strict=True))

    def ping(self, timeout_seconds: float) -> None:
        self._arrow("SELECT 1", {}, timeout_seconds, probe=True)

    def table_columns(self, table: str) -> list[str]:
        database, _, name = table.rpartition(".")
        found = self.execute(
            "SELECT name FROM system.columns WHERE table = {__slp0__: } "
            "AND database = coalesce({__slp1__: }, currentDatabase()) ORDER BY position",
            {"__slp0__": name, "__slp1__": database or None},
        )
        if not found.num_rows:
            raise ExecutionError(f"table '{table}' does not exist")
        return [str(c) for c in found.column(0).to_pylist()]


def _set_timeout(seconds: float | None) -> str:
    item = exp.SetItem(this=exp.EQ(this=exp.var("max_execution_time"), expression=exp.convert(float(seconds or 0))))
    return exp.Set(expressions=[item]).sql("clickhouse")


def _driver(name: str) -> Any:
    """The driver module, or an error that says how to install it (both are optional)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ExecutionError(f"the ClickHouse engines need {name}: pip install 'semantic-layer[clickhouse]'") from None


def _options(query: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(query).items()}


class ChdbEngine(ClickHouseAnswers):
    """ClickHouse inside this process (chdb), its data in one folder. chdb opens one folder per
    process: a second engine on another folder is refused with that reason."""

    _opened: str | None = None
    _opened_lock = threading.Lock()

    def __init__(self, url: str, pool_size: int = 4):
        location, _, query = url.partition("://")[2].partition("?")
        self.path = unquote(location.removeprefix("/"))
        if not self.path:
            raise QueryValidationError(
                f"connection '{url}' names no data folder — write chdb:///folder (relative) or chdb:////srv/folder"
            )
        if not Path(self.path).is_dir():
            raise ExecutionError(
                f"chdb data folder '{self.path}' does not exist — load the data into it with chdb first, "
                "or fix 'connection:' in semantic_layer.yml"
            )
        self.path = str(Path(self.path).resolve())
        self.database = _options(query).get("database", "default")
        self._pool = Pool(self._connect, pool_size)

    def _connect(self) -> Any:
        chdb = _driver("chdb")
        with ChdbEngine._opened_lock:
            if ChdbEngine._opened not in (None, self.path):
                raise ExecutionError(
                    f"chdb runs one data folder per process and '{ChdbEngine._opened}' is open: "
                    f"cannot open '{self.path}' too — use one folder (one database per data set in it)"
                )
            options = {**SESSION_SETTINGS, "mode": "ro", "database": self.database}
            options.pop("readonly")  # mode=ro is chdb's readonly=2
            try:
                conn = chdb.connect(f"{self.path}?" + "&".join(f"{k}={v}" for k, v in options.items()))
            except Exception as exc:
                raise ExecutionError(f"cannot open chdb folder '{self.path}': {str(exc).strip()}") from None
            ChdbEngine._opened = self.path
        return conn

    def _arrow(self, sql: str, params: dict[str, Any], timeout_seconds: float | None, *, probe: bool) -> pa.Table:
        with self._pool.reserved() if probe else self._pool.connection() as conn:
            try:
                # The timeout is a setting of the session; one statement at a time runs on it.
                conn.query(_set_timeout(timeout_seconds))
                table: pa.Table = conn.query(sql, "ArrowTable", params=params)
            except RuntimeError as exc:  # the connection raises chdb._exceptions.ChdbError, a RuntimeError
                raise failure("ClickHouse", str(exc), sql, timeout_seconds) from None
        return table

    def memory_bytes(self) -> int | None:
        found = self.execute("SELECT value FROM system.metrics WHERE metric = 'MemoryTracking'", {})
        return int(found.column(0)[0].as_py()) if found.num_rows else 0

    def close(self) -> None:
        self._pool.close()


class ClickHouseServerEngine(ClickHouseAnswers):
    """A ClickHouse server over its HTTP interface: `clickhouse://user:password@host:8123/database`
    (`clickhouses://` for HTTPS). clickhouse-connect's client is safe to share between threads when
    it keeps no session, which the settings above do not need."""

    def __init__(self, url: str):
        parts = urlparse(url)
        self._params: dict[str, Any] = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or (8443 if parts.scheme == "clickhouses" else 8123),
            "username": unquote(parts.username or "default"),
            "password": unquote(parts.password or ""),
            "database": parts.path.lstrip("/") or "default",
            "secure": parts.scheme == "clickhouses",
        }
        self._client: Any = None
        self._lock = threading.Lock()

    def _connected(self) -> Any:
        with self._lock:
            if self._client is None:
                clickhouse_connect = _driver("clickhouse_connect")
                from clickhouse_connect.driver.exceptions import ClickHouseError

                try:
                    self._client = clickhouse_connect.get_client(
                        **self._params,
                        connect_timeout=10,
                        autogenerate_session_id=False,
                        settings=dict(SESSION_SETTINGS),
                    )
                except ClickHouseError as exc:
                    host = f"{self._params['host']}:{self._params['port']}"
                    raise ExecutionError(f"cannot connect to ClickHouse at {host}: {str(exc).strip()}") from None
            return self._client

    def _arrow(self, sql: str, params: dict[str, Any], timeout_seconds: float | None, *, probe: bool) -> pa.Table:
        from clickhouse_connect.driver.exceptions import ClickHouseError

        client = self._connected()
        try:
            table: pa.Table = client.query_arrow(
                sql, parameters=params, settings=statement_settings(timeout_seconds), use_strings=True
            )
        except ClickHouseError as exc:
            raise failure("ClickHouse", str(exc), sql, timeout_seconds) from None
        return table

    def memory_bytes(self) -> int | None:
        return None  # the database runs in a process of its own

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
