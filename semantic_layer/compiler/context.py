"""What every unit builder is handed: the graph, the plan, the query's parameters and the target.

Its own module so that the builders (units.py, cumulative.py, and the next kinds) and the helpers
they share (conditions, semi-joins, aggregation) depend on it, never on one another.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..graph import SemanticGraph
from ..timegrain import Calendar
from .dialects import DialectProfile
from .plan import Plan
from .values import Params


@dataclass(frozen=True)
class UnitContext:
    graph: SemanticGraph
    plan: Plan
    params: Params  # the one mutable part: placeholders are handed out as SQL is built
    profile: DialectProfile  # the target: a few constructs (the time spine, percentiles) differ per dialect

    @property
    def calendar(self) -> Calendar:
        return self.plan.calendar
