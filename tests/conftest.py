"""Shared fixtures: the shop project on a freshly built DuckDB file (helpers live in helpers.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from engines import Spark, start_spark
from helpers import NY, make_project
from shopdata import build

import semantic_layer as sl
from semantic_layer.demo import write_demo
from semantic_layer.state import STATE_DIR_ENV

CRM_PROJECT = Path(__file__).resolve().parents[1] / "metrics"

# Suites left out of the quick development run (`pytest -m "not slow"`): the same answers on
# PostgreSQL, MariaDB and ClickHouse, servers under heavy queries, the GraphQL fuzz, and the pages in a real
# browser (about two minutes). CI runs everything.
SLOW_MODULES = {
    "test_engines",
    "test_engine_errors",
    "test_value_types",
    "test_warehouse_keys",
    "test_server_health",
    "test_fuzz",
    "test_alerts_engines",
    "test_pages",
    "test_checks_engines",
    "test_ci_recipe",
    "test_site_browser",
    "test_pages_usage",
    "test_clickhouse",
    "test_rollups_engines",
    "test_rollups_crm",
    "test_spark",
}


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """chdb's C++ teardown at interpreter exit sometimes crashes ("ShutdownTablesThreadPool is not
    initialized", then a segmentation fault) after every test has passed, turning a green run red.
    Once the summary is printed, a process that loaded chdb leaves with pytest's own status without
    running that teardown (xdist workers report through their controller and exit normally)."""
    if "chdb" in sys.modules and not hasattr(config, "workerinput"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(getattr(config, "_semantic_layer_status", 0)))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config._semantic_layer_status = exitstatus  # type: ignore[attr-defined]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.module is not None and item.module.__name__ in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def state_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The layer's state (audit log, data check results) goes to a folder of the test run's, never
    to the user's cache."""
    folder = tmp_path_factory.mktemp("state")
    before = os.environ.get(STATE_DIR_ENV)
    os.environ[STATE_DIR_ENV] = str(folder)
    yield folder
    if before is None:
        del os.environ[STATE_DIR_ENV]
    else:
        os.environ[STATE_DIR_ENV] = before


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Spark]:
    """The test session's one local Spark, serving Spark Connect too (it takes seconds to start)."""
    cluster = start_spark(tmp_path_factory.mktemp("spark"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def crm_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scale-0.1 CRM demo file (written by the `crm` fixture)."""
    return tmp_path_factory.mktemp("crm") / "crm.duckdb"


@pytest.fixture(scope="session")
def crm(crm_db: Path) -> Iterator[sl.Layer]:
    """The CRM reference project (metrics/) on the scale-0.1 demo file."""
    write_demo(crm_db, scale=0.1, seed=42)
    with sl.connect(CRM_PROJECT, connection=f"duckdb:///{crm_db}") as layer:
        yield layer


@pytest.fixture(scope="session")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("data") / "shop.duckdb")


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
