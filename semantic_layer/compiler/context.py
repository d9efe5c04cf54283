"""What every unit builder is handed: the graph, the plan, the query's parameters and the target.

Its own module so that the builders (units.py, cumulative.py, and the next kinds) and the helpers
they share (conditions, semi-joins, aggregation) depend on it, never on one another.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import QueryError
from ..graph import SemanticGraph
from ..timegrain import Calendar
from .dialects import DialectProfile
from .members import MemberRef, resolve_member
from .plan import Plan
from .values import Params


@dataclass
class UnitContext:
    graph: SemanticGraph
    plan: Plan
    params: Params
    profile: DialectProfile  # the target: a few constructs (the time spine, percentiles) differ per dialect

    @property
    def calendar(self) -> Calendar:
        return self.plan.calendar


def resolve_dimensions(ctx: UnitContext, base: str, context: str) -> list[MemberRef]:
    """Every requested dimension resolved from `base`; time dimensions default to day grain."""
    out = []
    for dim in ctx.plan.dimensions:
        try:
            member = resolve_member(ctx.graph, base, dim.ref)
        except QueryError as exc:
            raise type(exc)(f"{exc.message} (while grouping {context} by '{dim.ref}')") from None
        if member.dimension.dimension.type == "time" and member.grain is None:
            member = MemberRef(member.ref, "day", member.dimension, member.metric_time)
        out.append(member)
    return out
