"""Types in filter strings, checked before the database sees them.

A filter string is the caller's own SQL, and the database would refuse `orders.amount LIKE 'x'` or
`UPPER(orders.signed_at)` with a binder error in its own words — answered as our failure, since we
cannot tell it from a compiler bug. So the common mistakes are found here, from the members' declared
types, and refused as the caller's: text operations on a number, time or boolean member, calendar
functions on a member that is not a time, arithmetic on booleans, and comparisons of two members of
types that never compare. Values are checked elsewhere (per query, as they are bound); a member of
type string proves nothing (it is also the default type), so it passes every check.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from ..errors import QueryValidationError
from .members import ref_of

MemberType = Callable[[str], str | None]

_TEXT_FUNCTIONS = (exp.Lower, exp.Upper, exp.Trim, exp.Length, exp.Substring, exp.StrPosition)
_TIME_FUNCTIONS = (
    exp.Year,
    exp.Month,
    exp.Day,
    exp.Quarter,
    exp.DayOfWeek,
    exp.TimestampTrunc,
    exp.DateTrunc,
    exp.Date,
    exp.Extract,
)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ)
_KNOWN = ("number", "time", "boolean")  # 'string' and undeclared types say nothing


def check_filter_types(tree: exp.Expr, member_type: MemberType, *, what: str, original: str) -> None:
    """Raise VALIDATION, naming the member and the fix, for the first type mistake in `tree`."""
    for node in tree.walk():
        mistake = _mistake(node, member_type)
        if mistake is not None:
            raise QueryValidationError(f"{what} '{original}': {mistake}")


def _mistake(node: exp.Expr, member_type: MemberType) -> str | None:
    """What is wrong with this one node's use of its typed member operands, if anything."""
    if isinstance(node, exp.Like | exp.ILike):
        return _needs_text(node.this, member_type, "LIKE compares text")
    if isinstance(node, _TEXT_FUNCTIONS):
        return _needs_text(node.this, member_type, f"{node.sql_name()} takes text")
    if isinstance(node, _TIME_FUNCTIONS):
        found = _typed_member(node.expression if isinstance(node, exp.Extract) else node.this, member_type)
        if found is not None and found[1] != "time":
            return f"{node.sql_name()} takes a time, and '{found[0]}' is a {found[1]}"
    elif isinstance(node, _ARITHMETIC):
        return _arithmetic_mistake(node, member_type)
    elif isinstance(node, _COMPARISONS):
        left, right = _typed_member(node.this, member_type), _typed_member(node.expression, member_type)
        if left is not None and right is not None and left[1] != right[1]:
            return f"'{left[0]}' is a {left[1]} and '{right[0]}' a {right[1]}: they never compare"
    return None


def _arithmetic_mistake(node: exp.Expr, member_type: MemberType) -> str | None:
    """Booleans take no arithmetic; times only an added or subtracted interval."""
    for side in (node.this, node.expression):
        found = _typed_member(side, member_type)
        if found is not None and (
            found[1] == "boolean" or (found[1] == "time" and not isinstance(node, (exp.Add, exp.Sub)))
        ):
            return f"'{found[0]}' is a {found[1]}, which {node.key.upper()} cannot take"
    return None


def _needs_text(node: exp.Expr, member_type: MemberType, rule: str) -> str | None:
    found = _typed_member(node, member_type)
    if found is None:
        return None
    return (
        f"{rule}, and '{found[0]}' is a {found[1]} — compare it with =, <, BETWEEN or IN, or write "
        f"CAST({found[0]} AS VARCHAR)"
    )


def _typed_member(node: exp.Expr | None, member_type: MemberType) -> tuple[str, str] | None:
    """(ref, type) when `node` is a member ref of a number, time or boolean type."""
    inner = node.unnest() if isinstance(node, exp.Expr) else None
    if not isinstance(inner, exp.Column):
        return None
    ref = ref_of(inner)
    kind = member_type(ref)
    return (ref, kind) if kind in _KNOWN else None
