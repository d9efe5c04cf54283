"""How a `Result` shows itself: a one-line repr, and a compact table for Jupyter (HTML, Markdown).

A notebook displays the last expression of a cell; for an answer that should be the first and last
rows with each metric in its format (23.1%, 105,375,291.75), how many rows there are, whether the
answer was cut, how long it took and whether it came from a cache, with the SQL folded away —
not the dataclass's field dump. Every text shown is escaped: labels, values and SQL come from
projects and databases, not from us.
"""

from __future__ import annotations

import html as html_lib
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .display import display

if TYPE_CHECKING:
    from .result import Result

MAX_ROWS = 20  # shown whole up to this many rows; beyond it the first HEAD and the last TAIL
HEAD, TAIL = 10, 5
NULL = "null"


def short_repr(result: Result) -> str:
    names = [c.name for c in result.columns]
    shown = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
    return f"<Result {_facts(result)} ({shown})>"


def _facts(result: Result) -> str:
    rows = len(result)
    facts = [f"{rows:,} row{'s' if rows != 1 else ''} × {len(result.columns)} column{_s(len(result.columns))}"]
    if result.truncated:
        facts.append("truncated")
    facts.append(f"{result.duration_ms:,.0f} ms")
    if result.cached:
        facts.append("cached")
    return ", ".join(facts)


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def html(result: Result) -> str:
    head = "".join(f"<th>{_e(c.name)}</th>" for c in result.columns)
    body = []
    for row in _shown_rows(result):
        if row is None:
            body.append(f'<tr><td colspan="{len(result.columns)}" style="text-align:center">…</td></tr>')
            continue
        cells = (f"<td{_align(c.type)}>{_e(cell)}</td>" for c, cell in zip(result.columns, row, strict=True))
        body.append(f"<tr>{''.join(cells)}</tr>")
    notes = "".join(f"<li>{_e(w)}</li>" for w in result.warnings)
    return (
        '<div class="semantic-layer-result">'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<p><small>{_e(_facts(result))}</small></p>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + f"<details><summary>SQL</summary><pre>{_e(result.sql)}</pre></details></div>"
    )


def markdown(result: Result) -> str:
    lines = [
        "| " + " | ".join(_md(c.name) for c in result.columns) + " |",
        "|" + "|".join("---:" if c.type == "number" else "---" for c in result.columns) + "|",
    ]
    for row in _shown_rows(result):
        cells = ["…"] * len(result.columns) if row is None else [_md(cell) for cell in row]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"*{_md(_facts(result))}*")
    lines += [f"> {_md(w)}" for w in result.warnings]
    return "\n".join(lines)


def _shown_rows(result: Result) -> list[list[str] | None]:
    """The rows shown, as text in each column's format; None where rows are left out."""
    count = len(result)
    if count <= MAX_ROWS:
        return _formatted(result, 0, count)
    return [*_formatted(result, 0, HEAD), None, *_formatted(result, count - TAIL, TAIL)]


def _formatted(result: Result, start: int, length: int) -> list[list[str] | None]:
    part = result.table.slice(start, length)
    columns = [part.column(i).to_pylist() for i in range(part.num_columns)]
    formats = [c.format if c.kind == "metric" else None for c in result.columns]
    return [[_cell(col[i], fmt) for col, fmt in zip(columns, formats, strict=True)] for i in range(part.num_rows)]


def _cell(value: Any, fmt: str | None) -> str:
    if value is None:
        return NULL
    if fmt is not None and isinstance(value, Decimal):
        value = float(value)
    shown = display(value, fmt) if fmt is not None else value
    return shown.isoformat() if hasattr(shown, "isoformat") else str(shown)


def _align(kind: str) -> str:
    return ' style="text-align:right"' if kind == "number" else ""


def _e(text: str) -> str:
    return html_lib.escape(text, quote=True)


def _md(text: str) -> str:
    """Text inside a Markdown table cell: pipes, backslashes, markup characters and newlines would
    break the table or turn into formatting; HTML is escaped (Markdown renders it)."""
    escaped = html_lib.escape(text, quote=False).replace("\\", "\\\\")
    for char in "|*_`[]#":
        escaped = escaped.replace(char, "\\" + char)
    return " ".join(escaped.split())
