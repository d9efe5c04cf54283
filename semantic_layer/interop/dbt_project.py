"""A dbt project as the MetricFlow import reads it: its semantic YAML, its relations, its warehouse.

MetricFlow's definitions sit in dbt's YAML files beside the model properties. Each one is kept with
the file and line it was written at, so the import report can point at what it could not carry
over. `model: ref('orders')` names a dbt model; only the compiled manifest (`target/manifest.json`)
knows the relation it builds, and only the dbt profile knows which warehouse that is.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..yaml_source import YamlDocument, YamlPath, YamlSyntaxError, load_yaml

SEMANTIC_KEYS = ("semantic_models", "metrics", "saved_queries")
_REF = re.compile(
    r"""^\s*(?:\{\{\s*)?ref\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]+)\3\s*)?(?:,\s*v(?:ersion)?\s*=\s*[^)]*)?\)"""
    r"""\s*(?:\}\})?\s*$"""
)
# dbt adapter types whose SQL this layer reads, and the dialect it calls them by.
ADAPTER_DIALECTS = {
    "duckdb": "duckdb",
    "postgres": "postgres",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "databricks": "databricks",
    "spark": "spark",
    "trino": "trino",
    "clickhouse": "clickhouse",
    "mysql": "mysql",
    "mariadb": "mariadb",
}


@dataclass(frozen=True)
class Node:
    """One definition (a semantic model, a metric, a saved query) and where it was written."""

    data: dict[str, Any]
    doc: YamlDocument
    path: YamlPath
    output_file: str  # the file of the imported project its definitions go to

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    def where(self, *sub: str | int) -> tuple[str, int]:
        """(file, line) of this definition, or of one of its keys."""
        line, _ = self.doc.locate((*self.path, *sub))
        return self.doc.file, line


@dataclass(frozen=True)
class Relation:
    database: str | None
    schema: str | None
    alias: str


@dataclass(frozen=True)
class Target:
    """The dbt profile's target: the adapter type and its connection keys."""

    type: str
    settings: dict[str, Any]


@dataclass
class DbtProject:
    root: Path
    semantic_models: list[Node] = field(default_factory=list)
    metrics: list[Node] = field(default_factory=list)
    saved_queries: list[Node] = field(default_factory=list)
    relations: dict[str, Relation] = field(default_factory=dict)  # dbt model name → its relation
    target: Target | None = None
    problems: list[tuple[str, int, str]] = field(default_factory=list)  # files that could not be read

    def relation(self, model: str) -> str | None:
        """The table a `model:` key names (`ref('orders')` → `main.orders`); None when it is not a ref."""
        match = _REF.match(model)
        if not match:
            return None
        name = match.group(4) or match.group(2)  # ref('package', 'model') names the model second
        found = self.relations.get(name)
        if found is None:
            return name  # no manifest: the relation of that name in the connection's default schema
        parts = [found.schema, found.alias]
        if found.database and found.database != self.default_database():
            parts.insert(0, found.database)
        return ".".join(p for p in parts if p)

    def default_database(self) -> str | None:
        """The database the connection opens: the profile's, else the one most relations live in."""
        if self.target is not None:
            database = self.target.settings.get("database") or self.target.settings.get("dbname")
            if database is None and self.target.type == "duckdb":
                database = Path(str(self.target.settings.get("path", "memory"))).stem
            if database is not None:
                return str(database)
        counts = Counter(r.database for r in self.relations.values() if r.database)
        return counts.most_common(1)[0][0] if counts else None


def read_dbt_project(root: Path) -> DbtProject:
    """Read `root` (a folder with dbt_project.yml): its semantic YAML, manifest and profile."""
    settings = _plain_yaml(root / "dbt_project.yml")
    if settings is None:
        raise FileNotFoundError(f"{root}: no dbt_project.yml — pass the folder of a dbt project")
    project = DbtProject(root)
    for folder in _list(settings.get("model-paths"), ["models"]):
        base = root / folder
        for file in sorted(p for p in base.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()):
            _read_file(project, file, base)
    project.relations = _manifest_relations(root / str(settings.get("target-path", "target")) / "manifest.json")
    project.target = _profile_target(root, settings.get("profile"))
    return project


def _read_file(project: DbtProject, file: Path, base: Path) -> None:
    shown = file.relative_to(project.root).as_posix()
    try:
        doc = load_yaml(file, shown)
    except YamlSyntaxError as exc:
        project.problems.append((exc.file, exc.line, str(exc)))
        return
    if not isinstance(doc.data, dict):
        return
    output = file.relative_to(base).with_suffix(".yml").as_posix()
    for key, nodes in zip(
        SEMANTIC_KEYS, (project.semantic_models, project.metrics, project.saved_queries), strict=True
    ):
        items = doc.data.get(key)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if isinstance(item, dict):
                nodes.append(Node(item, doc, (key, i), output))
            else:
                line, _ = doc.locate((key, i))
                project.problems.append((shown, line, f"an item of {key}: must be a mapping"))


def _manifest_relations(path: Path) -> dict[str, Relation]:
    """dbt model, seed and snapshot names → relations, from a compiled manifest (none without one)."""
    if not path.is_file():
        return {}
    manifest = json.loads(path.read_text(encoding="utf-8"))
    relations: dict[str, Relation] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") in ("model", "seed", "snapshot"):
            alias = node.get("alias") or node.get("identifier") or node["name"]
            relations[node["name"]] = Relation(node.get("database"), node.get("schema"), alias)
    return relations


def _profile_target(root: Path, profile: Any) -> Target | None:
    """The profile's default target, read where dbt looks for profiles.yml (no Jinja rendered)."""
    folders = [os.environ.get("DBT_PROFILES_DIR"), str(root), str(Path.home() / ".dbt")]
    for folder in filter(None, folders):
        profiles = _plain_yaml(Path(folder) / "profiles.yml")
        if profiles is None or not isinstance(profiles.get(profile), dict):
            continue
        entry = profiles[profile]
        outputs = entry.get("outputs") or {}
        chosen = outputs.get(entry.get("target")) if isinstance(outputs, dict) else None
        if isinstance(chosen, dict) and isinstance(chosen.get("type"), str):
            return Target(chosen["type"], chosen)
    return None


def _plain_yaml(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def _list(value: Any, default: list[str]) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) and value else default
