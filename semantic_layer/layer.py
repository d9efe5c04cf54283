"""`sl.connect`: a loaded project bound to an engine — compile and run queries (SPEC §7)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from . import definitions as d
from .access import AccessContext, AccessRules, Principal, restricted_graph
from .columns import columns_read, rule_columns
from .compiler import CompiledQuery, Compiler
from .engines import Engine, connect_engine
from .errors import ExecutionError, Issue, did_you_mean
from .project import Project, load
from .query import Query, build_query
from .result import Result


class Layer:
    """Answers queries against one project and one database. Safe to share between threads.

    The Python API is a trusted caller: queries see everything unless a `principal` is given, in
    which case the project's access policies apply exactly as they do behind the server.
    """

    def __init__(self, project: Project, connection: str | None = None, engine: Engine | None = None):
        self.project = project
        self.compiler = Compiler(project.graph)
        self.rules = AccessRules(project.policies, project.settings.default_role)
        self.connection = connection or project.connection_url()
        self._engine: Engine | None = engine
        self._views: dict[tuple[str, ...], Compiler] = {}
        self._views_lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = connect_engine(self.connection, self.project.settings.engine)
        return self._engine

    # -- access -----------------------------------------------------------------------------
    def access_for(self, principal: Principal | None) -> AccessContext | None:
        """The caller's view (None: everything), or UNAUTHENTICATED / FORBIDDEN."""
        return self.rules.context_for(principal)

    def compiler_for(self, access: AccessContext | None) -> Compiler:
        if access is None:
            return self.compiler
        with self._views_lock:
            view = self._views.get(access.key)
            if view is None:
                graph = restricted_graph(self.project.graph, access.hidden)
                view = self._views[access.key] = Compiler(graph, access.row_rules)
            return view

    # -- compile ----------------------------------------------------------------------------
    def prepare(self, query: Query, dialect: str | None = None, access: AccessContext | None = None, *,
                pretty: bool = False) -> tuple[CompiledQuery, list[Any]]:
        """The cached statement for the query's shape, and this query's values (`pretty`: laid out
        for reading, compiled afresh)."""
        return self.compiler_for(access).compile(query, dialect, access.claims if access else None, pretty=pretty)

    def prepared(self, query: Query, dialect: str | None = None,
                 access: AccessContext | None = None) -> tuple[CompiledQuery, list[Any]] | None:
        """What `prepare` answers when the query's shape is compiled already, else None (no compile)."""
        return self.compiler_for(access).cached(query, dialect, access.claims if access else None)

    def compile(self, dialect: str | None = None, principal: Principal | None = None, *, pretty: bool = False,
                **query: Any) -> str:
        """SQL for a query, values inlined as typed literals, in `dialect` (default the project's);
        `pretty` lays it out on several lines."""
        compiled, values = self.prepare(build_query(**query), dialect, self._access(principal), pretty=pretty)
        return compiled.inline(values)

    # -- run --------------------------------------------------------------------------------
    def query(self, principal: Principal | None = None, **query: Any) -> Result:
        return self.run(build_query(**query), self._access(principal))

    def _access(self, principal: Principal | None) -> AccessContext | None:
        return None if principal is None else self.access_for(principal)

    def run(self, query: Query, access: AccessContext | None = None) -> Result:
        started = time.perf_counter()
        compiled, values = self.prepare(query, self.engine.dialect, access)
        table = self.engine.execute(compiled.template, compiled.bind(values),
                                    timeout_seconds=self.project.settings.limits.timeout_seconds)
        elapsed = (time.perf_counter() - started) * 1000
        return Result.from_arrow(table, compiled.columns, sql=compiled.inline(values), cached=False,
                                 duration_ms=elapsed, warnings=list(compiled.warnings))

    # -- warehouse checks -------------------------------------------------------------------
    def validate_warehouse(self) -> list[Issue]:
        """Every model's table and the columns its definitions and row policies use, checked with one
        cheap query per table."""
        tables: dict[str, set[str] | ExecutionError] = {}
        issues: list[Issue] = []
        for model in self.project.models.values():
            if model.table is not None:
                issues += self._check_model_table(model, self._table_columns(model.table, tables))
        for policy in self.project.policies:
            for i, row in enumerate(policy.rows):
                issues += self._check_rule_table(policy.role, i, row, tables)
        return issues

    def _table_columns(self, table: str, tables: dict[str, set[str] | ExecutionError]) -> set[str] | ExecutionError:
        """A table's columns (or why it cannot be read), asked of the database once."""
        if table not in tables:
            try:
                tables[table] = set(self.engine.table_columns(table))
            except ExecutionError as exc:
                tables[table] = exc
        return tables[table]

    def _check_model_table(self, model: d.Model, found: set[str] | ExecutionError) -> list[Issue]:
        file, line, column_no = self.project.locations[model.name]
        if isinstance(found, ExecutionError):
            return [Issue(file, line, column_no, f"model '{model.name}': table '{model.table}' cannot be read: "
                                                 f"{found.message}")]
        used = columns_read(model, self.project.settings.dialect)
        return [Issue(file, line, column_no, f"model '{model.name}': column '{column}' is not in table "
                                             f"'{model.table}'{did_you_mean(column, sorted(found))}")
                for column in _missing(used, found)]

    def _check_rule_table(self, role: str, index: int, row: d.RowPolicy,
                          tables: dict[str, set[str] | ExecutionError]) -> list[Issue]:
        """The columns a row policy reads, in the tables of the models they belong to (a table that
        cannot be read is reported on its model)."""
        file, line, column_no = self.project.rule_locations[(role, index)]
        issues = []
        for model, column in rule_columns(self.project.graph, row.model, row.where):
            table = self.project.models[model].table
            found = None if table is None else self._table_columns(table, tables)
            if isinstance(found, set) and _missing({column}, found):
                issues.append(Issue(file, line, column_no,
                                    f"row policy of role '{role}' on '{row.model}': column '{column}' is not in "
                                    f"table '{table}'{did_you_mean(column, sorted(found))}"))
        return issues

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> Layer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _missing(columns: set[str] | frozenset[str], found: set[str]) -> list[str]:
    """`columns` absent from `found`, compared as the stores compare unquoted names (ignoring case)."""
    lowered = {c.lower() for c in found}
    return sorted(c for c in columns if c.lower() not in lowered)


def connect(path: str | os.PathLike[str] | None = None, *, connection: str | None = None) -> Layer:
    """Load and validate the project at `path`, bound to `connection` (default: the project's)."""
    return Layer(load(path), connection)
