"""Alerts on PostgreSQL and MariaDB: the same periods, values and levels as on DuckDB, whose alerts
tests/test_alerts.py checks against hand-written SQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alertproject import alert_project
from engines import mysql_copy, postgres_copy
from helpers import same_value

import semantic_layer as sl

ENGINES = {"postgres": postgres_copy, "mysql": mysql_copy}
CASES: dict[str, dict[str, Any]] = {
    "a month boundary in New York, before": {"now": datetime(2024, 12, 1, 4, 59, tzinfo=UTC)},
    "a month boundary in New York, after": {"now": datetime(2024, 12, 1, 5, 0, tzinfo=UTC)},
    "the week DST ends, a band crossed below": {"now": datetime(2024, 11, 5, tzinfo=UTC)},
    "critical, a band crossed above": {"now": datetime(2024, 11, 12, tzinfo=UTC)},
    "no data in the last month: the latest with data": {"now": datetime(2025, 3, 10, tzinfo=UTC)},
    "a NULL value": {"now": datetime(2025, 1, 10, tzinfo=UTC), "time_range": {"end": "2023-11-01"}},
    "by quarter in a time range": {
        "now": datetime(2025, 1, 10, tzinfo=UTC),
        "grain": "quarter",
        "time_range": {"start": "2024-01-01", "end": "2024-10-15"},
    },
    "a row policy": {
        "now": datetime(2024, 12, 5, tzinfo=UTC),
        "principal": sl.Principal(("regional",), {"region_id": 3}),
    },
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Path:
    return alert_project(tmp_path_factory.mktemp("alerts"), shop_db, policies=True)


@pytest.fixture(scope="module")
def duck(project: Path) -> Iterator[sl.Layer]:
    with sl.connect(project) as layer:
        yield layer


@pytest.fixture(scope="module", params=sorted(ENGINES))
def remote(request: pytest.FixtureRequest, shop_db: Path, project: Path) -> Iterator[sl.Layer]:
    with ENGINES[request.param](shop_db) as url, sl.connect(project, connection=url) as layer:
        yield layer


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_alerts_answer_as_on_duckdb(remote: sl.Layer, duck: sl.Layer, case: str) -> None:
    expected, found = duck.alerts(**CASES[case]), remote.alerts(**CASES[case])
    assert [a.metric for a in found] == [a.metric for a in expected]
    for got, want in zip(found, expected, strict=True):
        assert same_value(got.value, want.value) if want.value is not None else got.value is None, (got, want)
        assert (got.level, got.period, got.bound, got.note, got.message) == (
            want.level,
            want.period,
            want.bound,
            want.note,
            want.message,
        )
