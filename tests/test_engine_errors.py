"""A database's refusal reaches the caller in our words, on DuckDB, PostgreSQL, MariaDB and ClickHouse alike: a
value it cannot convert is VALIDATION, anything else INTERNAL with an incident id. Its own message
— which quotes the statement and the row policies in it — is only in the log."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import engine_params, layer_on
from helpers import make_project

import semantic_layer as sl
from semantic_layer.access import Principal
from semantic_layer.engines.refusal import BAD_VALUE

POLICIES = """
policies:
  - role: regional
    rows:
      - model: customers
        where: "region_id = {{ user.region_id }}"
"""
GHOST = """
models:
  - name: ghost
    table: ghost_table
    primary_key: id
    measures:
      - {name: n, agg: count}
metrics:
  - {name: ghost_count, type: simple, measure: ghost.n}
"""
# Filters each database fails to convert or compute at run time (MariaDB converts 'x' to 0 with a
# warning, which the engine turns into the refusal).
FAILING = {
    "duckdb": ["CAST(customers.name AS INT) > 1"],
    # (PostgreSQL computes 1e37⁹ exactly: its NUMERIC, which decimal values are bound as, does not overflow)
    "postgres": ["CAST(customers.name AS INT) > 1", "CAST(orders.amount AS SMALLINT) * 1000 > 1"],
    "mysql": ["orders.amount" + " * 1e37" * 9 + " > 1", "customers.name + 0 > 1"],
    # (ClickHouse checks no DECIMAL precision, only its storage: 250.5 is a DECIMAL(4, 2) there)
    "clickhouse": ["CAST(customers.name AS INT) > 1", "CAST(orders.amount AS TINYINT) > 1"],
}


@pytest.fixture(scope="module", params=engine_params(list(FAILING)))
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, shop_db: Path
) -> Iterator[tuple[str, sl.Layer]]:
    root = make_project(tmp_path_factory.mktemp(f"refusals_{request.param}"), shop_db)
    (root / "policies.yml").write_text(POLICIES)
    (root / "ghost.yml").write_text(GHOST)
    with layer_on(request.param, root, shop_db) as layer:
        yield request.param, layer


def regional(region_id: object) -> Principal:
    return Principal(("regional",), {"region_id": region_id})


def test_a_value_the_database_cannot_convert_is_validation_in_our_words(
    engine: tuple[str, sl.Layer], caplog: pytest.LogCaptureFixture
) -> None:
    name, layer = engine
    caplog.set_level(logging.INFO, logger="semantic_layer.engines")
    for where in FAILING[name]:
        with pytest.raises(sl.QueryValidationError) as info:
            layer.query(principal=regional(2), metrics=["order_count"], where=[where])
        assert info.value.message == BAD_VALUE  # no word of the database's, nor of the policy
    assert all(r.levelno == logging.INFO and not r.exc_info for r in caplog.records), caplog.text


def test_a_claim_of_the_wrong_type_is_refused_without_the_policy(engine: tuple[str, sl.Layer]) -> None:
    """region_id is an INTEGER column; the policy compares it with the token's claim."""
    _, layer = engine  # MariaDB only warns that 'north' is no number: the warning is the refusal
    assert layer.query(principal=regional(2), metrics=["customer_count"]).rows[0]["customer_count"] > 0
    with pytest.raises(sl.QueryValidationError) as info:
        layer.query(principal=regional("north"), metrics=["customer_count"])
    assert info.value.message == BAD_VALUE


def test_any_other_refusal_is_internal_with_an_incident_and_the_database_text_only_in_the_log(
    engine: tuple[str, sl.Layer], caplog: pytest.LogCaptureFixture
) -> None:
    _, layer = engine
    with pytest.raises(sl.ExecutionError) as info:
        layer.query(principal=regional(2), metrics=["ghost_count"])
    found = re.fullmatch(
        r"the database refused the query \(incident ([0-9a-f]{12})\) — its message is in the log", info.value.message
    )
    assert found and info.value.code == "INTERNAL", info.value.message
    logged = [r.getMessage() for r in caplog.records if found.group(1) in r.getMessage()]
    assert len(logged) == 1 and "ghost_table" in logged[0], caplog.text


def test_a_text_member_compared_with_a_number_is_the_callers_mistake(
    engine: tuple[str, sl.Layer], caplog: pytest.LogCaptureFixture
) -> None:
    """customers.segment is text; DuckDB and PostgreSQL refuse `segment > 1` as a type mismatch, which
    the compiler cannot foresee (an undeclared dimension type reads as text). MariaDB converts each
    segment to a number with a warning, which is refused as a value that does not convert."""
    name, layer = engine
    where = ["customers.segment > 1"]
    if name == "mysql":
        with pytest.raises(sl.QueryValidationError) as refused:
            layer.query(metrics=["order_count"], where=where)
        assert refused.value.message == BAD_VALUE
        return
    with pytest.raises(sl.QueryValidationError, match="will not compare values of different types") as info:
        layer.query(principal=regional(2), metrics=["order_count"], where=where)
    assert "region_id" not in info.value.message and "VARCHAR" not in info.value.message
    assert any("refused to compare types" in r.getMessage() for r in caplog.records), caplog.text
