"""Rollups of data that lives in PostgreSQL or MariaDB: built by the layer's SQL there, stored in
DuckDB, and every golden query and every query made to be routed answers as the source does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engines import mysql_copy, postgres_copy
from golden_cases import CASES, SHARE_CASES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rollupcases import (
    FUZZ_DIMENSIONS,
    FUZZ_FILTERS,
    FUZZ_METRICS,
    FUZZ_RANGES,
    RAW,
    ROUTED,
    assert_same_answer,
    rolled_project,
)

from semantic_layer.layer import Layer
from semantic_layer.project import load
from semantic_layer.rollups.build import build_rollups

ENGINES = {"postgres": postgres_copy, "mysql": mysql_copy}


@pytest.fixture(scope="module", params=sorted(ENGINES))
def source(request: pytest.FixtureRequest, shop_db: Path) -> Iterator[str]:
    with ENGINES[request.param](shop_db) as url:
        yield url


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Path:
    return rolled_project(tmp_path_factory.mktemp("rolled-pg"), shop_db)


@pytest.fixture(scope="module")
def served_there(tmp_path_factory: pytest.TempPathFactory, rolled: Path, source: str) -> Iterator[Layer]:
    with Layer(load(rolled), source, state_folder=tmp_path_factory.mktemp("remote-rollups")) as layer:
        build_rollups(layer)
        yield layer


@pytest.fixture(scope="module")
def raw_there(tmp_path_factory: pytest.TempPathFactory, rolled: Path, source: str) -> Iterator[Layer]:
    with Layer(load(rolled), source, state_folder=tmp_path_factory.mktemp("remote-no-rollups")) as layer:
        yield layer


QUERIES = [*(c[1] for c in [*CASES, *SHARE_CASES]), *(c[1] for c in ROUTED), *(c[1] for c in RAW)]


@pytest.mark.parametrize("query", QUERIES)
def test_answers_from_rollups_of_a_database_are_its_answers(
    served_there: Layer, raw_there: Layer, query: dict[str, Any]
) -> None:
    assert_same_answer(served_there, raw_there, query)


def test_every_made_to_be_routed_query_reads_rollups(served_there: Layer) -> None:
    for _, query, rollup in ROUTED:
        assert served_there.query(**query).rollup == rollup, query


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    metrics=st.lists(st.sampled_from(FUZZ_METRICS), min_size=1, max_size=3, unique=True),
    dims=st.lists(st.sampled_from(FUZZ_DIMENSIONS), max_size=3, unique=True),
    where=st.lists(FUZZ_FILTERS, max_size=2),
    time_range=FUZZ_RANGES,
)
def test_random_queries_answer_as_the_database_does(
    served_there: Layer,
    raw_there: Layer,
    metrics: list[str],
    dims: list[str],
    where: list[Any],
    time_range: dict[str, str] | None,
) -> None:
    query = dict(metrics=metrics, dimensions=dims, where=where, time_range=time_range)
    assert_same_answer(served_there, raw_there, query)
