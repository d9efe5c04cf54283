"""`semantic-layer import`: another semantic layer's definitions as a project here (docs/metricflow.md).

Registered on the program of cli.py, which imports this module last.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .cli import _fail, app, err, out
from .errors import ValidationError


class ImportSource(StrEnum):
    metricflow = "metricflow"


@app.command("import")
def import_(
    source: Annotated[ImportSource, typer.Argument(help="What the definitions are: metricflow (a dbt project).")],
    folder: Annotated[Path, typer.Argument(help="The dbt project folder (the one with dbt_project.yml).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="An empty or new folder for the project.")],
    connection: Annotated[
        str | None, typer.Option(help="The project's connection URL (default: from the dbt profile).")
    ] = None,
) -> None:
    """Write a project from a dbt project's semantic models, metrics and saved queries. What would
    give other numbers here is left out, printed and listed in import-report.md with its file:line."""
    from .interop.metricflow import REPORT_FILE, import_and_write

    if output.exists() and any(output.iterdir()):
        raise _fail(f"{output} is not empty — pass a new or empty folder, so no old file mixes into the project")
    try:
        result = import_and_write(folder, output, connection=connection)
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from None
    except ValidationError as exc:
        for issue in exc.errors:
            err.print(str(issue), markup=False, highlight=False)
        raise _fail("the imported project does not load") from None
    for item in result.report.items:
        err.print(str(item), markup=False, highlight=False)
    settings = result.files["semantic_layer.yml"]
    if settings["connection"] == "duckdb:///:memory:":
        err.print(
            "note: no DuckDB or PostgreSQL target in the dbt profile — set `connection` in "
            f"{output / 'semantic_layer.yml'}, or pass --connection",
            markup=False,
            highlight=False,
        )
    out.print(
        f"[green]✓[/] wrote {output}: {len(result.names('models'))} models, {len(result.names('metrics'))} metrics, "
        f"{len(result.names('dashboards'))} dashboards; {len(result.report.items)} definitions not imported "
        f"(listed in {output / REPORT_FILE})",
        highlight=False,
    )
