"""Apache Spark: an in-process local session over a warehouse folder, or a Spark Connect server.

`spark+local:///path/to/warehouse` runs Spark inside this process (its JVM a child of it) and reads
the tables `saveAsTable` wrote there, one subfolder each. `sc://host:15002` talks to a Spark Connect
server — a cluster, or Databricks — whose catalog holds the tables.

Every session this engine opens runs in UTC (`spark.sql.session.timeZone`): the compiler converts
stored UTC times to the query's zone itself, and a session in another zone would first read a
`TIMESTAMP` column through that zone's clock. Values are bound as Spark's named parameters, never
written into the statement.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..errors import ExecutionError, QueryTimeoutError
from .dbapi import timeout_message
from .refusal import refusal
from .watchdog import WATCHDOG

T = TypeVar("T")

SESSION_TIME_ZONE = "UTC"
DATABASE_PARAMETER = "database"  # the layer's own parameter in an sc:// URL: the schema tables are read from
# Spark's error conditions for a value that does not convert or overflows (the caller's filter values).
BAD_VALUE_CONDITIONS = (
    "CAST_INVALID_INPUT",
    "CAST_OVERFLOW",
    "NUMERIC_VALUE_OUT_OF_RANGE",
    "ARITHMETIC_OVERFLOW",
    "INVALID_DATETIME",
    "DATETIME_FIELD_OUT_OF_BOUNDS",
)
TYPE_MISMATCH_CONDITIONS = ("DATATYPE_MISMATCH",)
DATA_FILES = (".parquet", ".orc", ".json", ".csv", ".avro")
CONDITION = re.compile(r"\[([A-Z][A-Z_]+(?:\.[A-Z_]+)*)\]")
NOT_A_QUERY = "refused a statement that is not a query: the layer reads Spark read-only"
INSTALL_HINT = "install the Spark extra: pip install 'semantic-layer[spark]'"


class Tagging(Protocol):
    """How a statement is tagged and cancelled: Spark Connect tags the operation on the server;
    a local session tags the jobs the calling thread starts (a session's own tags do not reach the
    thread that serves an Arrow answer)."""

    def begin(self, tag: str) -> None: ...

    def cancel(self, tag: str) -> None: ...

    def end(self, tag: str) -> None: ...


class JobTags:
    def __init__(self, session: Any):
        self._context = session.sparkContext

    def begin(self, tag: str) -> None:
        self._context.addJobTag(tag)
        self._context.setInterruptOnCancel(True)

    def cancel(self, tag: str) -> None:
        self._context.cancelJobsWithTag(tag)

    def end(self, tag: str) -> None:
        self._context.removeJobTag(tag)


class OperationTags:
    def __init__(self, session: Any):
        self._session = session

    def begin(self, tag: str) -> None:
        self._session.addTag(tag)

    def cancel(self, tag: str) -> None:
        self._session.interruptTag(tag)

    def end(self, tag: str) -> None:
        self._session.removeTag(tag)


class Deadline:
    """Cancels a statement at its timeout, then every second until it ends: a statement runs
    several jobs, and one that had not started at the first cancel would run on."""

    def __init__(self, cancel: Callable[[], None], seconds: float | None):
        self._cancel = cancel
        self._lock = threading.Lock()
        self._alarm: int | None = WATCHDOG.arm(seconds, self._fire) if seconds else None
        self._ended = False
        self.fired = False

    def _fire(self) -> None:
        with self._lock:
            if self._ended:
                return
            self.fired = True
            self._alarm = WATCHDOG.arm(1.0, self._fire)
        self._cancel()

    def end(self) -> None:
        with self._lock:
            self._ended = True
            if self._alarm is not None:
                WATCHDOG.disarm(self._alarm)


class SparkEngine:
    """One Spark session (its own temporary views, configuration and current database) shared by
    every query of a layer; Spark runs the statements of several threads at once."""

    dialect = "spark"

    def __init__(self, session: Any, server: str, tagging: Tagging, *, stop: Callable[[], None]):
        self._session = session
        self._server = server
        self._tagging = tagging
        self._stop = stop
        self._session.conf.set("spark.sql.session.timeZone", SESSION_TIME_ZONE)
        self._lock = threading.Lock()
        self._closed = False

    def execute(self, sql: str, params: dict[str, Any], *, timeout_seconds: float | None = None) -> pa.Table:
        return self._run(sql, params, timeout_seconds, _arrow)

    def fetch_rows(
        self, sql: str, params: dict[str, Any], *, timeout_seconds: float | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        table = self.execute(sql, params, timeout_seconds=timeout_seconds)
        return table.column_names, [tuple(row.values()) for row in table.to_pylist()]

    def _run(self, sql: str, params: dict[str, Any], timeout_seconds: float | None, consume: Callable[[Any], T]) -> T:
        """One statement under a tag of its own, which its deadline cancels."""
        if not is_query(sql):
            raise refusal(self._server, NOT_A_QUERY, sql, bad_value=False)
        tag = f"sl-{uuid.uuid4().hex}"
        self._tagging.begin(tag)
        deadline = Deadline(lambda: self._tagging.cancel(tag), timeout_seconds)
        try:
            return consume(self._session.sql(sql, args=spark_args(params)))
        except Exception as exc:
            if deadline.fired:  # whatever the cancelled statement ended in (a job, a stream cut)
                raise QueryTimeoutError(timeout_message(timeout_seconds, "Spark")) from None
            raise _refusal(self._server, exc, sql) from None
        finally:
            deadline.end()
            self._tagging.end(tag)

    def ping(self, timeout_seconds: float) -> None:
        self._run("SELECT 1", {}, timeout_seconds, lambda frame: frame.collect())

    def memory_bytes(self) -> int | None:
        return None  # Spark's memory is its JVM's (a process of its own) or the cluster's

    def table_columns(self, table: str) -> list[str]:
        from pyspark.errors import PySparkException

        try:
            return list(self._session.table(table).columns)
        except PySparkException as exc:
            raise ExecutionError(f"table '{table}' cannot be read: {str(exc).splitlines()[0]}") from None

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop()


def spark_args(params: dict[str, Any]) -> dict[str, Any] | None:
    """Bound values as PySpark binds them: a naive datetime (a UTC time, as the layer's are) made
    aware of UTC, since PySpark reads a naive one on the clock of the Python process."""
    if not params:
        return None
    return {k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v for k, v in params.items()}


@lru_cache(maxsize=1024)
def is_query(sql: str) -> bool:
    """Whether `sql` only reads: one query, without a command inside. Spark has no read-only
    session (a Spark Connect user may well have the right to write), so the engine itself refuses
    anything else before Spark sees it."""
    try:
        tree = sqlglot.parse_one(sql, read="spark")
    except SqlglotError:
        return False
    writes = (exp.Insert, exp.Delete, exp.Update, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.Command)
    return isinstance(tree, exp.Query) and tree.find(*writes) is None


def _arrow(frame: Any) -> pa.Table:
    """The answer in Arrow, in the types DuckDB, PostgreSQL and MariaDB answer with: a decimal as
    wide as decimal128 goes at its declared scale (Spark declares a SUM's precision from its
    input's), and a TIMESTAMP as the UTC clock time it holds (a truncated time is a TIMESTAMP in
    Spark, a point on the session's UTC clock; the layer's times are local clock times without a
    zone, as DATE_TRUNC's answer is on the other engines); and every column nullable, as a COUNT
    is elsewhere."""
    table: pa.Table = frame.toArrow()
    schema = pa.schema([pa.field(field.name, _plain(field.type)) for field in table.schema])
    return table if schema == table.schema else table.cast(schema)


def _plain(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_decimal(kind):
        return pa.decimal128(38, kind.scale)
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        return pa.timestamp(kind.unit)
    return kind


def _refusal(server: str, exc: Exception, sql: str) -> Exception:
    """Spark's error condition (`[CAST_INVALID_INPUT] …`) says whether a value did not convert. A
    failure while the answer is collected reaches Python as the JVM's exception, which names the
    condition of its cause in its text only."""
    condition = getattr(exc, "getCondition", lambda: None)() or ""
    if not condition and (found := CONDITION.search(str(exc))) is not None:
        condition = found.group(1)
    return refusal(
        server,
        str(exc).strip(),
        sql,
        bad_value=condition.startswith(BAD_VALUE_CONDITIONS),
        mismatch=condition.startswith(TYPE_MISMATCH_CONDITIONS),
    )


def local_engine(warehouse: str) -> SparkEngine:
    """A local session whose warehouse is `warehouse`, each table folder in it registered by name.

    The first engine of the process starts Spark with that warehouse; every engine then works in a
    session of its own (`newSession`: its own views and settings over the one SparkContext a JVM
    can hold), so that two layers over two warehouses never see each other's tables."""
    folder = Path(warehouse)
    if not folder.is_dir():
        raise ExecutionError(
            f"Spark warehouse folder '{warehouse}' does not exist — write tables there with saveAsTable "
            "or fix 'connection:' in semantic_layer.yml"
        )
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ExecutionError(f"spark+local:// needs PySpark — {INSTALL_HINT}") from None
    base = SparkSession.getActiveSession() or (
        SparkSession.builder.master("local[*]")
        .appName("semantic-layer")
        .config("spark.sql.warehouse.dir", str(folder.resolve()))
        .config("spark.sql.session.timeZone", SESSION_TIME_ZONE)
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    session = base.newSession()
    for table, path, source in warehouse_tables(folder):
        session.read.format(source).load(str(path)).createOrReplaceTempView(table)
    return SparkEngine(
        session, "Spark", JobTags(session), stop=lambda: None
    )  # the SparkContext may serve other sessions


def warehouse_tables(folder: Path) -> list[tuple[str, Path, str]]:
    """(table, folder, format) for each subfolder of the warehouse that holds data files, as
    saveAsTable writes a table: part files of one format, hidden and marker files beside them."""
    found = []
    for path in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        kinds = {f.suffix for f in path.rglob("part-*") if not f.name.startswith(".")}
        source = next((kind.removeprefix(".") for kind in DATA_FILES if kind in kinds), None)
        if source is not None:
            found.append((path.name, path, source))
    return found


def connect_engine(url: str) -> SparkEngine:
    """A Spark Connect session at `url` (`sc://host:15002`, with Spark Connect's own `;key=value`
    parameters such as `token`, and the layer's `;database=NAME` for the default schema)."""
    remote, database = split_database(url)
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError:
        raise ExecutionError(f"sc:// needs PySpark with Spark Connect — {INSTALL_HINT}") from None
    from pyspark.errors import PySparkException

    try:
        session = ConnectSession.builder.remote(remote).create()
        if database:
            session.catalog.setCurrentDatabase(database)
    except PySparkException as exc:
        raise ExecutionError(f"cannot use Spark Connect at {remote}: {str(exc).splitlines()[0]}") from None
    return SparkEngine(session, "Spark Connect", OperationTags(session), stop=session.stop)


def split_database(url: str) -> tuple[str, str | None]:
    """`sc://host:port/;database=crm;token=x` → (`sc://host:port/;token=x`, 'crm'): Spark Connect
    would send a parameter it does not know to the server as a header."""
    head, *parameters = url.split(";")
    kept, database = [], None
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key == DATABASE_PARAMETER:
            database = unquote(value)
        elif parameter:
            kept.append(parameter)
    return ";".join([head, *kept]), database
