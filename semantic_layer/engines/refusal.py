"""What a caller learns when the database refuses a statement: one mapping for every engine.

The database's own message goes to the log only: it quotes the statement, and with it the
row-policy predicates a caller must not see. A value the database cannot convert, or that
overflows, is the caller's mistake: VALIDATION, in our words. Anything else is ours: INTERNAL, with
an incident id that finds the database's message in the log.
"""

from __future__ import annotations

import logging

from ..errors import ExecutionError, QueryError, QueryValidationError, new_incident

log = logging.getLogger("semantic_layer.engines")

BAD_VALUE = (
    "a value in the query could not be converted, or is out of range: check the filter values' types "
    "(and the token's claims, which row policies compare with columns)"
)


def refusal(server: str, detail: str, sql: str, *, bad_value: bool, mismatch: bool = False) -> QueryError:
    """The error for `server` refusing `sql` with message `detail`; `bad_value` when the engine
    recognised a value's conversion or range failure, `mismatch` when it refused to compare or
    combine two types. The compiler's own SQL is type-checked by the golden tests on every engine,
    so a mismatch comes from the caller's filter text (a text member compared with a number, which
    the compiler cannot see: an undeclared type reads as text) — still logged with an incident id."""
    if bad_value:
        log.info("%s could not convert a value (answered VALIDATION): %s", server, detail)
        return QueryValidationError(BAD_VALUE)
    incident = new_incident()
    if mismatch:
        log.warning(
            "incident %s: %s refused to compare types (answered VALIDATION): %s\n%s", incident, server, detail, sql
        )
        return QueryValidationError(
            f"the database will not compare values of different types here (incident "
            f"{incident}): a filter compares a member with a value or member of another "
            "type — write values in the member's type, or CAST one side"
        )
    log.error("incident %s: %s refused the statement: %s\n%s", incident, server, detail, sql)
    return ExecutionError(f"the database refused the query (incident {incident}) — its message is in the log")
