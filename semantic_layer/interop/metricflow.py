"""`semantic-layer import metricflow`: a dbt semantic layer project (MetricFlow YAML) as a project here.

Semantic models become models, their entities primary keys and joins; metrics keep their names and
types; saved queries become dashboards. MetricFlow answers in the warehouse's own clock and starts
weeks on Monday, so the project is written with `timezone: UTC` and `week_start: monday`, and
`metric_time` means what it means there: the time each measure is counted on. The time spine is
built in here, so nothing of it is imported.

What would give other numbers here is left out and reported at its file and line (see report.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .dbt_project import ADAPTER_DIALECTS, DbtProject, Target, read_dbt_project
from .metricflow_metrics import MetricMapper, map_saved_queries
from .metricflow_models import ModelSet, map_semantic_models
from .report import Report, Unmapped
from .settle import write_until_it_loads

REPORT_FILE = "import-report.md"


@dataclass
class ImportResult:
    """The files of the imported project (relative path → YAML data), what was left out, and where
    each written definition came from: ("models" | "metrics" | "dashboards", name) → dbt file, line."""

    files: dict[str, dict[str, Any]]
    report: Report
    origins: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)

    def names(self, section: str) -> list[str]:
        """The names of the written models, metrics or dashboards."""
        return [item["name"] for data in self.files.values() for item in data.get(section, [])]

    def write(self, output: Path, source: str) -> None:
        """Write the project and its report."""
        output.mkdir(parents=True, exist_ok=True)
        for relative, data in self.files.items():
            path = output / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_dump(data), encoding="utf-8")
        (output / REPORT_FILE).write_text(self.report.markdown(source), encoding="utf-8")


def import_metricflow(dbt_root: Path, output: Path, *, connection: str | None = None) -> ImportResult:
    """Read the dbt project at `dbt_root` and map it; `output` is where the project will live
    (a DuckDB connection is written relative to it)."""
    project = read_dbt_project(dbt_root)
    report = Report()
    for file, line, message in project.problems:
        report.items.append(Unmapped(file, line, "file", file, message))
    dialect = _dialect(project.target)
    models = map_semantic_models(project, dialect, report)
    mapper = MetricMapper(models, report)
    _created_metrics(models, project, mapper)
    mapper.map_all(project.metrics)
    dashboards = map_saved_queries(project.saved_queries, mapper.metrics, models, report)
    result = ImportResult({}, report)
    for name, model in models.models.items():
        result.files.setdefault(models.files[name], {}).setdefault("models", []).append(model)
        result.origins[("models", name)] = models.origins[name]
    for name, metric in mapper.metrics.items():
        result.files.setdefault(mapper.files[name], {}).setdefault("metrics", []).append(metric)
        result.origins[("metrics", name)] = mapper.origins[name]
    for node, dashboard in dashboards:
        result.files.setdefault(node.output_file, {}).setdefault("dashboards", []).append(dashboard)
        result.origins[("dashboards", node.name)] = node.where()
    result.files.pop("semantic_layer.yml", None)  # a dbt file of that name would shadow the settings
    result.files["semantic_layer.yml"] = _settings(project, dialect, connection, output)
    return result


def import_and_write(dbt_root: Path, output: Path, *, connection: str | None = None) -> ImportResult:
    """Import and write; what the loader still refuses is dropped and reported, so the project loads."""
    result = import_metricflow(dbt_root, output, connection=connection)
    write_until_it_loads(result, output, str(dbt_root))
    return result


def _created_metrics(models: ModelSet, project: DbtProject, mapper: MetricMapper) -> None:
    """`create_metric: true` on a measure: a simple metric of the measure's name."""
    for node in project.semantic_models:
        for i, raw in enumerate(node.data.get("measures") or []):
            measure = models.measures.get(str(raw.get("name")))
            if raw.get("create_metric") and measure is not None:
                name = str(raw["name"])
                metric = {"name": name, "type": "simple", "measure": measure.ref}
                metric.update({k: str(raw[k]) for k in ("label", "description") if raw.get(k)})
                mapper.metrics[name] = metric
                mapper.files[name] = node.output_file
                mapper.origins[name] = node.where("measures", i)


def _dialect(target: Target | None) -> str:
    return ADAPTER_DIALECTS.get(target.type, "duckdb") if target else "duckdb"


def _settings(project: DbtProject, dialect: str, connection: str | None, output: Path) -> dict[str, Any]:
    name = _project_name(project.root)
    return {
        "name": name,
        "connection": connection or _connection(project, output),
        "dialect": dialect,
        "timezone": "UTC",
        "week_start": "monday",
    }


def _project_name(root: Path) -> str:
    data = yaml.safe_load((root / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    return str(data.get("name") or root.name)


def _connection(project: DbtProject, output: Path) -> str:
    """The dbt profile's warehouse as a connection URL; a DuckDB file relative to the output folder."""
    target = project.target
    if target is None:
        return "duckdb:///:memory:"
    settings = target.settings
    if target.type == "duckdb":
        path = str(settings.get("path", ":memory:"))
        if path == ":memory:" or "{{" in path:
            return "duckdb:///:memory:"
        absolute = (project.root / path).resolve()
        return "duckdb:///" + os.path.relpath(absolute, output.resolve())
    if target.type in ("postgres", "redshift"):
        user, host = settings.get("user", "postgres"), settings.get("host", "localhost")
        return f"postgresql://{user}@{host}:{settings.get('port', 5432)}/{settings.get('dbname', '')}"
    return "duckdb:///:memory:"


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)
