"""An answer in pages: one query per page, `limit` and `offset` moved along (`page_size=`).

A page is a query of its own, so each stays within `limits.max_rows` and neither the server nor
the client holds more than a page of an answer of any size. Pages only join up to the whole
answer when every page orders the rows the same way: the query's own `order_by` is kept and every
dimension it does not name follows it, which orders the rows completely (an answer has one row
per combination of its dimensions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

from .errors import QueryValidationError
from .query import Query
from .result import Result


def page_queries(query: Query, page_size: int) -> Iterator[Query]:
    """The query of each page, from the query's own offset up to its limit (if any), for ever when
    it has none: the caller stops at the first page shorter than its `limit`."""
    if page_size < 1:
        raise QueryValidationError(f"page_size must be a positive number of rows, got {page_size}")
    named = {ref.lstrip("-") for ref in query.order_by}
    order = [*query.order_by, *(ref for ref in query.dimensions if ref not in named)]
    start, left = query.offset or 0, query.limit
    while left is None or left > 0:
        size = page_size if left is None else min(page_size, left)
        yield query.model_copy(update={"limit": size, "offset": start, "order_by": tuple(order)})
        start += size
        left = None if left is None else left - size


def pages(query: Query, page_size: int, run: Callable[[Query], Result]) -> Iterator[Result]:
    """Each page's answer, up to the first page shorter than asked for: the answer ends there."""
    for page in page_queries(query, page_size):
        result = run(page)
        yield result
        if len(result) < (page.limit or 0):
            return


def collect(pages: Iterable[Result]) -> Result:
    """The pages' answers as one answer (the first page's SQL; cached when every page was)."""
    taken = list(pages)
    first = taken[0]
    return Result(
        pa.concat_tables([page.table for page in taken]),
        first.columns,
        first.sql,
        cached=all(page.cached for page in taken),
        duration_ms=sum(page.duration_ms for page in taken),
        warnings=list(dict.fromkeys(w for page in taken for w in page.warnings)),
        truncated=False,
    )
