"""Request limits: body size (ASGI middleware) and GraphQL depth, aliases and size (validation rules).

Each refusal is an error with code LIMIT that says which limit and its value; nothing is executed.
"""

from __future__ import annotations

import json
from typing import Any

from graphql import GraphQLError, ValidationContext, ValidationRule
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode, OperationDefinitionNode
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def limit_rules(max_depth: int, max_aliases: int, max_fields: int) -> list[type[ValidationRule]]:
    class OperationLimits(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth, fields, aliases = _measure(node.selection_set, self.context, 1, set())
            if depth > max_depth:
                self.report_error(_limit(f"query depth {depth} exceeds the limit of {max_depth}", node))
            if aliases > max_aliases:
                self.report_error(_limit(f"{aliases} aliases exceed the limit of {max_aliases}", node))
            if fields > max_fields:
                self.report_error(_limit(f"{fields} selected fields exceed the limit of {max_fields}", node))

    return [OperationLimits]


def _limit(message: str, node: Any) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": "LIMIT"})


def _measure(selection_set: Any, context: ValidationContext, depth: int, seen: set[str]) -> tuple[int, int, int]:
    """(deepest level, fields, aliases) of a selection set, following fragments once each."""
    if selection_set is None:
        return depth - 1, 0, 0
    deepest, fields, aliases = depth, 0, 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            d, f, a = _measure(selection.selection_set, context, depth + 1, seen)
            deepest, fields, aliases = max(deepest, d), fields + 1 + f, aliases + a + (selection.alias is not None)
        elif isinstance(selection, InlineFragmentNode):
            d, f, a = _measure(selection.selection_set, context, depth, seen)
            deepest, fields, aliases = max(deepest, d), fields + f, aliases + a
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = context.get_fragment(selection.name.value)
            if fragment is not None:
                d, f, a = _measure(fragment.selection_set, context, depth, seen | {selection.name.value})
                deepest, fields, aliases = max(deepest, d), fields + f, aliases + a
    return deepest, fields, aliases


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` before they are read whole."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            if refused:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"errors": [{"message": f"request body exceeds the limit of {self.max_bytes} bytes",
                                       "extensions": {"code": "LIMIT"}}]}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
