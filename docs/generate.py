"""Regenerate the parts of docs/ that are produced from the code, not written by hand.

    python docs/generate.py           # rewrite them in place
    python docs/generate.py --check   # exit 1, naming the stale parts, when they are out of date

Each part sits between `<!-- generated:NAME:start -->` and `<!-- generated:NAME:end -->` in its
page; everything outside the markers is left alone. tests/test_docs.py fails when a part drifts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
HELP_WIDTH = 100


def cli_help() -> str:
    """The `--help` of the program and of every command, as plain text (no terminal styling)."""
    import typer

    from semantic_layer.cli import app

    root = typer.main.get_command(app)
    commands = root.commands  # type: ignore[attr-defined]  # the program is a group of commands
    context_class = root.context_class  # typer's own click
    width = {"terminal_width": HELP_WIDTH, "max_content_width": HELP_WIDTH}
    parts = []
    context = context_class(root, info_name="semantic-layer", **width)
    for name, command in [("", root), *commands.items()]:
        command.rich_markup_mode = None  # typer's plain-text help, without terminal styling
        ctx = context if not name else context_class(command, info_name=name, parent=context, **width)
        title = f"semantic-layer {name}".strip()
        parts.append(f"### `{title} --help`\n\n```text\n{command.get_help(ctx)}\n```\n")
    return "\n".join(parts)


def graphql_sdl() -> str:
    """The schema the server answers, in GraphQL's schema language."""
    import strawberry

    from server.schema import Query

    return f"```graphql\n{strawberry.Schema(query=Query)}\n```\n"


PARTS: dict[str, tuple[str, Callable[[], str]]] = {
    "cli-help": ("cli.md", cli_help),
    "graphql-sdl": ("graphql.md", graphql_sdl),
}


def markers(name: str) -> tuple[str, str]:
    return f"<!-- generated:{name}:start -->", f"<!-- generated:{name}:end -->"


def current(name: str) -> str:
    """The part as it stands in its page."""
    page, _ = PARTS[name]
    start, end = markers(name)
    text = (DOCS / page).read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise SystemExit(f"docs/{page} lacks the markers {start} … {end}")
    return text.split(start, 1)[1].split(end, 1)[0].strip("\n") + "\n"


def expected(name: str) -> str:
    return PARTS[name][1]()


def write(name: str) -> bool:
    """Rewrite one part; True when it changed."""
    page, _ = PARTS[name]
    start, end = markers(name)
    path = DOCS / page
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{start}\n{expected(name)}{end}{tail}"
    path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    if "--check" in argv:
        stale = [name for name in PARTS if current(name) != expected(name)]
        for name in stale:
            print(f"docs/{PARTS[name][0]}: the generated part '{name}' is out of date — run: python docs/generate.py")
        return 1 if stale else 0
    for name in PARTS:
        print(f"docs/{PARTS[name][0]}: {name} {'rewritten' if write(name) else 'unchanged'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
