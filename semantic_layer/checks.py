"""Data checks: assertions about a model's rows (`checks:` in YAML, docs/yaml-reference.md#checks).

A metric is only as right as the rows under it: a column that should never be NULL, a key that
should be unique, a table that stopped loading. Each check is one or two statements built as
sqlglot expressions over the model's source (its table, or its `sql:` as a derived table) and
rendered for the engine: one counts the failures, and only when there are some, a second fetches a
few of them as a sample (ordered, so that the same data gives the same sample on every engine).

    not_null          rows whose column is NULL
    unique            non-NULL values held by more than one row
    accepted_values   rows whose non-NULL value is not in the list
    row_count         the model's row count, against min and/or max
    freshness         the newest value of a time column, against max_age (UTC instants; a column of
                      calendar dates counts from the start of its day in the project time zone)
    sql               a query of the analyst's, in the project dialect, returning the failing rows
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from . import definitions as d
from .compiler.dialects import adapt
from .compiler.pipeline import literal
from .compiler.scope import JoinScope, parse_snippet_query
from .engines import Engine
from .errors import ExecutionError, QueryError, UnknownMemberError, did_you_mean
from .graph import SemanticGraph
from .jsonvalues import json_value
from .snippets import SnippetError, parse_snippet
from .timegrain import zone

SAMPLE_ROWS = 5
FAILING_ROWS = "failing_rows"  # the alias of a custom check's query inside the statements around it


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome. `failing` counts failing rows (distinct values for `unique`; 1 or 0 for
    `row_count` and `freshness`, whose measurement is `observed`). `status` is 'error' when the
    check could not run (`message` says why)."""

    model: str
    name: str
    kind: str
    status: str  # pass | fail | error
    failing: int
    message: str
    checked_at: datetime
    observed: Any = None
    sample: list[dict[str, Any]] = field(default_factory=list)
    sql: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "failing": self.failing,
            "observed": json_value(self.observed),
            "message": self.message,
            "sample": [{k: json_value(v) for k, v in row.items()} for row in self.sample],
            "sql": self.sql,
            "checked_at": self.checked_at.isoformat(),
        }


@dataclass(frozen=True)
class CheckStatements:
    """The statement measuring a check (one row, one column) and the one sampling its failures."""

    measure: exp.Select
    sample: exp.Select | None


# -- definitions, at load time ---------------------------------------------------------------------
def definition_problems(model: d.Model, dialect: str) -> list[tuple[tuple[str | int, ...], str]]:
    """(YAML path under the model, message) for each check that cannot be built: a column that is
    not a plain column name, a `sql:` that is not a query, a name used twice."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    seen: set[str] = set()
    for i, check in enumerate(model.checks):
        if check.name in seen:
            problems.append((("checks", i, "name"), f"check '{check.name}' is defined twice in model '{model.name}'"))
        seen.add(check.name)
        at: tuple[str | int, ...] = ("checks", i, check.kind)
        try:
            if check.sql is not None:
                parse_snippet_query(check.sql, dialect)
            else:
                for column in check_columns(check):
                    _column(column, dialect)
        except (SnippetError, QueryError, SqlglotError, ValueError) as exc:
            problems.append((at, f"check '{check.name}': {getattr(exc, 'message', exc)}"))
    return problems


def check_columns(check: d.Check) -> list[str]:
    """The columns of the model's source a check reads (`validate --warehouse` looks for them)."""
    if check.not_null is not None:
        return [check.not_null]
    if check.unique is not None:
        return [check.unique]
    if check.accepted_values is not None:
        return [check.accepted_values.column]
    if check.freshness is not None:
        return [check.freshness.column]
    return []


def _column(name: str, dialect: str) -> exp.Column:
    """A check's column: one plain column of the model's own source."""
    tree = parse_snippet(name, dialect)
    if not isinstance(tree, exp.Column) or tree.table:
        raise ValueError(f"'{name}' is not a column name of the model's own source (write the bare column)")
    return exp.column(tree.name, quoted=tree.this.quoted)


# -- statements ----------------------------------------------------------------------------------
def statements(graph: SemanticGraph, model: d.Model, check: d.Check) -> CheckStatements:
    """The check's statements over the model's source, in the project dialect's terms."""
    dialect = graph.settings.dialect
    if check.sql is not None:
        failing = exp.Subquery(this=parse_snippet_query(check.sql, dialect), alias=exp.TableAlias(this=FAILING_ROWS))
        return CheckStatements(
            exp.select(exp.Count(this=exp.Star()).as_("failing")).from_(failing),
            exp.select(exp.Star()).from_(failing.copy()).limit(SAMPLE_ROWS),
        )
    source = JoinScope(graph, model.name).source(model.name, model.name)
    return _BUILDERS[check.kind](check, source, model, dialect)


def _not_null(check: d.Check, source: exp.Expr, model: d.Model, dialect: str) -> CheckStatements:
    column = _column(check.not_null or "", dialect)
    is_null = exp.Is(this=column, expression=exp.null())
    keys = [exp.column(k) for k in model.primary_keys if k != column.name]
    return CheckStatements(
        exp.select(exp.Count(this=exp.Star()).as_("failing")).from_(source).where(is_null),
        exp.select(*keys, column.copy())
        .from_(source.copy())
        .where(is_null.copy())
        .order_by(*(k.copy() for k in keys))
        .limit(SAMPLE_ROWS),
    )


def _unique(check: d.Check, source: exp.Expr, model: d.Model, dialect: str) -> CheckStatements:
    column = _column(check.unique or "", dialect)
    rows = exp.Count(this=exp.Star())
    repeated = (
        exp.select(column, rows.copy().as_("occurrences"))
        .from_(source)
        .where(exp.not_(exp.Is(this=column.copy(), expression=exp.null())))
        .group_by(column.copy())
        .having(exp.GT(this=rows.copy(), expression=exp.Literal.number(1)))
    )
    measure = exp.select(exp.Count(this=exp.Star()).as_("failing")).from_(repeated.subquery("repeated"))
    sample = repeated.copy().order_by(exp.column("occurrences").desc(), column.copy()).limit(SAMPLE_ROWS)
    return CheckStatements(measure, sample)


def _accepted_values(check: d.Check, source: exp.Expr, model: d.Model, dialect: str) -> CheckStatements:
    accepted = check.accepted_values
    assert accepted is not None
    column = _column(accepted.column, dialect)
    outside = exp.and_(
        exp.not_(exp.Is(this=column.copy(), expression=exp.null())),
        exp.not_(exp.In(this=column.copy(), expressions=[literal(v) for v in accepted.values])),
    )
    rows = exp.Count(this=exp.Star())
    return CheckStatements(
        exp.select(rows.copy().as_("failing")).from_(source).where(outside),
        exp.select(column, rows.copy().as_("occurrences"))
        .from_(source.copy())
        .where(outside.copy())
        .group_by(column.copy())
        .order_by(exp.column("occurrences").desc(), column.copy())
        .limit(SAMPLE_ROWS),
    )


def _row_count(check: d.Check, source: exp.Expr, model: d.Model, dialect: str) -> CheckStatements:
    return CheckStatements(exp.select(exp.Count(this=exp.Star()).as_("observed")).from_(source), None)


def _freshness(check: d.Check, source: exp.Expr, model: d.Model, dialect: str) -> CheckStatements:
    assert check.freshness is not None
    column = _column(check.freshness.column, dialect)
    return CheckStatements(exp.select(exp.Max(this=column).as_("observed")).from_(source), None)


_BUILDERS: dict[str, Callable[[d.Check, exp.Expr, d.Model, str], CheckStatements]] = {
    "not_null": _not_null,
    "unique": _unique,
    "accepted_values": _accepted_values,
    "row_count": _row_count,
    "freshness": _freshness,
}


# -- running -------------------------------------------------------------------------------------
def checked_models(graph: SemanticGraph, models: Iterable[str] | None) -> list[str]:
    """The models whose checks to run (default: every model); an unknown name is an error."""
    names = list(graph.models) if models is None else list(models)
    for name in names:
        if name not in graph.models:
            raise UnknownMemberError(f"unknown model '{name}'{did_you_mean(name, graph.models)}")
    return names


@dataclass(frozen=True)
class CheckRun:
    """What running checks needs: the graph they are defined in, the engine, and the moment."""

    graph: SemanticGraph
    engine: Engine
    now: datetime
    timeout_seconds: float | None = None

    def run(self, models: Iterable[str] | None = None) -> list[CheckResult]:
        """Every check of `models` (default: every model), in definition order."""
        names = checked_models(self.graph, models)
        return [self.one(self.graph.models[name], check) for name in names for check in self.graph.models[name].checks]

    def one(self, model: d.Model, check: d.Check) -> CheckResult:
        built = statements(self.graph, model, check)
        sql = self._render(built.measure)
        try:
            value = self._fetch(sql)[0][0]
            failing, observed, message = _judge(check, value, self.now, self.graph.settings.timezone)
            sample = self._fetch_sample(built.sample) if failing and built.sample is not None else []
        except QueryError as exc:
            return CheckResult(model.name, check.name, check.kind, "error", 0, exc.message, self.now, sql=sql)
        status = "fail" if failing else "pass"
        return CheckResult(
            model.name, check.name, check.kind, status, failing, message, self.now, observed, sample, sql
        )

    def _render(self, tree: exp.Select) -> str:
        dialect = self.engine.dialect
        return adapt(tree, dialect).sql(dialect)

    def _fetch(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return self.engine.fetch_rows(sql, {}, timeout_seconds=self.timeout_seconds)[1]
        except ExecutionError as exc:
            raise QueryError(f"the check's statement failed: {exc.message}") from None

    def _fetch_sample(self, tree: exp.Select) -> list[dict[str, Any]]:
        names, rows = self.engine.fetch_rows(self._render(tree), {}, timeout_seconds=self.timeout_seconds)
        return [dict(zip(names, row, strict=True)) for row in rows]


def _judge(check: d.Check, value: Any, now: datetime, timezone: str) -> tuple[int, Any, str]:
    """(failing, observed, message) from the measuring statement's one value."""
    if check.row_count is not None:
        return _judge_row_count(check.row_count, int(value))
    if check.freshness is not None:
        return _judge_freshness(check.freshness, value, now, timezone)
    failing = int(value or 0)
    noun, what = {
        "not_null": ("row", f"with a NULL {check.not_null}"),
        "unique": ("value", f"of {check.unique} held by several rows"),
        "accepted_values": ("row", f"whose {getattr(check.accepted_values, 'column', '')} is not an accepted value"),
        "sql": ("row", "returned by the check's query"),
    }[check.kind]
    if not failing:
        return 0, None, f"no {noun}s {what}"
    return failing, None, f"{failing} {noun}{'s' if failing != 1 else ''} {what}"


def _judge_row_count(bounds: d.RowCount, count: int) -> tuple[int, Any, str]:
    if bounds.min is not None and count < bounds.min:
        return 1, count, f"{_rows(count)}, fewer than min {bounds.min}"
    if bounds.max is not None and count > bounds.max:
        return 1, count, f"{_rows(count)}, more than max {bounds.max}"
    return 0, count, _rows(count)


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


def _judge_freshness(rule: d.Freshness, newest: Any, now: datetime, timezone: str) -> tuple[int, Any, str]:
    limit = timedelta(seconds=d.parse_duration(rule.max_age))
    if newest is None:
        return 1, None, f"{rule.column} has no value (no rows, or all NULL): no data to be fresh"
    if isinstance(newest, datetime):
        instant = newest.replace(tzinfo=UTC) if newest.tzinfo is None else newest
    elif isinstance(newest, date):  # a calendar date: its day starts at midnight in the project time zone
        instant = datetime(newest.year, newest.month, newest.day, tzinfo=zone(timezone))
    else:
        return 1, newest, f"{rule.column} holds {type(newest).__name__} values, not times or dates"
    age = now - instant
    shown = f"the newest {rule.column} is {_age(age)} old"
    if age > limit:
        return 1, newest, f"{shown}, older than max_age {rule.max_age}"
    return 0, newest, shown


def _age(age: timedelta) -> str:
    """'3 days 4 hours', '25 minutes', as a person reads an age."""
    seconds = max(int(age.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} hour{'s' if hours != 1 else ''}" if hours else "")
    if hours:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = rest // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
