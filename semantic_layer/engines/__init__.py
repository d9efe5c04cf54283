"""Engines by connection URL."""

from __future__ import annotations

from ..definitions import EngineSettings
from ..errors import QueryValidationError
from .base import Engine


def connect_engine(url: str, settings: EngineSettings | None = None) -> Engine:
    """An engine for `duckdb:///path`, `duckdb:///:memory:`, `postgresql://…`, `mysql://…` (MariaDB too),
    `chdb:///path/to/folder` (embedded ClickHouse), `clickhouse://host:8123/db`, `spark+local:///warehouse` or
    `sc://host:15002` (Spark Connect). `settings` bound the embedded engine's memory and threads; a server
    database manages its own."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise QueryValidationError(f"connection '{url}' is not a URL like 'duckdb:///data/crm.duckdb'")
    if scheme == "duckdb":
        from .duckdb import DuckDBEngine

        return DuckDBEngine(rest.removeprefix("/") or ":memory:", settings or EngineSettings())
    if scheme in ("postgresql", "postgres"):
        from .postgres import PostgresEngine

        return PostgresEngine(url)
    if scheme in ("mysql", "mariadb"):
        from .mysql import MySQLEngine

        return MySQLEngine(url)
    if scheme == "chdb":
        from .clickhouse import ChdbEngine

        return ChdbEngine(url)
    if scheme in ("clickhouse", "clickhouses"):
        from .clickhouse import ClickHouseServerEngine

        return ClickHouseServerEngine(url)
    if scheme == "spark+local":
        from . import spark

        return spark.local_engine(rest.removeprefix("/") or ".")
    if scheme == "sc":
        from . import spark

        return spark.connect_engine(url)
    raise QueryValidationError(
        f"no engine for connection scheme '{scheme}://' — use duckdb://, postgresql://, "
        "mysql://, chdb://, clickhouse://, spark+local:// or sc:// (compile SQL for other stores with --dialect)"
    )


__all__ = ["Engine", "connect_engine"]
