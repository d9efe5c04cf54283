"""The last step of an import: the written project must load here.

The mapping writes only what it knows to mean the same; the loader may still refuse something (SQL
its parser cannot read, a dimension a filter reaches two ways). Such a definition is dropped and
reported with the loader's own message, and the project written again, until it loads: an import
never leaves a project that does not load, nor loads one with a definition quietly changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Issue, ValidationError
from ..project import load
from ..yaml_source import YamlPath, load_yaml
from .report import Unmapped

if TYPE_CHECKING:
    from .metricflow import ImportResult

SECTIONS = ("models", "metrics", "dashboards")
MODEL_PARTS = ("joins", "dimensions", "measures")
KINDS = {
    "models": "semantic model",
    "metrics": "metric",
    "dashboards": "saved query",
    "joins": "join",
    "dimensions": "dimension",
    "measures": "measure",
}


def write_until_it_loads(result: ImportResult, output: Path, source: str) -> None:
    """Write `result` to `output`; drop what the loader refuses, report it, and write again."""
    while True:
        result.write(output, source)
        try:
            load(output)
            return
        except ValidationError as exc:
            if not _drop_refused(result, exc.errors, output):
                raise ValidationError([*exc.errors, _unplaced(output)]) from None


def _unplaced(output: Path) -> Issue:
    return Issue(str(output), 1, 1, "the imported project does not load, and no single definition is to blame")


def _drop_refused(result: ImportResult, issues: list[Issue], output: Path) -> bool:
    """Drop each definition an error points into; False when no error points into one.

    An error naming an unknown model, measure or metric waits a round while others are fixed: what
    it names was written, and may be unknown only because of another error (a model with one bad
    dimension is unknown as a whole)."""
    located = [(found, issue) for issue in issues if (found := _definition_at(result, issue, output))]
    targets = [(found, issue) for found, issue in located if "unknown" not in issue.message] or located
    # Located first, dropped after: a drop shifts the positions the other errors were found at.
    containers = [(_get(result.files[rel], path[:-1]), path, rel, name, issue) for (rel, path, name), issue in targets]
    owners = [_get(result.files[rel], path[:2])["name"] for _, path, rel, _, _ in containers]
    dropped = False
    for (container, path, relative, name, issue), owner in zip(containers, owners, strict=True):
        if not any(_name(item) == name for item in container):
            continue  # already dropped for another of its errors
        container[:] = [item for item in container if _name(item) != name]
        file, line = result.origins.get((str(path[0]), owner), (relative, 1))  # a model's part: its model's
        message = f"this layer refuses it: {issue.message}"
        result.report.items.append(Unmapped(file, line, KINDS[str(path[-2])], name, message))
        dropped = True
    return dropped


def _name(item: dict[str, Any]) -> str:
    return str(item.get("name", item.get("model")))  # a join is named by its model unless it has a name


def _definition_at(result: ImportResult, issue: Issue, output: Path) -> tuple[str, YamlPath, str] | None:
    """The written definition an error points into: (file, YAML path, name), the innermost one."""
    try:
        relative = Path(issue.file).resolve().relative_to(output.resolve()).as_posix()
    except ValueError:
        return None
    data = result.files.get(relative)
    if data is None or relative == "semantic_layer.yml":
        return None
    doc = load_yaml(output / relative, relative)
    best: tuple[int, YamlPath, str] | None = None
    for path, name in _definitions(data):
        line, _ = doc.locate(path)
        if line <= issue.line and (best is None or line >= best[0]):
            best = (line, path, name)
    return (relative, best[1], best[2]) if best else None


def _definitions(data: dict[str, Any]) -> list[tuple[YamlPath, str]]:
    """Every definition of a written file in order: top-level items, and each model's parts."""
    found: list[tuple[YamlPath, str]] = []
    for section in SECTIONS:
        for i, item in enumerate(data.get(section, [])):
            found.append(((section, i), item["name"]))
            for part in MODEL_PARTS if section == "models" else ():
                for j, sub in enumerate(item.get(part, [])):
                    found.append(((section, i, part, j), _name(sub)))
    return found


def _get(data: Any, path: YamlPath) -> Any:
    for key in path:
        data = data[key]
    return data
