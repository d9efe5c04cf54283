"""Query results (docs/queries.md, docs/python.md): rows keyed by the names asked, plus columns, SQL and timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pyarrow as pa

from .compiler import ColumnInfo


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    type: str
    format: str | None = None


@dataclass
class Result:
    """One answer. `rows` is built lazily from the Arrow table the engine returned."""

    table: pa.Table
    columns: list[Column]
    sql: str
    cached: bool = False
    duration_ms: float = 0.0
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False  # cut at limits.default_rows (the caller set no limit): `warnings` says how to page

    @classmethod
    def from_arrow(cls, raw: pa.Table, infos: list[ColumnInfo], **kwargs: Any) -> Result:
        return cls(raw.rename_columns(answer_names(raw.column_names, infos)), columns_of(infos), **kwargs)

    @property
    def rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.table.to_pylist()
        return rows

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self) -> Any:
        return self.table.to_pandas()

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.table)

    def __len__(self) -> int:
        return int(self.table.num_rows)


def answer_names(raw: list[str], infos: list[ColumnInfo]) -> list[str]:
    """The SQL uses safe aliases; the answer is keyed by the refs exactly as the caller asked."""
    return [c.name for c in infos] if len(raw) == len(infos) else list(raw)


def columns_of(infos: list[ColumnInfo]) -> list[Column]:
    return [Column(c.name, c.kind, c.type, c.format) for c in infos]


def json_records(names: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows as JSON objects keyed by `names` (what the server answers with)."""
    return [dict(zip(names, map(json_value, row), strict=True)) for row in rows]


def json_value(value: Any) -> Any:
    """A cell as JSON: numbers stay numbers (Decimal → float), dates and times ISO-8601, NULL null."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, UUID):
        return str(value)
    return value


def json_rows(result: Result) -> list[dict[str, Any]]:
    return [{k: json_value(v) for k, v in row.items()} for row in result.rows]
