"""What an import could not carry over, each item at the file and line it was written at.

An item that would mean different numbers here is left out and listed, never imported as
something close: the list is the migration's to-do list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .dbt_project import Node


class Unmappable(Exception):
    """Why one definition cannot be imported, and which of its keys says so."""

    def __init__(self, reason: str, *key: str | int):
        super().__init__(reason)
        self.reason = reason
        self.key = key

    def at(self, *prefix: str | int) -> Unmappable:
        """The same reason, located under a parent key (a measure inside its semantic model)."""
        return Unmappable(self.reason, *prefix, *self.key)


@dataclass(frozen=True)
class Unmapped:
    file: str
    line: int
    kind: str  # semantic model, measure, join, metric, saved query
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kind} '{self.name}' not imported — {self.reason}"


@dataclass
class Report:
    items: list[Unmapped] = field(default_factory=list)

    def add(self, node: Node, kind: str, why: Unmappable, *, name: str | None = None) -> None:
        file, line = node.where(*why.key)
        self.items.append(Unmapped(file, line, kind, name or node.name, why.reason))

    def not_imported(self, kind: str) -> list[str]:
        return [item.name for item in self.items if item.kind == kind]

    def markdown(self, source: str) -> str:
        """The report file: what was left out of the import of `source`, and why."""
        lines = [f"# Import report: {source}", ""]
        if not self.items:
            return "\n".join([*lines, "Everything was imported.", ""])
        lines += [
            "These definitions were not imported: each would give different numbers here, or has no "
            "counterpart. Define them by hand (see docs/metricflow.md), or change them in dbt and import again.",
            "",
            "| where | what | why |",
            "|---|---|---|",
        ]
        for item in sorted(self.items, key=lambda i: (i.file, i.line)):
            reason = item.reason.replace("|", "\\|")
            lines.append(f"| {item.file}:{item.line} | {item.kind} `{item.name}` | {reason} |")
        return "\n".join([*lines, ""])
