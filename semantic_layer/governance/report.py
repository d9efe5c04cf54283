"""`semantic-layer diff`'s report: Markdown for a pull-request comment, a terminal view, JSON.

The Markdown is written to be read in a review: a summary table of every change first, then each
change with its definition diff, its SQL diff per dialect and what is built on it, then the metrics
whose SQL changes through their upstream, then (with `--values`) the numbers before and after.
It holds nothing that varies from run to run (no times, no scratch paths), so CI can post it as is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from .diff import Affected, Change, ProjectDiff, SqlChange, as_json, unified
from .gitref import Version
from .lineage import TileRef
from .values import ValueComparison, ValueRow

SYMBOL = {"added": "+", "removed": "-", "changed": "~", "inherited": "↳"}
COMMENT_LIMIT = 65_536  # characters in a GitHub comment
CUT_NOTE = (
    "*{count} more sections left out: the comment would pass GitHub's limit of 65 536 characters. "
    "`semantic-layer diff` prints the whole report.*"
)


@dataclass
class DiffReport:
    """A diff, or the version that does not load; and the values compared, when asked."""

    base: Version
    head: Version
    diff: ProjectDiff | None
    values: list[ValueComparison] = field(default_factory=list)
    threshold: float = 0.01

    @property
    def broken(self) -> list[Version]:
        return [v for v in (self.base, self.head) if v.project is None]


def _title(report: DiffReport) -> str:
    head = report.head.label
    shown = head if head == "the working tree" else f"`{head}`"
    return f"### Semantic layer: `{report.base.label}` → {shown}"


# -- Markdown ------------------------------------------------------------------------------------
def markdown(report: DiffReport) -> str:
    lines = [_title(report), ""]
    if report.broken:
        for version in report.broken:
            lines += _broken_markdown(version)
        return "\n".join(lines).rstrip("\n") + "\n"
    diff = report.diff
    assert diff is not None
    if not diff.has_changes:
        return "\n".join([*lines, "No definition and no compiled SQL changes."]) + "\n"
    lines += [_summary_line(diff), "", *_summary_table(diff), ""]
    sections = [_change_markdown(change, diff) for change in diff.changes]
    if diff.affected:
        sections.append(["#### Metrics whose SQL changes through what they are built on", ""])
    for affected in diff.affected:
        because = ", ".join(affected.because) or "their upstream"
        shown = [_shown_on(affected.tiles), ""] if affected.tiles else []
        sections.append(
            [f"##### ↳ metric `{affected.name}` (via {because})", "", *_sql_markdown(affected.sql, diff), *shown]
        )
    sections += [_values_markdown(values, report.threshold) for values in report.values]
    return _within_limit(lines, sections)


def _within_limit(head: list[str], sections: list[list[str]]) -> str:
    """The report, its sections cut where a pull-request comment would exceed GitHub's limit."""
    text = "\n".join(head)
    for i, section in enumerate(sections):
        more = "\n" + "\n".join(section)
        if len(text) + len(more) > COMMENT_LIMIT - len(CUT_NOTE) - 40:
            return text.rstrip("\n") + "\n\n" + CUT_NOTE.format(count=len(sections) - i) + "\n"
        text += more
    return text.rstrip("\n") + "\n"


def _broken_markdown(version: Version) -> list[str]:
    count = len(version.errors)
    lines = [f"**{version.label} does not load: {count} error{'s' if count != 1 else ''}.**", ""]
    lines += [f"- `{e.file}:{e.line}:{e.column}`: {e.message}" for e in version.errors]
    return [*lines, ""]


def _summary_line(diff: ProjectDiff) -> str:
    """'4 definitions changed (1 model, 3 metrics). Compiled SQL (duckdb): 1 metric changes, 1 new.'"""
    kinds = Counter(c.kind for c in diff.changes)
    parts = [f"{n} {kind if n == 1 else _plural(kind)}" for kind, n in sorted(kinds.items(), key=_kind_order)]
    count = len(diff.changes)
    head = (
        f"{count} definition{'s' if count != 1 else ''} changed ({', '.join(parts)})"
        if count
        else "No definition changed"
    )
    metrics = [c for c in diff.changes if c.kind == "metric"]
    changing = sum(c.status == "changed" and c.sql_changed for c in metrics) + len(diff.affected)
    sql = [f"{changing} metric{' changes' if changing == 1 else 's change'}"]
    sql += [f"{n} {status}" for status in ("new", "removed") if (n := sum(_sql_word(c) == status for c in metrics))]
    return f"{head}. Compiled SQL ({', '.join(diff.dialects)}): {', '.join(sql)}."


def _kind_order(item: tuple[str, int]) -> int:
    return ["settings", "model", "metric", "policy", "dashboard"].index(item[0])


def _plural(kind: str) -> str:
    return {"policy": "policies", "settings": "settings"}.get(kind, f"{kind}s")


def _summary_table(diff: ProjectDiff) -> list[str]:
    lines = ["| | kind | name | where | compiled SQL | built on it |", "|---|---|---|---|---|---|"]
    for c in diff.changes:
        where = f"`{c.location}`" if c.location else ""
        lines.append(f"| {SYMBOL[c.status]} | {c.kind} | `{c.name}` | {where} | {_sql_word(c)} | {_built_on(c)} |")
    for a in diff.affected:
        lines.append(f"| ↳ | metric | `{a.name}` | `{a.location}` | changes | {_via(a)} |")
    return lines


def _sql_word(change: Change) -> str:
    if change.kind != "metric":
        return ""
    return {"added": "new", "removed": "removed"}.get(change.status, "changes" if change.sql_changed else "unchanged")


def _built_on(change: Change) -> str:
    parts = []
    if change.downstream:
        changing = sum(d.sql_changes for d in change.downstream)
        total = len(change.downstream)
        parts.append(f"{total} metric{'s' if total != 1 else ''}, {changing} with SQL changes")
    if change.tiles:
        parts.append(_tile_count(change.tiles))
    return "; ".join(parts)


def _via(affected: Affected) -> str:
    via = f"via {', '.join(affected.because)}"
    return f"{via}; {_tile_count(affected.tiles)}" if affected.tiles else via


def _tile_count(tiles: list[TileRef] | tuple[TileRef, ...]) -> str:
    return f"{len(tiles)} dashboard tile{'s' if len(tiles) != 1 else ''}"


def _shown_on(tiles: list[TileRef] | tuple[TileRef, ...], code: str = "`") -> str:
    """'Shown on: `sales` tile 2 (revenue by month), …'"""
    return "Shown on: " + ", ".join(f"{code}{t.dashboard}{code} tile {t.number} ({t.title})" for t in tiles) + "."


def _change_markdown(change: Change, diff: ProjectDiff) -> list[str]:
    where = f" (`{change.location}`)" if change.location else ""
    lines = [f"#### {SYMBOL[change.status]} {change.kind} `{change.name}`{where}", ""]
    definition = unified(change.before, change.after, diff.base.label, diff.head.label)
    lines += ["Definition:", "", "```diff", *definition, "```", ""]
    if change.kind == "metric":
        lines += _sql_markdown(change.sql, diff)
    if change.downstream:
        built = ", ".join(f"`{d.name}`" + _fate(d.sql) for d in change.downstream)
        lines += [f"Built on it: {built}.", ""]
    if change.tiles:
        lines += [_shown_on(change.tiles), ""]
    lines += [f"Reaches: {note}." for note in change.notes]
    return [*lines, ""] if change.notes else lines


def _fate(sql: str) -> str:
    return {"changes": " (SQL changes)", "new": " (new)", "removed": " (removed)"}.get(sql, "")


def _sql_markdown(changes: list[SqlChange] | tuple[SqlChange, ...], diff: ProjectDiff) -> list[str]:
    lines = []
    for sql in changes:
        if not sql.changed:
            lines += [f"Compiled SQL ({sql.dialect}): unchanged.", ""]
            continue
        text = unified(sql.before or "", sql.after or "", diff.base.label, diff.head.label)
        lines += [f"Compiled SQL ({sql.dialect}):", "", "```diff", *text, "```", ""]
    return lines


def _values_markdown(values: ValueComparison, threshold: float) -> list[str]:
    view = f"by `metric_time:{values.grain}`" if values.grain else "in total"
    lines = [f"#### Values of `{values.metric}`, before and after, {view}", ""]
    if values.periods:
        lines += _value_table(values, values.periods, values.grain or "total", threshold)
    if values.dimension and values.by_dimension:
        lines += [f"By `{values.dimension}` {values.scope}:", ""]
        lines += _value_table(values, values.by_dimension, values.dimension, threshold)
    if values.error:
        lines += [f"Could not compare: {values.error}", ""]
    return lines


def _value_table(values: ValueComparison, rows: tuple[ValueRow, ...], key: str, threshold: float) -> list[str]:
    lines = [f"| {key} | before | after | change | change % | |", "|---|---:|---:|---:|---:|---|"]
    for row in rows:
        relative = row.relative
        shown = "" if relative is None else f"{relative * 100:+.1f}%"
        flag = "⚠" if row.flagged(threshold) else ""
        lines.append(
            f"| {row.key} | {values.shown(row.old)} | {values.shown(row.new)} | {values.shown_change(row)} "
            f"| {shown} | {flag} |"
        )
    return [*lines, ""]


# -- JSON ----------------------------------------------------------------------------------------
def to_json(report: DiffReport) -> dict[str, Any]:
    if report.broken:
        return {
            "base": report.base.label,
            "head": report.head.label,
            "errors": [
                {"version": v.label, "file": e.file, "line": e.line, "column": e.column, "message": e.message}
                for v in report.broken
                for e in v.errors
            ],
        }
    assert report.diff is not None
    out = as_json(report.diff)
    out["values"] = [_values_json(v, report.threshold) for v in report.values]
    return out


def _values_json(values: ValueComparison, threshold: float) -> dict[str, Any]:
    def rows(found: tuple[ValueRow, ...]) -> list[dict[str, Any]]:
        return [
            {
                "key": r.key,
                "before": r.old,
                "after": r.new,
                "change": r.change,
                "relative_change": r.relative,
                "flagged": r.flagged(threshold),
            }
            for r in found
        ]

    return {
        "metric": values.metric,
        "grain": values.grain,
        "dimension": values.dimension,
        "scope": values.scope,
        "periods": rows(values.periods),
        "by_dimension": rows(values.by_dimension),
        "error": values.error,
    }


# -- the terminal --------------------------------------------------------------------------------
def print_rich(report: DiffReport, console: Console) -> None:
    console.print(Text(_title(report).removeprefix("### ").replace("`", "")), style="bold")
    if report.broken:
        for version in report.broken:
            console.print(Text(f"{version.label} does not load: {len(version.errors)} error(s)", style="bold red"))
            for e in version.errors:
                console.print(Text(f"{e.file}:{e.line}:{e.column}: {e.message}"))
        return
    diff = report.diff
    assert diff is not None
    if not diff.has_changes:
        console.print("No definition and no compiled SQL changes.")
        return
    console.print(Text(_summary_line(diff)))
    console.print(_rich_summary(diff))
    for change in diff.changes:
        console.print(_rich_change(change, diff))
    for affected in diff.affected:
        parts = [_rich_sql(sql, diff) for sql in affected.sql]
        parts += [Text(_shown_on(affected.tiles, code=""))] if affected.tiles else []
        title = f"↳ metric {affected.name} (via {', '.join(affected.because)})"
        console.print(Panel(Group(*parts), title=title, title_align="left", expand=False))
    for values in report.values:
        console.print(_rich_values(values, report.threshold))


def _rich_summary(diff: ProjectDiff) -> Table:
    table = Table(title_justify="left")
    for name in ("", "kind", "name", "where", "compiled SQL", "built on it"):
        table.add_column(name, overflow="fold")
    for c in diff.changes:
        table.add_row(SYMBOL[c.status], c.kind, Text(c.name), c.location, _sql_word(c), _built_on(c))
    for a in diff.affected:
        table.add_row("↳", "metric", Text(a.name), a.location, "changes", _via(a))
    return table


def _rich_change(change: Change, diff: ProjectDiff) -> Panel:
    definition = "\n".join(unified(change.before, change.after, diff.base.label, diff.head.label))
    parts: list[Any] = [Text("definition", style="bold"), Syntax(definition, "diff", word_wrap=True)]
    parts += [_rich_sql(sql, diff) for sql in change.sql]
    if change.downstream:
        built = ", ".join(d.name + _fate(d.sql) for d in change.downstream)
        parts.append(Text(f"built on it: {built}"))
    parts += [Text(_shown_on(change.tiles, code=""))] if change.tiles else []
    parts += [Text(f"reaches: {note}".replace("`", "")) for note in change.notes]
    where = f" ({change.location})" if change.location else ""
    return Panel(
        Group(*parts),
        title=f"{SYMBOL[change.status]} {change.kind} {change.name}{where}",
        title_align="left",
        expand=False,
    )


def _rich_sql(sql: SqlChange, diff: ProjectDiff) -> Any:
    if not sql.changed:
        return Text(f"compiled SQL ({sql.dialect}): unchanged")
    text = "\n".join(unified(sql.before or "", sql.after or "", diff.base.label, diff.head.label))
    return Group(Text(f"compiled SQL ({sql.dialect})", style="bold"), Syntax(text, "diff", word_wrap=True))


def _rich_values(values: ValueComparison, threshold: float) -> Table:
    view = f"by metric_time:{values.grain}" if values.grain else "in total"
    table = Table(title=f"values of {values.metric}, before and after, {view}", title_justify="left")
    for name in ("period", "before", "after", "change", "change %", ""):
        table.add_column(name, justify="right" if name not in ("period", "") else "left")
    rows = list(values.periods)
    for row in rows:
        relative = "" if row.relative is None else f"{row.relative * 100:+.1f}%"
        table.add_row(
            Text(row.key),
            values.shown(row.old),
            values.shown(row.new),
            values.shown_change(row),
            relative,
            Text("⚠", style="bold yellow") if row.flagged(threshold) else "",
        )
    if values.dimension:
        table.add_section()
        for row in values.by_dimension:
            relative = "" if row.relative is None else f"{row.relative * 100:+.1f}%"
            flag = Text("⚠", style="bold yellow") if row.flagged(threshold) else ""
            table.add_row(
                Text(f"{values.dimension} = {row.key}"),
                values.shown(row.old),
                values.shown(row.new),
                values.shown_change(row),
                relative,
                flag,
            )
    if values.error:
        table.caption = f"could not compare: {values.error}"
    return table
