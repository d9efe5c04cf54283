"""A lean path for the hottest request: one `query(input: $variable)` field with plain selections.

Strawberry answers every request through its generic machinery (argument conversion, per-field
resolution and completion, extensions), which costs about a millisecond: as much as a small
query's database time, and far more than a cached answer. Dashboards send the same few documents
again and again, so a document of this one shape is recognised once — parsed, validated against
the schema with the same limit rules, then checked for its shape — and afterwards answered
directly: graphql-core coerces the variables exactly as the full executor would, the service runs
the query, and the selected fields are copied from its answer. Errors are formatted and counted
by the same code as on the full path.

Any other document, and any request whose variables do not coerce, takes the full path, so what a
client sees never depends on which path answered (tests/test_server_fastpath.py compares them).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)
from graphql.error import GraphQLSyntaxError
from graphql.execution.values import get_variable_values
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from .limits import DocumentLimits, digest
from .lru import BoundedCache
from .service import Answer

RESULT_FIELDS = {"columns", "rows", "sql", "cached", "durationMs", "warnings", "truncated", "rollup"}
COLUMN_FIELDS = {"name", "kind", "type", "format"}
PLAN_CACHE_SIZE = 256


@dataclass(frozen=True)
class Selection:
    key: str  # the response key: the alias, or the field name
    name: str
    fields: tuple[tuple[str, str], ...] = ()  # for `columns`: (response key, Column field)


@dataclass(frozen=True)
class FastPlan:
    """A recognised document: where its one field is, what it selects, which variable is the input."""

    operation: OperationDefinitionNode
    field: FieldNode
    key: str
    variable: str
    selections: tuple[Selection, ...]


def plan_document(source: str, schema: GraphQLSchema, limits: DocumentLimits) -> FastPlan | None:
    """The fast plan of a document, or None when it must take the full path."""
    try:
        document = limits.parse(source)
    except GraphQLSyntaxError:
        return None
    if limits.validate(schema, document, source):
        return None
    found = _query_field(document)
    if found is None:
        return None
    operation, field = found
    arguments = field.arguments or ()
    if len(arguments) != 1 or not isinstance(arguments[0].value, VariableNode):
        return None
    selections = _result_selections(field)
    if not selections:
        return None
    return FastPlan(operation, field, _key(field), arguments[0].value.name.value, selections)


def _query_field(document: DocumentNode) -> tuple[OperationDefinitionNode, FieldNode] | None:
    """The one `query` field of a document holding one plain query operation."""
    if len(document.definitions) != 1 or not isinstance(document.definitions[0], OperationDefinitionNode):
        return None
    operation = document.definitions[0]
    if operation.operation != OperationType.QUERY or operation.directives:
        return None
    top = _fields(operation.selection_set)
    if top is None or len(top) != 1 or top[0].name.value != "query":
        return None
    return operation, top[0]


def _result_selections(field: FieldNode) -> tuple[Selection, ...] | None:
    """What the `query` field selects, when it is only result fields and column fields."""
    selections = []
    for node in _fields(field.selection_set) or []:
        if node.name.value not in RESULT_FIELDS:
            return None
        columns = _fields(node.selection_set) if node.selection_set else []
        if columns is None or any(c.name.value not in COLUMN_FIELDS for c in columns):
            return None
        selections.append(Selection(_key(node), node.name.value, tuple((_key(c), c.name.value) for c in columns)))
    return tuple(selections)


def _fields(selection_set: SelectionSetNode | None) -> list[FieldNode] | None:
    """The selections when all are fields without directives; None when a fragment, a spread or a
    directive means the document takes the full path."""
    if selection_set is None:
        return None
    out = []
    for node in selection_set.selections:
        if not isinstance(node, FieldNode) or node.directives:
            return None
        out.append(node)
    return out


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def select(plan: FastPlan, answer: Answer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in plan.selections:
        if s.name == "columns":
            out[s.key] = [{key: column[name] for key, name in s.fields} for column in answer.columns]
        else:
            out[s.key] = answer.field(s.name)
    return out


class FastGraphQL:
    """ASGI front of the GraphQL endpoint: recognised `query` requests are answered here, the rest
    (GET, GraphiQL, other documents, bad variables) are handed to strawberry with the body replayed."""

    def __init__(
        self,
        full: Any,
        schema: GraphQLSchema,
        limits: DocumentLimits,
        run: Callable[[Request, dict[str, Any]], Awaitable[Answer]],
        finish: Callable[[Request, ExecutionResult], Awaitable[GraphQLHTTPResponse]],
    ):
        self.full = full
        self.schema = schema
        self.limits = limits
        self.run = run  # (request, coerced input) → the service's answer
        self.finish = finish  # formats errors and counts the request, as on the full path
        # By digest: a cache keyed on the text would keep up to PLAN_CACHE_SIZE bodies of any size.
        self._plans: BoundedCache[tuple[FastPlan | None]] = BoundedCache(PLAN_CACHE_SIZE)
        self.answered = 0  # requests this path answered (the rest went to strawberry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "GET":
            source = Request(scope).query_params.get("query")
            if source:
                await self._plan(source)  # validated here, off the loop, before strawberry reads it
            await self.full(scope, receive, send)
            return
        if scope["method"] != "POST" or "application/json" not in _content_type(scope):  # as strawberry reads it
            await self.full(scope, receive, send)
            return
        body = await _read_body(receive)
        answer = await self._try(Request(scope), body)
        if answer is None:
            await self.full(scope, _replay(body, receive), send)
            return
        self.answered += 1
        encoded = self.full.encode_json(answer)  # strawberry's own encoder: the same bytes either way
        if isinstance(encoded, str):
            encoded = encoded.encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(encoded)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": encoded})

    async def _try(self, request: Request, body: bytes) -> GraphQLHTTPResponse | None:
        try:
            request_data = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or JSON too deep or long to read: refused by the full path
            return None
        if not isinstance(request_data, dict) or not isinstance(request_data.get("query"), str):
            return None
        # Planned (so parsed and validated) before anything else is decided: whichever path answers,
        # the document's validation then happens here, off the event loop, and is remembered.
        plan = await self._plan(request_data["query"])
        variables = request_data.get("variables") or {}
        if set(request_data) - {"query", "variables", "operationName"} or not isinstance(variables, dict):
            return None
        name = request_data.get("operationName")
        if plan is None or (name is not None and name != (plan.operation.name.value if plan.operation.name else None)):
            return None
        coerced = _coerce(self.schema, plan, variables)
        if coerced is None:
            return None
        try:
            answer = await self.run(request, coerced)
        except Exception as exc:  # formatted (and a bug logged with an incident id) by the full path's code
            error = GraphQLError(str(exc), nodes=[plan.field], path=[plan.key], original_error=exc)
            return await self.finish(request, ExecutionResult(data=None, errors=[error]))
        return await self.finish(request, ExecutionResult(data={plan.key: select(plan, answer)}, errors=None))

    async def _plan(self, source: str) -> FastPlan | None:
        key = digest(source)
        known = self._plans.get(key)
        if known is None:
            # A new document is parsed and validated on a worker thread: graphql's rules can take a
            # third of a second on a document within the limits, and the event loop must keep answering.
            known = (await asyncio.to_thread(plan_document, source, self.schema, self.limits),)
            self._plans.put(key, known)
        return known[0]


def _coerce(schema: GraphQLSchema, plan: FastPlan, variables: dict[str, Any]) -> dict[str, Any] | None:
    """The input variable coerced by graphql-core, or None when it does not coerce (the full path
    then reports the error exactly as it always does)."""
    result = get_variable_values(schema, plan.operation.variable_definitions or (), variables)
    if isinstance(result, list):
        return None
    coerced = cast(dict[str, Any], getattr(result, "coerced", result))  # 3.3 wraps the values; 3.2 returns them
    value = coerced.get(plan.variable)
    return value if isinstance(value, dict) else None


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return str(value.decode("latin-1")).split(";")[0].strip().lower()
    return ""


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, then the connection's own messages (a disconnect, eventually)."""
    sent = False

    async def replaying() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replaying
