"""Write examples/crm_analysis.ipynb from examples/crm_analysis.py, its one source.

    python examples/make_notebook.py           # rewrite the notebook
    python examples/make_notebook.py --check   # exit 1 when the notebook is out of date

The script is split at `# %%` lines (the cell markers editors know); a `# %% [markdown]` cell's
comment lines become a Markdown cell. The notebook is written without outputs, so that it changes
only when the script does; tests/test_notebook.py runs both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "crm_analysis.py"
NOTEBOOK = HERE / "crm_analysis.ipynb"


def cells(source: str) -> list[tuple[str, str]]:
    """(kind, text) of each cell of a script with `# %%` markers."""
    found: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        if line.startswith("# %%"):
            found.append(("markdown" if "[markdown]" in line else "code", []))
        elif found:
            found[-1][1].append(line)
    out = []
    for kind, lines in found:
        if kind == "markdown":
            lines = [line.removeprefix("#").removeprefix(" ") for line in lines]
        out.append((kind, "\n".join(lines).strip("\n")))
    return out


def notebook(source: str) -> nbformat.NotebookNode:
    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    book.metadata["language_info"] = {"name": "python"}
    for i, (kind, text) in enumerate(cells(source)):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        book.cells.append(make(text, id=f"cell-{i}"))
    return book


def rendered() -> str:
    return nbformat.writes(notebook(SCRIPT.read_text(encoding="utf-8"))) + "\n"


def main(argv: list[str]) -> int:
    text = rendered()
    if "--check" in argv:
        if NOTEBOOK.read_text(encoding="utf-8") != text:
            print(f"{NOTEBOOK.name} is out of date: run python examples/make_notebook.py", file=sys.stderr)
            return 1
        return 0
    NOTEBOOK.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
