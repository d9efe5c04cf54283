"""The checked-in warehouse SQL still matches the compiler, and every file re-parses in its dialect."""

from __future__ import annotations

import pytest
import sqlglot
from golden_sql import DIALECTS, QUERIES, path_of, render

import semantic_layer as sl

CASES = [(d, n) for d in DIALECTS for n in QUERIES]


@pytest.mark.parametrize(("dialect", "name"), CASES, ids=[f"{d}-{n}" for d, n in CASES])
def test_generated_sql_matches_the_checked_in_file(layer: sl.Layer, dialect: str, name: str) -> None:
    expected = path_of(dialect, name).read_text()
    assert render(layer, dialect, QUERIES[name]) == expected, (
        f"{path_of(dialect, name).name} changed — review, then run: python tests/golden_sql.py --update"
    )
    if not expected.startswith("-- refused"):
        assert len(sqlglot.parse(expected, read=dialect)) == 1
