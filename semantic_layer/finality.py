"""When a metric's value for a period is final.

Most metrics are final once their period has ended. A retention metric's value for period P counts
who comes back in P+offset, so it keeps changing until that later period has ended too — and so
does every metric computed from it (churn is 1 − retention). A conversion metric's base events of P
may convert until `window` after P's end, so it waits for its window likewise (one without a window
may change for ever, and is not waited for). Results warn about such periods, and alerts skip them:
a churn spike that is only the current month being half over is not an alert.
"""

from __future__ import annotations

from . import definitions as d
from .catalog import depends_on
from .graph import SemanticGraph


def settling_periods(graph: SemanticGraph, metric: str) -> list[tuple[str, int]]:
    """(grain, periods) for each retention metric `metric` is computed from, itself included, and
    each conversion metric's window (`90 days`: day, 90): its value for a period P is final only
    once the period `periods` grains after P has ended."""
    found: dict[tuple[str, int], None] = {}
    pending, seen = [metric], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        definition = graph.metric(name)
        if isinstance(definition, d.RetentionMetric):
            found[(definition.period, definition.offset)] = None
        elif isinstance(definition, d.ConversionMetric) and definition.window is not None:
            count, unit = d.parse_interval(definition.window)
            found[(unit, count)] = None
        pending.extend(depends_on(graph, name))
    return list(found)
