"""Member refs inside filter trees, resolved against a unit's base model.

A filter is first *resolved* (which path does each ref take?) without touching any FROM clause, so
the unit builder can decide whether the filter belongs inline or in a semi-join; it is then
*bound* into the chosen scope, which rewrites each ref into the dimension's SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ..errors import QueryValidationError, UnknownMemberError
from ..graph import Path, ResolvedDimension, SemanticGraph
from ..snippets import column_parts, map_columns
from ..timegrain import GRAINS, Calendar, Offset, shift
from .scope import JoinScope

MEMBER_GRAIN_SEP = ":"


def split_grain(ref: str) -> tuple[str, str | None]:
    member, sep, grain = ref.partition(MEMBER_GRAIN_SEP)
    if not sep:
        return member, None
    if grain not in GRAINS:
        raise QueryValidationError(f"unknown time grain '{grain}' in '{ref}' — use one of: {', '.join(GRAINS)}")
    return member, grain


def member_column(ref: str) -> exp.Column:
    """A structured filter's member as a one-part column the binder recognises."""
    return exp.Column(this=exp.Identifier(this=ref, quoted=True))


def ref_of(column: exp.Column) -> str:
    return ".".join(column_parts(column))


@dataclass(frozen=True)
class MemberRef:
    ref: str
    grain: str | None
    dimension: ResolvedDimension  # metric_time resolves to the base model's time dimension
    metric_time: bool

    @property
    def path(self) -> Path:
        return self.dimension.path


def resolve_member(graph: SemanticGraph, base: str, ref: str) -> MemberRef:
    member, grain = split_grain(ref)
    if member == "metric_time":
        dim = ResolvedDimension((), base, graph.time_dimension(base))
        return MemberRef(ref, grain, dim, True)
    if "." not in member:
        raise UnknownMemberError(f"unknown member '{ref}' — name dimensions as 'model.dimension' (or 'metric_time')")
    resolved = graph.resolve_dimension(base, member)
    if grain is not None and resolved.dimension.type != "time":
        raise QueryValidationError(
            f"'{ref}': only time dimensions take a grain; '{member}' is {resolved.dimension.type}"
        )
    return MemberRef(ref, grain, resolved, False)


def resolve_tree(graph: SemanticGraph, base: str, tree: exp.Expr) -> list[MemberRef]:
    return [resolve_member(graph, base, ref_of(c)) for c in tree.find_all(exp.Column)]


def member_value(scope: JoinScope, member: MemberRef, calendar: Calendar, offset: Offset) -> exp.Expr:
    """The SQL of a member in `scope`. In an offset unit metric_time is the period it reports at."""
    if member.dimension.dimension.type == "time":
        value = scope.time_value(member.dimension, calendar, member.grain)
        if member.metric_time and offset:
            value = shift(value, offset)
        return value
    return scope.dimension(member.dimension)


def bind_tree(
    scope: JoinScope, tree: exp.Expr, members: tuple[MemberRef, ...], calendar: Calendar, offset: Offset
) -> exp.Expr:
    """A copy of `tree` with each column replaced by its member's SQL; `members` are the columns'
    members as `resolve_tree` found them (a copy's columns come in the same order)."""
    values = iter(members)

    def value(column: exp.Column) -> exp.Expr:
        return exp.paren(member_value(scope, next(values), calendar, offset), copy=False)

    return map_columns(tree.copy(), value)
