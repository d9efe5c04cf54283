"""Helpers for tests that talk to a real server over HTTP: the served shop project, tokens,
GraphQL calls and error codes. Calls speak as the admin unless given another bearer (None: none)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import jwt
from helpers import make_project

SECRET = "test-secret-for-hs256-tokens-32bytes!"
POLICIES = """
policies:
  - role: admin
  - role: analyst
    hide: [customers.name, average_order_value]
  - role: regional
    rows:
      - model: customers
        where: "region_id = {{ user.region_id }}"
    hide: [customers.name]
"""
EXTRA_MODELS = """
models:
  - name: slow
    sql: "SELECT i AS id, i AS v, TIMESTAMP '2024-01-01' AS t FROM range(3000000000) AS r(i)"
    primary_key: id
    measures:
      - {name: total, agg: sum, expr: v}
  - name: ghost
    table: main.ghost_table
    primary_key: id
    measures:
      - {name: n, agg: count}
metrics:
  - {name: slow_total, type: simple, measure: slow.total}
  - {name: ghost_count, type: simple, measure: ghost.n}
"""
QUERY = """query Q($input: QueryInput!) { query(input: $input) {
  columns { name kind type format } rows sql cached durationMs warnings } }"""


def server_project(root: Path, db: Path, timeout: float = 1.0) -> Path:
    """The shop project with policies, a query that runs for ever and one over a missing table."""
    make_project(root, db, limits=f"{{default_rows: 5000, max_rows: 100000, timeout_seconds: {timeout}}}")
    (root / "policies.yml").write_text(POLICIES)
    (root / "extra.yml").write_text(EXTRA_MODELS)
    return root


def token(roles: list[str], expires_in: int = 24 * 3600, secret: str = SECRET, **claims: Any) -> str:
    """A signed token. It lasts a day: tokens made when tests are collected are used minutes later,
    and a slow machine must not see them expire mid-suite (expiry has tests of its own)."""
    now = int(time.time())
    return jwt.encode({"roles": roles, "exp": now + expires_in, "nbf": now - 1, **claims}, secret, algorithm="HS256")


ADMIN = token(["admin"])


def _url(target: Any) -> str:
    """A server's base URL, from the URL itself or from a LiveServer."""
    return str(getattr(target, "url", target))


def post(
    target: Any,
    document: str,
    variables: dict[str, Any] | None = None,
    bearer: str | None = ADMIN,
    timeout: float = 30,
    **kwargs: Any,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return httpx.post(
        f"{_url(target)}/graphql",
        json={"query": document, "variables": variables or {}},
        headers=headers,
        timeout=timeout,
        **kwargs,
    )


def gql(
    target: Any, document: str, variables: dict[str, Any] | None = None, bearer: str | None = ADMIN, **kwargs: Any
) -> dict[str, Any]:
    response = post(target, document, variables, bearer, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def run(target: Any, bearer: str | None = ADMIN, **query: Any) -> dict[str, Any]:
    """The `query` field with the input as a variable (the shape dashboards send)."""
    return gql(target, QUERY, {"input": query}, bearer)


def code_of(body: dict[str, Any]) -> str:
    """The first error's code, after checking that no internals leaked into its message."""
    assert body.get("errors"), body
    error = body["errors"][0]
    assert "Traceback" not in error["message"] and 'File "' not in error["message"]
    return str(error["extensions"]["code"])


def wait_for(predicate: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)
