"""The server under heavy queries: readiness answers at once, and memory goes back once they end."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from engines import mysql_copy, postgres_copy
from helpers import make_project
from liveserver import LiveServer, free_port
from served import run

from semantic_layer.engines import connect_engine
from server import ServerSettings, create_app

HEAVY = """
models:
  - name: slow
    sql: "SELECT i AS id, i AS v FROM range(3000000000) AS r(i)"
    primary_key: id
    measures:
      - {name: total, agg: sum, expr: v}
  - name: wide
    sql: "SELECT i AS id, CAST(i AS VARCHAR) || 'x' AS k FROM range(400000000) AS r(i)"
    primary_key: id
    measures:
      - {name: keys, agg: count_distinct, expr: k}
metrics:
  - {name: slow_total, type: simple, measure: slow.total}
  - {name: distinct_keys, type: simple, measure: wide.keys}
"""


def heavy_project(root: Path, db: Path, timeout: float, **settings: Any) -> Path:
    make_project(root, db, limits=f"{{default_rows: 5000, max_rows: 100000, timeout_seconds: {timeout}}}", **settings)
    (root / "heavy.yml").write_text(HEAVY)
    return root


def test_ready_answers_while_every_query_thread_is_busy(tmp_path: Path, shop_db: Path) -> None:
    """Nine long queries used to keep /ready waiting 27 s behind them in the thread pool."""
    root = heavy_project(tmp_path / "p", shop_db, timeout=3)
    with LiveServer(create_app(ServerSettings(project=root, threads=1, cache_url=None))) as server:
        long = [
            threading.Thread(target=run, args=(server.url, None), kwargs={"metrics": ["slow_total"]}) for _ in range(2)
        ]
        for thread in long:
            thread.start()
        time.sleep(0.5)  # the one query thread holds a long query, another waits for it
        started = time.perf_counter()
        ready = httpx.get(f"{server.url}/ready", timeout=30)
        waited = time.perf_counter() - started
        for thread in long:
            thread.join(timeout=30)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert waited < 2, f"/ready took {waited:.1f} s behind the queries"


@pytest.mark.parametrize("copy", [postgres_copy, mysql_copy], ids=["postgresql", "mariadb"])
def test_the_probe_does_not_wait_for_a_pooled_connection(shop_db: Path, copy: Any) -> None:
    with copy(shop_db) as url:
        engine = connect_engine(url)
        held = threading.Event()
        release = threading.Event()

        def hold_every_connection() -> None:
            with contextlib.ExitStack() as stack:
                for _ in range(8):
                    stack.enter_context(engine._pool.connection())  # type: ignore[attr-defined]
                held.set()
                release.wait(30)

        holder = threading.Thread(target=hold_every_connection)
        holder.start()
        try:
            assert held.wait(30)
            probe = threading.Thread(target=engine.ping, args=(5,))
            probe.start()
            probe.join(timeout=10)
            assert not probe.is_alive(), "the probe waited for a pooled connection"
        finally:
            release.set()
            holder.join(timeout=30)
            engine.close()


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


@pytest.fixture
def served(tmp_path: Path, shop_db: Path) -> Iterator[tuple[str, int]]:
    """`semantic-layer serve` in a process of its own, so that its memory is its own."""
    root = heavy_project(tmp_path / "p", shop_db, timeout=2, engine="{memory_limit: 3GB}")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "semantic_layer", "serve", "-p", str(root), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_memory_returns_after_heavy_queries_time_out(served: tuple[str, int]) -> None:
    """Nine heavy queries cancelled at their timeout used to leave the process at 6.1 GB."""
    url, pid = served
    for _ in range(3):
        assert run(url, None, metrics=["order_count"], dimensions=["customers.segment"])["data"]["query"]["rows"]
    before = rss_mib(pid)
    peak = before
    heavy = [threading.Thread(target=run, args=(url, None), kwargs={"metrics": ["distinct_keys"]}) for _ in range(9)]
    for thread in heavy:
        thread.start()
    while any(thread.is_alive() for thread in heavy):
        peak = max(peak, rss_mib(pid))
        time.sleep(0.2)
    deadline = time.monotonic() + 20
    while rss_mib(pid) > before * 1.2 and time.monotonic() < deadline:
        time.sleep(0.5)
    after = rss_mib(pid)
    assert peak > before * 1.5, (
        f"the queries did not use memory ({before:.0f} → {peak:.0f} MiB): the test proves nothing"
    )
    assert after <= before * 1.2, f"RSS {before:.0f} MiB before, {peak:.0f} at the peak, {after:.0f} after"
