"""The result cache: the in-memory LRU by bytes, and the shared Redis cache, which may fail or hang
without costing an answer or blocking the server; one execution per expired answer however many
requests want it at once, within a process and across processes sharing Redis; stale-while-revalidate."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from engines import postgres_copy
from helpers import FakeClock
from liveserver import LiveServer, free_port
from served import ADMIN, QUERY, SECRET, code_of, run, server_project, wait_for

import semantic_layer as sl
from server import ServerSettings, create_app
from server import cache as cache_module
from server.cache import ENTRY_OVERHEAD, Hit, MemoryCache

# -- in memory --------------------------------------------------------------------------------------
ENTRY = ENTRY_OVERHEAD + 1 + 10  # what a one-letter key with a ten-byte answer counts against the budget


def test_the_memory_cache_evicts_the_least_recently_used_once_its_bytes_are_spent() -> None:
    async def scenario() -> None:
        cache = MemoryCache(max_bytes=3 * ENTRY)
        for key in "abc":
            await cache.set(key, b"x" * 10, ttl=60)
        assert (await cache.get("a")) == Hit(b"x" * 10, False)  # a is now the most recently used
        await cache.set("d", b"y" * 10, ttl=60)
        assert await cache.get("b") is None  # the least recently used went
        assert [(await cache.get(k) or Hit(b"", True)).value for k in "acd"] == [b"x" * 10, b"x" * 10, b"y" * 10]
        assert cache.bytes == 3 * ENTRY
        await cache.set("a", b"z" * 5, ttl=60)  # replacing an entry counts its new size only
        assert cache.bytes == 3 * ENTRY - 5 and await cache.get("a") == Hit(b"z" * 5, False)

    asyncio.run(scenario())


def test_the_memory_cache_keeps_nothing_past_its_ttl_or_bigger_than_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(cache_module, "time", clock)

    async def scenario() -> None:
        cache = MemoryCache(max_bytes=ENTRY)
        await cache.set("big", b"x" * 11, ttl=60)
        await cache.set("off", b"x", ttl=0)
        await cache.set("brief", b"x", ttl=1)
        assert await cache.get("big") is None and await cache.get("off") is None
        assert await cache.get("brief") == Hit(b"x", False)
        clock.advance(1.05)
        assert await cache.get("brief") is None and cache.bytes == 0

    asyncio.run(scenario())


# -- Redis ------------------------------------------------------------------------------------------
class PrivateRedis:
    """A redis-server of the test's own on a free loopback port, to stop, freeze and restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_for(
            lambda: (
                subprocess.run(
                    ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
                ).stdout.strip()
                == "PONG"
            ),
            seconds=10,
        )

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (required in CI)")
        pytest.skip("redis-server is not installed")
    redis = PrivateRedis()
    redis.start()
    yield redis
    if redis.process is not None and redis.process.poll() is None:
        os.kill(redis.process.pid, signal.SIGCONT)
        redis.stop()


def served(root: Path, url: str) -> LiveServer:
    return LiveServer(create_app(ServerSettings(project=root, jwt_secret=SECRET, cache_url=url)))


def test_an_answer_past_the_entry_cap_is_not_cached_and_keeps_the_others(tmp_path: Path, shop_db: Path) -> None:
    root = server_project(tmp_path / "p", shop_db)
    settings = ServerSettings(project=root, jwt_secret=SECRET, cache_url=None, cache_max_entry_bytes=2_000)
    big = {"metrics": ["order_count"], "dimensions": ["metric_time:day"]}  # hundreds of rows
    small = {"metrics": ["order_count"]}
    with LiveServer(create_app(settings)) as live:
        for query in (small, big):
            run(live, **query)
        assert run(live, **small)["data"]["query"]["cached"] is True
        assert run(live, **big)["data"]["query"]["cached"] is False  # computed again: it was never kept
        cache = live.app.state.service.cache
        assert isinstance(cache, MemoryCache) and len(cache) == 1


def test_two_servers_share_the_redis_cache(tmp_path: Path, shop_db: Path, private_redis: PrivateRedis) -> None:
    root = server_project(tmp_path / "p", shop_db)
    with served(root, private_redis.url) as first, served(root, private_redis.url) as second:
        assert run(first, metrics=["order_count"], where=["orders.amount > 17"])["data"]["query"]["cached"] is False
        assert run(second, metrics=["order_count"], where=["orders.amount > 17"])["data"]["query"]["cached"] is True


def test_two_servers_share_arrow_answers_through_redis(
    tmp_path: Path, shop_db: Path, private_redis: PrivateRedis
) -> None:
    """An Arrow stream goes to Redis from the buffer it was written in and comes back as bytes: the
    second server answers the same stream, marked cached, and the client reads it the same."""
    root = server_project(tmp_path / "p", shop_db)
    query = {"metrics": ["revenue"], "dimensions": ["customers.segment"], "where": ["orders.amount > 19"]}
    with served(root, private_redis.url) as first, served(root, private_redis.url) as second:
        computed = sl.Client(first.url, token=ADMIN).query(**query)
        shared = sl.Client(second.url, token=ADMIN).query(**query)
    assert (computed.cached, shared.cached) == (False, True)
    assert shared == computed and shared.sql == computed.sql and len(shared) > 1


def test_a_redis_outage_costs_the_cache_not_the_answers(
    tmp_path: Path, shop_db: Path, private_redis: PrivateRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "REDIS_RETRY_SECONDS", 0.3)
    root = server_project(tmp_path / "p", shop_db)
    query = {"metrics": ["order_count"], "where": ["orders.amount > 23"]}
    with served(root, private_redis.url) as live:
        first = run(live, **query)["data"]["query"]
        assert first["cached"] is False and run(live, **query)["data"]["query"]["cached"] is True

        private_redis.stop()
        during = run(live, **query)["data"]["query"]
        assert during["cached"] is False and during["rows"] == first["rows"]
        ready = httpx.get(f"{live.url}/ready")
        assert ready.status_code == 200 and "answering from the database" in ready.json()["cache"]
        assert f"127.0.0.1:{private_redis.port}" in ready.json()["cache"]
        errors = next(
            line
            for line in httpx.get(f"{live.url}/metrics").text.splitlines()
            if line.startswith("semantic_layer_cache_errors_total")
        )
        assert float(errors.split()[-1]) >= 1

        private_redis.start()  # back on the same port: used again once the pause is over
        wait_for(lambda: run(live, **query)["data"]["query"]["cached"] is True)
        assert "cache" not in httpx.get(f"{live.url}/ready").json()


def test_the_server_starts_and_answers_when_redis_is_unreachable(tmp_path: Path, shop_db: Path) -> None:
    root = server_project(tmp_path / "p", shop_db)
    with served(root, f"redis://127.0.0.1:{free_port()}/0") as live:
        assert run(live, metrics=["order_count"])["data"]["query"]["rows"][0]["order_count"] > 0
        assert "unavailable" in httpx.get(f"{live.url}/ready").json()["cache"]


@pytest.mark.slow  # waits out timeouts or expiry on purpose
def test_a_hung_redis_delays_only_the_requests_that_wait_on_it(
    tmp_path: Path, shop_db: Path, private_redis: PrivateRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "REDIS_TIMEOUT_SECONDS", 3.0)
    root = server_project(tmp_path / "p", shop_db)
    with served(root, private_redis.url) as live:
        run(live, metrics=["order_count"])  # connected
        assert private_redis.process is not None
        os.kill(private_redis.process.pid, signal.SIGSTOP)
        answers: list[dict[str, object]] = []
        waiting = threading.Thread(target=lambda: answers.append(run(live, metrics=["buyers"])))
        waiting.start()
        time.sleep(0.3)  # the query now waits on Redis
        assert waiting.is_alive()
        assert httpx.get(f"{live.url}/health", timeout=2).json() == {"status": "ok"}  # the loop is free
        waiting.join(timeout=30)
        os.kill(private_redis.process.pid, signal.SIGCONT)
        assert answers and answers[0]["data"]["query"]["cached"] is False  # type: ignore[index]


# -- one execution per answer ---------------------------------------------------------------------
# A metric whose statement takes the database a while (about 0.1 s), so that a burst of requests
# arrives while it runs; `rows` is sized per engine.
SERIES = """
models:
  - name: series
    sql: "SELECT r.i AS id, r.i % 7 AS v FROM range(0, {rows}) AS r(i)"
    primary_key: id
    measures:
      - {{name: total, agg: sum, expr: v}}
  - name: clock
    sql: "SELECT 1 AS id, epoch_ms(current_timestamp) AS ms"
    primary_key: id
    measures:
      - {{name: latest, agg: max, expr: ms}}
metrics:
  - {{name: series_total, type: simple, measure: series.total}}
  - {{name: clock_ms, type: simple, measure: clock.latest}}
"""
BURST = 16


def stampede_project(root: Path, db: Path, rows: int, cache: str, timeout: float = 5.0) -> Path:
    server_project(root, db, timeout)
    text = (root / "semantic_layer.yml").read_text()
    (root / "semantic_layer.yml").write_text(text + f"cache: {cache}\n")
    (root / "series.yml").write_text(SERIES.format(rows=rows))
    return root


def counter(live: LiveServer, name: str) -> float:
    """A counter's value from the server's /metrics."""
    line = next(ln for ln in httpx.get(f"{live.url}/metrics").text.splitlines() if ln.startswith(f"{name}_total "))
    return float(line.split()[-1])


def executions(*servers: LiveServer) -> float:
    return sum(counter(live, "semantic_layer_database_queries") for live in servers)


def burst(servers: list[LiveServer], query: dict[str, Any], n: int = BURST) -> list[dict[str, Any]]:
    """`n` concurrent requests for the same query, spread over the servers, on connections opened beforehand."""

    async def scenario() -> list[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        async with httpx.AsyncClient(headers=headers, timeout=30, limits=httpx.Limits(max_connections=n)) as client:
            await asyncio.gather(*(client.get(f"{servers[i % len(servers)].url}/health") for i in range(n)))
            responses = await asyncio.gather(
                *(
                    client.post(
                        f"{servers[i % len(servers)].url}/graphql", json={"query": QUERY, "variables": {"input": query}}
                    )
                    for i in range(n)
                )
            )
        return [response.json() for response in responses]

    return asyncio.run(scenario())


def expire_then_burst(servers: list[LiveServer], query: dict[str, Any]) -> list[dict[str, Any]]:
    """Fill the cache (TTL 1 s), let the answer expire, then send the burst."""
    first = run(servers[0], **query)["data"]["query"]
    assert first["cached"] is False and executions(*servers) == 1
    time.sleep(1.2)
    answers = [body["data"]["query"] for body in burst(servers, query)]
    assert all(answer["rows"] == first["rows"] for answer in answers)
    return answers


@pytest.mark.slow  # waits out timeouts or expiry on purpose
@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_an_expired_answer_is_recomputed_once_for_a_burst_of_requests(
    tmp_path: Path, shop_db: Path, engine: str
) -> None:
    if engine == "duckdb":
        root = stampede_project(tmp_path / "p", shop_db, 40_000_000, "{ttl_seconds: 1}")
        with LiveServer(create_app(ServerSettings(project=root, jwt_secret=SECRET, cache_url=None))) as live:
            expire_then_burst([live], {"metrics": ["series_total"]})
            assert executions(live) == 2 and counter(live, "semantic_layer_coalesced_requests") >= 1
        return
    with postgres_copy(shop_db) as url:
        root = stampede_project(tmp_path / "p", shop_db, 1_000_000, "{ttl_seconds: 1}")
        settings = ServerSettings(project=root, connection=url, jwt_secret=SECRET, cache_url=None)
        with LiveServer(create_app(settings)) as live:
            expire_then_burst([live], {"metrics": ["series_total"]})
            assert executions(live) == 2


@pytest.mark.slow  # waits out timeouts or expiry on purpose
def test_requests_coalesced_on_a_failing_execution_all_get_its_error_and_nothing_is_cached(
    tmp_path: Path, shop_db: Path
) -> None:
    root = stampede_project(tmp_path / "p", shop_db, 10, "{ttl_seconds: 60}", timeout=1.0)
    with LiveServer(create_app(ServerSettings(project=root, jwt_secret=SECRET, cache_url=None))) as live:
        bodies = burst([live], {"metrics": ["slow_total"]})  # runs into the 1 s statement timeout
        assert [code_of(body) for body in bodies] == ["TIMEOUT"] * BURST and executions(live) == 1
        assert code_of(run(live, metrics=["slow_total"])) == "TIMEOUT" and executions(live) == 2


@pytest.mark.slow  # waits out timeouts or expiry on purpose
def test_server_processes_sharing_redis_run_an_expired_answer_once(
    tmp_path: Path, shop_db: Path, private_redis: PrivateRedis
) -> None:
    root = stampede_project(tmp_path / "p", shop_db, 40_000_000, "{ttl_seconds: 1}")
    with served(root, private_redis.url) as first, served(root, private_redis.url) as second:
        answers = expire_then_burst([first, second], {"metrics": ["series_total"]})
        assert executions(first, second) == 2
        assert not redis_keys(private_redis, "*:filling")  # the lock went with its holder's answer
        assert any(answer["cached"] for answer in answers[1::2])  # the second server's came from the first's


def test_a_lock_holder_that_never_delivers_delays_the_others_only_briefly(
    tmp_path: Path, shop_db: Path, private_redis: PrivateRedis
) -> None:
    root = stampede_project(tmp_path / "p", shop_db, 10, "{ttl_seconds: 60}")
    settings = ServerSettings(project=root, jwt_secret=SECRET, cache_url=private_redis.url, cache_lock_seconds=0.3)
    with LiveServer(create_app(settings)) as live:
        run(live, metrics=["series_total"])
        [key] = redis_keys(private_redis, "sl:*")
        redis_cli(private_redis, "DEL", key)  # expired …
        redis_cli(private_redis, "SET", f"{key}:filling", "another-process", "PX", "60000")  # … held elsewhere
        answer = run(live, metrics=["series_total"])["data"]["query"]
        assert answer["cached"] is False and executions(live) == 2
        assert redis_cli(private_redis, "GET", f"{key}:filling") == "another-process"  # not ours to release


@pytest.mark.slow  # waits out timeouts or expiry on purpose
def test_a_stale_answer_is_served_at_once_and_refreshed_once_in_the_background(tmp_path: Path, shop_db: Path) -> None:
    root = stampede_project(tmp_path / "p", shop_db, 10, "{ttl_seconds: 1, stale_while_revalidate: 60}")
    with LiveServer(create_app(ServerSettings(project=root, jwt_secret=SECRET, cache_url=None))) as live:
        first = run(live, metrics=["clock_ms"])["data"]["query"]
        time.sleep(1.2)
        answers = [body["data"]["query"] for body in burst([live], {"metrics": ["clock_ms"]})]
        # Every one answered from the cache: the stale answer (the refresh started with the first),
        # or the refreshed one when it landed before the request arrived.
        assert all(answer["cached"] for answer in answers) and first["rows"] in [a["rows"] for a in answers]
        wait_for(lambda: run(live, metrics=["clock_ms"])["data"]["query"]["rows"] != first["rows"])
        fresh = run(live, metrics=["clock_ms"])["data"]["query"]
        assert fresh["cached"] is True and fresh["rows"] != first["rows"]
        assert executions(live) == 2 and counter(live, "semantic_layer_cache_stale_hits") >= 1


def redis_keys(redis: PrivateRedis, pattern: str) -> list[str]:
    return redis_cli(redis, "--scan", "--pattern", pattern).split()


def redis_cli(redis: PrivateRedis, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-p", str(redis.port), *args], capture_output=True, text=True, check=True
    ).stdout.strip()
