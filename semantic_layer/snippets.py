"""SQL snippets from YAML (`expr`, `filter`, `where`, `on`), parsed once with sqlglot.

Snippets are written in the project dialect and rendered in whatever dialect a query targets, so
they are kept as expression trees, never as text to paste. Parsing is memoised: the same snippet
text appears in many compiled queries and sqlglot's parser is the costly step.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.expressions.core import POSITION_META_KEYS

E = TypeVar("E", bound=exp.Expr)


class SnippetError(ValueError):
    """A snippet that does not parse, or parses to something that is not one expression."""

    def __init__(self, sql: str, reason: str):
        self.sql, self.reason = sql, reason
        super().__init__(f"'{sql}' {reason}")


@lru_cache(maxsize=8192)
def _parse_cached(sql: str, dialect: str) -> exp.Expr:
    try:
        parsed = sqlglot.parse(sql, read=dialect)
    except ParseError as exc:
        detail = exc.errors[0]["description"] if exc.errors else str(exc)
        raise SnippetError(sql, f"is not valid SQL: {detail}") from None
    if len(parsed) != 1 or parsed[0] is None:
        raise SnippetError(sql, f"must be a single SQL expression, not {len(parsed)} statements")
    tree = parsed[0]
    if isinstance(tree, exp.Query | exp.Command | exp.DDL | exp.DML):
        raise SnippetError(sql, f"must be an expression, not a {tree.key.upper()} statement")
    return without_positions(portable(tree))


def without_positions(tree: E) -> E:
    """`tree` without the parser's source positions (line, column, offsets), which no SQL is
    rendered from: a tree kept to be copied again and again copies twice as fast without them."""
    for node in tree.walk():
        meta = node._meta
        if meta:
            for key in POSITION_META_KEYS:
                meta.pop(key, None)
            if not meta:
                node._meta = None
    return tree


def portable(tree: exp.Expr) -> exp.Expr:
    """Rewrite dialect idioms into nodes sqlglot can render everywhere.

    `(ts AT TIME ZONE 'UTC') AT TIME ZONE 'Asia/Shanghai'` is how DuckDB and PostgreSQL convert a
    naive UTC timestamp to local time; MySQL has no AT TIME ZONE, but sqlglot renders the equivalent
    CONVERT_TIMEZONE node as CONVERT_TZ there.
    """

    def rewrite(node: exp.Expr) -> exp.Expr:
        inner = node.this.unnest() if isinstance(node, exp.AtTimeZone) else None
        if isinstance(inner, exp.AtTimeZone):
            return exp.ConvertTimezone(source_tz=inner.args["zone"], target_tz=node.args["zone"], timestamp=inner.this)
        return node

    return tree.transform(rewrite, copy=False)


def parse_snippet(sql: str, dialect: str) -> exp.Expr:
    """A fresh copy of the parsed snippet (callers rewrite columns in place)."""
    return _parse_cached(str(sql), dialect).copy()


def column_parts(column: exp.Column) -> list[str]:
    """`a.b.c` → ['a', 'b', 'c'] (catalog, db, table, name order)."""
    return [part.name for part in column.parts]


def map_columns(tree: exp.Expr, fn: Callable[[exp.Column], exp.Expr]) -> exp.Expr:
    """Replace every column with `fn(column)`; returns the new root (the tree may be one column)."""
    if isinstance(tree, exp.Column):
        return fn(tree)
    for column in list(tree.find_all(exp.Column)):
        column.replace(fn(column))
    return tree
