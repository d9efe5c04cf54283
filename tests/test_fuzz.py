"""A bounded GraphQL fuzz over loopback: documents generated from our own schema, valid ones and
ones with one violation, must never get a 5xx or an INTERNAL error.

Bounded in count (`EXAMPLES` per mode) and so in time; deterministic under CI so that a run is
reproducible, random elsewhere so that development keeps finding new cases.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import strawberry
from helpers import make_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from liveserver import LiveServer
from served import POLICIES, SECRET, token

from server import ServerSettings, create_app
from server.schema import Query

EXAMPLES = 150
# Realistic members now and then, so that generated queries also reach the compiler and the database.
MEMBERS = ["revenue", "order_count", "customers.segment", "metric_time:month", "orders.amount", "orders.status"]
JSON_VALUES = st.one_of(
    st.sampled_from(MEMBERS).map(nodes.String),
    st.text(max_size=20).map(nodes.String),
    st.integers(-(10**20), 10**20).map(nodes.Int),
    st.floats(allow_nan=False).map(nodes.Float),
    st.booleans().map(nodes.Boolean),
    st.just(nodes.Null),
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Iterator[httpx.Client]:
    root = make_project(tmp_path_factory.mktemp("fuzz"), shop_db)
    (root / "policies.yml").write_text(POLICIES)
    with (
        LiveServer(create_app(ServerSettings(project=root, jwt_secret=SECRET, cache_url=None))) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        yield http


def schema_sdl() -> str:
    return str(strawberry.Schema(query=Query))


BEARERS = [token(["admin"]), token(["regional"], region_id=1)]


def check(client: httpx.Client, document: str, bearer: str) -> None:
    response = client.post("/graphql", json={"query": document}, headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code < 500, (response.status_code, response.text[:500])
    codes = [e.get("extensions", {}).get("code") for e in response.json().get("errors") or []]
    assert "INTERNAL" not in codes and None not in codes, (document, response.text[:500])


def fuzz(mode: Mode) -> object:
    return from_schema(schema_sdl(), custom_scalars={"JSON": JSON_VALUES}, mode=mode, allow_x00=False)


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(document=fuzz(Mode.POSITIVE), bearer=st.sampled_from(BEARERS))
def test_valid_documents_never_get_an_internal_error(client: httpx.Client, document: str, bearer: str) -> None:
    check(client, document, bearer)


@FUZZ
@given(document=fuzz(Mode.NEGATIVE), bearer=st.sampled_from(BEARERS))
def test_invalid_documents_never_get_an_internal_error(client: httpx.Client, document: str, bearer: str) -> None:
    check(client, document, bearer)


# Structured inputs over the real members: what a dashboard or a careless script sends as variables.
DIMENSIONS = [
    "customers.segment",
    "metric_time:month",
    "metric_time:day",
    "orders.status",
    "orders.size_band",
    "order_lines.ship_mode",
    "customers.created_at:year",
    "sales_reps.name",
]
METRICS = [
    "revenue",
    "order_count",
    "average_order_value",
    "revenue_growth_mom",
    "revenue_trailing_7d",
    "median_amount",
    "quantity",
    "ticket_count",
    "buyer_retention",
    "buyer_churn",
]
FILTERED = ["orders.amount", "orders.status", "customers.segment", "orders.created_at", "metric_time"]
OPS = [
    "EQUALS",
    "NOT_EQUALS",
    "IN",
    "NOT_IN",
    "GT",
    "GTE",
    "LT",
    "LTE",
    "BETWEEN",
    "CONTAINS",
    "STARTS_WITH",
    "IS_NULL",
    "IS_NOT_NULL",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["2025-01-01", "2025-13-45", "NaN", "1e999", "true"]),
)
WHERE = st.builds(
    lambda m, op, v: f"{m} {op} {v}",
    st.sampled_from(FILTERED),
    st.sampled_from(["=", "<>", ">", "<=", "LIKE", "IN"]),
    st.sampled_from(["'x'", "1", "1.5", "DATE '2025-01-01'", "(1, 2)", "NULL", "'2025-01-01'", "TRUE", "1e400", "-0"]),
)
QUERY_INPUTS = st.fixed_dictionaries(
    {"metrics": st.lists(st.sampled_from(METRICS), max_size=3)},
    optional={
        "dimensions": st.lists(st.sampled_from(DIMENSIONS), max_size=3),
        "where": st.lists(WHERE, max_size=2),
        "filters": st.lists(
            st.fixed_dictionaries(
                {
                    "member": st.sampled_from(FILTERED),
                    "op": st.sampled_from(OPS),
                    "values": st.lists(SCALARS, max_size=3),
                }
            ),
            max_size=2,
        ),
        "having": st.lists(st.sampled_from(["revenue > 100", "order_count >= 'x'", "revenue IS NULL"]), max_size=1),
        "timeRange": st.fixed_dictionaries(
            {},
            optional={
                "start": st.one_of(st.text(max_size=12), st.dates().map(str)),
                "end": st.one_of(st.text(max_size=12), st.dates().map(str)),
            },
        ),
        "orderBy": st.lists(
            st.fixed_dictionaries({"member": st.sampled_from(METRICS + DIMENSIONS)}, optional={"desc": st.booleans()}),
            max_size=2,
        ),
        "limit": st.integers(-5, 10**6),
        "offset": st.integers(-5, 10**6),
        "timezone": st.one_of(
            st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Mars/Base"]), st.text(max_size=30)
        ),
    },
)
DOCUMENT = """query Q($input: QueryInput!) { query(input: $input) { columns { name type } rows warnings } }"""


@FUZZ
@given(query=QUERY_INPUTS, bearer=st.sampled_from(BEARERS))
def test_query_inputs_over_real_members_never_get_an_internal_error(
    client: httpx.Client, query: dict[str, object], bearer: str
) -> None:
    response = client.post(
        "/graphql",
        json={"query": DOCUMENT, "variables": {"input": query}},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert response.status_code < 500, (response.status_code, response.text[:500])
    codes = [e.get("extensions", {}).get("code") for e in response.json().get("errors") or []]
    assert "INTERNAL" not in codes and None not in codes, (query, response.text[:500])
