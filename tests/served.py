"""Helpers for tests that talk to a real server over HTTP: tokens, GraphQL calls, error codes."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt

SECRET = "test-secret-for-hs256-tokens-32bytes!"
QUERY = """query Q($input: QueryInput!) { query(input: $input) {
  columns { name kind type format } rows sql cached durationMs warnings } }"""


def token(roles: list[str], expires_in: int = 600, secret: str = SECRET, **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode({"roles": roles, "exp": now + expires_in, "nbf": now - 1, **claims}, secret, algorithm="HS256")


def post(url: str, document: str, variables: dict[str, Any] | None = None, bearer: str | None = None,
         timeout: float = 30) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return httpx.post(f"{url}/graphql", json={"query": document, "variables": variables or {}}, headers=headers,
                      timeout=timeout)


def gql(url: str, document: str, variables: dict[str, Any] | None = None, bearer: str | None = None) -> dict[str, Any]:
    response = post(url, document, variables, bearer)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def ask(url: str, bearer: str | None = None, **query: Any) -> dict[str, Any]:
    """The `query` field with the input as a variable (the shape dashboards send)."""
    return gql(url, QUERY, {"input": query}, bearer)


def code_of(body: dict[str, Any]) -> str:
    """The first error's code, after checking that no internals leaked into its message."""
    assert body.get("errors"), body
    error = body["errors"][0]
    assert "Traceback" not in error["message"] and "File \"" not in error["message"]
    return str(error["extensions"]["code"])
