"""Which columns a model is known to have, and which columns a row policy reads.

A row policy is SQL over its model's columns. A misspelled column passes the parser and only fails
in the database, on every query of every caller with that role, so policies are checked at load
time against the columns the project knows and, with `validate --warehouse`, against the tables.

Without the warehouse a `table:` model's columns are known only through its definitions (primary
key, time, dimensions, measures, segments, its side of its joins); a `sql:` model's are the names
its statement selects, when it selects no `*`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from . import definitions as d
from .access import CLAIM_RE
from .checks import check_columns
from .compiler.scope import parse_snippet_query
from .graph import SemanticGraph
from .snippets import column_parts, parse_snippet


@dataclass(frozen=True)
class KnownColumns:
    """A model's columns as far as the project tells, where they come from, and how to add one."""

    names: frozenset[str]
    source: str
    fix: str

    def __contains__(self, column: object) -> bool:
        return isinstance(column, str) and column.lower() in {name.lower() for name in self.names}


def known_columns(model: d.Model, dialect: str) -> KnownColumns:
    """Raises the parse error of a definition that does not parse (reported where it is written)."""
    if model.sql is not None:
        query = parse_snippet_query(model.sql, dialect)
        if not query.is_star:
            return KnownColumns(
                frozenset(query.named_selects),
                f"the columns the sql of '{model.name}' selects",
                f"select the column in the sql of '{model.name}'",
            )
    return KnownColumns(
        columns_read(model, dialect),
        f"the columns the key, time, dimensions, measures, segments and joins of '{model.name}' read",
        f"declare the column as a dimension of '{model.name}' if its source has it",
    )


def columns_read(model: d.Model, dialect: str) -> frozenset[str]:
    """The columns of its own source that a model's definitions read."""
    dimensions = {dim.name for dim in model.dimensions}
    used = set(model.primary_keys) | ({model.time} if model.time and model.time not in dimensions else set())
    snippets = [dim.sql for dim in model.dimensions] + [s.where for s in model.segments]
    snippets += [t for m in model.measures for t in (m.expr, m.filter) if t]
    for text in snippets:
        used |= _own_columns(parse_snippet(text, dialect), {model.name})
    for join in model.joins:
        sides = {model.name} | ({join.alias} if join.model == model.name else set())
        used |= _own_columns(parse_snippet(join.on, dialect), sides)
    for check in model.checks:
        used.update(check_columns(check))
    return frozenset(used)


def rule_columns(graph: SemanticGraph, model: str, where: str) -> list[tuple[str, str]]:
    """(model, column) for each column a row policy's `where` reads: a bare column is `model`'s,
    `join.column` the joined model's. Raises the resolution error the compiler would."""
    tree = parse_snippet(CLAIM_RE.sub("NULL", where), graph.settings.dialect)
    out = []
    for column in tree.find_all(exp.Column):
        parts = column_parts(column)
        own = len(parts) == 1 or (len(parts) == 2 and parts[0] == model)
        path = () if own else graph.resolve_path(model, parts[:-1], what=f"column '{column.sql()}'")
        out.append((path[-1].target if path else model, parts[-1]))
    return out


def _own_columns(tree: exp.Expr, names: set[str]) -> set[str]:
    """Columns of `tree` that are bare or qualified by one of `names`."""
    out = set()
    for column in tree.find_all(exp.Column):
        parts = column_parts(column)
        if len(parts) == 1 or (len(parts) == 2 and parts[0] in names):
            out.add(parts[-1])
    return out
