"""Bad queries get clear errors with a code, a named member and a fix; filters are allow-listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import make_project

import semantic_layer as sl


def refuse(layer: sl.Layer, error: type[sl.QueryError], match: str, **query: Any) -> sl.QueryError:
    with pytest.raises(error, match=match) as info:
        layer.query(**query)
    return info.value


def test_unknown_metric_suggests_a_near_miss(layer: sl.Layer) -> None:
    err = refuse(layer, sl.UnknownMemberError, "unknown metric 'revenu' — did you mean 'revenue'", metrics=["revenu"])
    assert err.code == "UNKNOWN_MEMBER"


def test_unknown_dimension_suggests_a_near_miss(layer: sl.Layer) -> None:
    refuse(
        layer,
        sl.UnknownMemberError,
        "has no dimension 'segmnt'.*did you mean 'customers.segment'",
        metrics=["revenue"],
        dimensions=["customers.segmnt"],
    )


def test_two_paths_to_one_model_list_the_join_names(layer: sl.Layer) -> None:
    err = refuse(layer, sl.QueryValidationError, "ambiguous", metrics=["revenue"], dimensions=["sales_reps.team"])
    assert "'owner_rep'" in err.message and "'customers.account_owner'" in err.message


def test_a_dimension_one_metric_cannot_reach_names_that_metric_model(layer: sl.Layer) -> None:
    refuse(
        layer,
        sl.UnknownMemberError,
        "tickets.*grouping metrics on model 'orders'",
        metrics=["revenue", "ticket_count"],
        dimensions=["tickets.priority"],
    )


@pytest.mark.parametrize(
    ("where", "match"),
    [
        ("orders.amount IN (SELECT amount FROM orders)", "may not contain a subquery"),
        ("customers.segment = 'a'; DROP TABLE orders", "single SQL expression, not 2 statements"),
        ("DROP TABLE orders", "may not contain DROP"),
        ("EXISTS (SELECT 1)", "may not contain"),
        ("read_csv('/etc/passwd') IS NOT NULL", "may not contain the function READ_CSV"),
        ("customers.segment = $1", "parameters like"),
        ("customers.segment = :name", "parameter markers"),
        ("customers.segment = 'a' OR customers.segment = :__lit1", "parameter markers"),
        ("customers.segment = ?", "parameter markers"),
        ("customers.segment = @name", "parameters like"),
        ("customers.segment = $$smb$$", "dollar-quoted strings"),
        ("customers.segment = 'smb' /* :__lit0 */", "may not contain comments"),
        ("orders.customer_id = 5", "has no dimension 'customer_id'"),
        ("segment = 'smb'", "name dimensions as 'model.dimension'"),
        ("orders.* IS NOT NULL", "may not contain"),
        ("customers.segment = (SELECT 'smb')", "may not contain a subquery"),
    ],
)
def test_filters_outside_the_allow_list_are_refused(layer: sl.Layer, where: str, match: str) -> None:
    refuse(layer, sl.QueryError, match, metrics=["revenue"], where=[where])


def test_a_filter_spelling_a_value_slot_cannot_share_a_statement_with_a_real_literal(layer: sl.Layer) -> None:
    """The compiled-statement cache is keyed on what the parser reads: text that merely looks like
    the layer's own placeholders never reaches it, so bound values cannot shift between slots."""
    real = layer.prepare(sl.Query(metrics=["revenue"], where=["customers.segment = 'a' OR customers.segment = 'b'"]))
    assert real[1][:2] == ["a", "b"]
    with pytest.raises(sl.QueryError, match="parameter markers"):
        layer.prepare(sl.Query(metrics=["revenue"], where=["customers.segment = 'a' OR customers.segment = :__lit1"]))


def test_filters_differing_only_in_layout_share_one_statement(layer: sl.Layer) -> None:
    one, _ = layer.prepare(sl.Query(metrics=["revenue"], where=["customers.segment = 'a'"]))
    other, values = layer.prepare(sl.Query(metrics=["revenue"], where=["customers.segment   =\n'zz'"]))
    assert one is other and values[0] == "zz"


@pytest.mark.parametrize(
    ("where", "match"),
    [
        ("orders.amount LIKE '1%'", "LIKE compares text, and 'orders.amount' is a number"),
        ("UPPER(orders.created_at) = 'X'", "UPPER takes text, and 'orders.created_at' is a time"),
        ("YEAR(orders.amount) = 2024", "YEAR takes a time, and 'orders.amount' is a number"),
        ("EXTRACT(month FROM order_lines.returned) = 1", "EXTRACT takes a time"),
        ("orders.created_at * 2 > 1", "'orders.created_at' is a time, which MUL cannot take"),
        ("order_lines.returned + 1 > 1", "'order_lines.returned' is a boolean"),
        ("orders.amount = orders.created_at", "'orders.amount' is a number and 'orders.created_at' a time"),
        ("orders.amount > TRUE", "filter on 'orders.amount' expects a number, got true"),
        ("orders.amount IN 'x'", "IN takes a list in parentheses"),
    ],
)
def test_type_mistakes_in_filter_strings_are_the_callers(layer: sl.Layer, where: str, match: str) -> None:
    """The database would refuse these with a binder error, answered as ours (INTERNAL)."""
    assert refuse(layer, sl.QueryValidationError, match, metrics=["order_count"], where=[where]).code == "VALIDATION"


def test_well_typed_filter_strings_pass_the_type_check(layer: sl.Layer) -> None:
    for where in [
        "customers.segment LIKE 'sm%'",
        "YEAR(orders.created_at) = 2024",
        "orders.amount * 2 > 100",
        "orders.created_at + INTERVAL '1' DAY > DATE '2024-01-01'",
        "order_lines.returned = TRUE",
    ]:
        assert layer.query(metrics=["order_count"], where=[where]).rows[0]["order_count"] > 0, where


def test_a_query_with_having_but_nothing_to_show_is_refused(layer: sl.Layer) -> None:
    refuse(layer, sl.QueryValidationError, "at least one metric or one dimension", metrics=[], having=["revenue > 1"])


def test_having_refuses_non_metrics(layer: sl.Layer) -> None:
    refuse(layer, sl.UnknownMemberError, "is not a metric", metrics=["revenue"], having=["customers.segment = 'x'"])


def test_a_quote_in_a_value_stays_a_value(layer: sl.Layer) -> None:
    res = layer.query(metrics=["order_count"], where=["customers.segment = 'x'' OR ''1''=''1'"])
    assert res.rows == [{"order_count": 0}]
    structured = layer.query(
        metrics=["order_count"], where=[sl.Filter(member="customers.segment", op="equals", values=["x' OR '1'='1"])]
    )
    assert structured.rows == [{"order_count": 0}]
    assert "'x'' OR ''1''=''1'" in structured.sql


def test_values_are_bound_not_spliced_into_the_statement(layer: sl.Layer) -> None:
    compiled, values = layer.prepare(
        sl.Query(
            metrics=["revenue"],
            where=["customers.segment = 'needle'"],
            filters=[sl.Filter(member="orders.amount", op="gt", values=[123.5])],
        )
    )
    assert "needle" not in compiled.template and "123.5" not in compiled.template
    assert set(compiled.bind(values).values()) == {"needle", 123.5}


def test_limit_beyond_max_rows_is_a_limit_error(layer: sl.Layer) -> None:
    err = refuse(
        layer, sl.LimitExceededError, "exceeds the project's max_rows 100000", metrics=["revenue"], limit=100_001
    )
    assert err.code == "LIMIT"


def test_limit_defaults_to_default_rows_and_reads_one_more_to_know_if_it_cut(layer: sl.Layer) -> None:
    res = layer.query(metrics=["order_count"], dimensions=["metric_time:day"])
    assert res.sql.endswith("LIMIT 5001") and len(res) < 5000 and not res.truncated and res.warnings == []


def test_an_answer_cut_at_default_rows_says_so(tmp_path: Path, shop_db: Path) -> None:
    """192 840 rows used to come back as exactly 10 000, without a word."""
    root = make_project(tmp_path / "p", shop_db, limits="{default_rows: 10, max_rows: 100}")
    with sl.connect(root) as small, pytest.warns(sl.TruncatedResultWarning, match="cut at 10 rows"):
        cut = small.query(metrics=["order_count"], dimensions=["metric_time:day"])
        assert len(cut) == 10 and cut.truncated
        assert cut.warnings == [
            "the answer was cut at 10 rows (limits.default_rows): narrow the query, or set limit "
            "(up to limits.max_rows) and page with offset"
        ]
        chosen = small.query(metrics=["order_count"], dimensions=["metric_time:day"], limit=10)
        assert len(chosen) == 10 and not chosen.truncated and chosen.warnings == []
        whole = small.query(metrics=["order_count"], dimensions=["customers.segment"])
        assert len(whole) < 10 and not whole.truncated


@pytest.mark.parametrize(
    ("query", "match"),
    [
        (dict(metrics=["revenue"], order_by=["-customers.segment"]), "order_by 'customers.segment' is not among"),
        (
            dict(metrics=["revenue_growth_mom"], dimensions=["metric_time:month", "metric_time:year"]),
            "ask for a single metric_time grain",
        ),
        (dict(metrics=["revenue_growth_mom"], dimensions=["metric_time:week"]), "does not align with grain 'week'"),
        (
            dict(metrics=["revenue_trailing_7d"], dimensions=["metric_time:day", "metric_time:week"]),
            "ask for a single metric_time grain",
        ),
        (dict(metrics=["quantity"], dimensions=["metric_time:month"]), "model 'order_lines' has no 'time:'"),
        (dict(metrics=["revenue"], dimensions=["customers.segment:month"]), "only time dimensions take a grain"),
        (dict(metrics=["revenue"], dimensions=["metric_time:fortnight"]), "unknown time grain 'fortnight'"),
        (dict(metrics=["revenue", "revenue"]), "asked for twice"),
        (dict(metrics=["revenue"], limit=-1), "invalid query field 'limit'"),
        (dict(metrics=["revenue"], time_range={"start": "last tuesday"}), "not a date or timestamp"),
        (
            dict(metrics=["revenue"], where=[sl.Filter(member="orders.amount", op="between", values=[1])]),
            "takes 2 values, got 1",
        ),
        (dict(metrics=[], dimensions=[]), "at least one metric or one dimension"),
        (dict(metrics=["revenue"], segments=["orders.huge"]), "unknown segment 'orders.huge'"),
    ],
)
def test_impossible_queries_are_refused_with_the_fix(layer: sl.Layer, query: dict[str, Any], match: str) -> None:
    refuse(layer, sl.QueryError, match, **query)


def test_compile_refuses_an_unknown_dialect(layer: sl.Layer) -> None:
    with pytest.raises(sl.QueryValidationError, match="unknown dialect 'oracle9'"):
        layer.compile(metrics=["revenue"], dialect="oracle9")


def test_a_deprecated_metric_warns_and_names_its_replacement(layer: sl.Layer) -> None:
    with pytest.warns(sl.DeprecatedMetricWarning, match="use 'revenue' instead"):
        res = layer.query(metrics=["legacy_revenue"])
    assert res.warnings == ["metric 'legacy_revenue' is deprecated — use 'revenue' instead"]


@pytest.mark.parametrize(
    "where",
    [
        "(" * 3000 + "orders.amount > 1" + ")" * 3000,
        "NOT " * 2000 + "orders.amount > 1",
        "orders.amount > " + "- " * 3000 + "1",
        "orders.amount > " + "abs(" * 500 + "1" + ")" * 500,
    ],
    ids=["parentheses", "NOTs", "signs", "calls"],
)
def test_a_filter_nested_too_deeply_is_a_limit_not_a_crash(layer: sl.Layer, where: str) -> None:
    """sqlglot parses and renders recursively; a deep filter used to raise RecursionError."""
    err = refuse(layer, sl.LimitExceededError, "nested too deeply", metrics=["revenue"], where=[where])
    assert err.code == "LIMIT"
    assert layer.query(metrics=["revenue"], where=["(" * 100 + "orders.amount > 1" + ")" * 100]).rows


@pytest.mark.parametrize(
    ("where", "match"),
    [
        ("orders.amount > 0x10", "a name follows the number '0' without a space"),
        ("orders.amount > 5days", "a name follows the number '5' without a space"),
        ("orders.amount > 1e", "'1e' is not a number"),
    ],
    ids=["hex", "unit", "no exponent"],
)
def test_a_number_that_cannot_be_read_is_refused(layer: sl.Layer, where: str, match: str) -> None:
    """These made ValueError (a bug, to the server): DuckDB reads 0x10 as 0 and the name x10."""
    refuse(layer, sl.QueryValidationError, match, metrics=["revenue"], where=[where])


def test_a_malformed_filter_object_is_a_query_error_with_a_code() -> None:
    with pytest.raises(sl.QueryValidationError, match="invalid filter field 'op'") as info:
        sl.Filter(member="orders.amount", op="eq", values=[1])
    assert info.value.code == "VALIDATION"


def test_a_project_that_does_not_load_carries_a_code_too(tmp_path: Any) -> None:
    with pytest.raises(sl.ValidationError) as info:
        sl.load(tmp_path)
    assert info.value.code == "VALIDATION" and info.value.errors
