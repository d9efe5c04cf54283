"""Shared fixtures: the shop project on a freshly built DuckDB file, and answer comparison."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from shopdata import build

import semantic_layer as sl

FIXTURE = Path(__file__).parent / "fixtures" / "shop"
# Suites left out of the quick development run (`pytest -m "not slow"`): the same answers on
# PostgreSQL and MariaDB, servers under heavy queries, and the GraphQL fuzz. CI runs everything.
SLOW_MODULES = {"test_engines", "test_engine_errors", "test_value_types", "test_warehouse_keys", "test_server_health",
                "test_fuzz"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.module is not None and item.module.__name__ in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
NY = "America/New_York"


def local(column: str, tz: str = NY) -> str:
    """Hand-written UTC → local conversion, independent of the compiler's."""
    return f"(({column} AT TIME ZONE 'UTC') AT TIME ZONE '{tz}')"


@pytest.fixture(scope="session")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("data") / "shop.duckdb")


def make_project(root: Path, db: Path, **settings: Any) -> Path:
    """A copy of the shop project pointing at `db`, with settings overridden."""
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    text = (root / "semantic_layer.yml").read_text()
    text = text.replace("duckdb:///shop.duckdb", f"duckdb:///{db}")
    for key, value in settings.items():
        lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key}:")]
        text = "\n".join([*lines, f"{key}: {value}"]) + "\n"
    (root / "semantic_layer.yml").write_text(text)
    return root


@pytest.fixture(scope="session")
def shop_project(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Path:
    return make_project(tmp_path_factory.mktemp("shop"), shop_db)


@pytest.fixture(scope="session")
def layer(shop_project: Path) -> Iterator[sl.Layer]:
    with sl.connect(shop_project) as lay:
        yield lay


@pytest.fixture(scope="session")
def hand(shop_db: Path) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
    con = duckdb.connect(str(shop_db), read_only=True)
    con.execute(f"SET TimeZone = '{NY}'")
    yield lambda sql: con.execute(sql).fetchall()
    con.close()


def normalize(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is None and value == datetime(value.year, value.month,
                                                                                  value.day):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return value


def same_value(a: Any, b: Any) -> bool:
    a, b = normalize(a), normalize(b)
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def assert_rows(result: sl.Result, expected: list[tuple[Any, ...]]) -> None:
    got = [tuple(row.values()) for row in result.rows]
    assert len(got) == len(expected), f"{len(got)} rows, expected {len(expected)}\n{got[:10]}\n{expected[:10]}"
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert len(g) == len(e), f"row {i}: {g} vs {e}"
        assert all(same_value(x, y) for x, y in zip(g, e, strict=True)), f"row {i}: got {g}, expected {e}"
