"""`POST /api/arrow` and the client's transport: statuses and codes, access, cache, gzip on JSON,
every client failure an sl error with a code, retries on connection errors only."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from liveserver import LiveServer, free_port
from served import ADMIN, SECRET, code_of, gql, run, server_project, token
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

import semantic_layer as sl
from semantic_layer import client as client_module
from semantic_layer.ipc import CACHED_HEADER, MEDIA_TYPE, reader
from server import ServerSettings, create_app


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Iterator[LiveServer]:
    root = server_project(tmp_path_factory.mktemp("arrow"), shop_db)
    with LiveServer(create_app(ServerSettings(project=root, jwt_secret=SECRET, cache_url=None))) as server:
        yield server


def arrow(live: LiveServer, body: Any, bearer: str | None = ADMIN, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    if isinstance(body, bytes):
        return httpx.post(f"{live.url}/api/arrow", content=body, headers=headers, timeout=30, **kwargs)
    return httpx.post(f"{live.url}/api/arrow", json=body, headers=headers, timeout=30, **kwargs)


def refused(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"] == "application/json"
    return response.status_code, code_of(response.json())


def test_an_answer_is_an_arrow_stream_with_its_description(live: LiveServer) -> None:
    response = arrow(live, {"metrics": ["revenue"], "dimensions": ["customers.segment"], "limit": 3})
    assert response.status_code == 200 and response.headers["content-type"] == MEDIA_TYPE
    assert "content-encoding" not in response.headers  # not gzipped, even though httpx accepts it
    table = reader(pa.py_buffer(response.content)).read_all()
    result = sl.Result.from_stream(table)
    assert [c.name for c in result.columns] == ["customers.segment", "revenue"] and len(result) == 3
    assert result.sql.startswith("WITH") and result.columns[1].format == "currency"


def test_mistakes_are_4xx_with_the_graphql_error_shape(live: LiveServer) -> None:
    assert refused(arrow(live, b"{not json")) == (400, "VALIDATION")
    assert refused(arrow(live, [1, 2])) == (400, "VALIDATION")
    assert refused(arrow(live, b"\xff\xfe")) == (400, "VALIDATION")
    wrong_type = arrow(live, {"metrics": "revenue", "limit": "ten"})
    assert refused(wrong_type) == (400, "VALIDATION") and "limit" in wrong_type.json()["errors"][0]["message"]
    assert refused(arrow(live, {"metrics": ["revenue"], "colour": "red"})) == (400, "VALIDATION")
    assert refused(arrow(live, {"metrics": ["revnue"]})) == (400, "UNKNOWN_MEMBER")
    assert refused(arrow(live, {"metrics": ["revenue"], "limit": 10**6})) == (422, "LIMIT")
    assert refused(arrow(live, b"[" * 100_000 + b"]" * 100_000)) == (422, "LIMIT")  # nested too deeply
    assert refused(arrow(live, b" " * 300_000)) == (413, "LIMIT")  # over max_request_bytes
    assert refused(arrow(live, {"metrics": ["ghost_count"]})) == (500, "INTERNAL")  # a table that is not there
    assert "incident" in arrow(live, {"metrics": ["ghost_count"]}).json()["errors"][0]["message"]


def test_a_statement_past_the_timeout_is_a_422_timeout(live: LiveServer) -> None:
    assert refused(arrow(live, {"metrics": ["slow_total"]})) == (422, "TIMEOUT")


def test_access_is_that_of_graphql(live: LiveServer) -> None:
    assert refused(arrow(live, {"metrics": ["revenue"]}, bearer=None)) == (401, "UNAUTHENTICATED")
    assert refused(arrow(live, {"metrics": ["revenue"]}, bearer="not-a-jwt")) == (401, "UNAUTHENTICATED")
    assert refused(arrow(live, {"metrics": ["revenue"]}, bearer=token(["nobody"]))) == (403, "FORBIDDEN")
    analyst = token(["analyst"])
    assert refused(arrow(live, {"metrics": ["average_order_value"]}, bearer=analyst)) == (400, "UNKNOWN_MEMBER")
    regional = token(["regional"], region_id=2)
    query = {"metrics": ["ticket_count", "customer_count"], "dimensions": ["customers.segment"]}
    rows = reader(pa.py_buffer(arrow(live, query, bearer=regional).content)).read_all().to_pylist()
    assert rows == run(live, bearer=regional, **query)["data"]["query"]["rows"]  # checked against SQL in test_server
    assert rows != run(live, **query)["data"]["query"]["rows"]  # the admin sees every region
    with sl.Client(live.url, token=regional) as client:
        assert client.query(**query).rows == rows
    with sl.Client(live.url) as anonymous, pytest.raises(sl.UnauthenticatedError, match="requires a token"):
        anonymous.query(metrics=["revenue"])
    with sl.Client(live.url, token=token(["nobody"])) as stranger, pytest.raises(sl.ForbiddenError):
        stranger.query(metrics=["revenue"])


def test_answers_are_cached_apart_from_the_json_ones(live: LiveServer) -> None:
    query = {"metrics": ["order_count"], "where": ["orders.amount > 4242"]}
    first, second = arrow(live, query), arrow(live, query)
    assert (first.headers[CACHED_HEADER], second.headers[CACHED_HEADER]) == ("false", "true")
    assert first.content == second.content
    assert run(live, **query)["data"]["query"]["cached"] is False  # JSON has entries of its own
    with sl.Client(live.url, token=ADMIN) as client:
        assert client.query(**query).cached is True


def test_json_is_gzipped_for_a_client_that_accepts_it_and_small_answers_are_not(live: LiveServer) -> None:
    big = {"query": "{ metrics { name description dimensions } }"}
    headers = {"Authorization": f"Bearer {ADMIN}"}
    zipped = httpx.post(f"{live.url}/graphql", json=big, headers={**headers, "Accept-Encoding": "gzip"})
    plain = httpx.post(f"{live.url}/graphql", json=big, headers={**headers, "Accept-Encoding": "identity"})
    assert zipped.headers.get("content-encoding") == "gzip" and "content-encoding" not in plain.headers
    assert zipped.json() == plain.json() and zipped.num_bytes_downloaded < len(plain.content) / 3
    small = httpx.post(f"{live.url}/graphql", json={"query": '{ metric(name: "revenue") { name } }'}, headers=headers)
    assert "content-encoding" not in small.headers and small.json()["data"]["metric"]["name"] == "revenue"
    fast = gql(
        live,
        "query Q($input: QueryInput!) { query(input: $input) { rows } }",
        {"input": {"metrics": ["revenue"], "dimensions": ["metric_time:day"]}},
    )
    assert len(fast["data"]["query"]["rows"]) > 100  # the fast path's answers pass through gzip too


def test_client_failures_are_sl_errors_with_codes(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "RETRY_SECONDS", (0.0,))
    down = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(sl.ServerUnavailableError, match="cannot connect") as refused_exc:
        sl.Client(down, retries=1).query(metrics=["revenue"])
    assert refused_exc.value.code == "UNAVAILABLE"
    with pytest.raises(sl.ProtocolError, match="server's root") as wrong:
        sl.Client(f"{live.url}/graphql", token=ADMIN).query(metrics=["revenue"])
    assert wrong.value.code == "PROTOCOL"
    with pytest.raises(sl.ProtocolError):
        sl.Client(f"{live.url}/nowhere", token=ADMIN).metrics()
    with pytest.raises(sl.QueryTimeoutError, match=r"did not answer within 0\.2 s"):
        sl.Client(live.url, token=ADMIN, timeout=0.2).query(metrics=["slow_total"])
    with pytest.raises(sl.QueryTimeoutError, match="ran longer than"):  # the server's own timeout
        sl.Client(live.url, token=ADMIN).query(metrics=["slow_total"])
    with pytest.raises(sl.UnknownMemberError, match="did you mean 'revenue'"):
        sl.Client(live.url, token=ADMIN).query(metrics=["revnue"])


def test_a_url_that_is_another_web_server_is_a_protocol_error() -> None:
    async def page(_: Any) -> HTMLResponse:
        return HTMLResponse("<html><body>Welcome</body></html>")

    other = Starlette(routes=[Route("/{path:path}", page, methods=["GET", "POST"])])
    with LiveServer(other) as server, sl.Client(server.url) as client:
        for ask in (lambda: client.query(metrics=["revenue"]), client.metrics, lambda: client.compile(metrics=["x"])):
            with pytest.raises(sl.ProtocolError, match="not as a semantic-layer server does"):
                ask()


def test_an_arrow_stream_that_is_not_ours_or_breaks_off_is_a_protocol_error() -> None:
    table = pa.table({"x": list(range(100_000))})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    stream = sink.getvalue().to_pybytes()

    async def foreign(_: Any) -> Response:
        return Response(stream, media_type=MEDIA_TYPE)

    async def cut(_: Any) -> Response:
        return Response(stream[: len(stream) // 2], media_type=MEDIA_TYPE)

    routes = [Route("/foreign/api/arrow", foreign, methods=["POST"]), Route("/cut/api/arrow", cut, methods=["POST"])]
    with LiveServer(Starlette(routes=routes)) as server:
        for path in ("foreign", "cut"):
            with sl.Client(f"{server.url}/{path}") as client, pytest.raises(sl.ProtocolError, match="broke off"):
                client.query(metrics=["revenue"])
        with sl.Client(f"{server.url}/foreign") as client, pytest.raises(sl.ProtocolError):
            list(client.iter_batches(metrics=["revenue"]))


class Flaky(httpx.BaseTransport):
    """Fails the first `failures` requests with `error`, then sends them for real."""

    def __init__(self, failures: int, error: type[Exception]):
        self.failures, self.error, self.attempts = failures, error, 0
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.error("simulated", request=request)
        return self.real.handle_request(request)


def flaky_client(live: LiveServer, transport: Flaky, retries: int = 3) -> sl.Client:
    client = sl.Client(live.url, token=ADMIN, retries=retries)
    client._http = httpx.Client(
        base_url=live.url, headers={"Authorization": f"Bearer {ADMIN}"}, transport=transport, timeout=30
    )
    return client


def test_connection_errors_are_retried_with_backoff_and_nothing_else_is(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(client_module.time, "sleep", waits.append)
    transport = Flaky(2, httpx.ConnectError)
    assert len(flaky_client(live, transport).query(metrics=["revenue"])) == 1
    assert transport.attempts == 3 and waits == [0.25, 0.5]  # backoff doubles
    gone = Flaky(10, httpx.ConnectError)
    with pytest.raises(sl.ServerUnavailableError):
        flaky_client(live, gone, retries=2).metrics()
    assert gone.attempts == 3
    slow = Flaky(1, httpx.ReadTimeout)  # the request may have reached the server: never sent twice
    with pytest.raises(sl.QueryTimeoutError):
        flaky_client(live, slow).query(metrics=["revenue"])
    assert slow.attempts == 1
    dropped = Flaky(1, httpx.RemoteProtocolError)  # the server hung up after the request was sent
    with pytest.raises(sl.ServerUnavailableError, match=r"connection .* failed"):
        flaky_client(live, dropped).query(metrics=["revenue"])
    assert dropped.attempts == 1 and waits == [0.25, 0.5, 0.25, 0.5]


def test_a_deprecated_metric_warns_once_per_query(live: LiveServer, shop_project: Path) -> None:
    query = {"metrics": ["legacy_revenue"], "dimensions": ["metric_time:year"]}
    with sl.Client(live.url, token=ADMIN) as client, sl.connect(shop_project) as layer:
        for source in (client, layer):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = source.query(**query)
                _ = result.rows, repr(result), result._repr_html_()  # reading the answer warns no more
            ours = [w for w in caught if issubclass(w.category, sl.SemanticLayerWarning)]  # not a GC's ResourceWarning
            assert [(w.category, str(w.message)) for w in ours] == [
                (sl.DeprecatedMetricWarning, "metric 'legacy_revenue' is deprecated — use 'revenue' instead")
            ]
