"""Each data check of tests/checkdata.py with the hand-written SQL that says what it must find: the
failing count (or the measurement, for row_count and freshness) and the sample. The same SQL runs
on DuckDB, PostgreSQL and MariaDB."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from helpers import same_value

import semantic_layer as sl
from semantic_layer.checks import CheckResult


@dataclass(frozen=True)
class CheckCase:
    model: str
    name: str
    status: str  # expected at CHECKED_AT
    count: str  # hand-written: the failing count, or the measurement
    sample: str | None = None  # hand-written: the sample rows, in order


ODD = "(qty IS NULL OR qty > 3)"
CASES = [
    CheckCase(
        "items",
        "code_present",
        "fail",
        "SELECT COUNT(*) FROM items WHERE code IS NULL",
        "SELECT item_id, code FROM items WHERE code IS NULL ORDER BY item_id",
    ),
    CheckCase(
        "items",
        "qty_present",
        "fail",
        "SELECT COUNT(*) FROM items WHERE qty IS NULL",
        "SELECT item_id, qty FROM items WHERE qty IS NULL ORDER BY item_id",
    ),
    CheckCase(
        "items",
        "code_unique",
        "fail",
        "SELECT COUNT(*) FROM (SELECT code FROM items WHERE code IS NOT NULL GROUP BY code HAVING COUNT(*) > 1) t",
        "SELECT code, COUNT(*) FROM items WHERE code IS NOT NULL GROUP BY code HAVING COUNT(*) > 1 "
        "ORDER BY COUNT(*) DESC, code",
    ),
    CheckCase(
        "items",
        "id_unique",
        "pass",
        "SELECT COUNT(*) FROM (SELECT item_id FROM items GROUP BY item_id HAVING COUNT(*) > 1) t",
    ),
    CheckCase(
        "items",
        "known_status",
        "fail",
        "SELECT COUNT(*) FROM items WHERE status IS NOT NULL AND status NOT IN ('new', 'done')",
        "SELECT status, COUNT(*) FROM items WHERE status IS NOT NULL AND status NOT IN ('new', 'done') "
        "GROUP BY status ORDER BY COUNT(*) DESC, status",
    ),
    CheckCase(
        "items",
        "small_qty",
        "fail",
        "SELECT COUNT(*) FROM items WHERE qty IS NOT NULL AND qty NOT IN (1, 2, 3)",
        "SELECT qty, COUNT(*) FROM items WHERE qty IS NOT NULL AND qty NOT IN (1, 2, 3) "
        "GROUP BY qty ORDER BY COUNT(*) DESC, qty",
    ),
    CheckCase("items", "at_least_nine", "fail", "SELECT COUNT(*) FROM items"),
    CheckCase("items", "at_most_eight", "pass", "SELECT COUNT(*) FROM items"),
    CheckCase("items", "one_to_seven", "fail", "SELECT COUNT(*) FROM items"),
    CheckCase("items", "loaded_daily", "pass", "SELECT MAX(loaded_at) FROM items"),
    CheckCase("items", "days_recent", "pass", "SELECT MAX(day) FROM items"),
    CheckCase(
        "items",
        "qty_at_least_two",
        "fail",
        "SELECT COUNT(*) FROM items WHERE qty < 2",
        "SELECT item_id, qty FROM items WHERE qty < 2 ORDER BY item_id",
    ),
    CheckCase("empty_items", "some_rows", "fail", "SELECT COUNT(*) FROM empty_items"),
    CheckCase("empty_items", "fresh", "fail", "SELECT MAX(loaded_at) FROM empty_items"),
    CheckCase("empty_items", "code_present", "pass", "SELECT COUNT(*) FROM empty_items WHERE code IS NULL"),
    CheckCase(
        "odd_items",
        "code_present",
        "fail",
        f"SELECT COUNT(*) FROM items WHERE {ODD} AND code IS NULL",
        f"SELECT item_id, code FROM items WHERE {ODD} AND code IS NULL ORDER BY item_id",
    ),
    CheckCase(
        "odd_items",
        "code_unique",
        "fail",
        f"SELECT COUNT(*) FROM (SELECT code FROM items WHERE {ODD} AND code IS NOT NULL GROUP BY code "
        "HAVING COUNT(*) > 1) t",
        f"SELECT code, COUNT(*) FROM items WHERE {ODD} AND code IS NOT NULL GROUP BY code HAVING COUNT(*) > 1 "
        "ORDER BY COUNT(*) DESC, code",
    ),
    CheckCase("clean_items", "id_present", "pass", "SELECT COUNT(*) FROM items WHERE item_id IS NULL"),
]


CHECKED_AT = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # loaded_at's newest value is exactly 1 day old
MEASURED = {"row_count", "freshness"}  # kinds whose statement measures a value rather than counting failures


def verify(layer: sl.Layer, case: CheckCase, result: CheckResult) -> None:
    """`result` says what the hand-written SQL finds, on the layer's own engine."""
    hand = layer.engine.fetch_rows(case.count, {})[1][0][0]
    assert result.status == case.status, result
    if result.kind in MEASURED:
        assert same_value(result.observed, hand), (result.observed, hand)
        assert result.failing == (1 if case.status == "fail" else 0)
    else:
        assert result.failing == hand, (result.failing, hand)
    expected = [] if case.sample is None or not hand else layer.engine.fetch_rows(case.sample + " LIMIT 5", {})[1]
    got = [tuple(row.values()) for row in result.sample]
    assert len(got) == len(expected) and all(
        same_value(a, b) for g, e in zip(got, expected, strict=True) for a, b in zip(g, e, strict=True)
    ), (got, expected)
