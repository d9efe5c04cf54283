"""Joined dimension values are computed in the joined model's source, once per joined row.

The answers are checked against hand-written SQL in test_golden_duckdb.py (on every engine); these
tests pin down where the work happens, which the answers alone cannot show.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

import semantic_layer as sl


def joined_sources(sql: str) -> dict[str, exp.Select]:
    """Each join whose source is a subquery, by alias."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    return {j.this.alias: j.this.this for j in tree.find_all(exp.Join) if isinstance(j.this, exp.Subquery)}


def test_a_joined_time_dimension_is_converted_and_truncated_inside_the_join(layer: sl.Layer) -> None:
    sql = layer.compile(metrics=["revenue"], dimensions=["customers.created_at:month"])
    source = joined_sources(sql)["customers"]
    assert source.find(exp.AtTimeZone) is not None and source.find(exp.DateTrunc, exp.TimestampTrunc) is not None
    outer_select = sqlglot.parse_one(sql, read="duckdb").find(exp.Select)
    assert outer_select is not None and "__sl_v0" in outer_select.sql()


def test_a_case_over_a_joined_model_stays_after_the_join(layer: sl.Layer) -> None:
    sql = layer.compile(metrics=["order_count"], dimensions=["customers.segment_group"])
    assert joined_sources(sql) == {}


def test_plain_columns_and_the_base_model_are_left_alone(layer: sl.Layer) -> None:
    sql = layer.compile(metrics=["revenue"], dimensions=["customers.segment", "metric_time:month"])
    assert joined_sources(sql) == {}
