"""What a request does, between the GraphQL types and the library: authenticate, choose the caller's
view, compile, consult the cache, run in the thread pool, count. Resolvers stay one-liners."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from semantic_layer.access import AccessContext, Principal
from semantic_layer.compiler.pipeline import CompiledQuery
from semantic_layer.errors import QueryError
from semantic_layer.graph import SemanticGraph
from semantic_layer.layer import Layer
from semantic_layer.query import Query

from .cache import ResultCache, cache_key
from .readiness import Readiness
from .reload import ProjectState
from .telemetry import Telemetry

T = TypeVar("T")


@dataclass
class Caller:
    """One request's identity; an authentication error is kept and raised when data is asked for."""

    principal: Principal | None
    error: QueryError | None = None

    def view(self, layer: Layer) -> AccessContext | None:
        if self.error is not None:
            raise self.error
        return layer.access_for(self.principal)


class Answer:
    """One query's answer as the `QueryResult` type shows it. The SQL text (values inlined) is
    rendered only when a request selects `sql`: most do not, and it costs as much as the compile."""

    def __init__(self, body: dict[str, Any], cached: bool, duration_ms: float, compiled: CompiledQuery,
                 values: list[Any]):
        self.columns: list[dict[str, Any]] = body["columns"]
        self.rows: list[Any] = body["rows"]
        self.warnings: list[str] = body["warnings"]
        self.truncated: bool = body["truncated"]
        self.cached = cached
        self.duration_ms = duration_ms
        self._compiled, self._values = compiled, values

    @cached_property
    def sql(self) -> str:
        return self._compiled.inline(self._values)

    def field(self, graphql_name: str) -> Any:
        return self.duration_ms if graphql_name == "durationMs" else getattr(self, graphql_name)


class QueryService:
    def __init__(self, state: ProjectState, cache: ResultCache, telemetry: Telemetry, threads: int):
        self.state = state
        self.cache = cache
        self.telemetry = telemetry
        # Database work runs on these threads, never on the event loop. A plain executor rather than
        # anyio's worker threads: its hop costs less, and each uncached request makes two of them.
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sl-db")
        self.readiness = Readiness()

    # -- catalogue ----------------------------------------------------------------------------
    def graph_for(self, caller: Caller) -> tuple[Layer, SemanticGraph]:
        layer = self.state.layer
        return layer, layer.compiler_for(caller.view(layer)).graph

    async def metric_sql(self, caller: Caller, name: str) -> str:
        return await self.compile(caller, Query(metrics=(name,)), None)

    # -- queries -------------------------------------------------------------------------------
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
        layer = self.state.layer  # one version for the whole request, whatever a reload does meanwhile
        access = caller.view(layer)
        # A known shape is bound here; a new one is compiled on a worker thread, off the event loop.
        prepared = layer.prepared(query, layer.engine.dialect, access)
        if prepared is None:
            prepared = await self._in_pool(lambda: layer.prepare(query, layer.engine.dialect, access))
        compiled, values = prepared
        params = compiled.bind(values)
        self.telemetry.compile_seconds.observe(time.perf_counter() - started)
        # The statement and its bound values (filters and claims) identify the answer exactly; the
        # SQL text is not cached: it follows from the same statement and values when it is asked for.
        key = cache_key(layer.project.version, f"{compiled.template}\0{sorted(params.items())!r}")
        hit = await self.cache.get(key)
        if hit is not None:
            self.telemetry.cache_hits.inc()
            self.telemetry.query_seconds.observe(time.perf_counter() - started)
            return Answer(json.loads(hit), True, _ms(started), compiled, values)
        self.telemetry.cache_misses.inc()

        def execute() -> tuple[dict[str, Any], bytes]:
            body = layer.answer_json(compiled, values)
            return body, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

        body, encoded = await self._in_pool(execute)
        await self.cache.set(key, encoded, layer.project.settings.cache.ttl_seconds)
        self.telemetry.query_seconds.observe(time.perf_counter() - started)
        return Answer(body, False, _ms(started), compiled, values)

    async def ready(self) -> tuple[bool, str]:
        return await self.readiness.check(self.state.layer)

    async def _in_pool(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, work)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.readiness.close()


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
