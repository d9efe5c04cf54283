"""What the layer asks of a database: run one statement with bound values, answer in Arrow or as rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: importing the engines' seam does not load Arrow
    import pyarrow as pa


class Engine(Protocol):
    @property
    def dialect(self) -> str:
        """The dialect to compile for (the MySQL engine tells MySQL and MariaDB apart)."""
        ...

    def execute(self, sql: str, params: dict[str, Any], *, timeout_seconds: float | None = None) -> pa.Table:
        """Run `sql` with named parameters; raise QueryTimeoutError / ExecutionError on failure."""
        ...

    def fetch_rows(
        self, sql: str, params: dict[str, Any], *, timeout_seconds: float | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The same, as column names and Python rows: for callers that want Python values (the
        server's JSON), a small result costs less this way than through Arrow."""
        ...

    def ping(self, timeout_seconds: float) -> None:
        """Prove the database answers, on a connection queries cannot hold: a readiness probe must
        not wait in line behind them."""
        ...

    def memory_bytes(self) -> int | None:
        """Memory the engine holds inside this process (an embedded database's buffer pool), for the
        server's /metrics; None for a database in a process of its own."""
        ...

    def table_columns(self, table: str) -> list[str]:
        """Column names of a table or view (for `validate --warehouse`)."""
        ...

    def close(self) -> None: ...
