"""Numbers as they are bound: exact decimals where a database would otherwise compare through floats."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

# Beyond this a decimal no longer fits the DECIMAL(38, s) a database would widen a column to for
# the comparison (DuckDB then fails to convert); such a number stays a float.
EXACT_BELOW = 1e18


def as_decimal(number: float, text: str | None = None) -> Decimal | float:
    """A fraction as an exact Decimal — from `text` as written when given, else from the float's
    shortest repr — unless it is too large to be one, or not finite.

    A float reaching PostgreSQL as float8 makes it cast every NUMERIC row to compare (134 ms instead
    of 103 on the demo); a decimal is cast once, to whatever the column is."""
    if not math.isfinite(number) or abs(number) >= EXACT_BELOW:
        return number
    return Decimal(text.strip() if text is not None else repr(number))


def bound_number(value: Any) -> Any:
    """A value compared with a number member, as bound: fractions and numeric text as decimals."""
    if isinstance(value, float):
        return as_decimal(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(value) if value.strip().lstrip("+-").isdigit() else as_decimal(number, value)
    return value
