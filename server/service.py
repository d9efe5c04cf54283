"""What a request does, between the GraphQL types and the library: authenticate, choose the caller's
view, compile, consult the cache, run in the thread pool, count. Resolvers stay one-liners.

An answer that is not cached is computed once however many requests want it at the same moment:
requests for the same statement and values coalesce on one execution in this process (its error,
too, reaches all of them, and nothing is cached), and processes sharing Redis take a short lock
so that only one of them runs it while the others wait for its answer in the cache. With a stale
window (`cache.stale_while_revalidate`), an answer past its TTL is served at once while one
refresh runs in the background.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, partial
from typing import Any, TypeVar

from semantic_layer.access import AccessContext, Principal
from semantic_layer.alerts import Alert, AlertPlan
from semantic_layer.checks import CheckResult
from semantic_layer.compiler.pipeline import CompiledQuery
from semantic_layer.errors import QueryError
from semantic_layer.graph import SemanticGraph
from semantic_layer.layer import Layer
from semantic_layer.query import Query

from .cache import Claim, Hit, MemoryCache, ResultCache, Stored, cache_key
from .check_runs import SharedCheckRuns
from .readiness import Readiness
from .reload import ProjectState
from .settings import ServerSettings
from .telemetry import Telemetry

T = TypeVar("T")
log = logging.getLogger("semantic_layer.server")

# How often a request whose answer another process is computing looks for it in the shared cache.
POLL_SECONDS = 0.05


@dataclass
class Caller:
    """One request's identity; an authentication error is kept and raised when data is asked for."""

    principal: Principal | None
    error: QueryError | None = None
    dashboard: str | None = None  # the X-Semantic-Layer-Dashboard header: which dashboard asks (audit log)

    def view(self, layer: Layer) -> AccessContext | None:
        if self.error is not None:
            raise self.error
        return layer.access_for(self.principal)

    def roles(self, layer: Layer) -> tuple[str, ...]:
        """The roles the caller asks as: its token's, else the project's default role."""
        if self.principal is not None:
            return self.principal.roles
        default = layer.project.settings.default_role
        return (default,) if default else ()


class Answer:
    """One query's answer as the `QueryResult` type shows it. The SQL text (values inlined) is
    rendered only when a request selects `sql`: most do not, and it costs as much as the compile."""

    def __init__(
        self, body: dict[str, Any], cached: bool, duration_ms: float, compiled: CompiledQuery, values: list[Any]
    ):
        self.columns: list[dict[str, Any]] = body["columns"]
        self.rows: list[Any] = body["rows"]
        self.warnings: list[str] = body["warnings"]
        self.truncated: bool = body["truncated"]
        self.rollup: str | None = body.get("rollup")
        self.cached = cached
        self.duration_ms = duration_ms
        self._compiled, self._values = compiled, values

    @cached_property
    def sql(self) -> str:
        return self._compiled.inline(self._values)

    def field(self, graphql_name: str) -> Any:
        return self.duration_ms if graphql_name == "durationMs" else getattr(self, graphql_name)


@dataclass(frozen=True)
class ArrowAnswer:
    """One query's answer as an Arrow IPC stream (semantic_layer/ipc.py), for `/api/arrow`."""

    body: Stored
    cached: bool
    duration_ms: float
    warnings: tuple[str, ...] = ()  # failed data checks, sent beside the stream (ipc.WARNINGS_HEADER)


@dataclass(frozen=True)
class Encoding:
    """One form an answer is sent in: how it is computed (on a pool thread) into the value the
    response uses and the bytes the cache keeps, and how cached bytes are read back. Each form has
    cache entries and coalesced executions of its own (`key` is part of the cache key)."""

    key: str
    # (layer, statement, values, now) → the answer, and its bytes; `now` judges which periods are final
    execute: Callable[[Layer, CompiledQuery, list[Any], datetime], tuple[Any, Stored]]
    decode: Callable[[Stored], Any]


def _json_answer(layer: Layer, compiled: CompiledQuery, values: list[Any], now: datetime) -> tuple[Any, Stored]:
    body = layer.answer_json(compiled, values, now)
    return body, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _arrow_answer(layer: Layer, compiled: CompiledQuery, values: list[Any], now: datetime) -> tuple[Any, Stored]:
    stream = memoryview(layer.answer_arrow(compiled, values, now))  # the response and the cache share its bytes
    return stream, stream


JSON_ANSWER = Encoding("", _json_answer, lambda stored: json.loads(bytes(stored)))
ARROW_ANSWER = Encoding("arrow\0", _arrow_answer, lambda stored: stored)


@dataclass(frozen=True)
class Statement:
    """A compiled statement with the query's values on one project version, in one encoding: what
    an answer is cached and coalesced by (`key`)."""

    key: str
    layer: Layer
    compiled: CompiledQuery
    values: list[Any]
    encoding: Encoding = JSON_ANSWER

    @property
    def ttl(self) -> int:
        return self.layer.project.settings.cache.ttl_seconds

    @property
    def stale_seconds(self) -> int:
        return self.layer.project.settings.cache.stale_while_revalidate


Body = Any  # a JSON answer's parts, or an Arrow stream's bytes


class QueryService:
    def __init__(self, state: ProjectState, cache: ResultCache, telemetry: Telemetry, settings: ServerSettings):
        self.state = state
        self.clock = settings.clock
        self.cache = cache
        self.telemetry = telemetry
        self.lock_seconds = settings.cache_lock_seconds
        self.max_entry_bytes = settings.cache_max_entry_bytes
        if isinstance(cache, MemoryCache):
            telemetry.cache_bytes.set_function(lambda: cache.bytes)
        # Database work runs on these threads, never on the event loop. A plain executor rather than
        # anyio's worker threads: its hop costs less, and each uncached request makes two of them.
        self.pool = ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="sl-db")
        self.readiness = Readiness()
        # The executions in progress, by cache key: a request for the same key awaits the one there.
        self._flights: dict[str, asyncio.Future[tuple[Body, bool]]] = {}
        self.check_runs = SharedCheckRuns(settings.checks_interval)

    # -- catalogue ----------------------------------------------------------------------------
    def graph_for(self, caller: Caller) -> tuple[Layer, SemanticGraph]:
        layer = self.state.layer
        return layer, layer.compiler_for(caller.view(layer)).graph

    async def metric_sql(self, caller: Caller, name: str) -> str:
        return await self.compile(caller, Query(metrics=(name,)), None)

    # -- queries -------------------------------------------------------------------------------
    async def query(self, caller: Caller, query: Query) -> Answer:
        """A caller's query (the `query` field): answered by `run`, then its audit record queued."""
        answer = await self.run(caller, query)
        layer = self.state.layer
        layer.audit_query(query, caller.roles(layer), answer.duration_ms, answer.cached, "server", caller.dashboard)
        return answer

    async def compile(self, caller: Caller, query: Query, dialect: str | None) -> str:
        """The query's SQL, values inlined; compiled on a worker thread (a new shape takes milliseconds)."""
        layer = self.state.layer
        access = caller.view(layer)

        def render() -> str:
            compiled, values = layer.prepare(query, dialect, access)
            return compiled.inline(values)

        return await self._in_pool(render)

    async def run(self, caller: Caller, query: Query) -> Answer:
        started = time.perf_counter()
        statement = await self._statement(caller, query, JSON_ANSWER, started)
        body, cached = await self._answer(statement, started)
        answer = Answer(body, cached, _ms(started), statement.compiled, statement.values)
        failed = statement.layer.check_warnings(query.metrics)  # now, not cached: a later check may pass
        if failed:
            answer.warnings = [*failed, *answer.warnings]  # a cut's warning stays the last
        return answer

    async def run_arrow(self, caller: Caller, query: Query) -> ArrowAnswer:
        """The same answer as `run`, as an Arrow IPC stream: the same access, limits and cache."""
        started = time.perf_counter()
        statement = await self._statement(caller, query, ARROW_ANSWER, started)
        body, cached = await self._answer(statement, started)
        return ArrowAnswer(body, cached, _ms(started), tuple(statement.layer.check_warnings(query.metrics)))

    async def query_arrow(self, caller: Caller, query: Query) -> ArrowAnswer:
        """A caller's query for `/api/arrow`: answered by `run_arrow`, then its audit record queued."""
        answer = await self.run_arrow(caller, query)
        layer = self.state.layer
        layer.audit_query(query, caller.roles(layer), answer.duration_ms, answer.cached, "server", caller.dashboard)
        return answer

    async def _statement(self, caller: Caller, query: Query, encoding: Encoding, started: float) -> Statement:
        layer = self.state.layer  # one version for the whole request, whatever a reload does meanwhile
        access = caller.view(layer)
        # A known shape is bound here; a new one is compiled on a worker thread, off the event loop.
        prepared = layer.prepared(query, layer.engine.dialect, access, rollups=True)
        if prepared is None:
            prepared = await self._in_pool(lambda: layer.prepare(query, layer.engine.dialect, access, rollups=True))
        compiled, values = prepared
        params = compiled.bind(values)
        self.telemetry.compile_seconds.observe(time.perf_counter() - started)
        # The statement and its bound values (filters and claims) identify the answer exactly; the
        # SQL text is not cached: it follows from the same statement and values when it is asked for.
        key = cache_key(layer.project.version, f"{encoding.key}{compiled.template}\0{sorted(params.items())!r}")
        return Statement(key, layer, compiled, values, encoding)

    async def _answer(self, statement: Statement, started: float) -> tuple[Any, bool]:
        """The statement's answer from the cache (a stale one refreshed in the background), or
        computed once for every request that wants it now."""
        hit = await self.cache.get(statement.key, statement.stale_seconds)
        if hit is not None:
            self.telemetry.cache_hits.inc()
            if hit.stale:
                self.telemetry.cache_stale_hits.inc()
                self._refresh(statement)
            self.telemetry.query_seconds.observe(time.perf_counter() - started)
            return statement.encoding.decode(hit.value), True
        self.telemetry.cache_misses.inc()
        body, cached = await self._coalesced(statement)
        self.telemetry.query_seconds.observe(time.perf_counter() - started)
        return body, cached

    # -- alerts ----------------------------------------------------------------------------------
    async def alerts(
        self, caller: Caller, metrics: Iterable[str] | None, time_range: Any, grain: str | None
    ) -> list[Alert]:
        """Each metric's alert level, its queries answered like any other: cached, coalesced, in the
        pool, with the caller's access."""
        layer = self.state.layer
        plans = layer.alert_plans(metrics, time_range, grain, access=caller.view(layer), now=self.clock())
        return list(await asyncio.gather(*(self._judge(caller, plan) for plan in plans)))

    async def _judge(self, caller: Caller, plan: AlertPlan) -> Alert:
        answer = await self.run(caller, plan.latest())
        earlier = plan.earlier()
        if not answer.rows and earlier is not None:
            answer = await self.run(caller, earlier)
        return plan.judge(answer.rows)

    # -- data checks ----------------------------------------------------------------------------
    async def checks(self, caller: Caller, models: list[str] | None) -> tuple[list[CheckResult], bool]:
        """The data checks' results, run on a worker thread at most once per `check_runs` interval
        (check_runs.py); and whether the caller may see failing rows (samples are read past the row
        policies: only a caller who sees every row and member may)."""
        layer = self.state.layer
        access = caller.view(layer)
        unrestricted = access is None or (not access.hidden and any(not rules for rules in access.row_rules))

        async def run(due: list[str]) -> list[CheckResult]:
            return await self._in_pool(lambda: layer.check(due, now=self.clock()))

        return await self.check_runs.results(layer, models, run), unrestricted

    # -- one execution per answer ----------------------------------------------------------------
    async def _coalesced(self, statement: Statement) -> tuple[Body, bool]:
        """The statement's answer from the execution in progress for its key, or from a new one.
        Shielded: a client that goes away does not cancel the answer the others wait for."""
        if statement.key in self._flights:
            self.telemetry.coalesced.inc()
        return await asyncio.shield(self._flight(statement))

    def _refresh(self, statement: Statement) -> None:
        """Refresh a stale answer in the background, unless that is already under way."""
        if statement.key not in self._flights:
            self._flight(statement).add_done_callback(_log_failed_refresh)

    def _flight(self, statement: Statement) -> asyncio.Future[tuple[Body, bool]]:
        flight = self._flights.get(statement.key)
        if flight is None:
            flight = self._flights[statement.key] = asyncio.ensure_future(self._fill(statement))
            flight.add_done_callback(partial(self._landed, statement.key))
        return flight

    def _landed(self, key: str, flight: asyncio.Future[tuple[Body, bool]]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]

    async def _fill(self, statement: Statement) -> tuple[Body, bool]:
        """Run the statement and cache its answer (an error caches nothing); or, when another
        process delivered it meanwhile, its answer from the cache (marked cached)."""
        claim = await self._claim(statement)
        if isinstance(claim, Hit):
            return statement.encoding.decode(claim.value), True
        try:
            body, encoded = await self._in_pool(partial(self._execute, statement))
            if len(encoded) <= self.max_entry_bytes:  # one huge answer must not push out all the others
                await self.cache.set(statement.key, encoded, statement.ttl, statement.stale_seconds)
        finally:
            await self.cache.release(statement.key, claim)
        return body, False

    async def _claim(self, statement: Statement) -> Claim | Hit:
        """The right to run the statement, or the fresh answer found in the cache once claimed (it
        may have landed since this request missed it). While another process holds the claim, the
        cache is polled for its answer; after `lock_seconds` without one, the statement runs here
        anyway: a holder that died or hangs never stalls this process."""
        deadline = time.monotonic() + self.lock_seconds
        while True:
            claim = await self.cache.claim(statement.key, self.lock_seconds)
            hit = await self.cache.get(statement.key, statement.stale_seconds)
            if hit is not None and not hit.stale:
                await self.cache.release(statement.key, claim)
                return hit
            if claim.granted:
                return claim
            if time.monotonic() >= deadline:
                return Claim(True)
            await asyncio.sleep(POLL_SECONDS)

    def _execute(self, statement: Statement) -> tuple[Body, Stored]:
        """On a pool thread: the answer as the response uses it and as the cache keeps it."""
        self.telemetry.database_queries.inc()
        return statement.encoding.execute(statement.layer, statement.compiled, statement.values, self.clock())

    async def ready(self) -> tuple[bool, str]:
        return await self.readiness.check(self.state.layer)

    async def sample_engine_memory(self) -> None:
        held = await self.readiness.engine_memory(self.state.layer)
        if held is not None:
            self.telemetry.engine_memory_bytes.set(held)

    async def _in_pool(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, work)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.readiness.close()


def _log_failed_refresh(flight: asyncio.Future[tuple[Body, bool]]) -> None:
    """A background refresh has no request to report to: its failure is logged (the stale answer
    stays until its window ends, and the next stale hit tries again)."""
    if not flight.cancelled() and flight.exception() is not None:
        log.warning(
            "refreshing a stale cached answer failed: %s", getattr(flight.exception(), "message", flight.exception())
        )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
