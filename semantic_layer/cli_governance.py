"""The analyst's governance commands (docs/cli.md): `check`, `lint`, `diff`, `usage` and `show`.

They are registered on the program of cli.py, which imports this module last; the shared options
and helpers (project loading, error printing) come from there.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from .cli import ProjectOpt, _fail, _load, app, err, open_layer, out
from .errors import QueryError, SemanticLayerError
from .jsonvalues import json_value
from .project import Project

if TYPE_CHECKING:  # the governance modules are imported by the commands that use them: a quicker start
    from .checks import CheckResult
    from .governance.diff import ProjectDiff
    from .governance.report import DiffReport
    from .governance.usage import UsageReport


class TableOrJson(StrEnum):
    table = "table"
    json = "json"


Connection = Annotated[str | None, typer.Option(help="Override the project's connection URL.")]
STATUS_STYLE = {"pass": "green", "fail": "bold red", "error": "yellow"}


@app.command()
def check(
    project: ProjectOpt = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Only this model's checks (repeat; default: all).")
    ] = None,
    format: Annotated[TableOrJson, typer.Option("--format", "-f")] = TableOrJson.table,
    connection: Connection = None,
) -> None:
    """Run the models' data checks (checks: in YAML). Exit code 2 when a check fails, 1 when one
    cannot run (or on another error), 0 when all pass."""
    proj = _load(project)
    try:
        with open_layer(proj, connection) as layer:
            results = layer.check(model)
    except SemanticLayerError as exc:
        raise _fail(_message(exc)) from None
    if format is TableOrJson.json:
        sys.stdout.write(json.dumps([r.to_json() for r in results], ensure_ascii=False) + "\n")
    else:
        out.print(_checks_table(results))
    if any(r.status == "error" for r in results):
        raise typer.Exit(1)
    if any(r.failed for r in results):
        raise typer.Exit(2)


def _checks_table(results: list[CheckResult]) -> Table:
    failed = sum(r.failed for r in results)
    title = f"{len(results)} check{'s' if len(results) != 1 else ''}, {failed} failed"
    table = Table(title=title, title_justify="left")
    for name in ("model", "check", "kind", "status", "failing", "detail", "sample"):
        table.add_column(name, overflow="fold")
    for r in results:
        sample = "; ".join(", ".join(f"{k}={_shown(v)}" for k, v in row.items()) for row in r.sample)
        table.add_row(
            r.model,
            r.name,
            r.kind,
            Text(r.status, style=STATUS_STYLE[r.status]),
            str(r.failing),
            Text(r.message),
            Text(sample),
        )
    return table


def _shown(value: Any) -> str:
    shown = json_value(value)
    return "∅" if shown is None else str(shown)


def _message(exc: SemanticLayerError) -> str:
    if isinstance(exc, QueryError):
        return f"[{exc.code}] {exc.message}"
    return str(exc)


class DiffFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"


@app.command()
def diff(
    base: Annotated[str, typer.Argument(help="The git ref to compare from: origin/main, HEAD~1, a tag.")],
    head: Annotated[str | None, typer.Argument(help="The git ref to compare to (default: the working tree).")] = None,
    project: ProjectOpt = None,
    dialect: Annotated[
        list[str] | None,
        typer.Option("--dialect", help="Compile the SQL for this dialect (repeat; default: the project's)."),
    ] = None,
    values: Annotated[
        bool,
        typer.Option(
            "--values",
            help="Also run each metric whose SQL changes, old and new, on the warehouse: by metric_time "
            "over its last 12 periods and by its top dimension.",
        ),
    ] = False,
    threshold: Annotated[
        float, typer.Option(help="With --values: flag relative changes larger than this (0.01 = 1%).")
    ] = 0.01,
    grain: Annotated[
        str | None, typer.Option(help="With --values: this grain instead of each metric's natural grain.")
    ] = None,
    dimension: Annotated[
        str | None, typer.Option(help="With --values: this dimension instead of each metric's top dimension.")
    ] = None,
    format: Annotated[DiffFormat, typer.Option("--format", "-f")] = DiffFormat.table,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit with code 2 when there are changes (0 when there are none).")
    ] = False,
    connection: Connection = None,
) -> None:
    """Compare the project at two git versions: each definition changed, its compiled SQL and what is
    built on it. Exit code 0 when it ran, 1 on errors (a version that does not load), 2 with
    --exit-code when something changed."""
    from .governance.report import markdown, print_rich, to_json

    report = _diff_report(base, head, project, dialect, values, threshold, grain, dimension, connection)
    if format is DiffFormat.json:
        sys.stdout.write(json.dumps(to_json(report), ensure_ascii=False, default=json_value) + "\n")
    elif format is DiffFormat.markdown:
        sys.stdout.write(markdown(report))
    else:
        print_rich(report, out)
    if report.broken:
        raise typer.Exit(1)
    if exit_code and report.diff is not None and report.diff.has_changes:
        raise typer.Exit(2)


def _diff_report(
    base: str,
    head: str | None,
    project: Path | None,
    dialects: list[str] | None,
    values: bool,
    threshold: float,
    grain: str | None,
    dimension: str | None,
    connection: str | None,
) -> DiffReport:
    from .compiler.dialects import normalize_dialect
    from .governance.diff import diff_projects
    from .governance.gitref import GitError, load_version
    from .governance.report import DiffReport

    with tempfile.TemporaryDirectory(prefix="semantic-layer-diff-") as scratch:
        try:
            old = load_version(project, base, Path(scratch))
            new = load_version(project, head, Path(scratch))
        except GitError as exc:
            raise _fail(str(exc)) from None
    report = DiffReport(old, new, None, threshold=threshold)
    if report.broken:
        return report
    assert new.project is not None
    try:
        chosen = [normalize_dialect(d) for d in dialects or [new.project.settings.dialect]]
    except QueryError as exc:
        raise _fail(exc.message) from None
    report.diff = diff_projects(old, new, chosen)
    if values:
        report.values = _values(report.diff, connection, grain, dimension)
    return report


def _values(found: ProjectDiff, connection: str | None, grain: str | None, dimension: str | None) -> list[Any]:
    from .audit import audit_store
    from .governance.usage import dimension_usage
    from .governance.values import compare_values, top_dimension

    assert found.base.project is not None and found.head.project is not None
    try:
        with open_layer(found.head.project, connection) as new:
            old = open_layer(found.base.project, engine=new.engine)
            usage = dimension_usage(audit_store(new.state_folder, new.project.settings.audit))
            return [
                compare_values(old, new, name, grain=grain, dimension=dimension or top_dimension(new, name, usage))
                for name in found.changed_metrics()
            ]
    except SemanticLayerError as exc:
        raise _fail(_message(exc)) from None


@app.command()
def lint(
    project: ProjectOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    format: Annotated[TableOrJson, typer.Option("--format", "-f", help="table: one line per finding.")] = (
        TableOrJson.table
    ),
) -> None:
    """Check the project against governance rules (owners, deprecations, duplicate definitions, name
    collisions, …), each finding at its file:line with a fix. Exit code 1 on an error (on a warning
    too with --strict), 0 otherwise."""
    from .governance.lint import lint as run_lint

    proj = _load(project)
    findings = run_lint(proj)
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    if format is TableOrJson.json:
        sys.stdout.write(json.dumps([f.to_json() for f in findings], ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("".join(f"{finding}\n" for finding in findings))  # plain lines, for editors and CI
        summary = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
        err.print(Text(f"lint: {summary}" + (" (--strict: warnings fail)" if strict and warnings else "")))
    if errors or (strict and warnings):
        raise typer.Exit(1)


@app.command()
def usage(
    project: ProjectOpt = None,
    since: Annotated[
        str, typer.Option(help="The window: '90d', '12h', '2w', '90 days', or a date (2025-01-01, UTC).")
    ] = "90d",
    format: Annotated[TableOrJson, typer.Option("--format", "-f")] = TableOrJson.table,
) -> None:
    """Queries per metric, role and dashboard from the audit log, and the metrics nobody asked for
    in the window (retirement candidates)."""
    from .audit import audit_store
    from .governance.usage import parse_since, usage_report
    from .state import state_dir

    proj = _load(project)
    try:
        start = parse_since(since, datetime.now(UTC))
    except ValueError as exc:
        raise _fail(f"--since {exc}") from None
    store = audit_store(state_dir(proj.settings.name), proj.settings.audit)
    try:
        report = usage_report(proj, store, start)
    except SemanticLayerError as exc:
        raise _fail(str(exc)) from None
    if not report.log_found:
        err.print(
            Text(
                f"warning: no audit log in {store.place} (set SEMANTIC_LAYER_STATE_DIR to the server's state "
                "folder, or SEMANTIC_LAYER_AUDIT_URL to its audit table)"
            )
        )
    if format is TableOrJson.json:
        sys.stdout.write(json.dumps(_usage_json(report), ensure_ascii=False) + "\n")
        return
    for table in _usage_tables(proj, report):
        out.print(table)


def _usage_json(report: UsageReport) -> dict[str, Any]:
    return {
        "since": report.since.isoformat(),
        "queries": report.queries,
        "metrics": [
            {
                "metric": m.metric,
                "queries": m.queries,
                "last_queried": m.last.isoformat() if m.last else None,
                "roles": list(m.roles),
                "dashboards": list(m.dashboards),
            }
            for m in report.metrics
        ],
        "roles": [{"role": r, "queries": n} for r, n in report.roles],
        "dashboards": [{"dashboard": b, "queries": n} for b, n in report.dashboards],
        "unused": report.unused,
        "unused_dashboards": report.unused_dashboards,
    }


def _usage_tables(proj: Project, report: UsageReport) -> list[Table]:
    window = f"since {report.since:%Y-%m-%d %H:%M} UTC"
    by_metric = [
        (
            m.metric,
            str(m.queries),
            f"{m.last:%Y-%m-%d %H:%M}" if m.last else "",
            ", ".join(m.roles),
            ", ".join(m.dashboards),
        )
        for m in report.metrics
    ]
    tables = [
        _table(
            f"{report.queries} queries {window}, by metric",
            ("metric", "queries", "last queried", "roles", "dashboards"),
            by_metric,
        ),
        _table("by role", ("role", "queries"), [(role, str(n)) for role, n in report.roles]),
    ]
    if report.dashboards:
        boards = [(board, str(n)) for board, n in report.dashboards]
        tables.append(_table("by dashboard (X-Semantic-Layer-Dashboard)", ("dashboard", "queries"), boards))
    unused = [(n, m.status, m.owner or "", m.tier or "") for n, m in ((n, proj.metrics[n]) for n in report.unused)]
    title = f"{len(report.unused)} metrics not queried {window}, nor any metric built on them: retirement candidates"
    tables.append(_table(title, ("metric", "status", "owner", "tier"), unused))
    if report.unused_dashboards:
        quiet = [
            (n, b.title or "", b.owner or "") for n, b in ((n, proj.dashboards[n]) for n in report.unused_dashboards)
        ]
        tables.append(_table(f"dashboards with no query {window}", ("dashboard", "title", "owner"), quiet))
    return tables


def _table(title: str, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> Table:
    """A table of plain text (names from the project and the log are never markup)."""
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


class Showable(StrEnum):
    metric = "metric"


@app.command()
def show(
    what: Showable,
    name: Annotated[str, typer.Argument(help="The metric's name.")],
    project: ProjectOpt = None,
    dialect: Annotated[
        str | None, typer.Option(help="Compile the SQL for this dialect (default: the project's).")
    ] = None,
    format: Annotated[TableOrJson, typer.Option("--format", "-f")] = TableOrJson.table,
) -> None:
    """Everything about one metric: its definition, governance fields, the SQL it compiles to, what
    it is built on (metrics, models, measures) and what is built on it."""
    from .governance.profile import metric_profile, print_profile

    proj = _load(project)
    try:
        profile = metric_profile(proj, name, dialect)
    except QueryError as exc:
        raise _fail(f"[{exc.code}] {exc.message}") from None
    if format is TableOrJson.json:
        sys.stdout.write(json.dumps(profile.to_json(), ensure_ascii=False) + "\n")
    else:
        print_profile(profile, out)


def write_catalogue_site(proj: Project, folder: Path, examples: bool, connection: str | None) -> None:
    """`docs --site`: the static catalogue, with examples when the warehouse answers."""
    from .governance.site import write_site

    layer = open_layer(proj, connection) if examples else None
    try:
        if layer is not None:
            try:
                layer.engine.ping(proj.settings.limits.timeout_seconds)
            except SemanticLayerError as exc:
                err.print(Text(f"warning: the warehouse does not answer, so no examples: {_message(exc)}"))
                layer.close()
                layer = None
        written = write_site(proj, folder, layer)
    finally:
        if layer is not None:
            layer.close()
    pages = sum(1 for path in written if path.suffix == ".html")
    out.print(Text(f"✓ wrote {folder / 'index.html'} and {pages - 1} metric pages"), style="green")
