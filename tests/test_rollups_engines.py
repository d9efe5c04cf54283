"""Rollups of data that lives in PostgreSQL: built by the layer's SQL on PostgreSQL, stored in
DuckDB, and every golden query and every query made to be routed answers as PostgreSQL does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engines import postgres_copy
from golden_cases import CASES, SHARE_CASES
from helpers import make_project
from test_rollups import RAW, ROLLUPS, ROUTED, same_rows

import semantic_layer as sl
from semantic_layer.layer import Layer
from semantic_layer.project import load
from semantic_layer.rollups.build import build_rollups


@pytest.fixture(scope="module")
def postgres(shop_db: Path) -> Iterator[str]:
    with postgres_copy(shop_db) as url:
        yield url


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Path:
    root = make_project(tmp_path_factory.mktemp("rolled-pg"), shop_db)
    (root / "rollups.yml").write_text(ROLLUPS)
    return root


@pytest.fixture(scope="module")
def pg_served(tmp_path_factory: pytest.TempPathFactory, rolled: Path, postgres: str) -> Iterator[Layer]:
    with Layer(load(rolled), postgres, state_folder=tmp_path_factory.mktemp("pg-rollups")) as layer:
        build_rollups(layer)
        yield layer


@pytest.fixture(scope="module")
def pg_raw(tmp_path_factory: pytest.TempPathFactory, rolled: Path, postgres: str) -> Iterator[Layer]:
    with Layer(load(rolled), postgres, state_folder=tmp_path_factory.mktemp("pg-no-rollups")) as layer:
        yield layer


QUERIES = [*(c[1] for c in [*CASES, *SHARE_CASES]), *(c[1] for c in ROUTED), *(c[1] for c in RAW)]


@pytest.mark.parametrize("query", QUERIES)
def test_answers_from_rollups_of_postgres_data_are_postgres_answers(
    pg_served: Layer, pg_raw: Layer, query: dict[str, Any]
) -> None:
    try:
        expected = pg_raw.query(**query)
    except sl.QueryError as exc:
        with pytest.raises(type(exc)):
            pg_served.query(**query)
        return
    got = pg_served.query(**query)
    assert same_rows(got, expected)
    assert [c.type for c in got.columns] == [c.type for c in expected.columns]


def test_every_made_to_be_routed_query_reads_rollups(pg_served: Layer) -> None:
    for _, query, rollup in ROUTED:
        assert pg_served.query(**query).rollup == rollup, query
