"""The user documentation in docs/ stays true to the code.

- yaml-reference.md documents every field of every definition model;
- the generated parts (each command's --help, the GraphQL schema) equal what the code produces;
- every page is listed in the index, and every relative link and anchor resolves inside the repository;
- the Python examples of python.md run on a small CRM demo.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

import semantic_layer as sl
from semantic_layer import definitions as d
from semantic_layer.demo import write_demo

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
REGENERATE = "python docs/generate.py"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the YAML reference ------------------------------------------------------------------------
def definition_models() -> list[type[BaseModel]]:
    """Every pydantic model the YAML format is made of."""
    return [
        cls
        for _, cls in inspect.getmembers(d, inspect.isclass)
        if issubclass(cls, BaseModel) and cls.__module__ == d.__name__
    ]


def reference_sections() -> dict[str, str]:
    """The text of each `<!-- definitions: Class -->` section of yaml-reference.md, up to the next one."""
    text = (DOCS / "yaml-reference.md").read_text(encoding="utf-8")
    parts = re.split(r"<!-- definitions: (\w+) -->", text)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def documented_keys(section: str) -> set[str]:
    """The keys a section's tables list (rows that start with a `key` cell)."""
    return set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))


def test_the_yaml_reference_documents_every_field_of_every_definition() -> None:
    sections = reference_sections()
    unknown = set(sections) - {cls.__name__ for cls in definition_models()}
    assert not unknown, f"yaml-reference.md has sections for classes definitions.py does not define: {unknown}"
    missing = []
    for cls in definition_models():
        own = [c.__name__ for c in cls.__mro__ if c.__name__ in sections]
        if not cls.model_fields or (not own and cls.__subclasses__()):
            continue  # a base class whose fields its subclasses' sections document
        if not own:
            missing.append(f"{cls.__name__}: no '<!-- definitions: {cls.__name__} -->' section")
            continue
        keys = set().union(*(documented_keys(sections[name]) for name in own))
        missing += [f"{cls.__name__}.{field}" for field in cls.model_fields if field not in keys]
    assert not missing, (
        "docs/yaml-reference.md does not document these definitions (add a table row "
        "'| `key` | meaning | default |' to the class's section):\n" + "\n".join(missing)
    )


def test_the_yaml_reference_documents_only_real_keys() -> None:
    sections = reference_sections()
    classes = {cls.__name__: cls for cls in definition_models()}
    extra = []
    for name, section in sections.items():
        fields = set(classes[name].model_fields)
        fields |= {f for sub in classes[name].__subclasses__() for f in sub.model_fields}
        extra += [f"{name}.{key}" for key in documented_keys(section) - fields]
    assert not extra, f"docs/yaml-reference.md documents keys the definitions do not have: {extra}"


# -- generated parts ---------------------------------------------------------------------------
@pytest.mark.parametrize("part", ["cli-help", "graphql-sdl"])
def test_generated_parts_are_up_to_date(part: str) -> None:
    generator = load_generator()
    page = generator.PARTS[part][0]
    assert generator.current(part) == generator.expected(part), (
        f"docs/{page}: the generated part '{part}' is out of date — regenerate it with: {REGENERATE}"
    )


def test_every_command_is_described_in_the_cli_page() -> None:
    import typer

    from semantic_layer.cli import app

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    missing = [name for name in commands if f"## `semantic-layer {name}`" not in text]
    assert not missing, f"docs/cli.md has no '## `semantic-layer NAME`' section for: {missing}"


# -- pages and links ---------------------------------------------------------------------------
def test_the_index_lists_every_page() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in PAGES if p.name != "README.md" and f"]({p.name})" not in index]
    assert not missing, f"docs/README.md does not link to: {missing}"


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *PAGES]


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower-case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    out: set[str] = set()
    for heading in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n = 1
        while slug in out:
            slug = f"{slug}-{n}" if n == 1 else re.sub(r"-\d+$", f"-{n}", slug)
            n += 1
        out.add(slug)
    return out


def links(path: Path) -> Iterator[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    yield from re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve_inside_the_repository(path: Path) -> None:
    broken = []
    for link in links(path):
        if re.match(r"^[a-z]+://", link) or link.startswith("mailto:"):
            continue
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        if ROOT not in file.parents and file != ROOT:
            broken.append(f"{link}: points outside the repository")
        elif not file.exists():
            broken.append(f"{link}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{link}: no heading '#{anchor}' in {file.name}")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)


# -- examples ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_crm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crm") / "crm.duckdb"
    write_demo(path, scale=0.05, seed=42)
    return path


def python_examples(page: str) -> list[str]:
    """The ```python blocks of a page, except those that need a running server (they use sl.Client)."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return [block for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL) if "Client(" not in block]


def test_the_python_examples_run_on_the_crm_demo(small_crm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("SEMANTIC_LAYER_CONNECTION", f"duckdb:///{small_crm}")
    blocks = python_examples("python.md")
    assert len(blocks) >= 4
    namespace: dict[str, object] = {"sl": sl}
    for block in blocks:
        exec(compile(block, "docs/python.md", "exec"), namespace)  # our own documentation
