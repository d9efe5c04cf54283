"""`sl.Client`: the same `.query()`, `Result` and catalogue as a local layer, answered by a server.

Data comes over `POST /api/arrow` as an Arrow stream read batch by batch, so a remote answer is
the same object as a local one (types, NULLs, empty answers) and a large answer is never held
twice; the catalogue, alerts and compile go over GraphQL (gzip-compressed). Every failure is an
`sl.QueryError` with a code: the server's own codes as on the local path, UNAVAILABLE when the
server cannot be reached (connections are retried with backoff; nothing else is), PROTOCOL when the
URL answers but not as a semantic-layer server, TIMEOUT when it does not answer in time.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pyarrow as pa

from . import errors
from .alerts import Alert
from .catalog import Dimension, Metric
from .definitions import Thresholds
from .errors import did_you_mean
from .ipc import CACHED_HEADER, DURATION_HEADER, MEDIA_TYPE, WARNINGS_HEADER, AnswerInfo, reader
from .paging import collect, page_queries, pages
from .query import Query, build_query
from .result import Result, warn_about
from .wire import query_to_wire

T = TypeVar("T")

METRIC_FIELDS = (
    "name label description type owner tier status replacedBy format direction tags synonyms dependsOn dimensions "
    "thresholds"
)
METRICS = f"""query Metrics($tier: String, $tag: String, $search: String, $deprecated: Boolean!) {{
  metrics(tier: $tier, tag: $tag, search: $search, includeDeprecated: $deprecated) {{ {METRIC_FIELDS} }} }}"""
METRIC = f"""query Metric($name: String!) {{ metric(name: $name) {{ {METRIC_FIELDS} }}
  known: metrics(includeDeprecated: true) {{ name }} }}"""
DIMENSIONS = "query Dimensions($metrics: [String!]) { dimensions(metrics: $metrics) { name type label description } }"
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
        errors.ServerUnavailableError,
        errors.ProtocolError,
    )
}
RETRY_SECONDS = (0.25, 0.5, 1.0, 2.0)  # waits between attempts to connect
# The request never reached the server: the only failures safe to try again.
CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)


class Client:
    """A semantic-layer server at `url` (its root: http://host:4000), as `token` (a JWT) when its
    project has access policies. `timeout` bounds each request (seconds without a byte from the
    server); `retries` is how often a failed connection is tried again, with backoff."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0, *, retries: int = 3):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    # -- data -----------------------------------------------------------------------------------
    def query(self, page_size: int | None = None, **query: Any) -> Result:
        """The answer, as `Layer.query` gives it (the same `Result`, rows and types). `page_size`
        fetches it in pages of that many rows, one request each (each within limits.max_rows)."""
        parsed = build_query(**query)
        result = self._result(parsed) if page_size is None else collect(pages(parsed, page_size, self._result))
        result.warn(stacklevel=2)
        return result

    def iter_batches(self, page_size: int | None = None, **query: Any) -> Iterator[pa.RecordBatch]:
        """The answer as Arrow record batches, yielded as they arrive: a page of `page_size` rows per
        request when it is given, else one request whose stream comes in batches of up to 65 536
        rows. Only the batch in hand is held."""
        parsed = build_query(**query)
        chosen = [parsed] if page_size is None else page_queries(parsed, page_size)
        for number, page in enumerate(chosen):
            count = 0
            with self._arrow(page) as (response, stream):
                if number == 0:
                    info = _info(response, stream)
                    warn_about([*_late_warnings(response), *info.warnings], info.truncated, stacklevel=2)
                for batch in self._batches(response, stream):
                    count += batch.num_rows
                    yield batch
            if page_size is not None and count < (page.limit or 0):
                return

    def compile(self, dialect: str | None = None, **query: Any) -> str:
        return str(
            self._graphql(COMPILE, {"input": _input(build_query(**query)), "dialect": dialect})["compile"]["sql"]
        )

    # -- catalogue ------------------------------------------------------------------------------
    def metrics(
        self,
        tier: str | None = None,
        tag: str | None = None,
        search: str | None = None,
        *,
        include_deprecated: bool = False,
    ) -> list[Metric]:
        """As `Layer.metrics`: the metrics this caller may see, filtered."""
        variables = {"tier": tier, "tag": tag, "search": search, "deprecated": include_deprecated}
        return [_metric(found) for found in self._graphql(METRICS, variables)["metrics"]]

    def metric(self, name: str) -> Metric:
        """One metric's entry; UNKNOWN_MEMBER (with the near names) when there is none."""
        data = self._graphql(METRIC, {"name": name})
        if data["metric"] is None:
            known = [m["name"] for m in data["known"]]
            raise errors.UnknownMemberError(f"unknown metric '{name}'{did_you_mean(name, known)}")
        return _metric(data["metric"])

    def dimensions(self, metrics: Iterable[str] | None = None) -> list[Dimension]:
        """As `Layer.dimensions`: what every one of `metrics` can be grouped by."""
        found = self._graphql(DIMENSIONS, {"metrics": None if metrics is None else list(metrics)})["dimensions"]
        return [Dimension(**d) for d in found]

    def alerts(
        self, metrics: Iterable[str] | None = None, time_range: Any = None, grain: str | None = None
    ) -> list[Alert]:
        """The server's `alerts` field as the same `Alert` objects `Layer.alerts` returns."""
        variables = {
            "metrics": None if metrics is None else list(metrics),
            "timeRange": query_to_wire(build_query(time_range=time_range)).get("timeRange"),
            "grain": grain,
        }
        return [_alert(found) for found in self._graphql(ALERTS, variables)["alerts"]]

    # -- transport ------------------------------------------------------------------------------
    def _result(self, query: Query) -> Result:
        with self._arrow(query) as (response, stream):
            _info(response, stream)
            batches = list(self._batches(response, stream))
            table = pa.Table.from_batches(batches, stream.schema)
            result = Result.from_stream(table, cached=_cached(response), duration_ms=_duration(response))
            result.warnings = [*_late_warnings(response), *result.warnings]
            return result

    @contextmanager
    def _arrow(self, query: Query) -> Iterator[tuple[httpx.Response, pa.RecordBatchStreamReader]]:
        """The query POSTed to /api/arrow, its answer open as a stream read as it arrives."""
        body = json.dumps(_input(query), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Accept": MEDIA_TYPE, "Accept-Encoding": "identity"}
        with self._send(lambda: self._http.stream("POST", "/api/arrow", content=body, headers=headers)) as response:
            self._check(response, MEDIA_TYPE)
            yield response, _stream(response)

    def _batches(self, response: httpx.Response, stream: pa.RecordBatchStreamReader) -> Iterator[pa.RecordBatch]:
        """The stream's batches as they arrive, without the answer's metadata (as a local answer's)."""
        while True:
            try:
                batch = _translated(stream.read_next_batch, self.url, self.timeout)
            except StopIteration:
                return
            except (pa.ArrowInvalid, OSError):
                raise _broken(response) from None
            yield batch.replace_schema_metadata(None)

    def _graphql(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        content = json.dumps({"query": document, "variables": variables}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        with self._send(lambda: self._http.stream("POST", "/graphql", content=content, headers=headers)) as response:
            self._check(response, "application/json")
            _translated(response.read, self.url, self.timeout)
            body = _json(response, self.url)
        if isinstance(body, dict) and body.get("errors"):
            raise _server_error(body)
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise _not_ours(response, self.url)
        return body["data"]  # type: ignore[no-any-return]

    def _send(self, open_stream: Callable[[], AbstractContextManager[httpx.Response]]) -> _Retrying:
        """The response context, its connection retried with backoff when it fails: a request that
        never reached the server is safe to send again; one that did is never repeated."""
        return _Retrying(open_stream, self.retries, self.url, self.timeout)

    def _check(self, response: httpx.Response, expected: str) -> None:
        """An error answer raised as the `sl` error of its code; an answer that is not ours as PROTOCOL."""
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        if response.status_code < 400 and kind == expected:
            return
        _translated(response.read, self.url, self.timeout)
        if kind == "application/json":
            body = _json(response, self.url)
            if isinstance(body, dict) and body.get("errors"):
                raise _server_error(body)
        raise _not_ours(response, self.url)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Retrying:
    """Opens a streaming response, trying a failed connection again after RETRY_SECONDS."""

    def __init__(
        self, open_stream: Callable[[], AbstractContextManager[httpx.Response]], retries: int, url: str, timeout: float
    ):
        self.open_stream, self.retries, self.url, self.timeout = open_stream, retries, url, timeout
        self._context: AbstractContextManager[httpx.Response] | None = None

    def __enter__(self) -> httpx.Response:
        attempt = 0
        while True:
            self._context = self.open_stream()
            try:
                return self._context.__enter__()
            except CONNECT_ERRORS as exc:
                if attempt >= self.retries:
                    raise _transport_error(exc, self.url, self.timeout) from None
            except httpx.TransportError as exc:  # the request may have reached the server: not again
                raise _transport_error(exc, self.url, self.timeout) from None
            time.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
            attempt += 1

    def __exit__(self, *exc: Any) -> None:
        assert self._context is not None
        self._context.__exit__(*exc)


def _translated(call: Callable[[], T], url: str, timeout: float) -> T:
    """`call`, its transport failures as `sl` errors with codes."""
    try:
        return call()
    except httpx.TransportError as exc:
        raise _transport_error(exc, url, timeout) from None


def _transport_error(exc: httpx.TransportError, url: str, timeout: float) -> errors.QueryError:
    if isinstance(exc, CONNECT_ERRORS):
        return errors.ServerUnavailableError(
            f"cannot connect to the semantic-layer server at {url} ({_reason(exc)}) — is it running, "
            "and is the URL right?"
        )
    if isinstance(exc, httpx.TimeoutException):
        return errors.QueryTimeoutError(
            f"the server at {url} did not answer within {timeout:g} s — narrow the query, or raise the "
            "client's timeout (sl.Client(url, timeout=...))"
        )
    return errors.ServerUnavailableError(f"the connection to {url} failed: {_reason(exc)}")


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _json(response: httpx.Response, url: str) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        raise _not_ours(response, url) from None


def _server_error(body: dict[str, Any]) -> errors.QueryError:
    first = body["errors"][0]
    code = (first.get("extensions") or {}).get("code", "INTERNAL")
    return ERRORS.get(code, errors.ExecutionError)(first.get("message", "the server gave no message"))


def _not_ours(response: httpx.Response, url: str) -> errors.ProtocolError:
    kind = response.headers.get("content-type") or "no content type"
    return errors.ProtocolError(
        f"{response.request.url} answered {response.status_code} ({kind}), not as a semantic-layer server "
        f"does — check the URL: it is the server's root, such as http://127.0.0.1:4000 (given: {url})"
    )


class _Body(io.RawIOBase):
    """A streaming response's body as a file, for Arrow's stream reader to take batch by batch."""

    def __init__(self, response: httpx.Response):
        self._chunks = response.iter_raw()
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        count = min(len(target), len(self._pending))
        target[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def _stream(response: httpx.Response) -> pa.RecordBatchStreamReader:
    try:
        return reader(io.BufferedReader(_Body(response), buffer_size=1 << 16))
    except (pa.ArrowInvalid, OSError):
        raise _broken(response) from None


def _info(response: httpx.Response, stream: pa.RecordBatchStreamReader) -> AnswerInfo:
    """What the stream says about its answer; an Arrow stream without it is not one of ours."""
    try:
        return AnswerInfo.of(stream.schema)
    except (ValueError, KeyError, TypeError):
        raise _broken(response) from None


def _broken(response: httpx.Response) -> errors.ProtocolError:
    return errors.ProtocolError(
        f"the answer from {response.request.url} broke off, or is not a semantic-layer server's Arrow stream"
    )


def _cached(response: httpx.Response) -> bool:
    return bool(response.headers.get(CACHED_HEADER) == "true")


def _late_warnings(response: httpx.Response) -> list[str]:
    """The answer's warnings sent beside its stream (a failed data check), ahead of the stream's own."""
    try:
        found = json.loads(response.headers.get(WARNINGS_HEADER, "[]"))
    except ValueError:
        raise _broken(response) from None
    if not isinstance(found, list) or not all(isinstance(w, str) for w in found):
        raise _broken(response)
    return found


def _duration(response: httpx.Response) -> float:
    try:
        return float(response.headers.get(DURATION_HEADER, "0"))
    except ValueError:
        return 0.0


def _input(query: Query) -> dict[str, Any]:
    """The query as GraphQL's QueryInput, filter values as JSON can carry them (dates and times as
    ISO-8601, decimals as their exact text: the server reads both as it reads them in `where`)."""
    wire = query_to_wire(query)
    for f in wire["filters"]:
        f["values"] = [_plain(v) for v in f["values"]]
    return wire


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _metric(found: dict[str, Any]) -> Metric:
    thresholds = found["thresholds"]
    return Metric(
        name=found["name"],
        label=found["label"],
        description=found["description"],
        type=found["type"],
        owner=found["owner"],
        tier=found["tier"],
        status=found["status"],
        replaced_by=found["replacedBy"],
        format=found["format"],
        direction=found["direction"],
        tags=tuple(found["tags"]),
        synonyms=tuple(found["synonyms"]),
        depends_on=tuple(found["dependsOn"]),
        dimensions=tuple(found["dimensions"]),
        thresholds=None if thresholds is None else Thresholds.model_validate(thresholds),
    )


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
