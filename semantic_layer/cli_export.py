"""`semantic-layer export`: the project in another tool's format (docs/cube.md).

Registered on the program of cli.py, which imports this module last.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .cli import ProjectOpt, _fail, _load, app, err, out
from .errors import QueryError


class ExportFormat(StrEnum):
    cube = "cube"


@app.command()
def export(
    format: Annotated[ExportFormat, typer.Argument(help="The format to write: cube (a Cube data model).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the model files and report into.")],
    project: ProjectOpt = None,
    dialect: Annotated[
        str | None, typer.Option(help="Dialect of the SQL in the model (default: the project's dialect).")
    ] = None,
) -> None:
    """Export the project as a Cube data model: one YAML file per cube, and a report of what Cube
    cannot express (printed, and written to the folder as cube-export-report.md)."""
    from .interop.cube import REPORT_FILE, export_cube

    proj = _load(project)
    try:
        found = export_cube(proj, dialect)
    except QueryError as exc:
        raise _fail(str(exc)) from None
    written = found.write(output)
    out.print(
        f"[green]✓[/] wrote {len(written) - 1} Cube model files to {output} (SQL for {found.dialect}); "
        f"{len(found.metrics)} of {len(proj.metrics)} metrics exported",
        highlight=False,
    )
    for omission in found.omitted:
        err.print(f"not exported: {omission.kind} {omission.name} — {omission.reason}", markup=False, highlight=False)
    if found.policies:
        err.print(
            f"access policies ({', '.join(p.role for p in found.policies)}) are not exported: "
            f"{output / REPORT_FILE} lists the Cube access_policy each becomes (Cube 1.2 and later)",
            markup=False,
            highlight=False,
        )
