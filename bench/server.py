"""Server load benchmark on loopback: req/s and latency for a cached and an uncached demo query,
next to direct DuckDB for the same SQL, and the server's peak memory. Prints a table; asserts nothing.

    python bench/server.py [--connections 32] [--seconds 20] [--rounds 3]

The server runs in its own process (`semantic-layer serve` on the demo project, data/crm.duckdb).
The uncached load is set beside the same statements run directly in DuckDB under the same load,
in alternating rounds; one request at a time, it is set beside the same SQL run directly and beside
a hand-written bare ASGI handler (bench/bare_asgi.py: no GraphQL, auth or cache), the floor.
Load comes from wrk when it is on PATH (apt-get install wrk), else from a Python asyncio generator
in another process. Every run is bounded in time and connection count, and targets 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import itertools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import semantic_layer as sl  # noqa: E402
from semantic_layer.query import build_query  # noqa: E402
from server.auth import mint_token  # noqa: E402
from server.settings import ServerSettings  # noqa: E402

SECRET = "bench-secret-bench-secret-bench-secret!"
QUERY = "query Q($input: QueryInput!) { query(input: $input) { rows cached durationMs } }"
CACHED = {
    "metrics": ["revenue", "order_count"],
    "dimensions": ["metric_time:month"],
    "timeRange": {"start": "2025-01-01", "end": "2026-01-01"},
}


def uncached(n: int | str) -> dict[str, object]:
    """The same shape with a new filter value each time: compiled once, never answered from the cache.
    Every value is below the smallest amount, so each request does the full work of the cached one."""
    return {**CACHED, "where": [f"orders.amount > 0.{n}1"]}


def layer_query(n: int) -> dict[str, Any]:
    """`uncached(n)` as the Python API's keyword arguments."""
    return {
        "metrics": CACHED["metrics"],
        "dimensions": CACHED["dimensions"],
        "where": uncached(n)["where"],
        "time_range": CACHED["timeRange"],
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int, workers: int) -> subprocess.Popen[bytes]:
    return _started(
        [
            sys.executable,
            "-m",
            "semantic_layer",
            "serve",
            "--project",
            str(ROOT / "metrics"),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        port,
        "/ready",
    )


def start_bare(port: int) -> subprocess.Popen[bytes]:
    """The hand-written baseline (bench/bare_asgi.py) on the same uvicorn."""
    return _started(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_asgi:app",
            "--app-dir",
            str(ROOT / "bench"),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        port,
        "/",
    )


def _started(command: list[str], port: int, probe: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SEMANTIC_LAYER_JWT_SECRET": SECRET, "SEMANTIC_LAYER_PROJECT": str(ROOT / "metrics")}
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of the server process and its worker processes, summed."""
    total = 0
    for child in [pid, *_children(pid)]:
        match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{child}/status").read_text())
        total += int(match.group(1)) if match else 0
    return total / 1024


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found + [g for c in found for g in _children(c)]


# -- load generators --------------------------------------------------------------------------------
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
local body = [[%(body)s]]
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
local counter = 0
request = function()
  counter = counter + 1
  local n = counter * 16 + id
  return wrk.format(nil, "/graphql", nil, (string.gsub(body, "__N__", tostring(n))))
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%f %%f %%f\\n", summary.requests, summary.duration / 1e6,
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def load_wrk(url: str, token: str, body: str, connections: int, seconds: int) -> tuple[float, float, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"token": token, "body": body})
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", script.name, "--timeout", "10s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    os.unlink(script.name)
    _, requests, duration, p50, p99 = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")).split()
    return int(requests) / float(duration), float(p50), float(p99)


async def _python_load(url: str, token: str, body: str, connections: int, seconds: int) -> list[float]:
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(
        limits=limits, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    ) as client:

        async def worker(k: int) -> None:
            n = k
            while time.monotonic() < stop:
                n += connections  # unique per request, as in the wrk script
                started = time.perf_counter()
                await client.post(f"{url}/graphql", content=body.replace("__N__", str(n)))
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(worker(k) for k in range(connections)))
    return latencies


def load_python(url: str, token: str, body: str, connections: int, seconds: int) -> tuple[float, float, float]:
    return _summary(asyncio.run(_python_load(url, token, body, connections, seconds)), seconds)


def _summary(latencies: list[float], seconds: float) -> tuple[float, float, float]:
    """req/s, p50 and p99 (ms) of the latencies gathered over `seconds`."""
    ordered = sorted(latencies)
    return len(ordered) / seconds, statistics.median(ordered), ordered[int(len(ordered) * 0.99)]


# -- direct DuckDB ----------------------------------------------------------------------------------
class LeanClient:
    """One keep-alive HTTP/1.1 connection from the standard library: the one-at-a-time rows measure
    the server, and httpx's own per-request work (about 0.5 ms) would be counted as the server's."""

    def __init__(self, url: str, token: str):
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, body: bytes) -> dict[str, Any]:
        self.connection.request("POST", "/graphql", body=body, headers=self.headers)
        return json.loads(self.connection.getresponse().read())  # type: ignore[no-any-return]

    def close(self) -> None:
        self.connection.close()


def direct_duckdb(url: str, token: str, blocks: int = 8, size: int = 25) -> tuple[float, float]:
    """Median ms of one uncached request at a time, and of the same SQL run directly in DuckDB.

    In alternating blocks (served, then the same statements direct), so that slow drift of the
    machine (clock speed, other load) falls on both alike; the first run of each block is dropped,
    as the other side's database threads may still be winding down. The two never run at once.
    """
    served: list[float] = []
    direct: list[float] = []
    client = LeanClient(url, token)
    con = duckdb.connect(str(ROOT / "data" / "crm.duckdb"), read_only=True)
    for block in range(blocks):
        statements = []
        for n in range(size):
            body = json.dumps(
                {
                    "query": "query Q($input: QueryInput!) { query(input: $input) { sql cached } }",
                    "variables": {"input": uncached(10_000_000 + block * size + n)},
                }
            ).encode()
            started = time.perf_counter()
            statements.append(client.post(body)["data"]["query"]["sql"])
            if n:
                served.append((time.perf_counter() - started) * 1000)
        for n, sql in enumerate(statements):
            started = time.perf_counter()
            con.execute(sql).fetchall()
            if n:
                direct.append((time.perf_counter() - started) * 1000)
    con.close()
    client.close()
    return statistics.median(direct), statistics.median(served)


def direct_statements(count: int = 4096) -> list[str]:
    """The uncached load's statements as the layer compiles them: the shape of every served request,
    each with its own filter value."""
    layer = sl.connect(ROOT / "metrics")
    try:
        return [layer.compile(**layer_query(n)) for n in range(count)]
    finally:
        layer.close()


def direct_load(statements: list[str], seconds: int, threads: int) -> tuple[float, float, float]:
    """The statements run directly in DuckDB from `threads` threads for `seconds`: what the database
    alone answers on this machine under the same load."""
    con = duckdb.connect(str(ROOT / "data" / "crm.duckdb"), read_only=True)
    latencies: list[float] = []
    issued = itertools.count()
    stop = time.monotonic() + seconds

    def worker() -> None:
        cursor = con.cursor()
        while time.monotonic() < stop:
            sql = statements[next(issued) % len(statements)]
            started = time.perf_counter()
            cursor.execute(sql).fetchall()
            latencies.append((time.perf_counter() - started) * 1000)
        cursor.close()

    began = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - began
    con.close()
    return _summary(latencies, elapsed)


def idle_penalty(idle_seconds: float, runs: int = 200) -> tuple[float, float]:
    """Median µs of the same Python work (compiling a served query's known shape with a new value)
    run back to back, and run after the thread has slept as long as the demo query takes.

    A served request's Python runs after such a wait (the loop sleeps while the database works);
    direct DuckDB in a loop never waits. On machines whose idle CPUs halt, the difference is part of
    every server's one-at-a-time overhead, whatever its code does."""
    layer = sl.connect(ROOT / "metrics")
    samples: dict[bool, list[float]] = {False: [], True: []}
    try:
        for n in range(runs):
            for after_idle in (False, True):
                if after_idle:
                    time.sleep(idle_seconds)
                started = time.perf_counter()
                layer.prepare(build_query(**layer_query(n)))
                samples[after_idle].append((time.perf_counter() - started) * 1e6)
    finally:
        layer.close()
    return statistics.median(samples[False]), statistics.median(samples[True])


def cached_alone(url: str, body: str, token: str, runs: int = 300) -> float:
    client = LeanClient(url, token)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        client.post(body.encode())
        samples.append((time.perf_counter() - started) * 1000)
    client.close()
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        choices=range(1, 10),
        help="uncached load runs, each followed by the direct DuckDB load (medians shown)",
    )
    args = parser.parse_args()
    if not (ROOT / "data" / "crm.duckdb").exists():
        subprocess.run([sys.executable, "-m", "semantic_layer", "demo"], cwd=ROOT, check=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    token = mint_token(SECRET, ["admin"], {}, 3600)
    server = start_server(port, args.workers)
    generator = load_wrk if shutil.which("wrk") else load_python
    missed: list[tuple[float, float, float]] = []
    direct_loaded: list[tuple[float, float, float]] = []
    threads = ServerSettings(ROOT / "metrics").threads
    statements = direct_statements()
    try:
        cached_body = json.dumps({"query": QUERY, "variables": {"input": CACHED}})
        httpx.post(
            f"{url}/graphql",
            content=cached_body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        cached = generator(url, token, cached_body, args.connections, args.seconds)
        # Served and direct loads alternate, so that the machine's drift falls on both; the direct
        # load runs while the server idles. Each round's filter values start with its own digits.
        for round_ in range(args.rounds):
            body = json.dumps({"query": QUERY, "variables": {"input": uncached(f"{round_ + 1}0__N__")}})
            missed.append(generator(url, token, body, args.connections, args.seconds))
            direct_loaded.append(direct_load(statements, args.seconds, threads))
        direct_ms, served_ms = direct_duckdb(url, token)
        alone = cached_alone(url, cached_body, token)
        rss = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    bare = start_bare(port)
    try:
        bare_direct_ms, bare_ms = direct_duckdb(url, token)
    finally:
        bare.terminate()
        bare.wait(timeout=30)
    table = Table(
        title=f"server on loopback ({args.workers} worker{'s' if args.workers > 1 else ''}): "
        f"{args.connections} connections × {args.seconds} s per row, load from "
        f"{'wrk' if generator is load_wrk else 'python asyncio'}"
    )
    for column in ("case", "req/s", "p50 ms", "p99 ms", "goal"):
        table.add_column(column)
    table.add_row(
        "cached demo query", f"{cached[0]:,.0f}", f"{cached[1]:.2f}", f"{cached[2]:.2f}", "p50 ≤ 3 ms, ≥ 1 500 req/s"
    )
    table.add_row("cached, one request at a time (median)", "", f"{alone:.2f}", "", "p50 ≤ 3 ms")
    table.add_row(
        f"uncached (new filter value each request), median of {args.rounds}",
        f"{_median(missed, 0):,.0f}",
        f"{_median(missed, 1):.2f}",
        f"{_median(missed, 2):.2f}",
        "—",
    )
    table.add_row(
        f"direct DuckDB, same statements from {threads} threads, median of {args.rounds}",
        f"{_median(direct_loaded, 0):,.0f}",
        f"{_median(direct_loaded, 1):.2f}",
        f"{_median(direct_loaded, 2):.2f}",
        "",
    )
    paired = sorted(direct[0] / served[0] - 1 for served, direct in zip(missed, direct_loaded, strict=True))
    table.add_row(
        "uncached under load: time per request over direct DuckDB",
        "",
        f"{statistics.median(paired) * 100:+.0f}%",
        f"{paired[0] * 100:+.0f}…{paired[-1] * 100:+.0f}%",
        "≤ +10%",
    )
    table.add_row("uncached, one request at a time (median)", "", f"{served_ms:.2f}", "", "")
    table.add_row("direct DuckDB, same SQL (median)", "", f"{direct_ms:.2f}", "", "")
    table.add_row("uncached overhead over direct DuckDB", "", _overhead(served_ms, direct_ms), "", "≤ +10%")
    table.add_row("bare ASGI handler (bench/bare_asgi.py), one at a time", "", f"{bare_ms:.2f}", "", "")
    table.add_row("its overhead over direct DuckDB (the floor)", "", _overhead(bare_ms, bare_direct_ms), "", "")
    warm_us, idle_us = idle_penalty(direct_ms / 1000)
    table.add_row(
        f"the same Python work warm, and after {direct_ms:.0f} ms idle (this machine)",
        "",
        f"{warm_us:.0f} µs → {idle_us:.0f} µs",
        "",
        "",
    )
    table.add_row("server peak memory (VmHWM)", "", f"{rss:,.0f} MB", "", "")
    Console(width=140).print(table)


def _median(runs: list[tuple[float, float, float]], column: int) -> float:
    return statistics.median(run[column] for run in runs)


def _overhead(served: float, direct: float) -> str:
    return f"{served - direct:+.2f} ({(served / direct - 1) * 100:+.0f}%)"


if __name__ == "__main__":
    main()
