"""Data checks on PostgreSQL and MariaDB: every check of tests/checkdata.py finds what the same
hand-written SQL finds there (the DuckDB run is in test_checks.py), with the freshness boundaries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from checkcases import CASES, CHECKED_AT, CheckCase, verify
from checkdata import NEWEST_DAY_STARTS, NEWEST_LOAD, build
from engines import mysql_copy, postgres_copy

import semantic_layer as sl
from semantic_layer.checks import CheckResult

ENGINES = {"postgres": postgres_copy, "mysql": mysql_copy}


@pytest.fixture(scope="module", params=sorted(ENGINES))
def remote(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sl.Layer]:
    project = build(tmp_path_factory.mktemp("checks"))
    with (
        ENGINES[request.param](project.parent / "checks.duckdb") as url,
        sl.Layer(sl.load(project), url, state_folder=tmp_path_factory.mktemp("state")) as layer,
    ):
        yield layer


@pytest.fixture(scope="module")
def results(remote: sl.Layer) -> dict[tuple[str, str], CheckResult]:
    return {(r.model, r.name): r for r in remote.check(now=CHECKED_AT)}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.model}.{c.name}" for c in CASES])
def test_each_check_finds_what_hand_written_sql_finds(
    remote: sl.Layer, results: dict[tuple[str, str], CheckResult], case: CheckCase
) -> None:
    verify(remote, case, results[(case.model, case.name)])


def test_the_statements_are_the_engines_own(remote: sl.Layer, results: dict[tuple[str, str], CheckResult]) -> None:
    sql = results[("items", "code_present")].sql
    assert sql == "SELECT COUNT(*) AS failing FROM items AS items WHERE code IS NULL"
    assert results[("odd_items", "code_unique")].sql.startswith("SELECT COUNT(*) AS failing FROM (SELECT code,")


@pytest.mark.parametrize(
    ("name", "newest", "max_age"),
    [("loaded_daily", NEWEST_LOAD, timedelta(days=1)), ("days_recent", NEWEST_DAY_STARTS, timedelta(days=2))],
)
def test_freshness_fails_one_second_past_max_age(
    remote: sl.Layer, name: str, newest: object, max_age: timedelta
) -> None:
    at_limit = newest.replace(tzinfo=CHECKED_AT.tzinfo) + max_age  # type: ignore[attr-defined]
    assert {r.name: r.status for r in remote.check(["items"], now=at_limit)}[name] == "pass"
    later = at_limit + timedelta(seconds=1)
    assert {r.name: r.status for r in remote.check(["items"], now=later)}[name] == "fail"
