"""A FROM clause under construction: one base model and the join paths a query needs.

Every snippet (a dimension's `expr`, a measure's `filter`, a join's `on`) is written against its
own model; the scope rewrites its columns to the SQL alias of the path the model was reached by,
registering any further joins the snippet names. Aliases are derived from paths, so the same path
is joined once however many members use it.
"""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp

from ..errors import QueryValidationError
from ..graph import JoinStep, Path, ResolvedDimension, SemanticGraph, path_alias
from ..snippets import column_parts, map_columns, parse_snippet, portable, without_positions
from ..timegrain import Calendar, as_period_value, to_local, truncate
from .nodes import left_join


class JoinScope:
    def __init__(self, graph: SemanticGraph, base: str, *, prefix: str = ""):
        self.graph = graph
        self.base = base
        self.prefix = prefix
        self.dialect = graph.settings.dialect
        self.paths: dict[str, Path] = {}

    def alias(self, path: Path) -> str:
        return self.prefix + path_alias(self.base, path)

    def need(self, path: Path) -> None:
        for end in range(1, len(path) + 1):
            self.paths.setdefault(self.alias(path[:end]), path[:end])

    def model_at(self, path: Path) -> str:
        return path[-1].target if path else self.base

    # -- snippets ---------------------------------------------------------------------------
    def qualify(self, tree: exp.Expr, path: Path) -> exp.Expr:
        """Rewrite a snippet of the model at `path`: bare columns are its own, `x.col` a join's."""
        qualified, subs = self._qualified(tree, path)
        self._need_all(path, subs)
        return qualified

    def snippet(self, sql: str, path: Path) -> exp.Expr:
        """A project snippet qualified for `path`. Qualified once per graph, snippet and place:
        the aliases depend only on the model at `path`, its alias and the aliases' common stem."""
        stem = self.prefix + "".join(f"{step.alias}__" for step in path)
        key = ("snippet", sql, self.model_at(path), self.alias(path), stem)
        qualified, subs = self.graph.memo(key, lambda: self._qualified(parse_snippet(sql, self.dialect), path))
        self._need_all(path, subs)
        return qualified.copy()

    def _qualified(self, tree: exp.Expr, path: Path) -> tuple[exp.Expr, tuple[Path, ...]]:
        """`tree` qualified, and the join paths below `path` its `x.col` columns name, in order."""
        model = self.model_at(path)
        subs: list[Path] = []

        def qualified(column: exp.Column) -> exp.Expr:
            parts = column_parts(column)
            target = path
            if len(parts) > 1 and not (parts[0] == model and len(parts) == 2):
                sub = self.graph.resolve_path(model, parts[:-1], what=f"column '{'.'.join(parts)}'")
                subs.append(sub)
                target = (*path, *sub)
            return exp.column(parts[-1], table=self.alias(target))

        return map_columns(tree, qualified), tuple(subs)

    def _need_all(self, path: Path, subs: tuple[Path, ...]) -> None:
        self.need(path)
        for sub in subs:
            self.need((*path, *sub))

    def dimension(self, resolved: ResolvedDimension) -> exp.Expr:
        return self.snippet(resolved.dimension.sql, resolved.path)

    def time_value(self, resolved: ResolvedDimension, calendar: Calendar, grain: str | None) -> exp.Expr:
        """A time dimension in local time, truncated to `grain` when one is given."""
        check_grain(resolved, grain)
        local = to_local(self.dimension(resolved), calendar, is_date=resolved.dimension.granularity == "day")
        return local if grain is None else period_of(local, grain, calendar)

    def metric_time(self, calendar: Calendar, grain: str | None) -> exp.Expr:
        return self.time_value(self.metric_time_dimension(), calendar, grain)

    def metric_time_dimension(self) -> ResolvedDimension:
        return ResolvedDimension((), self.base, self.graph.time_dimension(self.base))

    # -- FROM -------------------------------------------------------------------------------
    def source(self, model: str, alias: str) -> exp.Expr:
        definition = self.graph.model(model)
        if definition.table is not None:
            return _table(definition.table, self.dialect).copy().as_(alias, copy=False)
        query = parse_snippet_query(definition.sql or "", self.dialect)
        return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))

    def apply_from(self, select: exp.Select) -> exp.Select:
        select = select.from_(self.source(self.base, self.alias(())), copy=False)
        for alias, path in sorted(self.paths.items(), key=lambda item: len(item[1])):
            step = path[-1]
            left_join(
                select,
                self.source(step.target, alias),
                _join_on(step, self.alias(path[:-1]), alias, self.dialect).copy(),
            )
        return select

    def primary_key(self, path: Path = ()) -> list[exp.Column]:
        """The primary key of the model at `path` (the base model by default), under its alias."""
        return [exp.column(k, table=self.alias(path)) for k in self.graph.model(self.model_at(path)).primary_keys]


def check_grain(resolved: ResolvedDimension, grain: str | None) -> None:
    """A time dimension holding dates has no hours to group by."""
    if resolved.dimension.granularity == "day" and grain == "hour":
        raise QueryValidationError(
            f"dimension '{resolved.model}.{resolved.dimension.name}' holds dates; it cannot be "
            "grouped by hour — use day or a coarser grain"
        )


def period_of(local: exp.Expr, grain: str, calendar: Calendar) -> exp.Expr:
    """The `grain` period a local time falls in, as results report it (a date; an hour's timestamp)."""
    return as_period_value(truncate(local, grain, calendar), grain)


@lru_cache(maxsize=1024)
def _join_on(step: JoinStep, source_alias: str, target_alias: str, dialect: str) -> exp.Expr:
    """A join's `on`, its columns under the aliases of its two sides (shared: copy before use)."""

    def qualified(column: exp.Column) -> exp.Expr:
        qualifier = column.table
        if qualifier == step.alias or (qualifier == step.target and qualifier != step.source):
            return exp.column(column.name, table=target_alias)
        if qualifier == step.source:
            return exp.column(column.name, table=source_alias)
        raise QueryValidationError(
            f"join '{step.alias}' on model '{step.source}': column '{column.sql()}' in 'on' must "
            f"be qualified by '{step.source}' or '{step.alias}'"
        )

    return map_columns(parse_snippet(step.join.on, dialect), qualified)


@lru_cache(maxsize=1024)
def _table(name: str, dialect: str) -> exp.Table:
    """A model's `table:` as a table node (shared: copy before use)."""
    return without_positions(exp.to_table(name, dialect=dialect))


def parse_snippet_query(sql: str, dialect: str) -> exp.Query:
    """A model's `sql:` source, which unlike other snippets must be a query (a fresh copy)."""
    return _parse_query(sql, dialect).copy()


@lru_cache(maxsize=1024)
def _parse_query(sql: str, dialect: str) -> exp.Query:
    query = sqlglot.parse_one(sql, read=dialect)
    if not isinstance(query, exp.Query):
        raise QueryValidationError(f"model sql '{sql[:60]}' must be a SELECT query")
    return without_positions(portable(query))  # type: ignore[return-value]
