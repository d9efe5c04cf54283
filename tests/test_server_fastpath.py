"""The fast path for `query` documents answers exactly as strawberry does, byte for byte in meaning.

Two servers over the same project, one with the fast path and one without, get the same requests in
the same order; their answers must be equal (timings and incident ids aside), and the fast one must
have answered the recognised documents itself.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from liveserver import LiveServer
from served import ADMIN, QUERY, SECRET, server_project, token

from server import ServerSettings, create_app

ALIASED = """query Aliased($i: QueryInput!) { answer: query(input: $i) { r: rows cols: columns { n: name type } } }"""
WITH_FRAGMENT = """query F($input: QueryInput!) { query(input: $input) { ...R } } fragment R on QueryResult { rows }"""
TWO_FIELDS = """query T($input: QueryInput!) { query(input: $input) { rows } models { name } }"""
TYPENAME = """query N($input: QueryInput!) { query(input: $input) { __typename rows } }"""
FILTERED = {
    "metrics": ["revenue", "order_count"],
    "dimensions": ["customers.segment", "metric_time:month"],
    "filters": [{"member": "orders.status", "op": "IN", "values": ["paid", "shipped"]}],
    "timeRange": {"start": "2024-02-01", "end": "2024-05-01"},
    "orderBy": [{"member": "revenue", "desc": True}],
    "limit": 7,
}
EXPIRED = jwt.encode({"roles": ["admin"], "exp": int(time.time()) - 60}, SECRET, algorithm="HS256")
FORGED = jwt.encode(
    {"roles": ["admin"], "exp": int(time.time()) + 60}, "another-secret-another-secret-!!", algorithm="HS256"
)

# (document, variables, bearer, answered by the fast path?)
REQUESTS: list[tuple[str, dict[str, Any], str | None, bool]] = [
    (QUERY, {"input": {"metrics": ["revenue"], "dimensions": ["customers.segment"]}}, ADMIN, True),
    (QUERY, {"input": {"metrics": ["revenue"], "dimensions": ["customers.segment"]}}, ADMIN, True),  # cached
    (QUERY, {"input": FILTERED}, ADMIN, True),
    (ALIASED, {"i": {"metrics": ["order_count"], "where": ["customers.segment = 'smb'"]}}, ADMIN, True),
    (QUERY, {"input": {"metrics": ["no_such_metric"]}}, ADMIN, True),
    (QUERY, {"input": {"metrics": ["revenue"]}}, None, True),
    (QUERY, {"input": {"metrics": ["revenue"]}}, EXPIRED, True),
    (QUERY, {"input": {"metrics": ["revenue"]}}, FORGED, True),
    (QUERY, {"input": {"metrics": ["average_order_value"]}}, token(["analyst"]), True),
    (QUERY, {"input": {"metrics": ["revenue"]}}, token(["regional"]), True),
    (QUERY, {"input": {"metrics": ["revenue"]}}, token(["regional"], region_id=2), True),
    (QUERY, {"input": {"metrics": ["revenue"], "limit": 10_000_000}}, ADMIN, True),
    (QUERY, {"input": {"metrics": ["slow_total"]}}, ADMIN, True),
    (QUERY, {"input": {"metrics": ["ghost_count"]}}, ADMIN, True),
    (QUERY, {"input": {"metrics": ["revenue"], "where": ["orders.amount > 0; DROP TABLE orders"]}}, ADMIN, True),
    (QUERY, {"input": {"metrics": ["revenue"], "limit": "ten"}}, ADMIN, False),
    (QUERY, {"input": {"metrics": ["revenue"], "bogus": 1}}, ADMIN, False),
    (QUERY, {}, ADMIN, False),
    (WITH_FRAGMENT, {"input": {"metrics": ["revenue"]}}, ADMIN, False),
    (TWO_FIELDS, {"input": {"metrics": ["revenue"]}}, ADMIN, False),
    (TYPENAME, {"input": {"metrics": ["revenue"]}}, ADMIN, False),
    ('query { query(input: {metrics: ["revenue"]}) { rows } }', {}, ADMIN, False),
    (
        "query Q($input: QueryInput!) { query(input: $input) { rows nope } }",
        {"input": {"metrics": ["revenue"]}},
        ADMIN,
        False,
    ),
    ("query Q($input: QueryInput!) { query(input: $input) { rows }", {"input": {"metrics": ["revenue"]}}, ADMIN, False),
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    root = server_project(tmp_path_factory.mktemp("pair"), shop_db)
    fast = ServerSettings(project=root, jwt_secret=SECRET, cache_url=None)
    full = ServerSettings(project=root, jwt_secret=SECRET, cache_url=None, fast_path=False)
    with LiveServer(create_app(fast)) as a, LiveServer(create_app(full)) as b:
        yield a, b


def normalized(response: httpx.Response) -> tuple[int, str]:
    """Status and body, with the run time and incident ids (different on every run) blanked."""
    text = re.sub(r'"durationMs":\s*[0-9.e+-]+', '"durationMs":0', response.text)
    return response.status_code, re.sub(r"incident [0-9a-f]{12}", "incident X", text)


def test_the_fast_path_answers_as_strawberry_does(pair: tuple[LiveServer, LiveServer]) -> None:
    fast, full = pair
    for document, variables, bearer, eligible in REQUESTS:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        before = fast.app.state.graphql.answered
        answers = [
            httpx.post(
                f"{s.url}/graphql", json={"query": document, "variables": variables}, headers=headers, timeout=30
            )
            for s in (fast, full)
        ]
        assert normalized(answers[0]) == normalized(answers[1]), (document, variables, answers[0].text)
        assert fast.app.state.graphql.answered == before + eligible, (document, variables)


def test_a_mismatched_operation_name_takes_the_full_path(pair: tuple[LiveServer, LiveServer]) -> None:
    fast, full = pair
    body = {"query": QUERY, "variables": {"input": {"metrics": ["revenue"]}}, "operationName": "Other"}
    answers = [
        httpx.post(f"{s.url}/graphql", json=body, headers={"Authorization": f"Bearer {ADMIN}"}) for s in (fast, full)
    ]
    assert normalized(answers[0]) == normalized(answers[1])
    assert answers[0].status_code == 400 and "Unknown operation named" in answers[0].json()["errors"][0]["message"]


def test_requests_and_errors_are_counted_on_both_paths(pair: tuple[LiveServer, LiveServer]) -> None:
    fast, _ = pair
    httpx.post(
        f"{fast.url}/graphql",
        json={"query": QUERY, "variables": {"input": {"metrics": ["nope"]}}},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    exposition = httpx.get(f"{fast.url}/metrics").text
    assert re.search(r'errors_total\{code="UNKNOWN_MEMBER"\} [1-9]', exposition), exposition
