"""What the layer asks of a database: run one statement with bound values, answer in Arrow."""

from __future__ import annotations

from typing import Any, Protocol

import pyarrow as pa


class Engine(Protocol):
    dialect: str

    def execute(self, sql: str, params: dict[str, Any], *, timeout_seconds: float | None = None) -> pa.Table:
        """Run `sql` with named parameters; raise QueryTimeoutError / ExecutionError on failure."""
        ...

    def table_columns(self, table: str) -> list[str]:
        """Column names of a table or view (for `validate --warehouse`)."""
        ...

    def close(self) -> None: ...
