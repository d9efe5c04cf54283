"""The analyst's governance commands (docs/cli.md): `check`, `lint`, `diff`, `usage` and `show`.

They are registered on the program of cli.py, which imports this module last; the shared options
and helpers (project loading, error printing) come from there.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from .checks import CheckResult
from .cli import ProjectOpt, _fail, _load, app, out
from .errors import QueryError, SemanticLayerError
from .layer import Layer
from .result import json_value


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
        with Layer(proj, connection) as layer:
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
