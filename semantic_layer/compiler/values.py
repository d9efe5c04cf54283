"""Splitting a query into its shape (the cache key) and its values (bound parameters).

`extract` runs on every query, hit or miss, and must stay cheap: it tokenizes filter strings but
never parses them. The compiler turns each value slot into a placeholder, possibly through a
function (a local time bound becomes a UTC instant, shifted for an offset), and records those
functions so that a cached statement can be re-bound to new values without compiling again.

It also records the member each value is compared with, and that member's type, so that every
query's values — cached shape or not — are checked before they reach the database: a database
refusing 'abc' for a number column answers with its own text, which quotes the statement.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlglot import exp

from ..errors import QueryValidationError, brief
from ..filters import lift_literals
from ..numbers import bound_number
from ..query import Query
from ..timegrain import as_datetime, parse_bound

ParamFactory = Callable[[list[Any]], Any]
NUMBER_TEXT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
# Past DuckDB's HUGEINT and DECIMAL(38), which cannot even bind such a value; a sign of a mistake anyway.
MAX_MAGNITUDE = 10**38
EXPECTS = {
    "number": "a number",
    "boolean": "true or false",
    "time": "a date or timestamp in ISO-8601, such as '2024-01-01' or '2024-01-01T08:00:00'",
}


@dataclass(frozen=True)
class Extracted:
    key: tuple[Any, ...]
    values: list[Any]
    where: list[tuple[str, list[int]]]  # (shape, value slots) per where string
    having: list[tuple[str, list[int]]]
    filters: list[list[int]]  # value slots per structured filter
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
        raise QueryValidationError(
            f"time_range start {bounds[0]} is not before its end {bounds[1]} (the end is exclusive)"
        )
    # Filter strings enter the key as the token streams the parser reads, never as text a caller
    # spells: two strings share a compiled statement only when they parse alike.
    key = (
        query.metrics,
        query.dimensions,
        tuple(signatures[: len(where)]),
        tuple(signatures[len(where) :]),
        tuple((f.member, f.op, len(f.values)) for f in query.filters),
        query.segments,
        start_slot is not None,
        end_slot is not None,
        tuple(b.tzinfo is not None for b in bounds),
        query.order_by,
        query.limit,
        query.offset,
        timezone,
    )
    return Extracted(key, values, where, having, filters, start_slot, end_slot)


def check_value(value: Any, member: str | None, kind: str | None) -> None:
    """Refuse, in our words, a value the database would refuse in its own (or compare to nothing):
    one that does not fit the type `kind` of the member it is compared with, and any number that is
    not finite or too large. `member` is None for a value not compared with a member directly.

    A 'string' member takes anything: it is also the default type of a dimension whose author did
    not say, so it proves nothing about the column."""
    fits = _FITS.get(kind or "")
    if fits is not None and not fits(value):
        raise QueryValidationError(f"filter on '{member}' expects {EXPECTS[kind or '']}, got {_shown(value)}")
    number = _number(value, kind)
    if number is not None and not _in_range(number):
        subject = f"filter on '{member}'" if member else "a value in the query"
        raise QueryValidationError(
            f"{subject}: {_shown(value)} is out of range — a number must be finite and smaller than 1e38 in magnitude"
        )


def _is_number(value: Any) -> bool:
    return _number(value, "number") is not None


def _is_time(value: Any) -> bool:
    return not isinstance(value, bool | int | float | Decimal) and as_datetime(value) is not None


def _is_boolean(value: Any) -> bool:
    # Only a real boolean: MySQL compares the text 'true' with a BOOLEAN (TINYINT) column as 0.
    return isinstance(value, bool)


_FITS: dict[str, Callable[[Any], bool]] = {"number": _is_number, "time": _is_time, "boolean": _is_boolean}


def _number(value: Any, kind: str | None) -> int | float | Decimal | None:
    """The value as a number: numbers themselves, and numeric text compared with a number member."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return value
    if kind == "number" and isinstance(value, str) and NUMBER_TEXT.fullmatch(value):
        return Decimal(value.strip())
    return None


def _in_range(number: int | float | Decimal) -> bool:
    if isinstance(number, Decimal):
        return number.is_finite() and abs(number) < MAX_MAGNITUDE
    return (isinstance(number, int) or math.isfinite(number)) and abs(number) < MAX_MAGNITUDE


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{brief(value)}'"
    if isinstance(value, int) and abs(value) >= 10**60:  # str() raises ValueError past 4300 digits
        return f"an integer of {value.bit_length()} bits"
    return brief(str(value))


class Params:
    """Placeholders handed out during one compilation, with how to compute each one's value, and
    what each value slot is compared with (to check every query's values against)."""

    def __init__(self) -> None:
        self.factories: list[ParamFactory] = []
        self.compared: dict[int, tuple[str, str | None]] = {}  # value slot → (member, its type)
        self._by_slot: dict[int, str] = {}

    def compare(self, index: int, member: str, kind: str | None) -> None:
        """Value slot `index` is compared with `member`, of type `kind` (None: not known)."""
        self.compared[index] = (member, kind)

    def typed(self, values: list[Any]) -> list[Any]:
        """This query's values checked against what they are compared with (check_value), and bound
        with their member's type: a number member's fractions and numeric text as exact decimals."""
        out = []
        for index, value in enumerate(values):
            member, kind = self.compared.get(index, (None, None))
            check_value(value, member, kind)
            out.append(bound_number(value) if kind == "number" else value)
        return out

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
