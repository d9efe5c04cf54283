"""Row policies as conditions of a unit (docs/semantics.md, row-level security): which paths carry
them to a unit's model (resolved into the plan), and their SQL in a scope (bound by the builders)."""

from __future__ import annotations

from sqlglot import exp

from ..access import CLAIM_MARKER, RowRule
from ..errors import ForbiddenError
from ..graph import Path, SemanticGraph
from .context import UnitContext
from .lineage import filtered_table_read
from .plan import RowPolicyCondition, RowSecurity
from .scope import JoinScope


def row_policy_condition(graph: SemanticGraph, base: str, security: RowSecurity | None) -> RowPolicyCondition | None:
    """Row policies reach `base` along every to-one path to the filtered model (docs/semantics.md).

    A role none of whose rules reach `base`, and whose filtered tables `base` does not read, sees
    all of its rows, so the OR across roles is then true and no condition is added. A rule that
    cannot reach a `base` reading the rows it filters cannot be applied: the query is refused
    rather than answered with those rows unfiltered.
    """
    if security is None:
        return None
    per_role: list[tuple[tuple[Path, RowRule], ...]] = []
    stranded: list[tuple[RowRule, str]] = []
    for rules in security.rules:
        reached, missed = _reach(graph, base, rules)
        if not reached and not missed:
            return None
        per_role.append(tuple(reached))
        stranded += missed
    if stranded:
        rule, table = stranded[0]
        raise ForbiddenError(
            f"role '{rule.role}' may not query model '{base}': it reads table '{table}', whose rows "
            f"that role sees only through the row policy on model '{rule.model}', and '{base}' has "
            f"no to-one join path to '{rule.model}' to apply it on — the project needs a "
            f"many_to_one join from '{base}' to '{rule.model}'"
        )
    return RowPolicyCondition(tuple(per_role))


def _reach(
    graph: SemanticGraph, base: str, rules: tuple[RowRule, ...]
) -> tuple[list[tuple[Path, RowRule]], list[tuple[RowRule, str]]]:
    """One role's rules as (path, rule) to apply to `base`, and (rule, table read) for each rule
    that no path carries to a `base` reading the rows it filters."""
    reached: list[tuple[Path, RowRule]] = []
    missed: list[tuple[RowRule, str]] = []
    for rule in rules:
        paths = to_one_paths(graph, base, rule.model)
        reached += [(path, rule) for path in paths]
        table = None if paths else filtered_table_read(graph, base, rule.model)
        if table is not None:
            missed.append((rule, table))
    return reached, missed


def to_one_paths(graph: SemanticGraph, base: str, model: str) -> list[Path]:
    """The nearest to-one paths from `base` to `model` (all of them when several are equally near).

    Farther paths are left alone: a ticket whose order is missing is still its own customer's ticket.
    """
    if base == model:
        return [()]
    paths = [p for p in graph.walk(base) if p[-1].target == model and not any(s.fans_out for s in p)]
    nearest = min((len(p) for p in paths), default=0)
    return [p for p in paths if len(p) == nearest]


def bind_row_policies(scope: JoinScope, cond: RowPolicyCondition, ctx: UnitContext) -> exp.Expr:
    """Each role's rules ANDed, the roles ORed; claims become the query's value slots."""
    security = ctx.plan.row_security
    assert security is not None
    roles = []
    for reached in cond.per_role:
        parts = []
        for path, rule in reached:
            tree = scope.snippet(rule.where, path)
            for node in list(tree.find_all(exp.Placeholder)):
                name = str(node.name).removeprefix(CLAIM_MARKER)
                node.replace(ctx.params.slot(security.claim_slots[name]))
            parts.append(exp.paren(tree, copy=False))
        roles.append(exp.paren(exp.and_(*parts), copy=False))
    return exp.paren(exp.or_(*roles), copy=False)
