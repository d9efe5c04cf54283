"""What a change to a project changes: definitions, compiled SQL, and what is built on them.

Two versions of a project (semantic_layer/governance/gitref.py) are compared definition by
definition — settings, models, metrics, policies — and each metric is compiled alone in each
version, per dialect asked. A metric whose upstream (the metrics its expansion goes through, the
models it reads or joins, the compile settings) is identical in both versions compiles to the same
SQL, so only the others are compiled: on a project of a thousand metrics a change touching a few
compiles a few. A metric whose SQL changes while its own definition does not is listed with the
changes it inherits.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel

from ..compiler import Compiler
from ..errors import QueryError
from ..project import Project
from .gitref import Version
from .lineage import Lineage, TileRef, shown_query, tiles_grouped_by, tiles_showing

# Settings a metric's SQL depends on: any change to these compiles every metric again.
COMPILE_SETTINGS = ("dialect", "timezone", "week_start", "fiscal_year_start_month", "limits")


@dataclass(frozen=True)
class SqlChange:
    """One metric's SQL in one dialect, before and after (None: absent in that version)."""

    dialect: str
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class Downstream:
    """A metric built on a change, and what happens to its own SQL: 'changes', 'unchanged', or
    'new' / 'removed' for a metric only one version has."""

    name: str
    sql: str

    @property
    def sql_changes(self) -> bool:
        return self.sql != "unchanged"


@dataclass
class Change:
    """A definition added, removed or changed (`kind`: settings, model, metric, policy or dashboard)."""

    kind: str
    name: str
    status: str  # added | removed | changed
    location: str  # file:line in the version that has it (the new one, unless removed)
    before: str  # the definition as YAML ('' when added)
    after: str  # ('' when removed)
    sql: list[SqlChange] = field(default_factory=list)  # metrics: each dialect's SQL, changed or not
    downstream: list[Downstream] = field(default_factory=list)
    tiles: list[TileRef] = field(default_factory=list)  # the dashboard tiles whose numbers or labels it changes
    notes: list[str] = field(default_factory=list)  # what else follows from it (a policy's reach)

    @property
    def sql_changed(self) -> bool:
        return any(s.changed for s in self.sql)


@dataclass(frozen=True)
class Affected:
    """A metric whose SQL changes without a change of its own, and the changes it inherits."""

    name: str
    location: str
    because: tuple[str, ...]  # 'model orders', 'metric revenue', 'settings'
    sql: tuple[SqlChange, ...]
    tiles: tuple[TileRef, ...] = ()  # the dashboard tiles that show it


@dataclass
class ProjectDiff:
    base: Version
    head: Version
    dialects: list[str]
    changes: list[Change] = field(default_factory=list)
    affected: list[Affected] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes or self.affected)

    def sql_changed(self, metric: str) -> bool:
        for change in self.changes:
            if change.kind == "metric" and change.name == metric:
                return change.sql_changed
        return any(a.name == metric for a in self.affected)

    def changed_metrics(self) -> list[str]:
        """Metrics in both versions whose SQL changes (what `--values` runs), in report order."""
        own = [c.name for c in self.changes if c.kind == "metric" and c.status == "changed" and c.sql_changed]
        return own + [a.name for a in self.affected]


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's, when PyYAML was built with it


def yaml_text(value: BaseModel | None) -> str:
    """A definition as YAML, keys in their definition order, defaults left out ('' for None)."""
    if value is None:
        return ""
    data = value.model_dump(mode="json", exclude_defaults=True)
    ordered: dict[str, Any] = {key: data.pop(key) for key in ("name", "role", "type") if key in data}
    ordered.update(data)  # name and type first, as the YAML files write them
    return yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def unified(before: str, after: str, old: str, new: str) -> list[str]:
    """A unified diff of two texts, as lines without their line ends."""
    return list(
        difflib.unified_diff(before.splitlines(), after.splitlines(), fromfile=old, tofile=new, lineterm="", n=3)
    )


def diff_projects(base: Version, head: Version, dialects: Iterable[str]) -> ProjectDiff:
    """Compare two loaded versions (both must have a project)."""
    old, new = base.project, head.project
    assert old is not None and new is not None
    result = ProjectDiff(base, head, list(dialects))
    lineage = (Lineage(old.graph), Lineage(new.graph))
    sql = _Sql(old, new, result.dialects, lineage)
    result.changes += _settings_change(base, head)
    result.changes += _compare(base, head, "model", old.models, new.models)
    result.changes += _compare(base, head, "metric", old.metrics, new.metrics)
    result.changes += _compare(
        base, head, "policy", {p.role: p for p in old.policies}, {p.role: p for p in new.policies}
    )
    result.changes += _compare(base, head, "dashboard", old.dashboards, new.dashboards)
    changed = {(c.kind, c.name) for c in result.changes}
    sql.changed_definitions = changed
    for change in result.changes:
        _fill(change, sql, lineage, (old, new))
    for name in sorted(set(old.metrics) & set(new.metrics)):
        if ("metric", name) not in changed and sql.changed(name):
            because = _inherited(name, changed, lineage)
            tiles = tuple(tiles_showing(new.dashboards, [name]))
            result.affected.append(Affected(name, head.where("metric", name), because, tuple(sql.of(name)), tiles))
    return result


def _settings_change(base: Version, head: Version) -> list[Change]:
    assert base.project is not None and head.project is not None
    before = yaml_text(base.project.settings.model_copy(update={"connection": ""}))
    after = yaml_text(head.project.settings.model_copy(update={"connection": ""}))
    if before == after:
        return []
    return [Change("settings", "semantic_layer.yml", "changed", "", before, after)]


def _compare(
    base: Version, head: Version, kind: str, old: Mapping[str, BaseModel], new: Mapping[str, BaseModel]
) -> list[Change]:
    out = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        location = base.where(kind, name) if after is None else head.where(kind, name)
        out.append(Change(kind, name, status, location, yaml_text(before), yaml_text(after)))
    return out


class _Sql:
    """Each metric's SQL in both versions, compiled only where its upstream differs."""

    def __init__(self, old: Project, new: Project, dialects: list[str], lineage: tuple[Lineage, Lineage]):
        self.projects = (old, new)
        self.dialects = dialects
        self.lineage = lineage
        self.compilers = (Compiler(old.graph), Compiler(new.graph))
        self.changed_definitions: set[tuple[str, str]] = set()  # (kind, name) of every change
        self._changes: dict[str, list[SqlChange]] = {}
        self._model_hashes: tuple[dict[str, str], dict[str, str]] = ({}, {})

    def changed(self, metric: str) -> bool:
        return any(s.changed for s in self.of(metric))

    def of(self, metric: str) -> list[SqlChange]:
        if metric not in self._changes:
            if self._untouched(metric):
                self._changes[metric] = [SqlChange(dialect, "", "") for dialect in self.dialects]
                return self._changes[metric]
            before, after = self._fingerprint(0, metric), self._fingerprint(1, metric)
            if before is not None and before == after:  # the same upstream: the same SQL, not compiled
                self._changes[metric] = [SqlChange(dialect, "", "") for dialect in self.dialects]
            else:
                self._changes[metric] = [
                    SqlChange(dialect, self._compile(0, metric, dialect), self._compile(1, metric, dialect))
                    for dialect in self.dialects
                ]
        return self._changes[metric]

    def _untouched(self, metric: str) -> bool:
        """Nothing the metric's SQL is made from in the new version changed: then the old version
        expands it the same way (every definition its expansion and joins go through is the same),
        and its old upstream need not be worked out."""
        if ("settings", "semantic_layer.yml") in self.changed_definitions:
            return False
        if any(metric not in project.metrics for project in self.projects):
            return False
        found = self.lineage[1].reads(metric)
        if found is None:
            return False
        touched = [("metric", name) for name in found.metrics] + [("model", name) for name in found.all_models]
        return not any(item in self.changed_definitions for item in touched)

    def _compile(self, side: int, metric: str, dialect: str) -> str | None:
        if metric not in self.projects[side].metrics:
            return None
        try:
            query = shown_query(self.projects[side].graph, metric)
            compiled, values = self.compilers[side].compile(query, dialect, pretty=True)
        except QueryError as exc:
            return f"-- cannot compile for {dialect}: {exc.message}"
        return compiled.inline(values)

    def _fingerprint(self, side: int, metric: str) -> str | None:
        """A hash of everything the metric's SQL is made from (None: unknown, compile to compare)."""
        project = self.projects[side]
        if metric not in project.metrics:
            return None
        found = self.lineage[side].reads(metric)
        if found is None:
            return None
        digest = hashlib.sha256()
        settings = project.settings.model_dump(mode="json", include=set(COMPILE_SETTINGS))
        digest.update(repr(sorted(settings.items())).encode())
        for name in found.metrics:
            digest.update(project.metrics[name].model_dump_json().encode())
        for model in found.all_models:
            digest.update(self._model_hash(side, model).encode())
        return digest.hexdigest()

    def _model_hash(self, side: int, model: str) -> str:
        hashes = self._model_hashes[side]
        if model not in hashes:
            hashes[model] = self.projects[side].models[model].model_dump_json()
        return hashes[model]


def _fill(change: Change, sql: _Sql, lineage: tuple[Lineage, Lineage], projects: tuple[Project, Project]) -> None:
    """A change's SQL and what is built on it."""
    side = 0 if change.status == "removed" else 1
    dashboards = projects[side].dashboards
    if change.kind == "metric":
        change.sql = sql.of(change.name)
        users = lineage[side].downstream(change.name)
        change.downstream = [Downstream(u, _fate(u, sql, projects)) for u in users]
        change.tiles = tiles_showing(dashboards, [change.name, *(d.name for d in change.downstream if d.sql_changes)])
    elif change.kind == "model":
        readers = list(lineage[side].readers(change.name))  # the new version's; the old's for a removed model
        removed = [m for m in projects[0].metrics if m not in projects[1].metrics] if side else []
        readers += [m for m in removed if change.name in (getattr(lineage[0].reads(m), "all_models", ()))]
        change.downstream = [Downstream(m, _fate(m, sql, projects)) for m in readers]
        changing = tiles_showing(dashboards, [d.name for d in change.downstream if d.sql_changes])
        grouped = tiles_grouped_by(projects[side].graph, dashboards, change.name)
        change.tiles = [*changing, *(t for t in grouped if t not in changing)]
    elif change.kind == "policy":
        change.notes = _policy_reach(change, projects)


def _fate(metric: str, sql: _Sql, projects: tuple[Project, Project]) -> str:
    if metric not in projects[0].metrics:
        return "new"
    if metric not in projects[1].metrics:
        return "removed"
    return "changes" if sql.changed(metric) else "unchanged"


def _policy_reach(change: Change, projects: tuple[Project, Project]) -> list[str]:
    """What a policy change reaches: the models its row filters apply to and the members it hides,
    in either version."""
    policies = [next((p for p in project.policies if p.role == change.name), None) for project in projects]
    filtered = sorted({row.model for p in policies if p for row in p.rows})
    hidden = sorted({member for p in policies if p for member in p.hide})
    notes = []
    if filtered:
        notes.append(f"row filters on {', '.join(f'`{m}`' for m in filtered)} (and every model joining them to-one)")
    if hidden:
        notes.append(f"hides {', '.join(f'`{m}`' for m in hidden)}")
    return notes


def _inherited(metric: str, changed: set[tuple[str, str]], lineage: tuple[Lineage, Lineage]) -> tuple[str, ...]:
    """The changes upstream of `metric` (in either version) that its SQL inherits."""
    because: dict[str, None] = {}
    if ("settings", "semantic_layer.yml") in changed:
        because["settings"] = None
    for side in lineage:
        found = side.reads(metric)
        if found is None:
            continue
        for name in found.metrics[1:]:
            if ("metric", name) in changed:
                because[f"metric {name}"] = None
        for model in found.all_models:
            if ("model", model) in changed:
                because[f"model {model}"] = None
    return tuple(because)


def as_json(diff: ProjectDiff) -> dict[str, Any]:
    """The diff for tools: every change with its definition and SQL diffs and what it reaches."""
    base, head = diff.base.label, diff.head.label
    return {
        "base": base,
        "head": head,
        "dialects": diff.dialects,
        "changes": [
            {
                "kind": c.kind,
                "name": c.name,
                "status": c.status,
                "location": c.location,
                "definition_diff": "\n".join(unified(c.before, c.after, base, head)),
                "sql_diff": {
                    s.dialect: "\n".join(unified(s.before or "", s.after or "", base, head)) for s in c.sql if s.changed
                },
                "downstream": [{"metric": m.name, "sql": m.sql} for m in c.downstream],
                "tiles": [_tile_json(t) for t in c.tiles],
                "notes": c.notes,
            }
            for c in diff.changes
        ],
        "affected": [
            {
                "metric": a.name,
                "location": a.location,
                "because": list(a.because),
                "sql_diff": {
                    s.dialect: "\n".join(unified(s.before or "", s.after or "", base, head)) for s in a.sql if s.changed
                },
                "tiles": [_tile_json(t) for t in a.tiles],
            }
            for a in diff.affected
        ],
    }


def _tile_json(tile: TileRef) -> dict[str, Any]:
    return {"dashboard": tile.dashboard, "tile": tile.number, "title": tile.title}
