"""`rollups suggest`: rollups that would answer the questions the dashboards ask and the audit log
recorded, one per model, which the project's rollups do not answer yet.

Each question is planned as the compiler plans it; every unit a rollup could serve (a plain or
running total over measures that add up again, grouped by dimensions reached along to-one joins)
contributes its measures, its dimensions and the filters of its metrics to its model's suggestion,
and the finest metric_time grain it asks for (a day serves weeks, a month serves quarters and
years). A dashboard's filters are dimensions too: a page filtered by region asks by region. The
suggestions are checked as the loader would check them; what no rollup can serve (retention,
conversion, semi-additive measures, one_to_many dimensions, exact-only measures) is left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .. import definitions as d
from ..audit import AuditStore
from ..compiler.members import resolve_member, split_grain
from ..compiler.plan import CumulativeSpec, FilterCondition, Unit
from ..compiler.resolve import plan_query
from ..compiler.values import Params, extract
from ..dashboards import tile_query
from ..errors import QueryError
from ..graph import path_fans_out
from ..project import Project
from ..query import Query, build_query
from ..timegrain import Calendar
from .shape import EXACT_ONLY, resolve_rollup

MONTHLY = ("month", "quarter", "year", "fiscal_quarter", "fiscal_year")


@dataclass
class Draft:
    """A model's suggestion as questions add to it."""

    model: str
    measures: dict[str, None] = field(default_factory=dict)
    dimensions: dict[str, None] = field(default_factory=dict)
    grain: str = "month"
    serves: dict[str, None] = field(default_factory=dict)

    def rollup(self, taken: Iterable[str]) -> d.Rollup:
        """The suggestion, named after its model and grain (with a number when the name is taken)."""
        stem = f"{self.model}_{'daily' if self.grain == 'day' else 'monthly'}"
        name = next(n for n in (stem, *(f"{stem}_{i}" for i in range(2, 100))) if n not in set(taken))
        return d.Rollup(
            name=name,
            model=self.model,
            measures=list(self.measures),
            dimensions=list(self.dimensions),
            time_grain="day" if self.grain == "day" else "month",
        )


@dataclass(frozen=True)
class Suggestion:
    rollup: d.Rollup
    serves: tuple[str, ...]  # what asks for it: dashboard tiles, and queries of the audit log


def questions(
    project: Project, store: AuditStore | None = None, since: datetime | None = None
) -> list[tuple[str, Query, list[str]]]:
    """(where it is asked, the query, the dashboard's filters) of every tile, then of every distinct
    query in the audit log since `since`."""
    out = []
    for dashboard in project.dashboards.values():
        for i, tile in enumerate(dashboard.tiles):
            query = tile_query(project.graph, dashboard, tile)
            out.append((f"dashboard {dashboard.name}, tile {i + 1}", query, list(dashboard.filters)))
    if store is not None and since is not None:
        seen: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
        for record in store.records(since.timestamp()):
            shape = (record.metrics, record.dimensions)
            if shape not in seen and record.metrics:
                seen.add(shape)
                asked = build_query(metrics=list(record.metrics), dimensions=list(record.dimensions))
                out.append((f"query {' + '.join(record.metrics)} by {', '.join(record.dimensions) or '—'}", asked, []))
    return out


def suggest(project: Project, asked: Iterable[tuple[str, Query, list[str]]]) -> list[Suggestion]:
    drafts: dict[str, Draft] = {}
    for where, query, filters in asked:
        for unit in _units(project, query):
            _add(project, drafts.setdefault(unit.key.model, Draft(unit.key.model)), unit, filters, where)
    out = []
    for draft in drafts.values():
        if not draft.measures or _answered(project, draft):
            continue
        rollup = draft.rollup(project.rollups)
        resolve_rollup(project.graph, rollup)  # what it suggests loads
        out.append(Suggestion(rollup, tuple(draft.serves)))
    return out


def _units(project: Project, query: Query) -> list[Unit]:
    settings = project.settings
    calendar = Calendar(settings.timezone, settings.week_start, settings.fiscal_year_start_month)
    try:
        extracted = extract(query, settings.dialect, settings.timezone)
        plan = plan_query(project.graph, query, extracted, Params(), calendar, None)
    except QueryError:
        return []
    return [u for u in plan.units if u.key.spec is None or isinstance(u.key.spec, CumulativeSpec)]


def _add(project: Project, draft: Draft, unit: Unit, filters: list[str], where: str) -> None:
    """The unit's measures, dimensions and metric filters, when a rollup can serve all of them."""
    graph = project.graph
    measures = graph.measures_by_model[unit.key.model]
    if any(measures[m].non_additive is not None or measures[m].agg in EXACT_ONLY for m in unit.measures):
        return
    members = [*unit.reads.dimensions]
    members += [m for c in unit.reads.conditions if isinstance(c, FilterCondition) for m in c.members]
    if any(path_fans_out(m.path) or (m.dimension.dimension.type == "time" and m.grain == "hour") for m in members):
        return
    refs = [m.ref for m in members if not m.metric_time and split_grain(m.ref)[0] != "metric_time"]
    grains = [m.grain for m in members if m.metric_time and m.grain is not None]
    if any(g not in MONTHLY for g in grains) or isinstance(unit.key.spec, CumulativeSpec):
        draft.grain = "day"
    draft.measures.update(dict.fromkeys(unit.measures))
    draft.dimensions.update(dict.fromkeys(refs))
    draft.dimensions.update(dict.fromkeys(f for f in filters if _reachable(project, unit.key.model, f)))
    draft.serves[where] = None


def _reachable(project: Project, model: str, ref: str) -> bool:
    try:
        return not path_fans_out(resolve_member(project.graph, model, ref).path)
    except QueryError:
        return False


def _answered(project: Project, draft: Draft) -> bool:
    """Whether a rollup of the project already stores all of it."""
    for rollup in project.rollups.values():
        if rollup.model != draft.model:
            continue
        finer = rollup.time_grain == "day" or draft.grain != "day"
        if finer and set(draft.measures) <= set(rollup.measures) and set(draft.dimensions) <= set(rollup.dimensions):
            return True
    return False
