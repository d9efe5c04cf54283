"""What a new version of a project would let callers see that the running version does not.

A hot reload must never switch access control off: a policies file truncated by an editor, deleted
by a careless merge or emptied by a bad template would otherwise open every row to every caller
the moment it is saved. The server compares the versions with `widenings` and keeps serving the
old one when the list is not empty (unless started with `--allow-widening`); narrowing changes (a
new row rule, a new hidden member, a role removed) take effect at once.
"""

from __future__ import annotations

from .errors import Issue
from .project import Project


def widenings(old: Project, new: Project) -> list[Issue]:
    """Every way `new` grants more than `old`, located where the old grant or the new one is written."""
    if not old.policies:
        return []  # an open project cannot widen
    found: list[Issue] = []
    settings_file = str(new.root / "semantic_layer.yml")
    if not new.policies:
        found.append(
            Issue(
                settings_file,
                0,
                0,
                "the new version has no access policies, so every caller would see "
                "every row: restore the policies, or restart the server to open "
                "the project on purpose",
            )
        )
        return found
    before = {p.role: p for p in old.policies}
    after = {p.role: p for p in new.policies}
    for role, policy in after.items():
        file, line, column = new.policy_locations[role]
        previous = before.get(role)
        if previous is None:
            found.append(Issue(file, line, column, f"role '{role}' is new: tokens naming it were refused before"))
            continue
        kept = {(r.model, r.where) for r in policy.rows}
        for rule in previous.rows:
            if (rule.model, rule.where) not in kept:
                found.append(
                    Issue(
                        file, line, column, f"role '{role}' would lose its row filter on '{rule.model}' ({rule.where})"
                    )
                )
        for member in sorted(set(previous.hide) - set(policy.hide)):
            if new.graph.has_member(member):
                found.append(Issue(file, line, column, f"role '{role}' would no longer hide '{member}'"))
    default_before, default_after = old.settings.default_role, new.settings.default_role
    if default_after is not None and default_after != default_before:
        was = "were refused" if default_before is None else f"had role '{default_before}'"
        found.append(
            Issue(settings_file, 0, 0, f"requests without a token would get role '{default_after}' (they {was})")
        )
    return found
