"""`create_app(settings)`: the Starlette application — GraphQL, the pages, health, readiness and metrics."""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import (  # type: ignore[attr-defined]  # HTTPException: the class its view raises
    GraphQL,
    HTTPException,
)
from strawberry.extensions import ParserCache
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from semantic_layer.errors import QueryError, new_incident
from semantic_layer.wire import query_from_wire

from . import allocator
from .alerting import AlertScheduler
from .arrow import ArrowEndpoint
from .auth import principal_from_header
from .cache import make_cache
from .fastpath import FastGraphQL
from .limits import BodySizeLimit, DocumentLimits, limit_code
from .pages import page_routes
from .reload import ProjectState
from .rollup_refresh import RollupRefresher
from .schema import Query
from .service import Answer, Caller, QueryService
from .settings import ServerSettings
from .telemetry import Telemetry

log = logging.getLogger("semantic_layer.server")
# Which dashboard a request comes from, for the audit log (`semantic-layer usage` counts per dashboard).
DASHBOARD_HEADER = "x-semantic-layer-dashboard"
MAX_DASHBOARD_NAME = 200

GZIP_MIN_BYTES = 1024
GZIP_LEVEL = 5  # about as small as 9 on JSON answers, several times faster


class RequestRefused(HTTPException):
    """A malformed request strawberry would fail on with a 500; `code` is its GraphQL error code."""

    def __init__(self, reason: str, code: str = "VALIDATION"):
        super().__init__(400, reason)
        self.code = code


class QuietSchema(strawberry.Schema):
    """Expected errors (unknown members, auth) are answers, not incidents: only bugs are logged,
    once, by `SemanticGraphQL._format` with an incident id."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None


class SemanticGraphQL(GraphQL[dict[str, Any], None]):
    """Strawberry's ASGI app with our context and error shape: every error has extensions.code."""

    def __init__(self, service: QueryService, settings: ServerSettings, **kwargs: Any):
        # One instance of each, handed out by factories: the parse and validation caches must
        # outlive a request to be worth anything.
        self.limits = DocumentLimits(settings)
        parsed, limited = ParserCache(maxsize=256), self.limits.extension()
        schema = QuietSchema(query=Query, extensions=[lambda: parsed, limited])
        super().__init__(schema, **kwargs)
        self.graphql_schema = schema._schema
        self.service = service
        self.settings = settings

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {"request": request, "response": response, "service": self.service, "caller": await self.caller(request)}

    async def caller(self, request: Request) -> Caller:
        dashboard = request.headers.get(DASHBOARD_HEADER, "")[:MAX_DASHBOARD_NAME] or None
        try:
            return Caller(
                await principal_from_header(request.headers.get("authorization"), self.settings), None, dashboard
            )
        except QueryError as exc:
            return Caller(None, exc, dashboard)

    async def run_query(self, request: Request, coerced_input: dict[str, Any]) -> Answer:
        """The fast path's resolver: the same service call as `Query.query`."""
        return await self.service.query(await self.caller(request), query_from_wire(coerced_input))

    def endpoint(self) -> Any:
        """The ASGI app to route: the fast path in front of strawberry, unless it is switched off."""
        if not self.settings.fast_path:
            return self
        return FastGraphQL(self, self.graphql_schema, self.limits, self.run_query, self.process_result)

    async def run(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Strawberry refuses malformed requests (a body that is not JSON, no query, an unknown
        operation name) with plain text; we answer them as GraphQL errors with a code, as every
        other error, keeping strawberry's status code."""
        try:
            return await super().run(request, *args, **kwargs)
        except HTTPException as exc:
            code = exc.code if isinstance(exc, RequestRefused) else "VALIDATION"
            self.service.telemetry.count([code])
            return JSONResponse(
                {"errors": [{"message": exc.reason, "extensions": {"code": code}}]}, status_code=exc.status_code
            )

    def decode_json(self, data: str | bytes) -> object:
        """JSON as strawberry reads it (the body, or a GET's variables), minus the ways it fails with
        a 500: JSON nested deeper than the decoder's recursion allows, an integer longer than Python
        converts, bytes that are not UTF-8, and a body that is JSON but no object (strawberry calls
        `.get` on it). Each is a 400 like strawberry's own refusal of a body that is not JSON."""
        try:
            decoded = json.loads(data)
        except json.JSONDecodeError:
            raise  # strawberry's own answer: "Unable to parse request body as JSON"
        except UnicodeDecodeError:
            raise RequestRefused("the request body is not UTF-8 text") from None
        except ValueError:  # the only other ValueError json raises: int-string conversion's digit limit
            raise RequestRefused(
                f"a number in the request has more than {sys.get_int_max_str_digits()} digits", "LIMIT"
            ) from None
        except RecursionError:
            raise RequestRefused("the request's JSON is nested too deeply", "LIMIT") from None
        # Strawberry hands the body over as bytes, a GET's query parameters as text (which it checks).
        if isinstance(data, bytes) and not isinstance(decoded, dict | list):
            raise RequestRefused(
                'the request body must be a JSON object such as {"query": "{ metrics { name } }", "variables": {}}'
            )
        return decoded

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        errors = [self._format(error) for error in result.errors or []]
        self.service.telemetry.count([error["extensions"]["code"] for error in errors])
        out: GraphQLHTTPResponse = {"data": result.data}
        if errors:
            out["errors"] = errors  # type: ignore[typeddict-item]
        return out

    def _format(self, error: GraphQLError) -> dict[str, Any]:
        original = error.original_error
        formatted: dict[str, Any] = {"message": error.message}
        if isinstance(original, QueryError):
            formatted["message"], code = original.message, original.code
        elif original is None or isinstance(original, GraphQLError):
            # graphql-core's own: a document or variables that do not fit the schema (a variable that
            # does not coerce wraps the coercion's GraphQLError, which names the field).
            code = (error.extensions or {}).get("code") or limit_code(error) or "VALIDATION"
        else:  # a bug: log it with an id the caller can quote, show no internals
            incident = new_incident()
            log.error("internal error %s", incident, exc_info=original)
            formatted["message"], code = f"internal error (incident {incident}) — see the server log", "INTERNAL"
        if error.locations:
            formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
        if error.path:
            formatted["path"] = error.path
        formatted["extensions"] = {"code": code}
        return formatted


def create_app(settings: ServerSettings) -> Starlette:
    allocator.limit_arenas(settings.allocator_arenas)  # before the worker threads start
    trimmer = allocator.Trimmer(settings.memory_trim_seconds)
    state = ProjectState(settings)
    telemetry = Telemetry()
    cache = make_cache(settings.cache_url, settings.cache_max_bytes, telemetry.cache_errors.inc)
    service = QueryService(state, cache, telemetry, settings)
    graphql = SemanticGraphQL(service, settings)
    scheduler = AlertScheduler(state, settings)
    refresher = RollupRefresher(state, settings)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        ok, reason = await service.ready()
        project = state.layer.project
        body: dict[str, Any] = {
            "status": "ready" if ok else "unavailable",
            "project": project.settings.name,
            "version": project.version,
        }
        if not ok:
            body["reason"] = reason
        if state.errors:
            body["project_errors"] = [str(e) for e in state.errors]
        cache_problem = await cache.check()
        if cache_problem:  # still ready: without its cache the server answers from the database
            body["cache"] = f"unavailable ({cache_problem}) — answering from the database"
        return JSONResponse(body, status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        await service.sample_engine_memory()
        return Response(telemetry.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> Any:
        if settings.reload:
            state.watch()
        await cache.check()  # an unreachable shared cache is logged now, not on the first query
        scheduler.start()
        refresher.start()
        trimmer.start()
        yield
        await trimmer.stop()
        await refresher.stop()
        await scheduler.stop()
        state.close()
        service.close()
        await cache.close()

    middleware = [Middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", DASHBOARD_HEADER],
            )
        )
    endpoint = graphql.endpoint()
    arrow = ArrowEndpoint(service, graphql.graphql_schema, graphql.caller)
    # JSON is compressed for a client that accepts it (large bodies on a worker thread, bodies under
    # GZIP_MIN_BYTES left alone: a dashboard's small answer gains nothing). Arrow streams are not:
    # compressing them costs more time than loopback or a LAN saves.
    app = Starlette(
        routes=[
            Route(
                "/graphql",
                GZipMiddleware(endpoint, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL),
                methods=["GET", "POST"],
            ),
            Route("/api/arrow", arrow.handle, methods=["POST"]),
            Route("/health", health),
            Route("/ready", ready),
            Route("/metrics", metrics),
            *page_routes(state),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.project = state
    app.state.service = service
    app.state.graphql = endpoint
    app.state.alerts = scheduler
    return app


def app_from_environment() -> Starlette:
    """For multi-worker serving: each worker process builds its app from the environment."""
    return create_app(
        ServerSettings(
            project=Path(os.environ.get("SEMANTIC_LAYER_PROJECT", ".")),
            reload=os.environ.get("SEMANTIC_LAYER_RELOAD") == "1",
            allow_widening=os.environ.get("SEMANTIC_LAYER_ALLOW_WIDENING") == "1",
        )
    )
