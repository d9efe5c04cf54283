"""`sl.connect`: a loaded project bound to an engine — compile and run queries (docs/python.md)."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from . import definitions as d
from .access import AccessContext, AccessRules, Principal, restricted_graph
from .alerts import Alert, AlertPlan, plan_alerts
from .audit import AuditLog, audit_log
from .audit_record import AuditRecord
from .catalog import Dimension, Metric, dimension_entries, find_metrics, metric_entry, metric_models
from .check_state import CheckState
from .checks import CheckResult, CheckRun
from .columns import columns_read, rule_columns
from .compiler import CompiledQuery, Compiler
from .compiler.dialects import adapt
from .compiler.pipeline import CACHE_SIZE, StatementCache
from .compiler.routing import RollupCatalog
from .compiler.scope import JoinScope
from .engines import Engine, connect_engine
from .errors import ExecutionError, Issue, QueryError, QueryTimeoutError, did_you_mean
from .finality import local_now, not_final_warnings, settling_columns
from .graph import SemanticGraph
from .ipc import BATCH_ROWS, encode
from .keys import KeyIdentity, KeySide, Repeats, consequence, one_sides, primary_key_side, repeats_query, target_columns
from .paging import collect, pages
from .project import Project, load
from .query import Query, build_query
from .result import Result, answer_names, columns_of, json_records
from .rollups.serving import RollupServing
from .state import state_dir
from .timegrain import Calendar

# Role views kept: one per set of roles a caller had (policies with n roles allow 2^n - 1 sets).
ROLE_VIEWS = 64


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Layer:
    """Answers queries against one project and one database. Safe to share between threads.

    The Python API is a trusted caller: queries see everything unless a `principal` is given, in
    which case the project's access policies apply exactly as they do behind the server.
    """

    def __init__(
        self,
        project: Project,
        connection: str | None = None,
        engine: Engine | None = None,
        *,
        compiled_statements: int = CACHE_SIZE,
        role_views: int = ROLE_VIEWS,
        clock: Callable[[], datetime] = _utc_now,
        state_folder: Path | None = None,
    ):
        """`compiled_statements` bounds the statements kept for all views together, `role_views` the
        views (one per set of roles seen, a copy of the graph each): a long-running server meets
        ever new query shapes and role combinations, and must not keep them all. `clock` tells the
        current instant (aware; naive is read as UTC): answers warn about the periods whose value
        is not final then (finality.py). `state_folder` holds the audit log and the last data check
        results (default: semantic_layer/state.py)."""
        self.project = project
        self.clock = clock
        self.statements = StatementCache(compiled_statements)
        self.compiler = Compiler(project.graph, statements=self.statements)
        self.rules = AccessRules(project.policies, project.settings.default_role)
        self.connection = connection or project.connection_url()
        self._engine: Engine | None = engine
        self.role_views = role_views
        self._views: OrderedDict[tuple[str, ...], Compiler] = OrderedDict()
        self._views_lock = threading.Lock()
        self.state_folder = state_folder or state_dir(project.settings.name)
        audit = project.settings.audit
        self.audit: AuditLog | None = audit_log(self.state_folder, audit) if audit.enabled else None
        self.check_state = CheckState(self.state_folder)
        self._checks = {(m.name, c.name) for m in project.models.values() for c in m.checks}
        self.rollups = RollupServing(project, self.state_folder, clock) if project.rollups else None

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
            if view is not None:
                self._views.move_to_end(access.key)
                return view
            graph = restricted_graph(self.project.graph, access.hidden)
            view = self._views[access.key] = Compiler(graph, access.row_rules, self.statements, access.key)
            while len(self._views) > self.role_views:
                self._views.popitem(last=False)  # its statements stay in the shared cache, bounded there
            return view

    # -- compile ----------------------------------------------------------------------------
    def prepare(
        self,
        query: Query,
        dialect: str | None = None,
        access: AccessContext | None = None,
        *,
        pretty: bool = False,
        rollups: bool = False,
    ) -> tuple[CompiledQuery, list[Any]]:
        """The cached statement for the query's shape, and this query's values (`pretty`: laid out
        for reading, compiled afresh). With `rollups`, a statement to run: it reads the rollups
        that answer the query exactly (`engine_for` then names the engine to run it on)."""
        catalog = self._rollup_catalog(rollups)
        claims = access.claims if access else None
        return self.compiler_for(access).compile(query, dialect, claims, pretty=pretty, rollups=catalog)

    def prepared(
        self, query: Query, dialect: str | None = None, access: AccessContext | None = None, *, rollups: bool = False
    ) -> tuple[CompiledQuery, list[Any]] | None:
        """What `prepare` answers when the query's shape is compiled already, else None (no compile)."""
        catalog = self._rollup_catalog(rollups)
        return self.compiler_for(access).cached(query, dialect, access.claims if access else None, rollups=catalog)

    def _rollup_catalog(self, wanted: bool) -> RollupCatalog | None:
        return self.rollups.catalog() if wanted and self.rollups is not None else None

    def engine_for(self, compiled: CompiledQuery) -> Engine:
        """The engine a statement runs on: the rollup store's for one reading rollups, else the source's."""
        if compiled.rollup is None:
            return self.engine
        engine = self.rollups.engine() if self.rollups is not None else None
        if engine is None:
            raise ExecutionError(f"the rollup store holding '{compiled.rollup}' is gone — build it again")
        return engine

    def compile(
        self, dialect: str | None = None, principal: Principal | None = None, *, pretty: bool = False, **query: Any
    ) -> str:
        """SQL for a query, values inlined as typed literals, in `dialect` (default the project's);
        `pretty` lays it out on several lines."""
        compiled, values = self.prepare(build_query(**query), dialect, self._access(principal), pretty=pretty)
        return compiled.inline(values)

    # -- run --------------------------------------------------------------------------------
    def query(self, principal: Principal | None = None, page_size: int | None = None, **query: Any) -> Result:
        """The answer to a query (docs/python.md). Its warnings (a deprecated metric, an answer cut
        at the default row limit) are also raised as Python warnings, once. `page_size` asks for the
        answer in pages of that many rows (each within limits.max_rows) and joins them."""
        parsed, access = build_query(**query), self._access(principal)
        if page_size is None:
            result = self.run(parsed, access)
        else:
            result = collect(pages(parsed, page_size, lambda page: self.run(page, access)))
        self.audit_query(parsed, principal.roles if principal else (), result.duration_ms, result.cached, "python")
        result.warn(stacklevel=2)
        return result

    def iter_batches(
        self, principal: Principal | None = None, page_size: int | None = None, **query: Any
    ) -> Iterator[pa.RecordBatch]:
        """The answer as Arrow record batches, one page of `page_size` rows at a time when it is
        given (each page is a query of its own), else the whole answer in batches of up to 65 536
        rows: as `Client.iter_batches` reads a large answer."""
        parsed, access = build_query(**query), self._access(principal)
        if page_size is None:
            answers: Iterator[Result] = iter([self.run(parsed, access)])
        else:
            answers = pages(parsed, page_size, lambda page: self.run(page, access))
        for number, result in enumerate(answers):
            if number == 0:
                roles = principal.roles if principal else ()
                self.audit_query(parsed, roles, result.duration_ms, result.cached, "python")
                result.warn(stacklevel=2)
            yield from result.table.to_batches(max_chunksize=page_size or BATCH_ROWS)

    def _access(self, principal: Principal | None) -> AccessContext | None:
        return None if principal is None else self.access_for(principal)

    def run(self, query: Query, access: AccessContext | None = None) -> Result:
        started = time.perf_counter()
        compiled, values = self.prepare(query, self.engine.dialect, access, rollups=True)
        table = self.engine_for(compiled).execute(
            compiled.template, compiled.bind(values), timeout_seconds=self.project.settings.limits.timeout_seconds
        )
        kept, warnings = compiled.cut(table.num_rows)
        answer = table.slice(0, kept)
        warnings = self._with_not_final(compiled, warnings, lambda i: answer.column(i).to_pylist())
        warnings = self.check_warnings(query.metrics) + warnings  # a cut's warning stays the last
        elapsed = (time.perf_counter() - started) * 1000
        return Result.from_arrow(
            answer,
            compiled.columns,
            sql=compiled.inline(values),
            cached=False,
            duration_ms=elapsed,
            warnings=warnings,
            truncated=kept < table.num_rows,
            rollup=compiled.rollup,
        )

    def answer_json(self, compiled: CompiledQuery, values: list[Any], now: datetime | None = None) -> dict[str, Any]:
        """A prepared query run, its answer as JSON-ready parts (columns, rows, warnings, truncated):
        what the server sends. Python rows, not Arrow: a small answer gets to JSON faster this way.
        `now` (default: the layer's clock) is what the periods' finality is judged by."""
        names, rows = self.engine_for(compiled).fetch_rows(
            compiled.template, compiled.bind(values), timeout_seconds=self.project.settings.limits.timeout_seconds
        )
        kept, warnings = compiled.cut(len(rows))
        warnings = self._with_not_final(compiled, warnings, lambda i: (row[i] for row in rows[:kept]), now)
        return {
            "columns": [c.__dict__ for c in columns_of(compiled.columns)],
            "rows": json_records(answer_names(names, compiled.columns), rows[:kept]),
            "warnings": warnings,
            "truncated": kept < len(rows),
            "rollup": compiled.rollup,
        }

    def answer_arrow(self, compiled: CompiledQuery, values: list[Any], now: datetime | None = None) -> pa.Buffer:
        """A prepared query run, its answer as one Arrow IPC stream (semantic_layer/ipc.py): what
        the server sends for `/api/arrow` and caches. `now` as for `answer_json`."""
        table = self.engine_for(compiled).execute(
            compiled.template, compiled.bind(values), timeout_seconds=self.project.settings.limits.timeout_seconds
        )
        kept, warnings = compiled.cut(table.num_rows)
        answer = table.slice(0, kept)
        warnings = self._with_not_final(compiled, warnings, lambda i: answer.column(i).to_pylist(), now)
        result = Result.from_arrow(
            answer,
            compiled.columns,
            sql=compiled.inline(values),
            warnings=warnings,
            truncated=kept < table.num_rows,
            rollup=compiled.rollup,
        )
        return encode(result.table, result.info())

    # -- catalogue ----------------------------------------------------------------------------
    def metrics(
        self,
        tier: str | None = None,
        tag: str | None = None,
        search: str | None = None,
        *,
        include_deprecated: bool = False,
        principal: Principal | None = None,
    ) -> list[Metric]:
        """The metrics a caller may see, of `tier`, with `tag`, whose name, label, description or a
        synonym contains `search` (ignoring case); deprecated ones only when asked for."""
        graph = self.compiler_for(self._access(principal)).graph
        return [metric_entry(graph, m) for m in find_metrics(graph, tier, tag, search, include_deprecated)]

    def metric(self, name: str, *, principal: Principal | None = None) -> Metric:
        """One metric's entry; UNKNOWN_MEMBER (with the near names) when there is none."""
        graph = self.compiler_for(self._access(principal)).graph
        return metric_entry(graph, graph.metric(name))

    def dimensions(
        self, metrics: Iterable[str] | None = None, *, principal: Principal | None = None
    ) -> list[Dimension]:
        """The dimensions every one of `metrics` can be grouped by (every model's own ones and
        metric_time when none is given)."""
        graph = self.compiler_for(self._access(principal)).graph
        return dimension_entries(graph, list(metrics or []))

    # -- usage and data checks ----------------------------------------------------------------
    def audit_query(
        self,
        query: Query,
        roles: Iterable[str],
        duration_ms: float,
        cached: bool,
        source: str,
        dashboard: str | None = None,
    ) -> None:
        """Append the query's audit record (its members, never its filter values) to the log."""
        if self.audit is not None:
            record = AuditRecord(
                time.time(),
                source,
                tuple(sorted(roles)),
                query.metrics,
                query.dimensions,
                duration_ms,
                cached,
                dashboard,
            )
            self.audit.record(record)

    def check(self, models: Iterable[str] | None = None, *, now: datetime | None = None) -> list[CheckResult]:
        """Run the data checks of `models` (default: every model) and remember which failed, so that
        answers reading those models carry a warning (docs/python.md)."""
        run = CheckRun(
            self.project.graph, self.engine, now or datetime.now(UTC), self.project.settings.limits.timeout_seconds
        )
        results = run.run(models)
        self.check_state.record(results)
        return results

    def check_warnings(self, metrics: Iterable[str]) -> list[str]:
        """A warning for each failed data check of a model the metrics read (from the last run)."""
        if not self._checks:
            return []
        graph = self.project.graph
        models: set[str] = set()
        for name in metrics:
            models |= graph.memo(("metric_models", name), partial(_models_of, graph, name))
        return [failure.warning() for failure in self.check_state.failures(models, self._checks)]

    # -- alerts -------------------------------------------------------------------------------
    def alerts(
        self,
        metrics: Iterable[str] | None = None,
        time_range: Any = None,
        grain: str | None = None,
        *,
        principal: Principal | None = None,
        now: datetime | None = None,
    ) -> list[Alert]:
        """Each metric's alert level on its last complete period (docs/python.md): `metrics` (default
        every metric with thresholds the caller may see), at `grain` (default each metric's
        thresholds grain), inside `time_range` when given, as of `now` (default: the layer's clock)."""
        access = self._access(principal)
        plans = self.alert_plans(metrics, time_range, grain, access=access, now=now)
        return [self.judge(plan, access) for plan in plans]

    def alert_plans(
        self,
        metrics: Iterable[str] | None = None,
        time_range: Any = None,
        grain: str | None = None,
        *,
        access: AccessContext | None = None,
        now: datetime | None = None,
    ) -> list[AlertPlan]:
        """The plans `alerts` runs, one per metric, as the caller with `access` may see them."""
        graph = self.compiler_for(access).graph
        return plan_alerts(graph, self.project.graph, metrics, time_range, grain, self.clock() if now is None else now)

    def judge(self, plan: AlertPlan, access: AccessContext | None = None) -> Alert:
        """One plan's alert: its last complete period, else the latest earlier one with data."""
        rows = self.run(plan.latest(), access).rows
        earlier = plan.earlier()
        if not rows and earlier is not None:
            rows = self.run(earlier, access).rows
        return plan.judge(rows)

    def _with_not_final(
        self,
        compiled: CompiledQuery,
        warnings: list[str],
        values: Callable[[int], Iterable[Any]],
        now: datetime | None = None,
    ) -> list[str]:
        """`warnings` with those about the answer's periods whose value still changes (a retention
        metric's until the period it looks ahead to has ended, a conversion metric's until its
        window has passed, and what is computed from them: finality.py), before the cut's, which
        stays last (result.warn_about)."""
        settling = settling_columns(self.project.graph, compiled.columns)
        if not settling:
            return warnings
        settings = self.project.settings
        calendar = Calendar(compiled.timezone, settings.week_start, settings.fiscal_year_start_month)
        moment = local_now(self.clock() if now is None else now, compiled.timezone)
        at = len(compiled.warnings)
        return [*warnings[:at], *not_final_warnings(settling, values, moment, calendar), *warnings[at:]]

    # -- warehouse checks -------------------------------------------------------------------
    def validate_warehouse(self) -> list[Issue]:
        """Every model's table and the columns its definitions, joins and row policies use, checked
        with one cheap query per table; then every key the project relies on (primary keys, the
        "one" sides of joins), with one grouped query per distinct key."""
        tables: dict[str, set[str] | ExecutionError] = {}
        issues: list[Issue] = []
        for model in self.project.models.values():
            if model.table is not None:
                issues += self._check_model_table(model, self._table_columns(model.table, tables))
        for policy in self.project.policies:
            for i, row in enumerate(policy.rows):
                issues += self._check_rule_table(policy.role, i, row, tables)
        checked: dict[KeyIdentity, Repeats | str] = {}
        for model in self.project.models.values():
            issues += self._check_primary_key(model, tables, checked)
            for join in model.joins:
                issues += self._check_join(model, join, tables, checked)
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
            return [
                Issue(
                    file,
                    line,
                    column_no,
                    f"model '{model.name}': table '{model.table}' cannot be read: {found.message}",
                )
            ]
        used = columns_read(model, self.project.settings.dialect)
        return [
            Issue(
                file,
                line,
                column_no,
                f"model '{model.name}': column '{column}' is not in table "
                f"'{model.table}'{did_you_mean(column, sorted(found))}",
            )
            for column in _missing(used, found)
        ]

    def _check_rule_table(
        self, role: str, index: int, row: d.RowPolicy, tables: dict[str, set[str] | ExecutionError]
    ) -> list[Issue]:
        """The columns a row policy reads, in the tables of the models they belong to (a table that
        cannot be read is reported on its model)."""
        file, line, column_no = self.project.rule_locations[(role, index)]
        issues = []
        for model, column in rule_columns(self.project.graph, row.model, row.where):
            table = self.project.models[model].table
            found = None if table is None else self._table_columns(table, tables)
            if isinstance(found, set) and _missing({column}, found):
                issues.append(
                    Issue(
                        file,
                        line,
                        column_no,
                        f"row policy of role '{role}' on '{row.model}': column '{column}' is not in "
                        f"table '{table}'{did_you_mean(column, sorted(found))}",
                    )
                )
        return issues

    def _check_join(
        self,
        model: d.Model,
        join: d.Join,
        tables: dict[str, set[str] | ExecutionError],
        checked: dict[KeyIdentity, Repeats | str],
    ) -> list[Issue]:
        """The joined side's columns of `on` (the declaring side's are its model's), then each side
        the relationship declares "one" is unique on its key."""
        file, line, column_no = self.project.join_locations[(model.name, join.alias)]
        dialect = self.project.settings.dialect
        head = f"join '{join.alias}' of model '{model.name}'"
        target = self.project.models[join.model]
        found = None if target.table is None else self._table_columns(target.table, tables)
        if isinstance(found, set) and join.model != model.name:
            missing = _missing(target_columns(model, join, dialect), found)
            if missing:
                return [
                    Issue(
                        file,
                        line,
                        column_no,
                        f"{head}: column '{column}' is not in table '{target.table}' of "
                        f"model '{join.model}'{did_you_mean(column, sorted(found))}",
                    )
                    for column in missing
                ]
        issues = []
        for side_name, side in one_sides(model, join, dialect):
            repeats = self._repeats(side, tables, checked)
            if isinstance(repeats, str):
                issues.append(
                    Issue(
                        file,
                        line,
                        column_no,
                        f"{head}: cannot check that model '{side.model}' is unique on {side.shown(dialect)}: {repeats}",
                    )
                )
            elif repeats is not None and repeats.values:
                issues.append(
                    Issue(
                        file,
                        line,
                        column_no,
                        f"{head} is declared {join.relationship}, but model '{side.model}' is not unique "
                        f"on {side.shown(dialect)}: {repeats.summary(side, dialect)}, "
                        f"{consequence(model, join, side_name)}",
                    )
                )
        return issues

    def _check_primary_key(
        self, model: d.Model, tables: dict[str, set[str] | ExecutionError], checked: dict[KeyIdentity, Repeats | str]
    ) -> list[Issue]:
        """One row per primary key value, and no NULL in it: counts and de-duplication rely on it."""
        file, line, column_no = self.project.key_locations[model.name]
        side = primary_key_side(model)
        dialect = self.project.settings.dialect
        repeats = self._repeats(side, tables, checked)
        head = f"model '{model.name}'"
        if isinstance(repeats, str):
            return [
                Issue(
                    file,
                    line,
                    column_no,
                    f"{head}: cannot check that primary key {side.shown(dialect)} is unique: {repeats}",
                )
            ]
        fix = "fix the data, or declare as primary_key the columns that identify one row"
        issues = []
        if repeats is not None and repeats.values:
            issues.append(
                Issue(
                    file,
                    line,
                    column_no,
                    f"{head}: primary key {side.shown(dialect)} is not unique: "
                    f"{repeats.summary(side, dialect)} — {fix}",
                )
            )
        if repeats is not None and repeats.null_rows:
            rows = "1 row has" if repeats.null_rows == 1 else f"{repeats.null_rows} rows have"
            where = " or ".join(k.sql(dialect) for k in side.keys)
            issues.append(
                Issue(file, line, column_no, f"{head}: {rows} a NULL primary key (a NULL in {where}) — {fix}")
            )
        return issues

    def _repeats(
        self, side: KeySide, tables: dict[str, set[str] | ExecutionError], checked: dict[KeyIdentity, Repeats | str]
    ) -> Repeats | str | None:
        """How the data repeats `side`'s key (asked once per distinct key), why that could not be asked,
        or None when its table or columns are missing (reported on the model already)."""
        model = self.project.models[side.model]
        if model.table is not None:
            found = self._table_columns(model.table, tables)
            if isinstance(found, ExecutionError) or _missing(side.columns(), found):
                return None
        if side.identity not in checked:
            checked[side.identity] = self._query_repeats(side)
        return checked[side.identity]

    def _query_repeats(self, side: KeySide) -> Repeats | str:
        dialect = self.engine.dialect
        source = JoinScope(self.project.graph, side.model).source(side.model, side.model)
        query = adapt(repeats_query(side, source), dialect)
        timeout = self.project.settings.limits.timeout_seconds
        try:
            rows = self.engine.execute(query.sql(dialect), {}, timeout_seconds=timeout).to_pylist()
        except QueryTimeoutError:
            return f"the check ran longer than {timeout} s — raise limits.timeout_seconds to let it finish"
        except ExecutionError as exc:
            return exc.message
        return Repeats.from_rows(rows, len(side.keys))

    def close(self) -> None:
        if self.rollups is not None:
            self.rollups.close()
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> Layer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _models_of(graph: SemanticGraph, metric: str) -> frozenset[str]:
    """The models a metric reads (none for one this version cannot compile: its query fails anyway)."""
    try:
        return frozenset(metric_models(graph, metric))
    except QueryError:
        return frozenset()


def _missing(columns: set[str] | frozenset[str], found: set[str]) -> list[str]:
    """`columns` absent from `found`, compared as the stores compare unquoted names (ignoring case)."""
    lowered = {c.lower() for c in found}
    return sorted(c for c in columns if c.lower() not in lowered)


def connect(
    path: str | os.PathLike[str] | None = None,
    *,
    connection: str | None = None,
    clock: Callable[[], datetime] = _utc_now,
) -> Layer:
    """Load and validate the project at `path`, bound to `connection` (default: the project's);
    `clock` tells the current instant (see `Layer`)."""
    return Layer(load(path), connection, clock=clock)
