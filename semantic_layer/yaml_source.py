"""YAML documents that remember where every value came from.

Errors must name the file, line and column of the offending node, so files are composed into
PyYAML node trees (libyaml when available) and converted to plain Python while recording the
mark of every mapping key and sequence item by its path.

YAML's own silent rules are refused or read as a project means them: a key given twice in one
mapping is an error (YAML keeps the last one without a word), and only true/false are booleans
(YAML 1.1 also reads yes/no/on/off so, which no field of a project wants: `synonyms: [no]` must
stay the word).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Issue

try:  # libyaml is ~10x faster; the pure-Python loader gives identical results.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

YamlPath = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """A parsed YAML file: its data and the (line, column) of each path, 1-based."""

    file: str
    data: Any
    marks: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)  # problems that do not stop the reading

    def locate(self, path: YamlPath) -> tuple[int, int]:
        """The position of the deepest recorded node on `path` (a parent if the leaf is missing)."""
        for end in range(len(path), -1, -1):
            mark = self.marks.get(path[:end])
            if mark is not None:
                return mark
        return (1, 1)


class YamlSyntaxError(Exception):
    """A file that is not valid YAML, with the position libyaml reported."""

    def __init__(self, file: str, line: int, column: int, message: str):
        self.file, self.line, self.column = file, line, column
        super().__init__(message)


class _ProjectLoader(_Loader):
    """The safe loader with YAML 1.2's booleans: only true and false, in any of their three cases."""


_BOOL = "tag:yaml.org,2002:bool"
_ProjectLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
_ProjectLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load_yaml(path: Path, display_name: str) -> YamlDocument:
    """Parse one file into a YamlDocument; raises YamlSyntaxError with a position."""
    text = _read_text(path, display_name)
    try:
        node = yaml.compose(text, Loader=_ProjectLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or str(exc)
        if _character_at(text, line, col) == "\t":
            problem = "a tab character — YAML indents with spaces only; replace the tabs with spaces"
        raise YamlSyntaxError(display_name, line, col, f"invalid YAML: {problem}") from None
    doc = YamlDocument(display_name, None)
    if node is not None:
        doc.data = _convert(node, (), doc)
    return doc


def _read_text(path: Path, display_name: str) -> str:
    """The file as UTF-8 text. Labels are often Chinese, and an editor may save them in a local
    encoding: say where, instead of stopping the whole project with a traceback."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise YamlSyntaxError(
            display_name,
            line,
            column,
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}) — save it with the UTF-8 encoding",
        ) from None


def _character_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line - 1][column - 1 : column] if line <= len(lines) else ""


def _convert(node: yaml.Node, path: YamlPath, doc: YamlDocument) -> Any:
    doc.marks[path] = _position(node)
    if isinstance(node, yaml.MappingNode):
        return _mapping(node, path, doc)
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), doc) for i, item in enumerate(node.value)]
    return _scalar(node)


def _mapping(node: yaml.MappingNode, path: YamlPath, doc: YamlDocument) -> dict[str, Any]:
    """Keys stay text: YAML 1.1 would read `on:` (every join has one) as the boolean true. A key given
    twice is reported at the second, which is dropped: YAML would keep it and drop the first unseen."""
    out: dict[str, Any] = {}
    first: dict[str, tuple[int, int]] = {}
    for key_node, value_node in node.value:
        at = _position(key_node)
        if not isinstance(key_node, yaml.ScalarNode):
            doc.issues.append(Issue(doc.file, *at, "a mapping key must be a plain value"))
            continue
        key = key_node.value
        if key in first:
            line, column = first[key]
            doc.issues.append(
                Issue(
                    doc.file,
                    *at,
                    f"duplicate key '{key}': it is already set at line {line}, "
                    f"column {column} — YAML would silently keep only the last one; "
                    "remove one of them",
                )
            )
            continue
        first[key] = at
        child = (*path, key)
        out[key] = _convert(value_node, child, doc)
        doc.marks[child] = at  # errors about a key point at the key itself, not at its value
    return out


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _scalar(node: yaml.Node) -> Any:
    value = _CONSTRUCTOR.construct_object(node, deep=True)
    _CONSTRUCTOR.constructed_objects.clear()
    return value


# One constructor turns resolved scalar nodes (int, float, bool, null, date, str) into values.
_CONSTRUCTOR = yaml.SafeLoader("")
