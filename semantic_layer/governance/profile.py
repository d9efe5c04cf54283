"""Everything about one metric in one place: `semantic-layer show metric` and the catalogue site's
metric pages read it (semantic_layer/governance/site.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ..catalog import dimensions_for, thresholds_text
from ..compiler import Compiler
from ..errors import QueryError
from ..project import Project
from .diff import yaml_text
from .lineage import Lineage, TileRef, shown_query, tiles_showing


@dataclass(frozen=True)
class MetricProfile:
    name: str
    label: str | None
    type: str
    description: str | None
    owner: str | None
    tier: str | None
    status: str
    replaced_by: str | None
    format: str | None
    direction: str | None
    thresholds: str
    synonyms: tuple[str, ...]
    tags: tuple[str, ...]
    location: str  # file:line
    definition: str  # YAML
    dialect: str
    sql: str  # or why it does not compile for the dialect
    depends_on: tuple[str, ...]  # directly
    upstream: tuple[str, ...]  # every metric it is computed from
    models: tuple[str, ...]  # whose rows it aggregates
    measures: tuple[str, ...]
    joined: tuple[str, ...]  # models it reads through joins
    used_by: tuple[str, ...]  # directly
    downstream: tuple[str, ...]  # every metric computed from it
    dimensions: tuple[str, ...]
    tiles: tuple[TileRef, ...]  # the dashboard tiles that show it

    def to_json(self) -> dict[str, Any]:
        out = {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}
        out["tiles"] = [{"dashboard": t.dashboard, "tile": t.number, "title": t.title} for t in self.tiles]
        return out


def metric_profile(
    project: Project, name: str, dialect: str | None = None, lineage: Lineage | None = None
) -> MetricProfile:
    """Raises UnknownMemberError for a metric the project does not have."""
    metric = project.graph.metric(name)
    lineage = lineage or Lineage(project.graph)
    target = dialect or project.settings.dialect
    try:
        compiled, values = Compiler(project.graph).compile(shown_query(project.graph, name), target, pretty=True)
        sql = compiled.inline(values)
    except QueryError as exc:
        sql = f"-- cannot compile for {target}: {exc.message}"
    reads = lineage.reads(name)
    origin = project.origins[("metric", name)]
    line, _ = origin.doc.locate(origin.path)
    try:
        dimensions = tuple(dimensions_for(project.graph, [name]))
    except QueryError:
        dimensions = ()
    return MetricProfile(
        name=name,
        label=metric.label,
        type=metric.type,
        description=metric.description,
        owner=metric.owner,
        tier=metric.tier,
        status=metric.status,
        replaced_by=metric.replaced_by,
        format=metric.format,
        direction=metric.direction,
        thresholds=thresholds_text(metric),
        synonyms=tuple(metric.synonyms),
        tags=tuple(metric.tags),
        location=f"{origin.doc.file}:{line}",
        definition=yaml_text(metric),
        dialect=target,
        sql=sql,
        depends_on=tuple(lineage.depends_on(name)),
        upstream=tuple(lineage.upstream(name)),
        models=reads.models if reads else (),
        measures=reads.measures if reads else (),
        joined=reads.joined if reads else (),
        used_by=tuple(lineage.used_by(name)),
        downstream=tuple(lineage.downstream(name)),
        dimensions=dimensions,
        tiles=tuple(tiles_showing(project.dashboards, [name])),
    )


def print_profile(profile: MetricProfile, console: Console) -> None:
    head = Text(profile.name, style="bold")
    if profile.label:
        head.append(f" — {profile.label}")
    console.print(head)
    if profile.description:
        console.print(Text(" ".join(profile.description.split())))
    facts = Table(show_header=False, box=None, pad_edge=False)
    facts.add_column(style="bold")
    facts.add_column(overflow="fold")
    for key, value in _facts(profile):
        facts.add_row(key, Text(value))
    console.print(facts)
    console.print(Panel(Syntax(profile.definition, "yaml", word_wrap=True), title="definition", title_align="left"))
    console.print(
        Panel(Syntax(profile.sql, "sql", word_wrap=True), title=f"SQL ({profile.dialect})", title_align="left")
    )
    console.print(Panel(Group(*(Text(f"{k}: {v}") for k, v in _lineage(profile))), title="lineage", title_align="left"))


def _facts(p: MetricProfile) -> list[tuple[str, str]]:
    rows = [("type", p.type), ("status", p.status)]
    if p.replaced_by:
        rows.append(("replaced by", p.replaced_by))
    rows += [("tier", p.tier or "—"), ("owner", p.owner or "—"), ("format", p.format or "—")]
    rows += [("direction", p.direction or "—"), ("thresholds", p.thresholds or "—")]
    rows += [("synonyms", ", ".join(p.synonyms) or "—"), ("tags", ", ".join(p.tags) or "—")]
    rows += [("dimensions", f"{len(p.dimensions)} (semantic-layer list dimensions --metric {p.name})")]
    return [*rows, ("defined at", p.location)]


def _lineage(p: MetricProfile) -> list[tuple[str, str]]:
    def names(items: tuple[str, ...]) -> str:
        return ", ".join(items) or "—"

    return [
        ("models", names(p.models)),
        ("measures", names(p.measures)),
        ("joined models", names(p.joined)),
        ("built on", names(p.upstream)),
        ("built on it", names(p.downstream)),
        ("shown on", ", ".join(str(t) for t in p.tiles) or "—"),
    ]
