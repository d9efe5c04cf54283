"""Where each condition goes: inline, or into a correlated semi-join (docs/semantics.md, fan-out).

- a condition that reaches a one_to_many model the dimensions do not already join becomes a
  correlated EXISTS (a semi-join: "has at least one matching row");
- a condition on a one_to_many path the dimensions do join is applied inline, so condition and
  dimension speak of the same joined row.

Filters are ANDed, so they hold for one joined row wherever their paths agree, exactly as if they
were written as one string with AND: every condition (where strings, structured filters, segments,
metric filters) that leaves the dimensions' joined rows through the same one_to_many hop goes into
one semi-join, in which each path is joined once. So two conditions on `order_lines` hold for one
line, and so do one on the line's part and one on its ship mode; one on `order_lines` and one on
`order_lines.shipments` hold for a line with such a shipment; two on `order_lines.shipments` hold
for one shipment. Below the shared hop, conditions share exactly the rows their paths share: two
on different one_to_many hops of the line would hold for one line, each for some row of its own.
Conditions on different one_to_many hops of the base (lines, payments) stay separate semi-joins,
each "has at least one". A semi-join below a hop the dimensions join is also correlated on that
hop's row, so it speaks of the dimension's line, not of any line of the order. Row policies take
to-one paths only and are always inline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlglot import exp

from ..graph import Path
from .members import MemberRef
from .scope import JoinScope


@dataclass
class Condition:
    """A WHERE conjunct and the join paths it needs, bindable into any scope of the same base."""

    paths: list[Path]
    bind: Callable[[JoinScope], exp.Expr]


def fanout_prefixes(members: Iterable[MemberRef]) -> set[Path]:
    return {m.path[:end] for m in members for end in range(1, len(m.path) + 1)}


def fanout_key(path: Path, joined: set[Path]) -> Path | None:
    """The prefix of `path` through its first one_to_many hop the dimensions do not join.

    None when the dimensions join every one_to_many hop of the path: a condition on it then reads
    the dimensions' own joined row and is safe inline.
    """
    for end, step in enumerate(path, start=1):
        if step.fans_out and path[:end] not in joined:
            return path[:end]
    return None


def semi_join_groups(conds: list[Condition], joined: set[Path]) -> dict[int, list[int]]:
    """The conditions that must share one semi-join: index of the group's first condition → members.

    Conditions whose paths leave the joined rows through the same one_to_many hop share it; a
    condition reaching several such hops (one where string over lines and payments) links their
    groups into one, as its single semi-join always did. Conditions absent from every group are
    applied inline.
    """
    groups: list[tuple[set[Path], list[int]]] = []
    for n, cond in enumerate(conds):
        keys = {key for key in (fanout_key(p, joined) for p in cond.paths) if key is not None}
        if not keys:
            continue
        linked = [g for g in groups if g[0] & keys]
        groups = [g for g in groups if not g[0] & keys]
        groups.append((keys.union(*(k for k, _ in linked)), sorted([m for _, ms in linked for m in ms] + [n])))
    return {members[0]: members for _, members in groups}


def apply_conditions(
    scope: JoinScope, conds: list[Condition], joined: set[Path], *, correlated: bool = True
) -> list[exp.Expr]:
    """The WHERE conjuncts, in the order of the conditions; a group's semi-join where its first one is
    (a correlated EXISTS, or where the target cannot correlate one, `keys IN (subquery)`)."""
    groups = semi_join_groups(conds, joined)
    grouped = {n for members in groups.values() for n in members}
    build = semi_join if correlated else semi_join_in
    out = []
    for n, cond in enumerate(conds):
        if n in groups:
            out.append(build(scope, [conds[m] for m in groups[n]], joined, f"s{n}_"))
        elif n not in grouped:
            out.append(cond.bind(scope))
    return out


def semi_join(outer: JoinScope, conds: list[Condition], joined: set[Path], prefix: str) -> exp.Expr:
    """EXISTS over the base model joined to the conditions' paths, all of them true of one joined row.

    Correlated on the base's primary key, and on the primary key of each one_to_many hop the
    conditions pass through that the dimensions join (the outer row's line, not just any line of
    the order). Those keys compare null-safe: on an order without lines the outer line is the
    LEFT JOIN's missing row, and an inline condition would be evaluated on that row too.
    """
    inner = JoinScope(outer.graph, outer.base, prefix=prefix)
    where = [cond.bind(inner) for cond in conds]
    keys: list[exp.Expr] = [
        exp.EQ(this=i, expression=o) for i, o in zip(inner.primary_key(), outer.primary_key(), strict=True)
    ]
    for hop in shared_hops(conds, joined):
        inner.need(hop)
        keys += [
            exp.NullSafeEQ(this=i, expression=o)
            for i, o in zip(inner.primary_key(hop), outer.primary_key(hop), strict=True)
        ]
    sub = inner.apply_from(exp.select(exp.Literal.number(1))).where(exp.and_(*keys, *where), copy=False)
    return exp.Exists(this=sub)


def semi_join_in(outer: JoinScope, conds: list[Condition], joined: set[Path], prefix: str) -> exp.Expr:
    """The same semi-join, uncorrelated: the outer row's keys IN the keys of the inner rows for which
    the conditions hold. A hop's key is compared inside a one-element array: an IN set never matches
    a NULL, and an array holding NULL matches an equal one (the null-safe comparison EXISTS makes)."""
    inner = JoinScope(outer.graph, outer.base, prefix=prefix)
    where = [cond.bind(inner) for cond in conds]
    pairs: list[tuple[exp.Expr, exp.Expr]] = list(zip(inner.primary_key(), outer.primary_key(), strict=True))
    for hop in shared_hops(conds, joined):
        inner.need(hop)
        pairs += [
            (exp.Array(expressions=[i]), exp.Array(expressions=[o]))
            for i, o in zip(inner.primary_key(hop), outer.primary_key(hop), strict=True)
        ]
    sub = inner.apply_from(exp.select(*(i for i, _ in pairs))).where(exp.and_(*where), copy=False)
    keys = [o for _, o in pairs]
    return exp.In(this=keys[0] if len(keys) == 1 else exp.Tuple(expressions=keys), query=sub.subquery(copy=False))


def shared_hops(conds: list[Condition], joined: set[Path]) -> list[Path]:
    """The joined one_to_many hops (as path prefixes) the conditions' paths pass through, in order."""
    hops = {
        path[:end]: None
        for cond in conds
        for path in cond.paths
        for end, step in enumerate(path, start=1)
        if step.fans_out and path[:end] in joined
    }
    return list(hops)
