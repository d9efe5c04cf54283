"""Median and percentiles on engines without an ordered-set (percentile) aggregate.

MySQL and MariaDB have no PERCENTILE_CONT aggregate. Their rows are first given a window column in
their group, then aggregated:

- MariaDB has percentile *window* functions: each row carries its group's value
  (MEDIAN(x) OVER, PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY x) OVER) and the aggregate takes it.
- MySQL has none, but has ROW_NUMBER and COUNT windows. Over the n sorted non-NULL values
  x1..xn, PERCENTILE_CONT(p) is x_lo + f·(x_lo+1 − x_lo) with h = 1 + p·(n − 1), lo = floor(h),
  f = h − lo: rows are ranked in their group, and the aggregate weights x_lo by 1 − f and x_lo+1
  by f and sums — the same interpolation.

Either way a group with no value gives NULL, as PERCENTILE_CONT does.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from .. import definitions as d

PERCENTILE_AGGS = ("median", "percentile")


def is_percentile(measure: d.Measure) -> bool:
    return measure.agg in PERCENTILE_AGGS


def window_strategy(strategy: str | None, measures: Sequence[d.Measure]) -> str | None:
    """The target's strategy ('ranked' or 'window', from its DialectProfile; None: native
    aggregates) when the unit has percentiles to compute, else None."""
    return strategy if any(is_percentile(m) for m in measures) else None


def with_windows(
    rows: exp.Select, group_columns: list[str], inputs: Sequence[tuple[int, d.Measure]], strategy: str
) -> exp.Select:
    """`rows` with the window columns each percentile input needs, partitioned by its group."""
    partition = [exp.column(c, table="r") for c in group_columns]
    windows: list[exp.Expr] = []
    for i, measure in inputs:
        if not is_percentile(measure):
            continue
        value = exp.column(f"__in{i}", table="r")
        if strategy == "window":
            windows.append(
                exp.Window(this=_percentile_call(measure, value), partition_by=[p.copy() for p in partition]).as_(
                    f"__pc{i}", copy=False
                )
            )
            continue
        # NULLs last, so ranks 1..n are the n values (sqlglot spells this out for MySQL).
        order = exp.Order(expressions=[exp.Ordered(this=value.copy(), nulls_first=False)])
        rank = exp.Window(this=exp.RowNumber(), partition_by=[p.copy() for p in partition], order=order)
        count = exp.Window(this=exp.Count(this=value.copy()), partition_by=[p.copy() for p in partition])
        windows += [rank.as_(f"__rn{i}", copy=False), count.as_(f"__n{i}", copy=False)]
    everything = exp.Column(this=exp.Star(), table=exp.to_identifier("r"))
    return exp.select(everything, *windows).from_(rows.subquery("r", copy=False), copy=False)


def _percentile_call(measure: d.Measure, value: exp.Expr) -> exp.Expr:
    """MariaDB's window functions, spelled out: sqlglot writes its MySQL PERCENTILE_CONT differently."""
    number = exp.cast(value, exp.DataType.Type.DOUBLE)
    if measure.agg == "median":
        return exp.Anonymous(this="MEDIAN", expressions=[number])
    return exp.WithinGroup(
        this=exp.Anonymous(this="PERCENTILE_CONT", expressions=[exp.Literal.number(measure.percentile)]),
        expression=exp.Order(expressions=[exp.Ordered(this=number, nulls_first=True)]),
    )


def windowed_percentile(measure: d.Measure, i: int, table: str, strategy: str) -> exp.Expr:
    """The aggregate that reads input `i`'s percentile from the window columns of `table`."""
    if strategy == "window":
        return exp.Max(this=exp.column(f"__pc{i}", table=table))
    p = exp.Literal.number(0.5 if measure.agg == "median" else measure.percentile)
    rank, count = exp.column(f"__rn{i}", table=table), exp.column(f"__n{i}", table=table)
    position = exp.Add(
        this=exp.Literal.number(1),
        expression=exp.Mul(this=p, expression=exp.paren(exp.Sub(this=count, expression=exp.Literal.number(1)))),
    )
    low = exp.Floor(this=position.copy())
    fraction = exp.paren(exp.Sub(this=position.copy(), expression=low.copy()))
    weight = exp.Case(
        ifs=[
            exp.If(
                this=exp.EQ(this=rank.copy(), expression=low.copy()),
                true=exp.Sub(this=exp.Literal.number(1), expression=fraction.copy()),
            ),
            exp.If(
                this=exp.EQ(this=rank.copy(), expression=exp.Add(this=low.copy(), expression=exp.Literal.number(1))),
                true=fraction.copy(),
            ),
        ],
        default=exp.Literal.number(0),
    )
    value = exp.cast(exp.column(f"__in{i}", table=table), exp.DataType.Type.DOUBLE)
    return exp.Sum(this=exp.Mul(this=value, expression=weight))
