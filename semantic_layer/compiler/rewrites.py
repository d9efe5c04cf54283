"""Node rewrites for what sqlglot renders incorrectly, or slowly, on a target (applied after
check_renderable).

Each target's DialectProfile (dialects.py) names the rewrite it needs, if any.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp


def _fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def filter_as_case(node: exp.Expr) -> exp.Expr:
    """AGG(x) FILTER (WHERE c) → AGG(CASE WHEN c THEN x END), where FILTER is missing (MySQL,
    MariaDB, Redshift, ClickHouse) and sqlglot writes it anyway. Rows failing `c` give NULL, which
    every aggregate skips; COUNT(*) counts the kept rows as COUNT(CASE WHEN c THEN 1 END)."""
    if not isinstance(node, exp.Filter):
        return node
    agg: exp.Expr = node.this.copy()
    condition = node.expression.this
    target = agg.this.expressions[0] if isinstance(agg.this, exp.Distinct) else agg.this
    value = exp.Literal.number(1) if isinstance(target, exp.Star) else target.copy()
    target.replace(exp.Case(ifs=[exp.If(this=condition.copy(), true=value)]))
    return agg


def mysql_node(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Filter):
        return filter_as_case(node)
    if isinstance(node, exp.TimestampTrunc):
        return _mysql_truncate(node.this, node.unit.name.upper() if node.unit else "DAY")
    if isinstance(node, exp.DateDiff):
        return _mysql_date_diff(node)
    return node


def _mysql_truncate(x: exp.Expr, unit: str) -> exp.Expr:
    """MySQL/MariaDB have no DATE_TRUNC; sqlglot's emulation counts from year 0000 (weeks start on
    Saturday, hours come back as text). Truncate with date arithmetic instead (about a third faster
    than formatting through text), as DATETIME values."""
    day = exp.cast(x.copy(), exp.DataType.Type.DATE)
    year_start = _fn("MAKEDATE", _fn("YEAR", x.copy()), exp.Literal.number(1))

    def minus(amount: exp.Expr, unit: str) -> exp.Expr:
        return exp.Sub(this=x.copy(), expression=exp.Interval(this=exp.paren(amount), unit=exp.Var(this=unit)))

    micro, second, minute = _fn("MICROSECOND", x.copy()), _fn("SECOND", x.copy()), _fn("MINUTE", x.copy())
    seconds_in_hour = exp.Add(this=exp.Mul(this=minute, expression=exp.Literal.number(60)), expression=second.copy())
    starts: dict[str, Callable[[], exp.Expr]] = {
        "SECOND": lambda: minus(micro.copy(), "MICROSECOND"),
        "MINUTE": lambda: minus(_plus_micro(second.copy(), micro), "MICROSECOND"),
        "HOUR": lambda: minus(_plus_micro(exp.paren(seconds_in_hour), micro), "MICROSECOND"),
        "DAY": lambda: day,
        "WEEK": lambda: exp.Sub(
            this=day, expression=exp.Interval(this=_fn("WEEKDAY", x.copy()), unit=exp.Var(this="DAY"))
        ),
        "MONTH": lambda: exp.Sub(
            this=day,
            expression=exp.Interval(
                this=exp.paren(exp.Sub(this=_fn("DAYOFMONTH", x.copy()), expression=exp.Literal.number(1))),
                unit=exp.Var(this="DAY"),
            ),
        ),
        "QUARTER": lambda: exp.Add(
            this=year_start,
            expression=exp.Interval(
                this=exp.paren(exp.Sub(this=_fn("QUARTER", x.copy()), expression=exp.Literal.number(1))),
                unit=exp.Var(this="QUARTER"),
            ),
        ),
        "YEAR": lambda: year_start,
    }
    return exp.cast(starts[unit](), exp.DataType.Type.DATETIME)


def _plus_micro(seconds: exp.Expr, micro: exp.Expr) -> exp.Expr:
    """seconds × 1 000 000 + microseconds: how far a value is past the start of its minute or hour."""
    return exp.Add(this=exp.Mul(this=seconds, expression=exp.Literal.number(1_000_000)), expression=micro.copy())


def _mysql_date_diff(node: exp.DateDiff) -> exp.Expr:
    """sqlglot renders every DATE_DIFF as MySQL's DATEDIFF, which counts days whatever the unit.
    Count unit boundaries crossed, as DuckDB does: TIMESTAMPDIFF between the two values truncated
    to the unit."""
    unit = node.unit.name.upper() if node.unit else "DAY"
    if unit == "DAY":
        return node  # DATEDIFF compares the dates: day boundaries crossed
    start, end = node.expression, node.this
    if unit == "WEEK":  # DuckDB: days between the dates, divided by 7
        return _fn("TIMESTAMPDIFF", exp.Var(this=unit), _as_date(start), _as_date(end))
    return _fn("TIMESTAMPDIFF", exp.Var(this=unit), _mysql_truncate(start, unit), _mysql_truncate(end, unit))


def postgres_node(node: exp.Expr) -> exp.Expr:
    """sqlglot's PostgreSQL DATE_DIFF in weeks counts whole 7-day intervals; DuckDB divides the days
    between the two dates by 7. Every other unit already matches."""
    if isinstance(node, exp.DateDiff) and node.unit is not None and node.unit.name.upper() == "WEEK":
        days = exp.paren(exp.Sub(this=_as_date(node.this), expression=_as_date(node.expression)))
        return exp.paren(exp.Div(this=days, expression=exp.Literal.number(7), typed=True))
    return node


def _as_date(x: exp.Expr) -> exp.Expr:
    return exp.cast(x.copy(), exp.DataType.Type.DATE)


def duckdb_node(node: exp.Expr) -> exp.Expr:
    """UTC to local time without reading a naive timestamp through a UTC calendar.

    `ts AT TIME ZONE 'UTC'` makes an instant of a naive UTC timestamp through ICU, which costs as
    much as the conversion to the local zone after it (about 80 ns a row, half of what a metric
    time dimension costs over 100 000 orders). The instant of a naive UTC timestamp is its
    microseconds since the epoch, so MAKE_TIMESTAMPTZ(EPOCH_US(ts)) is the same instant, by
    arithmetic. Infinite timestamps have no epoch (NULL there): those alone, and NULLs, take the
    ICU path, so every value converts exactly as before.
    """
    if not isinstance(node, exp.ConvertTimezone) or not _is_utc(node.args.get("source_tz")):
        return node
    naive = exp.cast(node.args["timestamp"].copy(), exp.DataType.Type.TIMESTAMP)
    instant = exp.Coalesce(
        this=_fn("MAKE_TIMESTAMPTZ", _fn("EPOCH_US", naive)),
        expressions=[exp.AtTimeZone(this=naive.copy(), zone=exp.Literal.string("UTC"))],
    )
    return exp.AtTimeZone(this=instant, zone=node.args["target_tz"].copy())


def _is_utc(zone: exp.Expr | None) -> bool:
    return isinstance(zone, exp.Literal) and zone.is_string and zone.name.upper() == "UTC"


def clickhouse_node(node: exp.Expr) -> exp.Expr:
    """What sqlglot renders for ClickHouse that does not mean what DuckDB means:

    - FILTER (WHERE …) does not exist: CASE inside the aggregate (filter_as_case);
    - a UTC-to-local conversion becomes wall-clock arithmetic (`clickhouse_local_time`);
    - CAST refuses what does not convert, as on DuckDB (`_strict_cast`);
    - a TIMESTAMP is a DateTime64(6): DateTime has no fractions, and leaves as a bare number in Arrow;
      a DATE is a Date32: Date ends in 2149 and starts in 1970, before which it silently wraps;
    - MEDIAN is ClickHouse's sampled `quantile`, and PERCENTILE_CONT does not exist: both become the
      exact, interpolated `quantileExactInclusive` (PERCENTILE_CONT's interpolation);
    - COUNT(DISTINCT …) follows a server setting that may pick an estimate: `uniqExact` says exact;
    - date_diff in weeks counts days / 7, as on DuckDB (dateDiff counts Mondays crossed).
    """
    if isinstance(node, exp.Filter):
        return clickhouse_node(filter_as_case(node))  # the aggregate itself may need rewriting too
    if isinstance(node, exp.ConvertTimezone):
        return clickhouse_local_time(node)
    if isinstance(node, exp.Cast) and not isinstance(node, exp.TryCast):
        return _strict_cast(node.this, _clickhouse_type(node.to))
    if isinstance(node, exp.DataType):
        return _clickhouse_type(node)
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        return _exact_quantile(node.this.this, node.expression.expressions[0].this)
    if isinstance(node, exp.PercentileCont):
        return _exact_quantile(node.expression, node.this)
    if isinstance(node, exp.Median):
        return _exact_quantile(exp.Literal.number("0.5"), node.this)
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct):
        return _fn("uniqExact", *(e.copy() for e in node.this.expressions))
    if isinstance(node, exp.DateDiff) and node.unit is not None and node.unit.name.upper() == "WEEK":
        # dateDiff counts Mondays crossed; DuckDB divides the days between the dates by 7 (`/` divides
        # exactly on ClickHouse: intDiv truncates, as DuckDB's integer division does)
        days = _fn("dateDiff", exp.Literal.string("day"), node.expression.copy(), node.this.copy())
        return _fn("intDiv", days, exp.Literal.number(7))
    return node


def _strict_cast(value: exp.Expr, kind: exp.DataType) -> exp.Expr:
    """CAST as DuckDB means it: a NULL stays NULL, a value that does not convert is an error.

    ClickHouse converts a Nullable text that is no number to NULL (sqlglot casts to Nullable(T), and a
    column from an outer join is Nullable), and CAST wraps an integer that overflows (300 as Int8 is
    44). accurateCast refuses both, but only on a value that is not Nullable: the NULLs are kept apart
    by `if`, which evaluates its branch only for the rows that take it."""
    strict = _fn("accurateCast", _fn("assumeNotNull", value.copy()), exp.Literal.string(kind.sql("clickhouse")))
    return _fn("if", exp.Is(this=value.copy(), expression=exp.Null()), exp.Null(), strict)


def _clickhouse_type(kind: exp.DataType) -> exp.DataType:
    """The ClickHouse type a DuckDB type means, not wrapped in Nullable (see clickhouse_node)."""
    if kind.is_type(exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.DATETIME):
        out = exp.DataType.build("DateTime64(6)", dialect="clickhouse")
    elif kind.is_type(exp.DataType.Type.DATE):
        out = exp.DataType.build("Date32", dialect="clickhouse")
    else:
        out = kind.copy()
    out.set("nullable", False)
    return out


def _exact_quantile(level: exp.Expr, value: exp.Expr) -> exp.Expr:
    """quantileExactInclusiveOrNull(level)(toFloat64(value)): it interpolates as PERCENTILE_CONT does
    (position level × (n − 1)), takes no Decimal, and is NULL, not NaN, over no rows."""
    return exp.ParameterizedAgg(
        this="quantileExactInclusiveOrNull", expressions=[level.copy()], params=[_fn("toFloat64", value.copy())]
    )


def clickhouse_local_time(node: exp.ConvertTimezone) -> exp.Expr:
    """A naive timestamp in `source_tz` as naive wall-clock time in `target_tz`, as DuckDB gives it.

    A ClickHouse DateTime64 is an instant with a zone to display it in, and functions on it (dateTrunc,
    toDate) work in that zone; the layer's SQL expects naive local values instead, compared with naive
    literals. So the instant is moved by the target zone's UTC offset at that instant: the session
    runs in UTC, and `ts + offset` is then the local wall clock (right on DST days, as the offset is
    the instant's own). A source other than UTC is read in its zone first."""
    ts = node.args["timestamp"].copy()
    source = node.args.get("source_tz")
    if source is not None and not _is_utc(source):
        ts = _fn("toDateTime64", _fn("toString", ts), exp.Literal.number(6), source.copy())
        ts = _fn("toTimeZone", ts, exp.Literal.string("UTC"))
    offset = _fn("timeZoneOffset", _fn("toTimeZone", ts.copy(), node.args["target_tz"].copy()))
    return exp.paren(exp.Add(this=ts, expression=_fn("toIntervalSecond", offset)))


def bigquery_node(node: exp.Expr) -> exp.Expr:
    """sqlglot writes a time zone conversion for BigQuery as a TIMESTAMP (the local wall clock read as
    UTC), which BigQuery will not compare with the DATETIME bounds and periods the layer writes. The
    local wall clock is a DATETIME: DATETIME(TIMESTAMP(ts, source), target)."""
    if not isinstance(node, exp.ConvertTimezone):
        return node
    source = node.args.get("source_tz") or exp.Literal.string("UTC")
    instant = _fn("TIMESTAMP", node.args["timestamp"].copy(), source.copy())
    return _fn("DATETIME", instant, node.args["target_tz"].copy())


RANKING = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.PercentRank, exp.CumeDist, exp.Ntile)


def spark_node(node: exp.Expr) -> exp.Expr:
    """Spark (and Databricks): sqlglot lifts every nested WITH to the statement's top, where two
    units' CTEs of one name clash (Spark refuses duplicate CTE names), so nested CTEs get names of
    their own first; and PERCENTILE_CONT(x, q), which Spark does not have, is its exact
    interpolated PERCENTILE(x, q); DATEDIFF counts whole units elapsed, where DuckDB counts the
    unit boundaries crossed; and a ranking window needs an order, where `ROW_NUMBER() OVER ()`
    numbers rows arbitrarily elsewhere — ORDER BY NULL is that order (every row a peer)."""
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return _fn("PERCENTILE", node.this.copy(), node.expression.copy())
    if isinstance(node, exp.DateDiff):
        return _spark_date_diff(node)
    if isinstance(node, exp.Window) and isinstance(node.this, RANKING) and not node.args.get("order"):
        node.set("order", exp.Order(expressions=[exp.Ordered(this=exp.Null())]))
    if isinstance(node, exp.With) and node.parent is not None and node.parent.parent is not None:
        _rename_nested_ctes(node)
    return node


def _spark_date_diff(node: exp.DateDiff) -> exp.Expr:
    """Whole units between the two values truncated to the unit: the boundaries crossed. Weeks
    count the days between the dates, divided by 7, as on DuckDB."""
    unit = node.unit.name.upper() if node.unit else "DAY"
    if unit == "WEEK":
        start, end = _as_date(node.expression), _as_date(node.this)
    else:
        start, end = (exp.TimestampTrunc(this=x.copy(), unit=exp.Var(this=unit)) for x in (node.expression, node.this))
    return exp.DateDiff(this=end, expression=start, unit=exp.Var(this=unit))


def _rename_nested_ctes(with_: exp.With) -> None:
    """Rename the CTEs of a nested WITH to names no other CTE of the statement has (prefixed with
    the enclosing CTE's), and every table reference that reads them."""
    query = with_.parent
    assert query is not None
    root = query.root()
    taken = {cte.alias for cte in root.find_all(exp.CTE)}
    outer = query.find_ancestor(exp.CTE)
    prefix = f"{outer.alias}_" if outer is not None else "q_"
    for cte in with_.expressions:
        old = cte.alias
        new = next(
            name
            for n in range(1, len(taken) + 2)
            if (name := f"{prefix}{old}" + ("" if n == 1 else f"_{n}")) not in taken
        )
        readers = [t for t in query.find_all(exp.Table) if not t.db and t.name == old and _defined_by(t, old) is with_]
        cte.set("alias", exp.TableAlias(this=exp.to_identifier(new)))
        for table in readers:
            table.set("this", exp.to_identifier(new))
            if not table.alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier(old)))
        taken.add(new)


def _defined_by(table: exp.Table, name: str) -> exp.With | None:
    """The WITH whose CTE `name` a table reference reads: the nearest enclosing one that defines it."""
    node: exp.Expr | None = table.parent
    while node is not None:
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With) and any(cte.alias == name for cte in with_.expressions):
            return with_
        node = node.parent
    return None
