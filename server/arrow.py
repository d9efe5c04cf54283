"""`POST /api/arrow`: a query answered as an Arrow IPC stream, for `sl.Client` and other data tools.

The body is GraphQL's `QueryInput` as JSON, coerced by graphql-core against the schema's own input
type, so a query means exactly what it means as a GraphQL variable. The caller, access policies,
limits, cache and coalescing are those of the GraphQL `query` field (QueryService.run_arrow); only
the encoding differs: the engine's Arrow columns as they are (decimals, dates, NULLs and an empty
answer's types survive, semantic_layer/ipc.py), streamed in pieces straight from the buffer the
cache keeps. An error is the JSON GraphQL answers with, `{"errors": [{"message", "extensions":
{"code"}}]}`, under a 4xx status that says whose problem it is; 500 is for our bugs alone.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, parse
from graphql.execution.values import get_variable_values
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from semantic_layer.errors import LimitExceededError, QueryError, QueryValidationError, new_incident
from semantic_layer.ipc import CACHED_HEADER, DURATION_HEADER, MEDIA_TYPE, WARNINGS_HEADER, slices
from semantic_layer.wire import query_from_wire

from .service import Caller, QueryService

log = logging.getLogger("semantic_layer.server")

# The body is the value of this operation's variable.
VARIABLE = cast(OperationDefinitionNode, parse("query ($input: QueryInput!) { __typename }").definitions[0])
STATUS = {
    "VALIDATION": 400,
    "UNKNOWN_MEMBER": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "LIMIT": 422,  # the query is well formed but asks for more than the project's limits allow
    "TIMEOUT": 422,  # it ran past limits.timeout_seconds and was cancelled: narrow it
    "INTERNAL": 500,
}


class ArrowEndpoint:
    def __init__(self, service: QueryService, schema: GraphQLSchema, caller: Callable[[Request], Awaitable[Caller]]):
        self.service = service
        self.schema = schema
        self.caller = caller

    async def handle(self, request: Request) -> Response:
        try:
            query = query_from_wire(self._coerce(_decode(await request.body())))
            answer = await self.service.query_arrow(await self.caller(request), query)
        except QueryError as exc:
            return self._error(exc.message, exc.code)
        except GraphQLError as exc:  # the body does not fit QueryInput: graphql-core says where
            return self._error(exc.message, "VALIDATION")
        except Exception:  # a bug: logged with an id the caller can quote, no internals shown
            incident = new_incident()
            log.exception("internal error %s", incident)
            return self._error(f"internal error (incident {incident}) — see the server log", "INTERNAL")
        self.service.telemetry.count([])
        headers = {CACHED_HEADER: "true" if answer.cached else "false", DURATION_HEADER: f"{answer.duration_ms:.3f}"}
        if answer.warnings:
            headers[WARNINGS_HEADER] = json.dumps(list(answer.warnings))  # ASCII: a header is Latin-1
        return StreamingResponse(_pieces(answer.body), media_type=MEDIA_TYPE, headers=headers)

    def _coerce(self, value: Any) -> dict[str, Any]:
        """The body coerced exactly as a `$input: QueryInput!` variable would be; the first problem
        raised as graphql-core words it (it names the field)."""
        result = get_variable_values(self.schema, VARIABLE.variable_definitions or (), {"input": value})
        if isinstance(result, list):
            raise result[0]
        coerced = cast(dict[str, Any], getattr(result, "coerced", result))  # 3.3 wraps the values; 3.2 returns them
        return cast(dict[str, Any], coerced["input"])

    def _error(self, message: str, code: str) -> Response:
        self.service.telemetry.count([code])
        body = {"errors": [{"message": message, "extensions": {"code": code}}]}
        return JSONResponse(body, status_code=STATUS.get(code, 500))


def _decode(body: bytes) -> Any:
    """The request body as JSON; a body that is not one JSON object is VALIDATION (or LIMIT), as
    the GraphQL endpoint refuses it."""
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise QueryValidationError(_EXPECTED) from None
    except ValueError:  # int-string conversion's digit limit
        raise LimitExceededError(
            f"a number in the request has more than {sys.get_int_max_str_digits()} digits"
        ) from None
    except RecursionError:
        raise LimitExceededError("the request's JSON is nested too deeply") from None
    if not isinstance(value, dict):
        raise QueryValidationError(_EXPECTED)
    return value


_EXPECTED = 'the request body must be a query as a JSON object, such as {"metrics": ["revenue"]}'


async def _pieces(body: Any) -> AsyncIterator[memoryview]:
    """The stream in pieces that share the answer's buffer (no copy), yielded on the event loop:
    slicing a view costs nothing, so no worker thread is needed."""
    for piece in slices(body):
        yield piece
