"""Access policies (docs/yaml-reference.md, Policies): who may see which rows and members.

A caller is a `Principal` (roles and claims, usually from a JWT). `AccessRules.context_for` turns it
into an `AccessContext` or refuses it — fail closed: an unknown role or a claim a policy needs but
the token lacks is FORBIDDEN; no caller and no default role is UNAUTHENTICATED. Several roles
combine with OR: a member is hidden only if every role hides it, and a model's rows are visible if
any role's filters admit them. Claims become bound values, never SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import definitions as d
from .errors import ForbiddenError, UnauthenticatedError
from .graph import SemanticGraph

CLAIM_RE = re.compile(r"\{\{\s*user\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
CLAIM_MARKER = "__claim_"


@dataclass(frozen=True)
class Principal:
    roles: tuple[str, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RowRule:
    """A role's row filter: `where` over the columns of `model`, claims as `:__claim_<name>` markers."""

    model: str
    where: str
    claims: tuple[str, ...]
    role: str  # whose rule it is: named when the rule cannot be applied to a query


@dataclass(frozen=True)
class AccessContext:
    """What one caller may see. `key` identifies the view (roles) for compile caches."""

    roles: frozenset[str]
    hidden: frozenset[str]
    row_rules: tuple[tuple[RowRule, ...], ...]  # per role; an empty tuple is an unrestricted role
    claims: Mapping[str, Any]

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(sorted(self.roles))

    @property
    def claim_names(self) -> tuple[str, ...]:
        return tuple(sorted({c for rules in self.row_rules for rule in rules for c in rule.claims}))


class AccessRules:
    """The project's policies, indexed by role."""

    def __init__(self, policies: list[d.Policy], default_role: str | None):
        self.policies = {p.role: p for p in policies}
        self.default_role = default_role

    @property
    def open(self) -> bool:
        return not self.policies

    def context_for(self, principal: Principal | None) -> AccessContext | None:
        """None for an open project (no policies); otherwise the caller's view, or an error."""
        if self.open:
            return None
        if principal is None:
            if self.default_role is None:
                raise UnauthenticatedError(
                    "this project requires a token: send 'Authorization: Bearer <JWT>' "
                    "(mint one for development with 'semantic-layer token --role R')"
                )
            principal = Principal((self.default_role,), {})
        if not principal.roles:
            raise ForbiddenError(
                "the token names no roles — add a 'roles' claim listing at least one of: "
                + ", ".join(sorted(self.policies))
            )
        unknown = [r for r in principal.roles if r not in self.policies]
        if unknown:
            known = ", ".join(sorted(self.policies))
            raise ForbiddenError(f"unknown role '{unknown[0]}' — this project knows: {known}")
        rules: list[tuple[RowRule, ...]] = []
        hidden: set[str] | None = None
        for role in principal.roles:
            policy = self.policies[role]
            rules.append(tuple(_row_rule(role, row, principal.claims) for row in policy.rows))
            hidden = set(policy.hide) if hidden is None else hidden & set(policy.hide)
        return AccessContext(frozenset(principal.roles), frozenset(hidden or ()), tuple(rules), dict(principal.claims))


def _row_rule(role: str, row: d.RowPolicy, claims: Mapping[str, Any]) -> RowRule:
    """A policy row with its `{{ user.x }}` claims turned into placeholders the caller's values bind to."""
    names = tuple(CLAIM_RE.findall(row.where))
    for name in names:
        value = claims.get(name)
        if value is None:
            raise ForbiddenError(
                f"role '{role}' needs the claim '{name}' (for model '{row.model}'), which the token lacks"
            )
        if not isinstance(value, str | int | float | bool):
            raise ForbiddenError(f"claim '{name}' must be a single value, not {type(value).__name__}")
    return RowRule(row.model, CLAIM_RE.sub(lambda m: f":{CLAIM_MARKER}{m.group(1)}", row.where), names, role)


def restricted_graph(graph: SemanticGraph, hidden: frozenset[str]) -> SemanticGraph:
    """The graph without hidden metrics and dimensions: they resolve exactly like members that do not exist."""
    if not hidden:
        return graph
    models = {}
    for name, model in graph.models.items():
        dims = [dim for dim in model.dimensions if f"{name}.{dim.name}" not in hidden]
        models[name] = model if len(dims) == len(model.dimensions) else model.model_copy(update={"dimensions": dims})
    metrics = {n: m for n, m in graph.metrics.items() if n not in hidden}
    return SemanticGraph(graph.settings, models, metrics)
