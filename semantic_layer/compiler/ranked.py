"""Median and percentiles from window ranks, for engines without ordered-set aggregates.

MySQL and MariaDB have no PERCENTILE_CONT aggregate (MariaDB's is a window function only, MySQL has
none), but both have ROW_NUMBER and COUNT windows. Over the n sorted non-NULL values x1..xn,
PERCENTILE_CONT(p) is x_lo + f·(x_lo+1 − x_lo) with h = 1 + p·(n − 1), lo = floor(h), f = h − lo.
The rows are ranked inside their group first; the aggregate then weights x_lo by 1 − f and x_lo+1
by f and sums, which is the same interpolation. A group with no value sums nothing and gives NULL,
as PERCENTILE_CONT does.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from .. import definitions as d

PERCENTILE_AGGS = ("median", "percentile")
# Target dialects that compute percentiles this way; elsewhere sqlglot renders the native aggregate.
RANKED_DIALECTS = frozenset({"mysql"})


def is_percentile(measure: d.Measure) -> bool:
    return measure.agg in PERCENTILE_AGGS


def needs_ranks(dialect: str, measures: Sequence[d.Measure]) -> bool:
    return dialect in RANKED_DIALECTS and any(is_percentile(m) for m in measures)


def rank_rows(rows: exp.Select, group_columns: list[str], inputs: Sequence[tuple[int, d.Measure]]) -> exp.Select:
    """`rows` with each percentile input's rank in its group (NULLs last) and its group's count."""
    partition = [exp.column(c, table="r") for c in group_columns]
    windows: list[exp.Expr] = []
    for i, measure in inputs:
        if not is_percentile(measure):
            continue
        value = exp.column(f"__in{i}", table="r")
        # NULLs last, so ranks 1..n are the n values (sqlglot spells this out for MySQL).
        order = exp.Order(expressions=[exp.Ordered(this=value.copy(), nulls_first=False)])
        rank = exp.Window(this=exp.RowNumber(), partition_by=[p.copy() for p in partition], order=order)
        count = exp.Window(this=exp.Count(this=value.copy()), partition_by=[p.copy() for p in partition])
        windows += [rank.as_(f"__rn{i}"), count.as_(f"__n{i}")]
    everything = exp.Column(this=exp.Star(), table=exp.to_identifier("r"))
    return exp.select(everything, *windows).from_(rows.subquery("r"), copy=False)


def ranked_percentile(measure: d.Measure, i: int, table: str) -> exp.Expr:
    """The interpolated percentile of input `i` over ranked rows of `table` (see the module doc)."""
    p = exp.Literal.number(0.5 if measure.agg == "median" else measure.percentile)
    rank, count = exp.column(f"__rn{i}", table=table), exp.column(f"__n{i}", table=table)
    position = exp.Add(this=exp.Literal.number(1),
                       expression=exp.Mul(this=p, expression=exp.paren(
                           exp.Sub(this=count, expression=exp.Literal.number(1)))))
    low = exp.Floor(this=position.copy())
    fraction = exp.paren(exp.Sub(this=position.copy(), expression=low.copy()))
    weight = exp.Case(ifs=[
        exp.If(this=exp.EQ(this=rank.copy(), expression=low.copy()),
               true=exp.Sub(this=exp.Literal.number(1), expression=fraction.copy())),
        exp.If(this=exp.EQ(this=rank.copy(), expression=exp.Add(this=low.copy(), expression=exp.Literal.number(1))),
               true=fraction.copy()),
    ], default=exp.Literal.number(0))
    value = exp.cast(exp.column(f"__in{i}", table=table), exp.DataType.Type.DOUBLE)
    return exp.Sum(this=exp.Mul(this=value, expression=weight))
