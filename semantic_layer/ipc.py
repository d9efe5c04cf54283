"""An answer as an Arrow IPC stream: what `POST /api/arrow` sends and `sl.Client` reads.

The stream carries the engine's own Arrow columns, so a remote answer has exactly the types of a
local one (decimals stay decimal128, dates date32, NULLs nulls, an empty answer keeps its column
types); JSON would turn decimals into floats and NULLs into NaN on the way. What describes the
answer — the columns' kinds and formats, the SQL, warnings, truncation — travels in the schema's
metadata, so the bytes are the whole answer and can be cached as they are. Whether this response
came from the cache and how long it took differ per response: they are HTTP headers.

The stream is written in record batches of `BATCH_ROWS`, so a reader can take a large answer one
batch at a time and never holds it twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import pyarrow as pa

MEDIA_TYPE = "application/vnd.apache.arrow.stream"
METADATA_KEY = b"semantic_layer"
BATCH_ROWS = 65_536
CACHED_HEADER = "semantic-layer-cached"
DURATION_HEADER = "semantic-layer-duration-ms"
# Warnings that belong to this answer but not to the cached stream (a failed data check of a model
# the metrics read, which a later check run may clear): a JSON list, ahead of the stream's own.
WARNINGS_HEADER = "semantic-layer-warnings"


@dataclass(frozen=True)
class AnswerInfo:
    """What the schema's metadata says about the answer besides its columns' values."""

    columns: list[dict[str, Any]]  # name, kind, type, format: as `Result.columns`
    sql: str
    warnings: list[str]
    truncated: bool
    rollup: str | None = None  # the rollups that answered, or None: the source did

    def metadata(self) -> dict[bytes, bytes]:
        body = {
            "columns": self.columns,
            "sql": self.sql,
            "warnings": self.warnings,
            "truncated": self.truncated,
            "rollup": self.rollup,
        }
        return {METADATA_KEY: json.dumps(body, ensure_ascii=False).encode()}

    @classmethod
    def of(cls, schema: pa.Schema) -> AnswerInfo:
        """Raises ValueError when the schema carries no answer metadata (not one of our streams)."""
        raw = (schema.metadata or {}).get(METADATA_KEY)
        if raw is None:
            raise ValueError("the Arrow stream carries no semantic-layer metadata")
        body = json.loads(raw)
        return cls(body["columns"], body["sql"], body["warnings"], bool(body["truncated"]), body.get("rollup"))


def encode(table: pa.Table, info: AnswerInfo) -> pa.Buffer:
    """The answer as one IPC stream in one buffer, sized exactly before it is written (a growing
    buffer would copy itself as it doubles)."""
    table = table.replace_schema_metadata(info.metadata())
    batches = table.to_batches(max_chunksize=BATCH_ROWS)
    size = pa.MockOutputStream()
    _write(size, table.schema, batches)
    buffer = pa.allocate_buffer(size.size())
    _write(pa.FixedSizeBufferWriter(buffer), table.schema, batches)
    return buffer


def _write(sink: Any, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> None:
    with pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)


def slices(body: Any, size: int = 1 << 20) -> Iterator[memoryview]:
    """A buffer's bytes in pieces of `size`, without copying them: a response body streamed out."""
    view = memoryview(body)
    for start in range(0, len(view), size):
        yield view[start : start + size]


def reader(source: Any) -> pa.RecordBatchStreamReader:
    """A stream reader over a buffer or a file-like object."""
    return cast(pa.RecordBatchStreamReader, pa.ipc.open_stream(source))
