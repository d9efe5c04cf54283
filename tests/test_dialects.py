"""Every warehouse dialect renders every golden query into SQL that sqlglot re-parses in that dialect.

DuckDB, PostgreSQL and MariaDB are left out of the re-parse: their SQL runs, and answers as the
hand-written SQL does (test_golden_duckdb.py, test_engines.py), which proves more than parsing."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from golden_cases import CASES
from helpers import make_project

import semantic_layer as sl

DIALECTS = [
    "mysql",
    "snowflake",
    "bigquery",
    "trino",
    "clickhouse",
    "spark",
]  # MySQL: MariaDB's server runs MariaDB SQL


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("query", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_compiled_sql_reparses_in_its_dialect(layer: sl.Layer, dialect: str, query: dict[str, Any]) -> None:
    sql = layer.compile(dialect=dialect, **query)
    parsed = sqlglot.parse(sql, read=dialect)
    assert len(parsed) == 1 and parsed[0] is not None


def test_dialect_specific_rendering(layer: sl.Layer) -> None:
    query = dict(metrics=["p90_amount", "tickets_per_order"], dimensions=["metric_time:month", "customers.segment"])
    postgres = layer.compile(dialect="postgres", **query)
    assert "PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY" in postgres
    assert "DOUBLE PRECISION" in postgres and "UNION ALL" in postgres
    snowflake = layer.compile(dialect="snowflake", **query)
    assert "CONVERT_TIMEZONE('UTC', 'America/New_York'" in snowflake
    offset = dict(metrics=["revenue_growth_mom"], dimensions=["metric_time:month", "customers.segment"])
    assert "IS NOT DISTINCT FROM" in layer.compile(dialect="postgres", **offset)
    mysql = layer.compile(dialect="mysql", **offset)
    assert "CONVERT_TZ(" in mysql and "<=>" in mysql and "DAYOFMONTH(" in mysql


def test_mysql_ranks_rows_for_percentiles(layer: sl.Layer) -> None:
    mysql = layer.compile(
        dialect="mysql", metrics=["p90_amount", "median_amount", "order_count"], dimensions=["customers.segment"]
    )
    assert "PERCENTILE_CONT" not in mysql.upper() and "MEDIAN(" not in mysql.upper()
    assert mysql.count("ROW_NUMBER() OVER") == 2 and "FLOOR(1 + 0.9 *" in mysql


def test_mariadb_uses_its_percentile_windows(layer: sl.Layer) -> None:
    mariadb = layer.compile(
        dialect="mariadb", metrics=["p90_amount", "median_amount"], dimensions=["customers.segment"]
    )
    assert "PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY" in mariadb and "MEDIAN(" in mariadb
    assert ") OVER (PARTITION BY" in mariadb and "ROW_NUMBER" not in mariadb


@pytest.mark.parametrize("dialect", ["mysql", "mariadb"])
def test_a_running_percentile_is_refused_on_mysql_with_the_reason(tmp_path: Path, shop_db: Path, dialect: str) -> None:
    root = make_project(tmp_path / "p", shop_db)
    (root / "running.yml").write_text(
        "metrics:\n  - name: median_running\n    type: cumulative\n    metric: median_amount\n"
    )
    with sl.connect(root) as lay:
        assert lay.compile(dialect="postgres", metrics=["median_running"], dimensions=["metric_time:month"])
        with pytest.raises(sl.QueryValidationError, match=rf"cumulative median and percentile .* dialect '{dialect}'"):
            lay.compile(dialect=dialect, metrics=["median_running"], dimensions=["metric_time:month"])


def test_dialect_aliases_are_accepted(layer: sl.Layer) -> None:
    assert layer.compile(dialect="postgresql", metrics=["revenue"]) == layer.compile(
        dialect="postgres", metrics=["revenue"]
    )


@pytest.mark.parametrize(
    "snippet",
    [
        "(t AT TIME ZONE 'UTC') AT TIME ZONE 'Asia/Shanghai'",
        "t AT TIME ZONE 'UTC' AT TIME ZONE 'Asia/Shanghai'",
        "convert_timezone('UTC', 'Asia/Shanghai', t)",
    ],
)
def test_utc_to_local_idioms_become_portable(snippet: str) -> None:
    from semantic_layer.snippets import parse_snippet

    tree = parse_snippet(snippet, "duckdb")
    assert tree.sql("mysql", unsupported_level=sqlglot.ErrorLevel.RAISE) == "CONVERT_TZ(t, 'UTC', 'Asia/Shanghai')"


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kathmandu"])
def test_duckdb_converts_utc_to_local_exactly_as_at_time_zone_does(zone: str) -> None:
    """The DuckDB rewrite (epoch arithmetic instead of reading the value through a UTC calendar)
    gives the same local time for every value: DST changes, old local mean times, infinities, NULL."""
    import duckdb

    from semantic_layer.compiler.dialects import adapt
    from semantic_layer.snippets import parse_snippet

    fast = adapt(parse_snippet(f"(t AT TIME ZONE 'UTC') AT TIME ZONE '{zone}'", "duckdb"), "duckdb").sql("duckdb")
    assert "EPOCH_US(" in fast
    values = [
        "2024-03-10 06:59:59.999999",
        "2024-03-10 07:00:00",
        "2024-11-03 05:30:00",
        "1500-01-01 10:00:00",
        "1901-12-13 20:45:52",
        "2262-04-11 23:47:16",
        "infinity",
        "-infinity",
        None,
    ]
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT {fast} IS NOT DISTINCT FROM ((t AT TIME ZONE 'UTC') AT TIME ZONE '{zone}') "
            "FROM (SELECT UNNEST(?::TIMESTAMP[]) AS t)",
            [values],
        ).fetchall()
    assert rows == [(True,)] * len(values)


def test_reused_generators_render_literals_as_fresh_ones_do() -> None:
    """`inline` reuses one generator per dialect and thread; the text must not change."""
    from datetime import date, datetime
    from decimal import Decimal

    from semantic_layer.compiler.dialects import SUPPORTED_DIALECTS
    from semantic_layer.compiler.pipeline import literal
    from semantic_layer.sqlglot_local import generator

    values = [
        None,
        True,
        False,
        7,
        -1.5,
        Decimal("12.30"),
        "it's",
        "back\\slash",
        "naïve '; DROP TABLE x; --",
        date(2024, 2, 29),
        datetime(2024, 3, 10, 2, 30),
    ]
    for dialect in SUPPORTED_DIALECTS:
        for _ in range(2):
            assert [generator(dialect).generate(literal(v)) for v in values] == [
                literal(v).sql(dialect) for v in values
            ]


def test_reused_tokenizers_read_filters_as_fresh_ones_do() -> None:
    """Filter strings are tokenized by one reused tokenizer per dialect and thread; a text that
    fails to tokenize must leave nothing behind for the next one."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import TokenError

    from semantic_layer.compiler.dialects import SUPPORTED_DIALECTS
    from semantic_layer.sqlglot_local import tokenizer

    texts = [
        "orders.amount > 0.5",
        "customers.segment IN ('a''b', 'c')",
        "x = 'it''s' OR y <> 3e2",
        "name = 'unterminated",
        "lower(customers.name) LIKE '%ab%'",
    ]

    def read(tokenize: Any, text: str) -> list[tuple[str, str, int, int]] | str:
        try:
            return [(t.token_type.name, t.text, t.start, t.end) for t in tokenize(text)]
        except TokenError:
            return "TokenError"

    for dialect in SUPPORTED_DIALECTS:
        for _ in range(2):
            for text in texts:
                assert read(tokenizer(dialect).tokenize, text) == read(Dialect.get_or_raise(dialect).tokenize, text)
    assert tokenizer("duckdb") is tokenizer("duckdb")  # kept, not rebuilt per call
    elsewhere: list[Any] = []
    worker = threading.Thread(target=lambda: elsewhere.append(tokenizer("duckdb")))
    worker.start()
    worker.join()
    assert elsewhere[0] is not tokenizer("duckdb")  # each thread its own: tokenizers keep state


def test_sqlglot_runs_its_compiled_modules() -> None:
    """`sqlglot[c]` is a dependency: compiles are about three times faster with it (bench/compile.py)."""
    from sqlglot import tokenizer_core

    assert tokenizer_core.__file__ is not None and not tokenizer_core.__file__.endswith(".py"), (
        "sqlglot runs as plain Python — install the project again (pip install -e .) to get sqlglotc"
    )
