"""The shop data set copied into PostgreSQL and MariaDB, in a schema / database the tests create and drop,
into ClickHouse (chdb), in a database of one data folder the whole test session shares, and into the
test session's one Spark, as tables saveAsTable writes into a warehouse folder.

Outside CI a missing server skips the tests that need it, with the reason; under CI=true it fails.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

import semantic_layer as sl

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL_HOST = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
TZ_HELP = "load them with: mariadb-tzinfo-to-sql /usr/share/zoneinfo | mariadb -u root mysql"


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


def _tables(db: Path, rows: bool = True) -> list[tuple[str, list[tuple[str, str]], list[tuple[Any, ...]]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
            ).fetchall()
        ]
        out = []
        for name in names:
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_name = '{name}' ORDER BY ordinal_position"
            ).fetchall()
            out.append((name, columns, con.execute(f'SELECT * FROM "{name}"').fetchall() if rows else []))
        return out


@contextmanager
def postgres_copy(db: Path) -> Iterator[str]:
    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({str(exc).strip()[:80]})")
    schema = f"sl_test_{uuid.uuid4().hex[:10]}"
    try:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        with admin.cursor() as cur:
            for name, columns, rows in _tables(db):
                cols = ", ".join(f'"{c}" {t}' for c, t in columns)
                cur.execute(f'CREATE TABLE "{schema}"."{name}" ({cols})')
                marks = ", ".join(["%s"] * len(columns))
                cur.executemany(f'INSERT INTO "{schema}"."{name}" VALUES ({marks})', rows)
        yield f"{PG_ADMIN}?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def _mysql_type(duck: str) -> str:
    if duck.startswith("VARCHAR"):
        return "VARCHAR(255)"
    if duck.startswith("TIMESTAMP"):
        return "DATETIME(6)"
    return duck


@contextmanager
def mysql_copy(db: Path) -> Iterator[str]:
    import pymysql

    try:
        admin = pymysql.connect(**MYSQL_HOST, autocommit=True, connect_timeout=5)
    except pymysql.err.OperationalError as exc:
        unavailable(f"MariaDB/MySQL is not reachable on 127.0.0.1:3306 ({exc.args[-1]})")
    with admin.cursor() as cur:
        cur.execute("SELECT CONVERT_TZ('2024-03-10 07:30:00', 'UTC', 'America/New_York')")
        row = cur.fetchone()
    if row is None or row[0] is None:
        admin.close()
        unavailable(f"MariaDB has no time zone tables, so CONVERT_TZ cannot work — {TZ_HELP}")
    database = f"sl_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{database}`")
            for name, columns, rows in _tables(db):
                cols = ", ".join(f"`{c}` {_mysql_type(t)}" for c, t in columns)
                cur.execute(f"CREATE TABLE `{database}`.`{name}` ({cols})")
                marks = ", ".join(["%s"] * len(columns))
                cur.executemany(f"INSERT INTO `{database}`.`{name}` VALUES ({marks})", rows)
        yield f"mysql://root@127.0.0.1:3306/{database}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        admin.close()


# chdb opens one data folder per process: every data set the session copies is a database in it.
_CHDB: dict[str, Any] = {}


def _clickhouse_type(duck: str, nullable: bool) -> str:
    """A DuckDB column type as ClickHouse's; Nullable only where the column holds NULLs, as a
    ClickHouse table is usually declared (so outer joins must not rely on column nullability)."""
    scalar = {"VARCHAR": "String", "INTEGER": "Int32", "BIGINT": "Int64", "DOUBLE": "Float64", "BOOLEAN": "Bool"}
    if duck.startswith("DECIMAL"):
        kind = duck.replace("DECIMAL", "Decimal")
    elif duck.startswith("TIMESTAMP"):
        kind = "DateTime64(6)"
    elif duck == "DATE":
        kind = "Date32"
    else:
        kind = scalar[duck]
    return f"Nullable({kind})" if nullable else kind


def _chdb_folder() -> tuple[str, Any]:
    if "folder" not in _CHDB:
        try:
            import chdb
        except ImportError:
            unavailable("chdb is not installed (pip install -e '.[clickhouse]')")
        folder = tempfile.mkdtemp(prefix="sl-chdb-")
        atexit.register(shutil.rmtree, folder, True)
        _CHDB["folder"], _CHDB["writer"] = folder, chdb.connect(folder)
    return _CHDB["folder"], _CHDB["writer"]


@contextmanager
def clickhouse_copy(db: Path) -> Iterator[str]:
    """`db` as a database of the session's chdb folder, copied once however many tests ask."""
    folder, writer = _chdb_folder()
    database = _CHDB.get(str(db))
    if database is None:
        database = f"sl_test_{uuid.uuid4().hex[:10]}"
        writer.query(f"CREATE DATABASE `{database}`")
        with duckdb.connect(str(db), read_only=True) as con:
            for name, columns, _ in _tables(db, rows=False):
                data = con.execute(f'SELECT * FROM "{name}"').to_arrow_table()
                cols = ", ".join(f"`{c}` {_clickhouse_type(t, data.column(c).null_count > 0)}" for c, t in columns)
                writer.query(f"CREATE TABLE `{database}`.`{name}` ({cols}) ENGINE = MergeTree ORDER BY tuple()")
                if data.num_rows:
                    sink = pa.BufferOutputStream()
                    with pa.ipc.new_stream(sink, data.schema) as stream:
                        stream.write_table(data)
                    with writer.send_insert(f"INSERT INTO `{database}`.`{name}`", "ArrowStream") as insert:
                        insert.append(sink.getvalue().to_pybytes())
                        insert.finish()
        _CHDB[str(db)] = database
    yield f"chdb:///{folder}?database={database}"


COPIES = {"postgres": postgres_copy, "mysql": mysql_copy, "clickhouse": clickhouse_copy}


@dataclass
class Spark:
    """One local Spark for the whole test session (a JVM takes seconds to start), serving Spark
    Connect on a free loopback port too. Each DuckDB file is copied once, as a database whose
    tables `saveAsTable` writes into a folder of their own: the `spark+local://` warehouse."""

    session: Any
    port: int
    root: Path
    _copies: dict[Path, str] = field(default_factory=dict)

    def url(self, db: Path, *, connect: bool = False) -> str:
        database = self._copies.get(db) or self._copy(db)
        if connect:
            return f"sc://127.0.0.1:{self.port}/;database={database}"
        return f"spark+local:///{self.root / database}"

    def _copy(self, db: Path) -> str:
        database = self._copies[db] = f"sl_test_{uuid.uuid4().hex[:10]}"
        self.session.sql(f"CREATE DATABASE {database} LOCATION '{self.root / database}'")
        with duckdb.connect(str(db), read_only=True) as con:
            for name, _, _ in _tables(db, rows=False):
                data = con.execute(f'SELECT * FROM "{name}"').to_arrow_table()
                self.session.createDataFrame(data).write.saveAsTable(f"{database}.{name}")
        return database

    def stop(self) -> None:
        self.session.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_spark(root: Path) -> Spark:
    """A local session in UTC, tuned for the tests' tiny tables, where a query's fixed costs dominate."""
    if shutil.which("java") is None:
        unavailable("Spark needs Java: apt-get install openjdk-17-jre-headless")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        unavailable("PySpark is not installed: pip install -e '.[spark]'")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = (
        SparkSession.builder.master("local[2]")
        .appName("semantic-layer-tests")
        .config("spark.sql.warehouse.dir", str(root / "default"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.adaptive.enabled", "false")  # re-planning costs more than it saves on tiny tables
        .config("spark.sql.codegen.wholeStage", "false")  # so does compiling generated code per query
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.plugins", "org.apache.spark.sql.connect.SparkConnectPlugin")
        .config("spark.connect.grpc.binding.address", "127.0.0.1")
        .config("spark.connect.grpc.binding.port", str(port))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return Spark(session, port, root)


SPARK_ENGINES = ("spark", "spark-connect")  # a local Spark, and the same through Spark Connect


def engine_params(names: list[str]) -> list[Any]:
    """Engine names as fixture parameters; ClickHouse's carry the `clickhouse` marker (`pytest -m
    clickhouse`), Spark's the `spark` marker (`pytest -m spark`)."""
    marks = {"clickhouse": pytest.mark.clickhouse, **dict.fromkeys(SPARK_ENGINES, pytest.mark.spark)}
    return [pytest.param(n, marks=marks[n]) if n in marks else n for n in sorted(names)]


@contextmanager
def copy_on(engine: str, db: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of `db` copied into `engine` (a name of COPIES, 'spark' or 'spark-connect'); Spark's
    copy lives in the test session's one Spark (the `spark` fixture)."""
    if engine in SPARK_ENGINES:
        yield request.getfixturevalue("spark").url(db, connect=engine == "spark-connect")
        return
    with COPIES[engine](db) as url:
        yield url


@contextmanager
def layer_on(engine: str, project: Path, db: Path) -> Iterator[sl.Layer]:
    """The project over `db` itself ('duckdb') or over its copy in PostgreSQL ('postgres'), MariaDB
    ('mysql') or ClickHouse ('clickhouse')."""
    if engine == "duckdb":
        with sl.connect(project) as layer:
            yield layer
        return
    with COPIES[engine](db) as url, sl.connect(project, connection=url) as layer:
        yield layer
