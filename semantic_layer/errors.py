"""Typed errors.

Project errors are collected, never raised one at a time: an analyst fixing a project wants the
whole list in one run. Query errors carry the same `code` the GraphQL server puts in
`extensions.code`, so a caller can branch on the cause whatever the transport.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem in a semantic project, located at the YAML node that caused it."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class SemanticLayerError(Exception):
    """Base of every error this library raises on purpose."""


class AuditLogError(SemanticLayerError):
    """The audit log's store cannot be read (`semantic-layer usage`, lint's unused metrics)."""


class ValidationError(SemanticLayerError):
    """A project that cannot be loaded; `.errors` lists every problem found in one pass."""

    code = "VALIDATION"  # as for a query: a caller branches on the code whatever went wrong

    def __init__(self, errors: list[Issue]):
        self.errors = errors
        count = len(errors)
        head = "\n".join(str(e) for e in errors[:50])
        more = f"\n... and {count - 50} more" if count > 50 else ""
        super().__init__(f"{count} error{'s' if count != 1 else ''} in the semantic project:\n{head}{more}")


class QueryError(SemanticLayerError):
    """A query that cannot be answered. `code` matches GraphQL's `extensions.code`."""

    code = "VALIDATION"

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class QueryValidationError(QueryError):
    """The query is malformed or asks for an impossible combination."""

    code = "VALIDATION"


class UnknownMemberError(QueryError):
    """A metric, dimension, segment or model the query names does not exist (or is hidden)."""

    code = "UNKNOWN_MEMBER"


class LimitExceededError(QueryError):
    """The query asks for more than the project's limits allow."""

    code = "LIMIT"


class QueryTimeoutError(QueryError):
    """The database did not answer within the statement timeout; the statement was cancelled."""

    code = "TIMEOUT"


class ForbiddenError(QueryError):
    """The caller's roles or claims do not allow this query."""

    code = "FORBIDDEN"


class UnauthenticatedError(QueryError):
    """The caller's token is missing, malformed, forged or expired."""

    code = "UNAUTHENTICATED"


class ExecutionError(QueryError):
    """The database refused or failed a statement the compiler produced."""

    code = "INTERNAL"


class ServerUnavailableError(QueryError):
    """`sl.Client` could not reach the server, after its retries: connection refused or reset, an
    unknown host, no connection within the timeout. (A server that takes longer than the client's
    timeout to answer is a `QueryTimeoutError`.)"""

    code = "UNAVAILABLE"


class ProtocolError(QueryError):
    """The URL answered, but not as a semantic-layer server does (a wrong URL or path, a proxy's
    error page, an answer that broke off)."""

    code = "PROTOCOL"


class SemanticLayerWarning(UserWarning):
    """An answer's warning, raised as a Python warning once per query (`Result.warnings` keeps them)."""


class DeprecatedMetricWarning(SemanticLayerWarning):
    """The query uses a deprecated metric; the message names its replacement when it has one."""


class TruncatedResultWarning(SemanticLayerWarning):
    """The answer was cut at `limits.default_rows` because the query set no limit."""


class NotFinalWarning(SemanticLayerWarning):
    """Some periods' values may still change: a retention metric (or one computed from it) whose
    later period has not ended yet, a conversion metric whose window has not passed (finality.py)."""


class FailedCheckWarning(SemanticLayerWarning):
    """A model the query's metrics read failed a data check in its last run (`semantic-layer check`)."""


def new_incident() -> str:
    """An id for one failure that is ours, not the caller's: quoted in the answer and written to the
    log with the details, so that an operator can find the one from the other."""
    return uuid.uuid4().hex[:12]


def brief(text: str, limit: int = 60) -> str:
    """A caller's text as an error quotes it back: cut when long, so that the answer stays small."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' — did you mean …?' suffix for near misses, or '' when nothing is close."""
    pool = list(candidates)
    close = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
    if not close:
        # Fall back to a match on the part after the last dot: 'orders.revenu' vs 'revenue'.
        tail = name.rsplit(".", 1)[-1]
        close = [c for c in pool if c.rsplit(".", 1)[-1] == tail][:3]
    if not close:
        return ""
    quoted = " or ".join(f"'{c}'" for c in close)
    return f" — did you mean {quoted}?"
