"""Query filter strings: literals lifted out as bound values, everything else allow-listed.

A `where` or `having` string is tokenized (cheap) and every string or number literal replaced by a
placeholder; the literal-free text is the string's *shape*. Queries that differ only in values share
a shape and therefore a cached compiled statement, and no user value ever reaches SQL text. On a
cache miss the shape is parsed and every node checked against an allow-list: member refs,
literals, operators and a few scalar functions. Subqueries, statements, stars and unknown
functions are refused with an error naming the offending part.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlglot import Token, TokenType, exp
from sqlglot.errors import TokenError

from .errors import QueryValidationError, brief
from .numbers import as_decimal
from .snippets import SnippetError, parse_snippet
from .sqlglot_local import tokenizer

LOCAL_PREFIX = "__lit"

_ALLOWED_NODES: tuple[type[exp.Expr], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Placeholder,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.Is,
    exp.In,
    exp.Tuple,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.Neg,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
    exp.DataTypeParam,
    exp.Case,
    exp.If,
    exp.Interval,
    exp.Var,
    exp.Lower,
    exp.Upper,
    exp.Coalesce,
    exp.Trim,
    exp.Length,
    exp.Abs,
    exp.Round,
    exp.Floor,
    exp.Ceil,
    exp.Substring,
    exp.Concat,
    exp.DPipe,
    exp.TimestampTrunc,
    exp.DateTrunc,
    exp.Extract,
    exp.CurrentDate,
    exp.CurrentTimestamp,
    exp.Year,
    exp.Month,
    exp.Day,
    exp.Quarter,
    exp.DayOfWeek,
    exp.Least,
    exp.Greatest,
    exp.StrPosition,
    exp.Nullif,
    exp.Date,
)
ALLOWED_FUNCTIONS = (
    "lower upper coalesce trim length abs round floor ceil substring concat date_trunc extract "
    "current_date current_timestamp year month day quarter dayofweek least greatest strpos "
    "nullif date cast"
).split()


def lift_literals(text: str, dialect: str) -> tuple[str, tuple[Any, ...], list[Any]]:
    """(shape, signature, values): literals become `:__lit0`, `:__lit1`, … in source order.

    The shape is the text to parse on a cache miss; the signature (the token stream the parser
    reads, literals reduced to their kind) is what identifies it in caches. A user can spell any
    text, but not a token stream that reads as another's: placeholder and parameter tokens are
    refused here, so `:__lit1` typed by a caller can never stand for a slot the layer filled.
    """
    shape, signature, kinds, spans = _tokenize(text, dialect)
    values = [
        _literal_value(text[start : end + 1], kind, dialect) for kind, (start, end) in zip(kinds, spans, strict=True)
    ]
    return shape, signature, values


# Tokens that name a value slot of the statement, or a literal we do not lift as a bound value.
_REFUSED_TOKENS = {
    TokenType.COLON: "parameter markers like ':name'",
    TokenType.PLACEHOLDER: "parameter markers like '?'",
    TokenType.PARAMETER: "parameters like '$1' or '@name'",
    TokenType.SESSION_PARAMETER: "session parameters",
    TokenType.HEREDOC_STRING: "dollar-quoted strings — write 'text'",
    TokenType.NATIONAL_STRING: "N'…' strings — write 'text'",
    TokenType.NATIONAL_RAW_STRING: "N'…' strings — write 'text'",
    TokenType.RAW_STRING: "raw strings — write 'text'",
    TokenType.BIT_STRING: "bit strings",
    TokenType.HEX_STRING: "hex strings",
    TokenType.BYTE_STRING: "byte strings",
    TokenType.UNICODE_STRING: "unicode escape strings — write 'text'",
}


# Type keywords that make the string after them a typed literal (the tokenizer reads TIMESTAMP and
# DATETIME alike). Time zone-aware types are refused by `_literal_value`'s offset check instead.
_TYPED_LITERALS = {
    TokenType.DATE: "date",
    TokenType.TIMESTAMPNTZ: "timestamp",
    TokenType.TIMESTAMP: "timestamp",
    TokenType.DATETIME: "timestamp",
    TokenType.TIMESTAMPTZ: "timestamp",
    TokenType.TIMESTAMPLTZ: "timestamp",
}


@lru_cache(maxsize=4096)
def _tokenize(text: str, dialect: str) -> tuple[str, tuple[Any, ...], tuple[str, ...], tuple[tuple[int, int], ...]]:
    try:
        tokens = tokenizer(dialect).tokenize(text)
    except TokenError as exc:
        raise QueryValidationError(f"cannot read filter '{text}': {exc}") from None
    out: list[str] = []
    signature: list[Any] = []
    kinds: list[str] = []
    spans: list[tuple[int, int]] = []
    cursor = 0
    previous: Token | None = None
    for token in tokens:
        refused = _REFUSED_TOKENS.get(token.token_type)
        if refused is not None:
            raise QueryValidationError(
                f"filter '{text}' may not contain {refused} (found '{token.text}') — write the value itself"
            )
        if token.comments:
            raise QueryValidationError(f"filter '{text}' may not contain comments")
        typed = _TYPED_LITERALS.get(previous.token_type) if previous is not None else None
        if token.token_type == TokenType.STRING and typed is not None and previous is not None:
            # DATE '…' / TIMESTAMP '…': the keyword and its string are one value, bound with its type.
            signature.pop()
            start, kind = previous.start, typed
        elif token.token_type in (TokenType.STRING, TokenType.NUMBER) and (
            previous is None or previous.token_type != TokenType.INTERVAL
        ):  # an interval's length is shape
            start, kind = token.start, "string" if token.token_type == TokenType.STRING else "number"
            if kind == "number" and text[token.end + 1 : token.end + 2].isidentifier():
                # DuckDB reads 0x10 as the number 0 and the name x10: its marker would become `:__lit0x10`.
                raise QueryValidationError(
                    f"cannot read filter '{brief(text)}': a name follows the number "
                    f"'{token.text}' without a space — write numbers in decimal, like 16 or "
                    "1.5e3"
                )
        else:
            signature.append((token.token_type.name, token.text))
            previous = token
            continue
        out.append(text[cursor:start])
        out.append(f":{LOCAL_PREFIX}{len(kinds)}")
        signature.append(kind)
        kinds.append(kind)
        spans.append((start, token.end))
        cursor = token.end + 1
        previous = token
    out.append(text[cursor:])
    return "".join(out), tuple(signature), tuple(kinds), tuple(spans)


def _literal_value(raw: str, kind: str, dialect: str) -> Any:
    if kind == "number":
        try:
            return int(raw)
        except ValueError:
            pass
        try:
            number = float(raw)
        except ValueError:  # '1e', which the tokenizer takes for a number
            raise QueryValidationError(f"'{raw}' is not a number — write numbers like 16 or 1.5e3") from None
        return as_decimal(number, raw)
    # The token's text keeps its quotes and escapes; let the dialect's tokenizer unescape it.
    text = tokenizer(dialect).tokenize(raw)[-1].text
    if kind == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise QueryValidationError(f"DATE '{text}' is not a date — write DATE 'YYYY-MM-DD'") from None
    if kind == "timestamp":
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise QueryValidationError(
                f"TIMESTAMP '{text}' is not a timestamp — write TIMESTAMP 'YYYY-MM-DD HH:MM:SS'"
            ) from None
        if value.tzinfo is not None:
            raise QueryValidationError(
                f"TIMESTAMP '{text}' has a UTC offset: filters compare times in the query's "
                "time zone, so write the local time without an offset (or set timezone)"
            )
        return value
    return text


def parse_filter(shape: str, dialect: str, *, what: str, original: str) -> exp.Expr:
    """Parse a literal-free filter shape and refuse anything outside the allow-list."""
    try:
        tree = parse_snippet(shape, dialect)
    except SnippetError as exc:
        raise QueryValidationError(f"{what} '{original}' {exc.reason}") from None
    for node in tree.walk():
        if not isinstance(node, _ALLOWED_NODES):
            raise QueryValidationError(
                f"{what} '{original}' may not contain {_describe(node)} — filters may use member refs, "
                f"literals, operators and the functions {', '.join(ALLOWED_FUNCTIONS)}"
            )
        # `m IN 'x'` reads as IN over a field; `IN (SELECT …)` is refused as a subquery below.
        if isinstance(node, exp.In) and not node.expressions and not node.args.get("query"):
            raise QueryValidationError(f"{what} '{original}': IN takes a list in parentheses, like m IN ('a', 'b')")
        if isinstance(node, exp.Column) and not isinstance(node.this, exp.Identifier):
            raise QueryValidationError(f"{what} '{original}' may not contain {node.sql()}")
    return tree


def _describe(node: exp.Expr) -> str:
    if isinstance(node, exp.Query | exp.Subquery):
        return "a subquery"
    if isinstance(node, exp.Star):
        return "'*'"
    if isinstance(node, exp.Func):
        name = node.sql_name() if not isinstance(node, exp.Anonymous) else str(node.this)
        return f"the function {name.upper()}"
    return f"{node.key.upper()} ({node.sql()[:60]})"
