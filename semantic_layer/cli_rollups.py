"""`semantic-layer rollups build|status|suggest` (docs/rollups.md), registered on the program of cli.py."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from .cli import ProjectOpt, _fail, _load, app, err, open_layer, out
from .errors import SemanticLayerError
from .jsonvalues import json_value

rollups_app = typer.Typer(help="Rollups (pre-aggregations): build them, see their state.", no_args_is_help=True)
app.add_typer(rollups_app, name="rollups")


class StatusFormat(StrEnum):
    table = "table"
    json = "json"


@rollups_app.command("build")
def build(
    names: Annotated[
        list[str] | None, typer.Argument(help="Rollups to build (default: all).", show_default=False)
    ] = None,
    project: ProjectOpt = None,
    full: Annotated[bool, typer.Option("--full", help="Compute every period again, not only the recent ones.")] = False,
) -> None:
    """Build the rollups, or refresh them: the periods from refresh.lookback before the newest
        stored one are computed again (all of them on a first build, with --full, or after the
        definition changed). The rollups built are swapped in together when the build ends; one that
    fails keeps its last good version."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from .rollups.build import build_rollups

    proj = _load(project)
    if not proj.rollups:
        raise _fail("the project defines no rollups — add a 'rollups:' list (docs/rollups.md)")
    chosen = names or list(proj.rollups)
    with (
        open_layer(proj) as layer,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as bar,
    ):
        task = bar.add_task("rollups", total=len(chosen))
        try:
            reports = build_rollups(layer, chosen, full=full, on_built=lambda _: bar.advance(task))
        except SemanticLayerError as exc:
            raise _fail(getattr(exc, "message", str(exc))) from None
    for report in reports:
        what = "built" if report.full else f"refreshed from {report.start}"
        out.print(
            f"[green]✓[/] {report.name}: {what} — {report.rows_written} rows written, "
            f"{report.stored.row_count} stored, {report.stored.build_seconds:.2f} s",
            highlight=False,
        )


@rollups_app.command("status")
def status(
    project: ProjectOpt = None,
    format: Annotated[StatusFormat, typer.Option("--format", "-f")] = StatusFormat.table,
) -> None:
    """Each rollup's rows, last refresh, age and state: fresh (served), stale (older than
    max_staleness: the source answers), outdated (built from another definition) or missing."""
    from .rollups.serving import rollup_status

    proj = _load(project)
    with open_layer(proj) as layer:
        if layer.rollups is None:
            raise _fail("the project defines no rollups — add a 'rollups:' list (docs/rollups.md)")
        found = rollup_status(layer.rollups)
        size = layer.rollups.store.size_bytes()
        where = layer.rollups.store.path
    if format is StatusFormat.json:
        body = {"store": str(where), "bytes": size, "rollups": [s.as_dict() for s in found]}
        sys.stdout.write(json.dumps(body, ensure_ascii=False, default=json_value) + "\n")
        return
    table = Table(title=f"rollups in {where} ({size / 1e6:.1f} MB)", title_justify="left")
    for column in ("rollup", "model", "grain", "state", "rows", "last refresh", "age", "newest period"):
        table.add_column(column)
    for s in found:
        table.add_row(
            s.name,
            s.model,
            s.time_grain,
            s.state,
            "∅" if s.rows is None else str(s.rows),
            "∅" if s.refreshed_at is None else s.refreshed_at.isoformat(timespec="seconds"),
            "∅" if s.age_seconds is None else _age(s.age_seconds),
            "∅" if s.newest_period is None else s.newest_period.isoformat(),
        )
    out.print(table)


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


@rollups_app.command("suggest")
def suggest_rollups(
    project: ProjectOpt = None,
    since: Annotated[
        str | None, typer.Option(help="Also the queries of the audit log since then ('30d', '2025-01-01').")
    ] = None,
) -> None:
    """Rollups that would answer the dashboards' tiles (and with --since, the queries the audit log
    recorded) which the project's rollups do not answer yet: one per model, as YAML to paste into a
    project file, each with what it serves."""
    import yaml

    from .audit import audit_store
    from .governance.usage import parse_since
    from .rollups.suggest import questions, suggest
    from .state import state_dir

    proj = _load(project)
    store, start = None, None
    if since is not None:
        try:
            start = parse_since(since, datetime.now(UTC))
        except ValueError as exc:
            raise _fail(f"--since {exc}") from None
        store = audit_store(state_dir(proj.settings.name), proj.settings.audit)
    found = suggest(proj, questions(proj, store, start))
    if not found:
        err.print("no rollup to suggest: the project's rollups answer every question they can", highlight=False)
        return
    parts = []
    for suggestion in found:
        serves = "".join(f"# - {where}\n" for where in suggestion.serves)
        body = yaml.safe_dump(
            [suggestion.rollup.model_dump(exclude_defaults=True)], sort_keys=False, allow_unicode=True
        )
        parts.append(f"# serves:\n{serves}" + body)
    sys.stdout.write("rollups:\n" + "\n".join(_indent(p) for p in parts))


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" if line else "\n" for line in text.splitlines())
