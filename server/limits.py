"""Request limits: body size (ASGI middleware), and a GraphQL document's tokens, depth, aliases and
size, checked before graphql's own validation rules run.

Each refusal is an error with code LIMIT that says which limit and its value; nothing is executed.
The order matters: some of graphql's rules (overlapping fields, fragment spreads) are quadratic in
the document, so an oversized document must be refused by these linear checks before they see it,
or one small request holds the event loop for seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    ValidationContext,
    ValidationRule,
    parse,
    specified_rules,
    validate,
)
from graphql.language import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from .lru import BoundedCache
from .settings import ServerSettings


def limit_rules(max_depth: int, max_aliases: int, max_fields: int) -> list[type[ValidationRule]]:
    class OperationLimits(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth, fields, aliases = SelectionSizes(self.context).measure(node.selection_set)
            depth += 1  # the operation's own selection set is level 1
            if depth > max_depth:
                self.report_error(_limit(f"query depth {depth} exceeds the limit of {max_depth}", node))
            if aliases > max_aliases:
                self.report_error(_limit(f"{aliases} aliases exceed the limit of {max_aliases}", node))
            if fields > max_fields:
                self.report_error(_limit(f"{fields} selected fields exceed the limit of {max_fields}", node))

    return [OperationLimits]


class DocumentLimits:
    """Validation with the limits first: a document over a limit is refused without the full rules.

    Validation results are remembered per document text (by digest, so the cache holds no
    documents), bounded: dashboards send the same few documents again and again.
    """

    def __init__(self, settings: ServerSettings, cache_size: int = 256):
        self.max_tokens = settings.max_tokens
        self.rules = limit_rules(settings.max_depth, settings.max_aliases, settings.max_fields)
        self._validated: BoundedCache[list[GraphQLError]] = BoundedCache(cache_size)

    def parse(self, source: str) -> DocumentNode:
        """Parse within the token limit (graphql's parser refuses longer documents as it reads)."""
        return parse(source, max_tokens=self.max_tokens)

    def validate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        source: str,
        rules: Collection[type[ASTValidationRule]] = specified_rules,
    ) -> list[GraphQLError]:
        key = digest(source)
        known = self._validated.get(key)
        if known is None:
            known = validate(schema, document, self.rules) or validate(schema, document, rules)
            self._validated.put(key, known)
        return known

    def extension(self) -> type[SchemaExtension]:
        """The same checks for strawberry's own path, replacing its validation (and its cache)."""
        limits = self

        class LimitedValidation(SchemaExtension):
            def on_operation(self) -> Iterator[None]:
                self.execution_context.parse_options["max_tokens"] = limits.max_tokens
                yield

            def on_validate(self) -> Iterator[None]:
                context = self.execution_context
                assert context.graphql_document is not None and context.query is not None
                context.pre_execution_errors = limits.validate(
                    context.schema._schema, context.graphql_document, context.query, context.validation_rules
                )
                yield

        return LimitedValidation


def digest(source: str) -> bytes:
    """A collision-proof key for a document text that costs 16 bytes to keep."""
    return hashlib.blake2b(source.encode(), digest_size=16).digest()


def limit_code(error: GraphQLError) -> str | None:
    """LIMIT for the parser's refusal of a document over the token limit (it reports it as a
    syntax error, without a code of its own); None for any other error."""
    return "LIMIT" if "contains more than" in error.message and "tokens" in error.message else None


def _limit(message: str, node: Any) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": "LIMIT"})


Sizes = tuple[int, int, int]  # (levels below the selection set, fields, aliases), fragments expanded


class SelectionSizes:
    """What an operation would select once its fragments are expanded, in time linear in the document.

    A fragment spread twice counts twice — that is what execution would do — but each fragment is
    measured once and its sizes reused at every spread: re-walking it per spread made a 1 KB
    document of fragments that each spread the next twice take minutes. A fragment in a cycle
    counts as empty here; graphql's own rules refuse the cycle.
    """

    def __init__(self, context: ValidationContext):
        self.context = context
        self.fragments: dict[str, Sizes] = {}

    def measure(self, selection_set: SelectionSetNode) -> Sizes:
        deepest, fields, aliases = 0, 0, 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                d, f, a = self.measure(selection.selection_set) if selection.selection_set else (-1, 0, 0)
                d, f, a = d + 1, f + 1, a + (selection.alias is not None)
            elif isinstance(selection, InlineFragmentNode):
                d, f, a = self.measure(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                d, f, a = self.fragment(selection.name.value)
            else:
                continue
            deepest, fields, aliases = max(deepest, d), fields + f, aliases + a
        return deepest, fields, aliases

    def fragment(self, name: str) -> Sizes:
        known = self.fragments.get(name)
        if known is not None:
            return known
        self.fragments[name] = (0, 0, 0)  # while it is measured: a cycle back to it adds nothing
        fragment = self.context.get_fragment(name)
        sizes = self.measure(fragment.selection_set) if fragment is not None else (0, 0, 0)
        self.fragments[name] = sizes
        return sizes


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
        body = json.dumps(
            {
                "errors": [
                    {
                        "message": f"request body exceeds the limit of {self.max_bytes} bytes",
                        "extensions": {"code": "LIMIT"},
                    }
                ]
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
