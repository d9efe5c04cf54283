"""sqlglot nodes built directly, for the builder calls that would parse a string to make them.

sqlglot's builders accept text (`from_("r")`, `join(..., join_type="left")`, `to_table("u0")`,
`with_("r", ...)`) and parse it, each time with a new tokenizer and parser: a third of a new
shape's compile went there. The compiler names its own CTEs and joins, so it builds those nodes
itself; each helper makes exactly the tree the builder's parse would.
"""

from __future__ import annotations

from sqlglot import exp


def table(name: str) -> exp.Table:
    """A table or CTE the compiler named (a plain identifier, never a dotted path)."""
    return exp.Table(this=exp.to_identifier(name))


def table_alias(name: str) -> exp.TableAlias:
    return exp.TableAlias(this=exp.to_identifier(name))


def left_join(select: exp.Select, source: exp.Expr, on: exp.Expr) -> exp.Select:
    """`select` (changed in place) LEFT JOINed to `source` ON `on`."""
    select.append("joins", exp.Join(this=source, side="LEFT", on=on))
    return select


def inner_join(select: exp.Select, source: exp.Expr, on: exp.Expr) -> exp.Select:
    """`select` (changed in place) JOINed to `source` ON `on`."""
    select.append("joins", exp.Join(this=source, on=on))
    return select


def cross_join(select: exp.Select, source: exp.Expr) -> exp.Select:
    """`select` (changed in place) CROSS JOINed to `source`."""
    select.append("joins", exp.Join(this=source, kind="CROSS"))
    return select
