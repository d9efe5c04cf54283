"""The query as GraphQL's `QueryInput` spells it, both ways: the one mapping between the two shapes.

The server reads it (from a resolver's input object or from coerced variables alike) and the
Python client writes it, so a query means the same on every path. GraphQL names are camelCase,
filter ops are upper case, and an ordering is `{member, desc}` rather than a leading '-'.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, get_args

from .query import FilterOp, Query, build_query

FILTER_OPS: tuple[str, ...] = get_args(FilterOp)  # the GraphQL enum is these, in upper case


def query_from_wire(value: Mapping[str, Any]) -> Query:
    """A QueryInput (GraphQL names, ops as the enum's values or names) as a Query."""
    time_range = value.get("timeRange")
    return build_query(
        metrics=value.get("metrics") or [],
        dimensions=value.get("dimensions") or [],
        where=value.get("where") or [],
        having=value.get("having") or [],
        segments=value.get("segments") or [],
        filters=[
            {"member": f["member"], "op": _op(f["op"]), "values": f.get("values") or []}
            for f in value.get("filters") or []
        ],
        time_range=None if time_range is None else {"start": time_range.get("start"), "end": time_range.get("end")},
        order_by=[("-" if o.get("desc") else "") + o["member"] for o in value.get("orderBy") or []],
        limit=value.get("limit"),
        offset=value.get("offset"),
        timezone=value.get("timezone"),
    )


def query_to_wire(query: Query) -> dict[str, Any]:
    """A Query as the QueryInput variable a client sends."""
    out: dict[str, Any] = {
        "metrics": list(query.metrics),
        "dimensions": list(query.dimensions),
        "where": list(query.where),
        "having": list(query.having),
        "segments": list(query.segments),
        "limit": query.limit,
        "offset": query.offset,
        "timezone": query.timezone,
        "filters": [{"member": f.member, "op": f.op.upper(), "values": list(f.values)} for f in query.filters],
        "orderBy": [{"member": o.lstrip("-"), "desc": o.startswith("-")} for o in query.order_by],
    }
    if query.time_range is not None:
        out["timeRange"] = {"start": _iso(query.time_range.start), "end": _iso(query.time_range.end)}
    return out


def _op(op: Any) -> str:
    """An op as the enum's value ('gt'), its name ('GT') or the enum member itself."""
    return str(getattr(op, "value", op)).lower()


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
