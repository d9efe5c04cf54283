"""Splitting a query into its shape (the cache key) and its values (bound parameters).

`extract` runs on every query, hit or miss, and must stay cheap: it tokenizes filter strings but
never parses them. The compiler turns each value slot into a placeholder, possibly through a
function (a local time bound becomes a UTC instant, shifted for an offset), and records those
functions so that a cached statement can be re-bound to new values without compiling again.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from ..errors import QueryValidationError
from ..filters import lift_literals
from ..query import Query
from ..timegrain import parse_bound

ParamFactory = Callable[[list[Any]], Any]


@dataclass(frozen=True)
class Extracted:
    key: tuple[Any, ...]
    values: list[Any]
    where: list[tuple[str, list[int]]]   # (shape, value slots) per where string
    having: list[tuple[str, list[int]]]
    filters: list[list[int]]             # value slots per structured filter
    start_slot: int | None
    end_slot: int | None


def extract(query: Query, dialect: str, timezone: str) -> Extracted:
    values: list[Any] = []
    signatures: list[tuple[Any, ...]] = []  # per filter string, where then having

    def lift(texts: tuple[str, ...]) -> list[tuple[str, list[int]]]:
        out = []
        for text in texts:
            shape, signature, found = lift_literals(text, dialect)
            out.append((shape, list(range(len(values), len(values) + len(found)))))
            signatures.append(signature)
            values.extend(found)
        return out

    where = lift(query.where)
    having = lift(query.having)
    filters = []
    for f in query.filters:
        f.check_arity()
        filters.append(list(range(len(values), len(values) + len(f.values))))
        values.extend(f.values)
    start_slot = end_slot = None
    tr = query.time_range
    if tr is not None and tr.start is not None:
        start_slot = len(values)
        values.append(parse_bound(tr.start, "start"))
    if tr is not None and tr.end is not None:
        end_slot = len(values)
        values.append(parse_bound(tr.end, "end"))
    bounds = [values[s] for s in (start_slot, end_slot) if s is not None]
    if len(bounds) == 2 and (bounds[0].tzinfo is None) == (bounds[1].tzinfo is None) and bounds[0] >= bounds[1]:
        raise QueryValidationError(f"time_range start {bounds[0]} is not before its end {bounds[1]} "
                                   "(the end is exclusive)")
    # Filter strings enter the key as the token streams the parser reads, never as text a caller
    # spells: two strings share a compiled statement only when they parse alike.
    key = (query.metrics, query.dimensions, tuple(signatures[:len(where)]), tuple(signatures[len(where):]),
           tuple((f.member, f.op, len(f.values)) for f in query.filters), query.segments,
           start_slot is not None, end_slot is not None, tuple(b.tzinfo is not None for b in bounds),
           query.order_by, query.limit, query.offset, timezone)
    return Extracted(key, values, where, having, filters, start_slot, end_slot)


class Params:
    """Placeholders handed out during one compilation, with how to compute each one's value."""

    def __init__(self) -> None:
        self.factories: list[ParamFactory] = []
        self._by_slot: dict[int, str] = {}

    def slot(self, index: int) -> exp.Placeholder:
        name = self._by_slot.get(index)
        if name is None:
            name = self._by_slot[index] = self._add(operator.itemgetter(index))
        return exp.Placeholder(this=name)

    def derived(self, factory: ParamFactory) -> exp.Placeholder:
        return exp.Placeholder(this=self._add(factory))

    def _add(self, factory: ParamFactory) -> str:
        self.factories.append(factory)
        return f"p{len(self.factories) - 1}"

    def bind(self, values: list[Any]) -> dict[str, Any]:
        return {f"p{i}": f(values) for i, f in enumerate(self.factories)}
