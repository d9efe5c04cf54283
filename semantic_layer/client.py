"""`sl.Client`: the same `.query()` and `Result` as a local layer, answered by a server over GraphQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import httpx
import pyarrow as pa

from . import errors
from .alerts import Alert
from .query import build_query
from .result import Column, Result
from .wire import query_to_wire

QUERY = """query Run($input: QueryInput!) { query(input: $input) {
  columns { name kind type format } rows sql cached durationMs warnings truncated } }"""
ALERTS = """query Alerts($metrics: [String!], $timeRange: TimeRangeInput, $grain: String) {
  alerts(metrics: $metrics, timeRange: $timeRange, grain: $grain) {
    metric level value period grain bound boundKind boundLevel direction message note } }"""
COMPILE = "query Compile($input: QueryInput!, $dialect: String) { compile(input: $input, dialect: $dialect) { sql } }"
ERRORS: dict[str, type[errors.QueryError]] = {
    cls.code: cls
    for cls in (
        errors.QueryValidationError,
        errors.UnknownMemberError,
        errors.LimitExceededError,
        errors.QueryTimeoutError,
        errors.ForbiddenError,
        errors.UnauthenticatedError,
        errors.ExecutionError,
    )
}


class Client:
    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def query(self, **query: Any) -> Result:
        data = self._post(QUERY, {"input": _input(**query)})["query"]
        columns = [Column(**c) for c in data["columns"]]
        rows = [{c.name: _typed(row.get(c.name), c.type) for c in columns} for row in data["rows"]]
        table = pa.Table.from_pylist(rows) if rows else pa.table({c.name: pa.array([]) for c in columns})
        return Result(
            table,
            columns,
            data["sql"],
            cached=data["cached"],
            duration_ms=data["durationMs"],
            warnings=data["warnings"],
            truncated=data["truncated"],
        )

    def compile(self, dialect: str | None = None, **query: Any) -> str:
        return str(self._post(COMPILE, {"input": _input(**query), "dialect": dialect})["compile"]["sql"])

    def alerts(
        self, metrics: Iterable[str] | None = None, time_range: Any = None, grain: str | None = None
    ) -> list[Alert]:
        """The server's `alerts` field as the same `Alert` objects `Layer.alerts` returns."""
        variables = {
            "metrics": None if metrics is None else list(metrics),
            "timeRange": query_to_wire(build_query(time_range=time_range)).get("timeRange"),
            "grain": grain,
        }
        return [_alert(found) for found in self._post(ALERTS, variables)["alerts"]]

    def _post(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post("/graphql", json={"query": document, "variables": variables})
        body = response.json()
        if body.get("errors"):
            first = body["errors"][0]
            code = first.get("extensions", {}).get("code", "INTERNAL")
            raise ERRORS.get(code, errors.ExecutionError)(first["message"])
        response.raise_for_status()
        return body["data"]  # type: ignore[no-any-return]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _input(**query: Any) -> dict[str, Any]:
    """The Python query shape as GraphQL's QueryInput (validated locally first, for local errors)."""
    return query_to_wire(build_query(**query))


def _typed(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "timestamp":
        return datetime.fromisoformat(value)
    return value


def _alert(found: dict[str, Any]) -> Alert:
    grain = found["grain"]
    period = datetime.fromisoformat(found["period"]) if grain == "hour" else date.fromisoformat(found["period"])
    return Alert(
        metric=found["metric"],
        level=found["level"],
        value=found["value"],
        period=period,
        grain=grain,
        message=found["message"],
        direction=found["direction"],
        bound=found["bound"],
        bound_kind=found["boundKind"],
        bound_level=found["boundLevel"],
        note=found["note"],
    )
