"""Building rollups: the layer's own compiled SQL run on the source, its Arrow answer written into
a new version of the store — one version per build, swapped in when the build ends (a rollup that
fails in it keeps its last good rows).

A refresh is incremental: the periods from `refresh.lookback` before the newest stored period on are
computed again (rows that arrived late land there) and replace the stored ones in one transaction,
as do the rows without a metric time (stored under a NULL time: only queries without metric_time
and time_range count them).
A first build, `--full`, or a definition that changed since the rows were built computes
everything. One builder at a time: a Redis lock when a shared cache is configured
(`SEMANTIC_LAYER_CACHE_URL`), else a lock file in the state folder — the same locks the alert
scheduler takes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
from sqlglot import exp

from .. import definitions as d
from ..alert_state import FileLock, RedisLock, SchedulerLock, holding, redis_client
from ..compiler import Compiler
from ..errors import SemanticLayerError, UnknownMemberError, did_you_mean
from ..query import Query
from ..timegrain import Calendar, Offset, py_shift, py_truncate
from .checks import store_path
from .shape import METRIC_TIME, RollupShape, resolve_rollup
from .store import RollupStore, StoredRollup, definition_hash, read_record, record, table

if TYPE_CHECKING:
    from ..layer import Layer

LOCK_WAIT_SECONDS = 0.0


class RollupBuildError(SemanticLayerError):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class BuildReport:
    name: str
    full: bool
    start: date | None  # the first period computed again (None: all of them)
    rows_written: int
    stored: StoredRollup


def rollup_store(layer: Layer) -> RollupStore:
    settings = layer.project.settings
    return RollupStore(store_path(settings.rollup_store, layer.state_folder), settings.engine)


def build_lock(layer: Layer) -> SchedulerLock:
    """Redis when a shared cache is configured (every process and machine using it), else a lock
    file beside the store (the processes of this machine)."""
    url = os.environ.get("SEMANTIC_LAYER_CACHE_URL")
    if url:
        return RedisLock(redis_client(url), f"semantic_layer:rollups:{layer.project.settings.name}:lock")
    path = store_path(layer.project.settings.rollup_store, layer.state_folder)
    return FileLock(Path(f"{path}.lock"))


def shapes(layer: Layer, names: Iterable[str] | None = None) -> list[RollupShape]:
    """The project's rollups resolved (all, or those named)."""
    rollups = layer.project.rollups
    chosen = list(names) if names else list(rollups)
    for name in chosen:
        if name not in rollups:
            raise UnknownMemberError(f"unknown rollup '{name}'{did_you_mean(name, rollups)}")
    return [resolve_rollup(layer.project.graph, rollups[name]) for name in chosen]


def build_rollups(
    layer: Layer,
    names: Iterable[str] | None = None,
    *,
    full: bool = False,
    on_built: Callable[[BuildReport], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[BuildReport]:
    """Build or refresh the rollups (all, or those named) into one new version of the store, swapped
    in when the build ends. A rollup that fails keeps its last good version; the others are swapped
    in all the same, and the failures raised after."""
    chosen = shapes(layer, names)
    store = rollup_store(layer)
    reports, failures = [], []
    with holding(build_lock(layer), LOCK_WAIT_SECONDS) as taken:
        if not taken:
            raise RollupBuildError(
                "another rollup build is running (it holds the build lock) — try again when it is done"
            )
        with store.writing() as con:
            for shape in chosen:
                try:
                    report = _build_one(layer, con, shape, full, now)
                except SemanticLayerError as exc:
                    failures.append(f"{shape.name}: {getattr(exc, 'message', exc)}")
                    continue
                reports.append(report)
                if on_built is not None:
                    on_built(report)
    store.close()
    if failures:
        raise RollupBuildError(
            f"{len(failures)} rollup{'s' if len(failures) > 1 else ''} not built (the last good version "
            f"stays in use): {'; '.join(failures)}"
        )
    return reports


def due(layer: Layer, now: datetime) -> list[str]:
    """The rollups a background refresh builds now: those never built, built from another
    definition, or last refreshed at least `refresh.every` ago."""
    if layer.rollups is None:
        return []
    state = layer.rollups.store.state()
    out = []
    for name, rollup in layer.project.rollups.items():
        stored = state.get(name)
        current = stored is not None and stored.definition == layer.rollups.definitions[name]
        if not current or stored.age_seconds(now) >= d.parse_duration(rollup.refresh.every):  # type: ignore[union-attr]
            out.append(name)
    return out


def _build_one(
    layer: Layer, con: duckdb.DuckDBPyConnection, shape: RollupShape, full: bool, now: Callable[[], datetime]
) -> BuildReport:
    started = time.perf_counter()
    model = layer.project.graph.models[shape.model]
    definition = definition_hash(shape.rollup, layer.project.settings, model)
    before = read_record(con, shape.name)
    start = None if full or before is None or before.definition != definition else _restart(layer, shape, before)
    refreshed_at = now()
    answer = _compute(layer, shape, start)
    con.execute("BEGIN")
    try:
        _write(con, shape, answer, start)
        extent = exp.select(exp.Count(this=exp.Star()), exp.Max(this=exp.column(METRIC_TIME)))
        [(count, newest)] = con.execute(extent.from_(table(shape.table)).sql("duckdb")).fetchall()
        stored = StoredRollup(shape.name, definition, refreshed_at, newest, int(count), time.perf_counter() - started)
        record(con, stored)
        con.execute("COMMIT")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        raise RollupBuildError(f"rollup '{shape.name}' could not be written: {exc}") from None
    return BuildReport(shape.name, start is None, start, answer.num_rows, stored)


def _restart(layer: Layer, shape: RollupShape, before: StoredRollup) -> date | None:
    """The first period to compute again: `lookback` before the newest stored one, at the rollup's grain."""
    if before.newest_period is None:
        return None
    settings = layer.project.settings
    calendar = Calendar(settings.timezone, settings.week_start, settings.fiscal_year_start_month)
    lookback = Offset.of(*d.parse_interval(shape.rollup.refresh.lookback))
    newest = datetime.combine(before.newest_period, datetime.min.time())
    return py_truncate(py_shift(newest, -lookback), shape.grain, calendar).date()


def _compute(layer: Layer, shape: RollupShape, start: date | None) -> pa.Table:
    """The rollup's rows from `start` on, and its rows without a metric time, by the compiler's SQL
    on the source engine."""
    compiler = Compiler(shape.build_graph(layer.project.graph))
    dated = _answer(layer, compiler, shape, shape.build_query(start))
    undated = _answer(layer, compiler, shape, shape.undated_query())
    undated = undated.append_column(METRIC_TIME, pa.nulls(undated.num_rows, dated.schema.field(METRIC_TIME).type))
    return pa.concat_tables([dated, undated.select(shape.columns).cast(dated.schema)])


def _answer(layer: Layer, compiler: Compiler, shape: RollupShape, query: Query) -> pa.Table:
    engine = layer.engine
    compiled, values = compiler.compile(query, engine.dialect)
    found = engine.execute(compiled.template, compiled.bind(values), timeout_seconds=None)
    renames = shape.build_columns()
    names = [renames[column.alias] for column in compiled.columns]
    return found.rename_columns(names).select([c for c in shape.columns if c in names])


def _write(con: duckdb.DuckDBPyConnection, shape: RollupShape, answer: pa.Table, start: date | None) -> None:
    """The new rows in place of the stored ones from `start` on (all of them for a full build), in
    one transaction of the new version."""
    con.register("rollup_answer", answer)
    rows = exp.select(*shape.columns).from_("rollup_answer")
    try:
        if start is None:
            con.execute(exp.Create(kind="TABLE", this=table(shape.table), expression=rows, replace=True).sql("duckdb"))
        else:
            period = exp.column(METRIC_TIME)
            replaced = exp.or_(exp.GTE(this=period, expression=exp.Placeholder()), period.copy().is_(exp.null()))
            con.execute(exp.delete(table(shape.table), where=replaced).sql("duckdb"), [start])
            con.execute(exp.insert(rows, table(shape.table), columns=shape.columns).sql("duckdb"))
    finally:
        con.unregister("rollup_answer")
