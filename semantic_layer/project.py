"""`sl.load`: a validated semantic project, or a ValidationError listing every problem."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from . import definitions as d
from .errors import ValidationError
from .graph import SemanticGraph
from .loader import Origin, ProjectSource, read_project, resolve_root
from .validation import validate


@dataclass(frozen=True)
class Project:
    """A loaded project: definitions by name, the resolved graph, and a content version."""

    root: Path
    settings: d.Settings
    models: dict[str, d.Model]
    metrics: dict[str, d.Metric]
    policies: list[d.Policy]
    dashboards: dict[str, d.Dashboard]
    rollups: dict[str, d.Rollup]
    graph: SemanticGraph
    version: str
    locations: dict[str, tuple[str, int, int]]  # model name → (file, line, column) of its definition
    key_locations: dict[str, tuple[str, int, int]]  # model name → where its primary_key is written
    join_locations: dict[tuple[str, str], tuple[str, int, int]]  # (model, join name) → where the join is
    policy_locations: dict[str, tuple[str, int, int]]  # role → where its policy is written
    rule_locations: dict[tuple[str, int], tuple[str, int, int]]  # (role, row index) → where its `where` is
    # (kind, name or role) → where a model, metric, policy or dashboard is written, with its
    # document, so that governance tools (lint, diff) point at any key of a definition.
    origins: dict[tuple[str, str], Origin]

    def connection_url(self) -> str:
        """The connection with a relative DuckDB file, chdb folder or Spark warehouse folder read relative
        to the project folder."""
        url = self.settings.connection
        for prefix in ("duckdb:///", "chdb:///", "spark+local:///"):
            path = url.removeprefix(prefix)
            if path != url and path and path != ":memory:" and not os.path.isabs(path):
                return prefix + str((self.root / path).resolve())
        return url


def load(path: str | os.PathLike[str] | None = None) -> Project:
    """Parse and validate the project at `path` (default: SEMANTIC_LAYER_PROJECT, then '.')."""
    root = resolve_root(path)
    src = read_project(root)
    graph, errors = validate(src)
    if errors:
        raise ValidationError(sorted(errors, key=lambda e: (e.file, e.line, e.column)))
    return Project(
        root=root,
        settings=src.settings,
        models=graph.models,
        metrics=graph.metrics,
        policies=[p for p, _ in src.policies],
        dashboards={b.name: b for b, _ in src.dashboards},
        rollups={r.name: r for r, _ in src.rollups},
        graph=graph,
        version=_version(src),
        locations={m.name: (o.doc.file, *o.doc.locate(o.path)) for m, o in src.models},
        key_locations={m.name: (o.doc.file, *o.doc.locate((*o.path, "primary_key"))) for m, o in src.models},
        join_locations={
            (m.name, j.alias): (o.doc.file, *o.doc.locate((*o.path, "joins", i)))
            for m, o in src.models
            for i, j in enumerate(m.joins)
        },
        policy_locations={p.role: (o.doc.file, *o.doc.locate(o.path)) for p, o in src.policies},
        rule_locations={
            (p.role, i): (o.doc.file, *o.doc.locate((*o.path, "rows", i, "where")))
            for p, o in src.policies
            for i in range(len(p.rows))
        },
        origins={
            **{("model", m.name): o for m, o in src.models},
            **{("metric", m.name): o for m, o in src.metrics},
            **{("policy", p.role): o for p, o in src.policies},
            **{("dashboard", b.name): o for b, o in src.dashboards},
            **{("rollup", r.name): o for r, o in src.rollups},
        },
    )


def _version(src: ProjectSource) -> str:
    """A hash of every definition: caches keyed on it never serve answers from an older project."""
    digest = hashlib.sha256(src.settings.model_dump_json().encode())
    for items in (src.models, src.metrics, src.policies, src.dashboards, src.rollups):
        for item, _ in items:
            digest.update(item.model_dump_json().encode())
    return digest.hexdigest()[:16]
