"""The keys a project promises, as the data must keep them (for `validate --warehouse`).

A join declared many_to_one (or one_to_one) promises that each row finds at most one row on its
"one" side; a primary key promises one row per key. When the data breaks either promise nothing
fails: every number reached through the join, or counted by the key, is silently multiplied. Each
key is checked with one grouped query that returns at most one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from . import definitions as d
from .snippets import map_columns, parse_snippet

KeyIdentity = tuple[str, tuple[str, ...], tuple[str, ...]]
# Which sides of a join its relationship declares to hold one row per key.
ONE_SIDES = {"many_to_one": ("target",), "one_to_one": ("target", "source"), "one_to_many": ()}


@dataclass(frozen=True)
class KeySide:
    """Rows of `model` (those `where` keeps) that must be unique on `keys`; both are written over
    the model's own columns, unqualified."""

    model: str
    keys: tuple[exp.Expr, ...]
    where: tuple[exp.Expr, ...] = ()

    @property
    def identity(self) -> KeyIdentity:
        """Equal for the same check: a primary key that is also a join's key is queried once."""
        return self.model, tuple(k.sql() for k in self.keys), tuple(w.sql() for w in self.where)

    def columns(self) -> set[str]:
        return {c.name for e in (*self.keys, *self.where) for c in e.find_all(exp.Column)}

    def shown(self, dialect: str) -> str:
        """The key as written in messages: `customer_id`, or `(order_id, line_no)`."""
        names = [k.sql(dialect) for k in self.keys]
        return names[0] if len(names) == 1 else f"({', '.join(names)})"


@dataclass(frozen=True)
class Repeats:
    """What the data holds against a key: how many non-NULL key values have several rows, one such
    value (with its row count), and how many rows have a NULL in the key."""

    values: int
    example: tuple[Any, ...]
    example_rows: int
    null_rows: int

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]], width: int) -> Repeats:
        """Read the answer of `repeats_query` (no row: the key holds)."""
        if not rows:
            return cls(0, (), 0, 0)
        row = rows[0]
        return cls(
            int(row["sl_repeated"] or 0),
            tuple(row[f"sl_key_{i}"] for i in range(width)),
            int(row["sl_rows"]),
            int(row["sl_null_rows"] or 0),
        )

    def summary(self, side: KeySide, dialect: str) -> str:
        """'3 key values have several rows (e.g. 2 rows have customer_id = 7)'."""
        many = "1 key value has" if self.values == 1 else f"{self.values} key values have"
        example = ", ".join(
            f"{k.sql(dialect)} = {v!r}" if isinstance(v, str) else f"{k.sql(dialect)} = {v}"
            for k, v in zip(side.keys, self.example, strict=True)
        )
        return f"{many} several rows (e.g. {self.example_rows} rows have {example})"


def consequence(model: d.Model, join: d.Join, side: str) -> str:
    """What a repeated key on `side` ('source' or 'target') of a join does, and the fix."""
    if side == "source":  # only one_to_one promises a unique declaring side
        return (
            f"so a row of '{join.model}' matches several rows of '{model.name}' — declare relationship: "
            "many_to_one, or fix the data or the key"
        )
    return (
        "so every number reached through this join is multiplied — many_to_many is not supported: declare the "
        "join one_to_many from the other side, or fix the data or the key"
    )


def primary_key_side(model: d.Model) -> KeySide:
    return KeySide(model.name, tuple(exp.column(k) for k in model.primary_keys))


def one_sides(model: d.Model, join: d.Join, dialect: str) -> list[tuple[str, KeySide]]:
    """('target' | 'source', side) for each side of `join` its relationship declares "one", keyed by
    the columns the `on` matches it by. Nothing when the `on` is not a conjunction of equalities between
    the two sides (plus conditions on one side only, which narrow that side's rows): the key of a
    range join is not a plain key, and checking its equality columns alone would refuse good joins."""
    wanted = ONE_SIDES[join.relationship]
    sides = _split_on(model.name, join, dialect) if wanted else None
    return [(name, sides[name]) for name in wanted] if sides is not None else []


def target_columns(model: d.Model, join: d.Join, dialect: str) -> set[str]:
    """The columns `join.on` reads on the joined model's side."""
    tree = parse_snippet(join.on, dialect)
    return {c.name for c in tree.find_all(exp.Column) if _side(c, model.name, join) == "target"}


def repeats_query(side: KeySide, source: exp.Expr) -> exp.Select:
    """At most one row: the first key value held by several rows, its row count, how many such
    values there are, and how many rows have a NULL in the key.

    One scan and one GROUP BY: HAVING keeps the repeated keys and the groups with a NULL part (few
    unless the data is broken), and window sums count them before LIMIT 1 keeps the first. A NULL
    key never matches a join, so it is not counted as a repeat.
    """
    keys = list(side.keys)
    is_null = exp.or_(*(exp.Is(this=k.copy(), expression=exp.null()) for k in keys))
    rows = exp.Count(this=exp.Star())

    def when_null(then: exp.Expr, otherwise: exp.Expr) -> exp.Expr:
        return exp.case().when(is_null.copy(), then).else_(otherwise)

    zero, one = exp.Literal.number(0), exp.Literal.number(1)
    return (
        exp.select(
            *(k.copy().as_(f"sl_key_{i}") for i, k in enumerate(keys)),
            rows.copy().as_("sl_rows"),
            exp.Window(this=exp.Sum(this=when_null(zero.copy(), one.copy()))).as_("sl_repeated"),
            exp.Window(this=exp.Sum(this=when_null(rows.copy(), zero.copy()))).as_("sl_null_rows"),
        )
        .from_(source)
        .where(*(w.copy() for w in side.where))
        .group_by(*(k.copy() for k in keys))
        .having(exp.or_(exp.GT(this=rows.copy(), expression=one.copy()), is_null.copy()))
        .order_by(when_null(one.copy(), zero.copy()), *(k.copy() for k in keys))
        .limit(1)
    )


def _split_on(source: str, join: d.Join, dialect: str) -> dict[str, KeySide] | None:
    """Each side ('source', 'target') of `join.on` with its key expressions and its own conditions."""
    tree = parse_snippet(join.on, dialect).unnest()
    keys: dict[str, list[exp.Expr]] = {"source": [], "target": []}
    where: dict[str, list[exp.Expr]] = {"source": [], "target": []}
    for part in tree.flatten() if isinstance(tree, exp.And) else [tree]:
        side = _side_of(part, source, join)
        if side is not None:
            where[side].append(_unqualified(part))
            continue
        if not isinstance(part, exp.EQ):
            return None
        ends = {_side_of(part.this, source, join): part.this, _side_of(part.expression, source, join): part.expression}
        if set(ends) != {"source", "target"}:
            return None
        for end in ("source", "target"):
            keys[end].append(_unqualified(ends[end]))
    if not keys["target"]:
        return None
    models = {"source": source, "target": join.model}
    return {side: KeySide(models[side], tuple(keys[side]), tuple(where[side])) for side in models}


def _side_of(tree: exp.Expr, source: str, join: d.Join) -> str | None:
    """The one side all columns of `tree` are on; None for a mix, or no column at all."""
    sides = {_side(c, source, join) for c in tree.find_all(exp.Column)}
    return sides.pop() if len(sides) == 1 else None


def _side(column: exp.Column, source: str, join: d.Join) -> str:
    """Which side a column of `on` belongs to, read as the compiler reads it (validation has made
    sure each is qualified by the declaring model or the join's name)."""
    qualifier = column.table
    if qualifier == join.alias or (qualifier == join.model and qualifier != source):
        return "target"
    return "source"


def _unqualified(tree: exp.Expr) -> exp.Expr:
    return map_columns(tree.copy(), lambda c: exp.column(c.name))
