"""Every client mistake is answered as a GraphQL error with a code — VALIDATION, or LIMIT for a size
limit — that names what is wrong: never a plain-text 500, never INTERNAL, never the database's text
or a row policy's SQL, and no stack trace in the server log.

Each mistake is sent to a server with the fast path and to one without (they must answer alike),
and, where it can be written there, inline in the document (which strawberry answers).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from liveserver import LiveServer
from served import ADMIN, QUERY, SECRET, server_project, token

from semantic_layer.engines.refusal import BAD_VALUE
from server import ServerSettings, create_app

DATABASE_TEXT = ("Error:", "LINE 1", "SELECT", "$__slp", "DuckDB", "invalid input syntax", "region_id")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    root = server_project(tmp_path_factory.mktemp("mistakes"), shop_db)
    fast = ServerSettings(project=root, jwt_secret=SECRET, cache_url=None)
    full = ServerSettings(project=root, jwt_secret=SECRET, cache_url=None, fast_path=False)
    with LiveServer(create_app(fast)) as a, LiveServer(create_app(full)) as b:
        yield a, b


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything the servers log, uvicorn's "Exception in ASGI application" included (its logger
    does not propagate to the root logger)."""
    caplog.set_level(logging.INFO)
    uvicorn_errors = logging.getLogger("uvicorn.error")
    uvicorn_errors.addHandler(caplog.handler)
    yield caplog
    uvicorn_errors.removeHandler(caplog.handler)


def assert_no_trace(log: pytest.LogCaptureFixture) -> None:
    loud = [r for r in log.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not loud, [r.getMessage() for r in loud]


def post(server: LiveServer, content: bytes, bearer: str | None = ADMIN) -> httpx.Response:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
    return httpx.post(f"{server.url}/graphql", content=content, headers=headers, timeout=30)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The one error of an answer that carries no data, checked for internals."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert body.get("data") is None and len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    assert not any(text in error["message"] for text in DATABASE_TEXT), error["message"]
    return error


def alike(responses: list[httpx.Response]) -> None:
    """The fast path's answer is the full path's (incident ids aside)."""
    fast, full = (re.sub(r"incident [0-9a-f]{12}", "incident X", r.text) for r in responses)
    assert (responses[0].status_code, fast) == (responses[1].status_code, full)


# -- request bodies -------------------------------------------------------------------------------
BODIES = [
    (b'"hello"', "VALIDATION", "must be a JSON object"),
    (b"null", "VALIDATION", "must be a JSON object"),
    (b"42", "VALIDATION", "must be a JSON object"),
    (b"9" * 5000, "LIMIT", "more than 4300 digits"),
    (b'{"query": "{ models { name } }", "variables": {"n": ' + b"9" * 5000 + b"}}", "LIMIT", "more than 4300 digits"),
    (b"[" * 100_000, "LIMIT", "nested too deeply"),
    (b'{"query": "{ models { name } }", "variables": {"n": ' + b"[" * 100_000 + b"}}", "LIMIT", "nested too deeply"),
    (b'{"query": "{ models { name } }", "x": "\xff"}', "VALIDATION", "not UTF-8"),
]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    BODIES,
    ids=["string", "null", "number", "5000 digits", "5000 digits inside", "deep array", "deep variables", "not utf-8"],
)
def test_a_body_that_is_no_graphql_request_is_a_400_with_a_code(
    servers: tuple[LiveServer, LiveServer], server_log: pytest.LogCaptureFixture, body: bytes, code: str, message: str
) -> None:
    responses = [post(server, body) for server in servers]
    alike(responses)
    assert responses[0].status_code == 400
    error = error_of(responses[0])
    assert error["extensions"]["code"] == code and message in error["message"], error
    assert_no_trace(server_log)


# -- query mistakes, on every path ----------------------------------------------------------------
def inline(value: Any) -> str:
    """A Python value as a GraphQL input literal (enum values are written as upper-case words)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v if k == 'op' else inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(inline(v) for v in value) + "]"
    return json.dumps(value)


def ask(servers: tuple[LiveServer, LiveServer], query: Any, bearer: str = ADMIN) -> list[dict[str, Any]]:
    """The error of a query sent in variables to both servers (which must agree) and inline to the
    fast one (which hands it to strawberry): all three."""
    document = json.dumps({"query": QUERY, "variables": {"input": query}}).encode()
    responses = [post(server, document, bearer) for server in servers]
    alike(responses)
    written = json.dumps({"query": f"{{ query(input: {inline(query)}) {{ rows }} }}"}).encode()
    responses.append(post(servers[0], written, bearer))
    assert [r.status_code for r in responses] == [200, 200, 200]
    return [error_of(r) for r in responses]


def amount(op: str, value: Any) -> dict[str, Any]:
    return {"metrics": ["revenue"], "filters": [{"member": "orders.amount", "op": op, "values": [value]}]}


MISTAKES = [
    ({"metrics": ["revenue"], "limit": "abc"}, "VALIDATION", ".limit: Int cannot represent"),
    ({"metrics": ["revenue"], "limit": 10**12}, "VALIDATION", ".limit: Int cannot represent non 32-bit"),
    ({"metrics": ["revenue"], "bogus": 1}, "VALIDATION", "unknown field 'bogus'"),
    (None, "VALIDATION", "'QueryInput!' not to be None"),
    (
        {"metrics": ["revenue"], "filters": [{"member": "orders.amount", "op": "EQUALS", "values": [None]}]},
        "VALIDATION",
        ".filters[0].values[0]",
    ),
    ({"metrics": ["revenue"], "timezone": "A" * 10_000}, "VALIDATION", "unknown time zone 'AAAA"),
    (
        {"metrics": ["revenue"], "timeRange": {"start": "0001-01-01"}},
        "VALIDATION",
        "time_range start '0001-01-01' is out of range",
    ),
    (
        {"metrics": ["revenue"], "timeRange": {"end": "9999-12-31T23:00"}, "timezone": "America/Los_Angeles"},
        "VALIDATION",
        "time_range end '9999-12-31T23:00' is out of range",
    ),
    ({"metrics": ["revenue"], "where": ["(" * 3000 + "orders.amount > 1" + ")" * 3000]}, "LIMIT", "nested too deeply"),
    ({"metrics": ["revenue"], "where": ["NOT " * 2000 + "orders.amount > 1"]}, "LIMIT", "nested too deeply"),
    ({"metrics": ["revenue"], "having": ["revenue > " + "abs(" * 500 + "1" + ")" * 500]}, "LIMIT", "nested too deeply"),
    (amount("EQUALS", "NaN"), "VALIDATION", "filter on 'orders.amount' expects a number, got 'NaN'"),
    (amount("EQUALS", 10**40), "VALIDATION", "filter on 'orders.amount': 1000000000000000000000000000000000000000"),
    (amount("EQUALS", True), "VALIDATION", "filter on 'orders.amount' expects a number, got true"),
    (amount("GT", "abc"), "VALIDATION", "filter on 'orders.amount' expects a number, got 'abc'"),
    (
        {"metrics": ["revenue"], "where": ["orders.amount = 'abc'"]},
        "VALIDATION",
        "filter on 'orders.amount' expects a number, got 'abc'",
    ),
    (
        {"metrics": ["revenue"], "where": ["orders.amount > 1e40"]},
        "VALIDATION",
        "filter on 'orders.amount': 1e+40 is out of range",
    ),
    (
        {"metrics": ["revenue"], "filters": [{"member": "orders.created_at", "op": "GT", "values": ["yesterday"]}]},
        "VALIDATION",
        "filter on 'orders.created_at' expects a date or timestamp",
    ),
    (
        {"metrics": ["revenue"], "filters": [{"member": "order_lines.returned", "op": "EQUALS", "values": [1]}]},
        "VALIDATION",
        "filter on 'order_lines.returned' expects true or false, got 1",
    ),
    (
        {"metrics": ["revenue"], "having": ["revenue > 'abc'"]},
        "VALIDATION",
        "filter on 'revenue' expects a number, got 'abc'",
    ),
    (
        {"metrics": ["revenue"], "where": ["orders.amount > 0x10"]},
        "VALIDATION",
        "a name follows the number '0' without a space",
    ),
]
MISTAKE_IDS = [
    "limit not a number",
    "limit over 32 bits",
    "unknown field",
    "null input",
    "null filter value",
    "long time zone",
    "start underflows",
    "end overflows",
    "3000 parentheses",
    "2000 NOTs",
    "500 calls in having",
    "NaN",
    "10^40",
    "true on a number",
    "text on a number",
    "text in where",
    "1e40 in where",
    "not a date",
    "1 on a boolean",
    "text in having",
    "hex number",
]


@pytest.mark.parametrize(("query", "code", "message"), MISTAKES, ids=MISTAKE_IDS)
def test_a_mistake_is_answered_with_its_code_on_every_path(
    servers: tuple[LiveServer, LiveServer], server_log: pytest.LogCaptureFixture, query: Any, code: str, message: str
) -> None:
    errors = ask(servers, query)
    assert [e["extensions"]["code"] for e in errors] == [code] * 3, errors
    assert message in errors[0]["message"], errors[0]
    assert_no_trace(server_log)


# -- what the database refuses --------------------------------------------------------------------
REGIONAL = token(["regional"], region_id=2)


@pytest.mark.parametrize(
    ("query", "bearer"),
    [
        ({"metrics": ["revenue"], "where": ["CAST(customers.segment AS INT) > 1"]}, ADMIN),
        ({"metrics": ["revenue"], "where": ["CAST(customers.segment AS INT) > 1"]}, REGIONAL),
        ({"metrics": ["customer_count"]}, token(["regional"], region_id="north")),
    ],
    ids=["failing cast", "failing cast under a row policy", "claim of the wrong type"],
)
def test_a_value_the_database_cannot_convert_is_validation_without_its_text(
    servers: tuple[LiveServer, LiveServer], server_log: pytest.LogCaptureFixture, query: dict[str, Any], bearer: str
) -> None:
    errors = ask(servers, query, bearer)
    assert [(e["extensions"]["code"], e["message"]) for e in errors] == [("VALIDATION", BAD_VALUE)] * 3
    assert_no_trace(server_log)


def test_a_database_failure_is_internal_with_an_incident_and_its_text_only_in_the_log(
    servers: tuple[LiveServer, LiveServer], caplog: pytest.LogCaptureFixture
) -> None:
    errors = ask(servers, {"metrics": ["ghost_count"]}, REGIONAL)
    assert [e["extensions"]["code"] for e in errors] == ["INTERNAL"] * 3
    for error in errors:
        incident = re.fullmatch(
            r"the database refused the query \(incident ([0-9a-f]{12})\) — its message is in "
            r"the log",
            error["message"],
        )
        assert incident, error["message"]
        logged = [r for r in caplog.records if incident.group(1) in r.getMessage()]
        assert len(logged) == 1 and "ghost_table" in logged[0].getMessage() and not logged[0].exc_info
