"""Query results (docs/queries.md, docs/python.md): rows keyed by the names asked, plus columns, SQL and timing.

A `Result` is the same object whether a local layer or a server answered: the server sends the
engine's Arrow columns as they are (semantic_layer/ipc.py), so rows, the Arrow schema and the
pandas and polars frames are equal both ways. Two results are equal when their answers are (columns,
values, warnings, truncation): the SQL, `cached` and `duration_ms` say how an answer was obtained,
and a filter value typed as a date in Python reaches the server as ISO text, which the SQL shows
as a string literal that compares the same.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from .compiler import ColumnInfo
from .errors import (
    DeprecatedMetricWarning,
    FailedCheckWarning,
    NotFinalWarning,
    SemanticLayerWarning,
    TruncatedResultWarning,
)
from .ipc import AnswerInfo
from .jsonvalues import json_value


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
    sql: str = field(compare=False)
    cached: bool = field(default=False, compare=False)
    duration_ms: float = field(default=0.0, compare=False)
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False  # cut at limits.default_rows (the caller set no limit): `warnings` says how to page
    rollup: str | None = field(default=None, compare=False)  # the rollups that answered, or None: the source did

    @classmethod
    def from_arrow(cls, raw: pa.Table, infos: list[ColumnInfo], **kwargs: Any) -> Result:
        return cls(raw.rename_columns(answer_names(raw.column_names, infos)), columns_of(infos), **kwargs)

    @classmethod
    def from_stream(cls, table: pa.Table, *, cached: bool = False, duration_ms: float = 0.0) -> Result:
        """The answer an Arrow stream carried (semantic_layer/ipc.py), its metadata taken off the table."""
        info = AnswerInfo.of(table.schema)
        return cls(
            table.replace_schema_metadata(None),
            [Column(**c) for c in info.columns],
            info.sql,
            cached=cached,
            duration_ms=duration_ms,
            warnings=info.warnings,
            truncated=info.truncated,
            rollup=info.rollup,
        )

    def info(self) -> AnswerInfo:
        """What an Arrow stream carries besides the values."""
        return AnswerInfo([c.__dict__ for c in self.columns], self.sql, self.warnings, self.truncated, self.rollup)

    @property
    def rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.table.to_pylist()
        return rows

    def json_rows(self) -> list[dict[str, Any]]:
        """The rows with each cell as JSON writes it (json_value)."""
        return [{k: json_value(v) for k, v in row.items()} for row in self.rows]

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self) -> Any:
        """A DataFrame whose dtypes follow the columns' types, never the values they happen to hold:
        dates as datetime64, integers as nullable Int64 (a NULL does not turn them into floats),
        booleans as nullable booleans, DECIMAL as float64 (pandas has no decimal type it can do
        arithmetic with; the exact values are in `rows`, `to_arrow()` and `to_polars()`), NULL as
        missing (NaN, NaT or <NA>)."""
        return to_pandas(self.table)

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.table)

    def warn(self, stacklevel: int = 2) -> None:
        """Each of the answer's warnings as a Python warning (`sl.SemanticLayerWarning` or a subclass)
        from the caller's `stacklevel`: notebooks and scripts show them where the query was asked."""
        warn_about(self.warnings, self.truncated, stacklevel + 1)

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def __repr__(self) -> str:
        from .jupyter import short_repr

        return short_repr(self)

    def _repr_html_(self) -> str:
        from .jupyter import html

        return html(self)

    def _repr_markdown_(self) -> str:
        from .jupyter import markdown

        return markdown(self)


def warn_about(messages: list[str], truncated: bool, stacklevel: int = 2) -> None:
    """An answer's warnings as Python warnings from the caller's `stacklevel` (the cut, which comes
    last, as a TruncatedResultWarning; a deprecated metric's as a DeprecatedMetricWarning; periods
    not final as a NotFinalWarning; a failed data check's as a FailedCheckWarning)."""
    for i, message in enumerate(messages):
        category: type[SemanticLayerWarning] = SemanticLayerWarning
        if truncated and i == len(messages) - 1:
            category = TruncatedResultWarning
        elif "is deprecated" in message:
            category = DeprecatedMetricWarning
        elif "is not final for" in message:
            category = NotFinalWarning
        elif "failed its data check" in message:
            category = FailedCheckWarning
        warnings.warn(message, category, stacklevel=stacklevel + 1)


def to_pandas(table: pa.Table) -> Any:
    """`table` as pandas, dtypes chosen by its Arrow types alone (see `Result.to_pandas`)."""
    import pandas as pd

    decimals = [i for i, f in enumerate(table.schema) if pa.types.is_decimal(f.type)]
    for i in decimals:
        table = table.set_column(i, table.field(i).with_type(pa.float64()), table.column(i).cast(pa.float64()))

    def nullable(arrow_type: pa.DataType) -> Any:
        if pa.types.is_integer(arrow_type):
            return pd.api.types.pandas_dtype(str(arrow_type).replace("u", "U").replace("int", "Int"))
        if pa.types.is_boolean(arrow_type):
            return pd.BooleanDtype()
        return None

    # split_blocks: one block per column, not consolidated by copying (a third less memory at its peak)
    return table.to_pandas(date_as_object=False, types_mapper=nullable, split_blocks=True)


def answer_names(raw: list[str], infos: list[ColumnInfo]) -> list[str]:
    """The SQL uses safe aliases; the answer is keyed by the refs exactly as the caller asked."""
    return [c.name for c in infos] if len(raw) == len(infos) else list(raw)


def columns_of(infos: list[ColumnInfo]) -> list[Column]:
    return [Column(c.name, c.kind, c.type, c.format) for c in infos]


def json_records(names: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows as JSON objects keyed by `names` (what the server answers with)."""
    return [dict(zip(names, map(json_value, row), strict=True)) for row in rows]
