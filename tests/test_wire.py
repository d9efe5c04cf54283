"""The query's GraphQL form: one mapping, both ways, for the server's two paths and the client."""

from __future__ import annotations

from datetime import date

import strawberry

import semantic_layer as sl
from semantic_layer.query import build_query
from semantic_layer.wire import FILTER_OPS, query_from_wire, query_to_wire
from server.schema import Query as GraphQLQuery

FULL = dict(
    metrics=["revenue"],
    dimensions=["customers.segment", "metric_time:month"],
    where=["customers.segment <> 'x'", sl.Filter(member="orders.amount", op="between", values=[1, 2])],
    having=["revenue > 10"],
    segments=["orders.large"],
    time_range={"start": date(2024, 1, 1), "end": "2024-07-01"},
    order_by=["-revenue", "customers.segment"],
    limit=5,
    offset=10,
    timezone="Asia/Shanghai",
)


def test_a_query_survives_the_trip_to_graphql_and_back() -> None:
    query = build_query(**FULL)
    back = query_from_wire(query_to_wire(query))
    assert back == query.model_copy(update={"time_range": sl.query.TimeRange(start="2024-01-01", end="2024-07-01")})


def test_the_graphql_filter_ops_are_the_query_shapes() -> None:
    sdl = str(strawberry.Schema(query=GraphQLQuery))
    enum = sdl[sdl.index("enum FilterOp") :].split("}")[0]
    assert {line.strip() for line in enum.splitlines()[1:] if line.strip()} == {op.upper() for op in FILTER_OPS}


def test_ops_are_read_as_names_values_or_members() -> None:
    for op in ("GT", "gt"):
        wire = {"metrics": ["revenue"], "filters": [{"member": "orders.amount", "op": op, "values": [1]}]}
        assert query_from_wire(wire).filters[0].op == "gt"
