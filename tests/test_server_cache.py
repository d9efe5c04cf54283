"""The result cache: the in-memory LRU by bytes, and the shared Redis cache, which may fail or hang
without costing an answer or blocking the server."""

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

import httpx
import pytest
from liveserver import LiveServer, free_port
from served import SECRET, run, server_project, wait_for

from server import ServerSettings, create_app
from server import cache as cache_module
from server.cache import MemoryCache


# -- in memory --------------------------------------------------------------------------------------
def test_the_memory_cache_evicts_the_least_recently_used_once_its_bytes_are_spent() -> None:
    async def scenario() -> None:
        cache = MemoryCache(max_bytes=30)
        for key in "abc":
            await cache.set(key, b"x" * 10, ttl=60)
        assert await cache.get("a") == b"x" * 10  # a is now the most recently used
        await cache.set("d", b"y" * 10, ttl=60)
        assert await cache.get("b") is None  # the least recently used went
        assert [await cache.get(k) for k in "acd"] == [b"x" * 10, b"x" * 10, b"y" * 10]
        assert cache.bytes == 30
        await cache.set("a", b"z" * 5, ttl=60)  # replacing an entry counts its new size only
        assert cache.bytes == 25 and await cache.get("a") == b"z" * 5

    asyncio.run(scenario())


def test_the_memory_cache_keeps_nothing_past_its_ttl_or_bigger_than_its_budget() -> None:
    async def scenario() -> None:
        cache = MemoryCache(max_bytes=10)
        await cache.set("big", b"x" * 11, ttl=60)
        await cache.set("off", b"x", ttl=0)
        await cache.set("brief", b"x", ttl=1)
        assert await cache.get("big") is None and await cache.get("off") is None
        assert await cache.get("brief") == b"x"
        await asyncio.sleep(1.05)
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
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                                        text=True).stdout.strip() == "PONG", seconds=10)

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


def test_two_servers_share_the_redis_cache(tmp_path: Path, shop_db: Path, private_redis: PrivateRedis) -> None:
    root = server_project(tmp_path / "p", shop_db)
    with served(root, private_redis.url) as first, served(root, private_redis.url) as second:
        assert run(first, metrics=["order_count"], where=["orders.amount > 17"])["data"]["query"]["cached"] is False
        assert run(second, metrics=["order_count"], where=["orders.amount > 17"])["data"]["query"]["cached"] is True


def test_a_redis_outage_costs_the_cache_not_the_answers(tmp_path: Path, shop_db: Path, private_redis: PrivateRedis,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
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
        errors = next(line for line in httpx.get(f"{live.url}/metrics").text.splitlines()
                      if line.startswith("semantic_layer_cache_errors_total"))
        assert float(errors.split()[-1]) >= 1

        private_redis.start()  # back on the same port: used again once the pause is over
        wait_for(lambda: run(live, **query)["data"]["query"]["cached"] is True)
        assert "cache" not in httpx.get(f"{live.url}/ready").json()


def test_the_server_starts_and_answers_when_redis_is_unreachable(tmp_path: Path, shop_db: Path) -> None:
    root = server_project(tmp_path / "p", shop_db)
    with served(root, f"redis://127.0.0.1:{free_port()}/0") as live:
        assert run(live, metrics=["order_count"])["data"]["query"]["rows"][0]["order_count"] > 0
        assert "unavailable" in httpx.get(f"{live.url}/ready").json()["cache"]


def test_a_hung_redis_delays_only_the_requests_that_wait_on_it(tmp_path: Path, shop_db: Path,
                                                               private_redis: PrivateRedis,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
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
