"""Soak: the server under sustained, mixed dashboard-like load, watching its memory. Prints a table;
asserts nothing.

    python bench/soak.py [--minutes 30] [--connections 16] [--warmup-minutes 3]

The server runs in its own process (`python -m semantic_layer serve` on the CRM demo project,
data/crm.duckdb, built first if missing); its resident memory (RSS) is sampled every few seconds.
Each request asks one of 13 metrics by one of 5 dimension sets as one of 6 callers (role sets and
region claims, each caller holding several tokens, as several users would) over the dashboards'
time range; some explore a range of their own (new cache keys), and a few percent ask for a
misspelled metric, as dashboards being edited do. The goal: RSS at the end within 10% of RSS
after the warm-up. The warm-up is three minutes by default: the demo's answers live 60 s, so the
answer cache holds its steady mix of live and expiring answers only after about two TTLs, and
DuckDB's own allocations settle over the same time (the table shows RSS minute by minute, and how
much of it the answer cache counts). Load comes from this process, on 127.0.0.1 only, and stops
after `--minutes` or `--max-requests`, whichever comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.auth import mint_token  # noqa: E402

SECRET = "soak-secret-soak-secret-soak-secret-soak!"
QUERY = "query Q($input: QueryInput!) { query(input: $input) { columns { name type } rows cached } }"
METRICS = [
    "revenue",
    "order_count",
    "average_order_value",
    "new_customers",
    "active_customers",
    "won_deals",
    "opened_pipeline",
    "lead_count",
    "ticket_count",
    "complaint_rate",
    "collection_rate",
    "csat",
    "follow_up_count",
]
DIMENSION_SETS = [
    ["metric_time:month"],
    ["metric_time:quarter"],
    ["customers.region"],
    ["customers.tier", "metric_time:quarter"],
    ["customers.industry"],
]
CALLERS: list[tuple[list[str], dict[str, str]]] = [
    (["admin"], {}),
    (["sales_manager"], {}),
    (["sales_rep"], {"region": "east"}),
    (["sales_rep"], {"region": "north"}),
    (["sales_manager", "sales_rep"], {"region": "south"}),
    (["admin", "sales_rep"], {"region": "west"}),
]
TIME_RANGE = {"start": "2024-01-01", "end": "2026-01-01"}
SAMPLE_SECONDS = 5.0


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # OK or the first error's code
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)
    cache_mb: list[tuple[float, float]] = field(default_factory=list)  # the answer cache, as the server counts it
    engine_mb: list[tuple[float, float]] = field(default_factory=list)  # DuckDB's buffer pool, as DuckDB counts it


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int, log: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SEMANTIC_LAYER_JWT_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "semantic_layer", "serve", "--project", str(ROOT / "metrics"), "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start; its log: " + Path(log.name).read_text()[-2000:])


def rss_mb(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


def tokens(per_caller: int) -> list[list[str]]:
    """Each caller's tokens: the same roles and claims, minted for several users."""
    return [
        [mint_token(SECRET, roles, {**claims, "sub": f"user{n}"}, 24 * 3600) for n in range(per_caller)]
        for roles, claims in CALLERS
    ]


def request_body(rng: random.Random, args: argparse.Namespace) -> dict[str, Any]:
    metric = rng.choice(METRICS)
    if rng.random() < args.unknown_share:
        metric = f"{metric}_{rng.randrange(10_000)}"  # misspelled: UNKNOWN_MEMBER, rarely the same twice
    return {
        "query": QUERY,
        "variables": {
            "input": {
                "metrics": [metric],
                "dimensions": rng.choice(DIMENSION_SETS),
                "timeRange": time_range(rng, args.explore_share),
            }
        },
    }


def time_range(rng: random.Random, explore_share: float) -> dict[str, str]:
    """The dashboards' fixed range, or (exploring) a range picked from 24 start months and 12
    lengths: a new cache key most of the time."""
    if rng.random() >= explore_share:
        return TIME_RANGE
    start = 2023 * 12 + rng.randrange(24)
    end = start + 1 + rng.randrange(12)
    return {"start": f"{start // 12}-{start % 12 + 1:02d}-01", "end": f"{end // 12}-{end % 12 + 1:02d}-01"}


def outcome(response: httpx.Response) -> str:
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    errors = response.json().get("errors")
    return str(errors[0].get("extensions", {}).get("code", "?")) if errors else "OK"


async def load(url: str, callers: list[list[str]], args: argparse.Namespace, tally: Tally, stop: float) -> None:
    issued = 0
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def connection(k: int) -> None:
            nonlocal issued
            rng = random.Random(k)
            while time.monotonic() < stop and issued < args.max_requests:
                issued += 1
                headers = {"Authorization": f"Bearer {rng.choice(rng.choice(callers))}"}
                started = time.perf_counter()
                try:
                    response = await client.post(f"{url}/graphql", json=request_body(rng, args), headers=headers)
                    tally.outcomes[outcome(response)] += 1
                except httpx.HTTPError as exc:
                    tally.outcomes[type(exc).__name__] += 1
                tally.latencies_ms.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(connection(k) for k in range(args.connections)))


async def sample(url: str, pid: int, tally: Tally, began: float, stop: float) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        while True:
            at = time.monotonic() - began
            tally.rss_mb.append((at, rss_mb(pid)))
            exposition = (await client.get(f"{url}/metrics")).text
            tally.cache_mb.append((at, gauge(exposition, "semantic_layer_cache_bytes") / 2**20))
            tally.engine_mb.append((at, gauge(exposition, "semantic_layer_engine_memory_bytes") / 2**20))
            if time.monotonic() >= stop:
                return
            await asyncio.sleep(min(SAMPLE_SECONDS, max(0.0, stop - time.monotonic())))


def gauge(exposition: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", exposition, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def soak(url: str, pid: int, args: argparse.Namespace) -> Tally:
    tally = Tally()
    began = time.monotonic()
    stop = began + args.minutes * 60
    await asyncio.gather(
        load(url, tokens(args.tokens_per_caller), args, tally, stop), sample(url, pid, tally, began, stop)
    )
    return tally


def report(tally: Tally, args: argparse.Namespace, seconds: float) -> None:
    warm, end = _at(tally.rss_mb, args.warmup_minutes), tally.rss_mb[-1][1]
    ordered = sorted(tally.latencies_ms)
    table = Table(
        title=f"soak on loopback: {args.connections} connections × {seconds / 60:.1f} min, "
        f"{len(METRICS)} metrics × {len(DIMENSION_SETS)} dimension sets × {len(CALLERS)} callers, "
        f"{args.explore_share:.0%} own time ranges, {args.unknown_share:.0%} unknown members"
    )
    for column in ("measure", "value", "goal"):
        table.add_column(column)
    table.add_row(f"server RSS after the {args.warmup_minutes:g} min warm-up", f"{warm:,.0f} MB", "")
    table.add_row("server RSS at the end", f"{end:,.0f} MB", "")
    table.add_row("change", f"{(end / warm - 1) * 100:+.1f}%", "within ±10%")
    table.add_row("peak RSS sampled", f"{max(mb for _, mb in tally.rss_mb):,.0f} MB", "")
    table.add_row("RSS each minute (MB)", " ".join(f"{mb:.0f}" for at, mb in _per_minute(tally.rss_mb)), "")
    table.add_row(
        "of which the answer cache, after warm-up → end",
        f"{_at(tally.cache_mb, args.warmup_minutes):.1f} → {tally.cache_mb[-1][1]:.1f} MB",
        "",
    )
    table.add_row(
        "of which DuckDB's buffer pool, after warm-up → end",
        f"{_at(tally.engine_mb, args.warmup_minutes):.1f} → {tally.engine_mb[-1][1]:.1f} MB",
        "",
    )
    table.add_row("requests", f"{len(ordered):,} ({len(ordered) / seconds:,.0f}/s)", "")
    table.add_row(
        "outcomes", ", ".join(f"{code} {n:,}" for code, n in tally.outcomes.most_common()), "UNKNOWN_MEMBER only"
    )
    if ordered:
        table.add_row(
            "latency p50 / p99", f"{statistics.median(ordered):.1f} / {ordered[int(len(ordered) * 0.99)]:.1f} ms", ""
        )
    Console(width=160).print(table)


def _at(samples: list[tuple[float, float]], minutes: float) -> float:
    """The first sample taken `minutes` into the run (the last one if the run was shorter)."""
    return next((mb for at, mb in samples if at >= minutes * 60), samples[-1][1])


def _per_minute(samples: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The first sample of each minute, and the last."""
    seen: dict[int, tuple[float, float]] = {}
    for at, mb in samples:
        seen.setdefault(int(at // 60), (at, mb))
    return [*seen.values(), samples[-1]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=30, help="how long the load runs")
    parser.add_argument("--warmup-minutes", type=float, default=3, help="RSS is compared with its value then")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--unknown-share", type=float, default=0.05, help="share of requests for unknown metrics")
    parser.add_argument(
        "--explore-share",
        type=float,
        default=0.2,
        help="share of requests with a time range of their own (mostly cache misses)",
    )
    parser.add_argument("--tokens-per-caller", type=int, default=20, help="distinct tokens (users) per caller")
    parser.add_argument("--max-requests", type=int, default=5_000_000, help="stop after this many requests")
    args = parser.parse_args()
    if not (ROOT / "data" / "crm.duckdb").exists():
        subprocess.run([sys.executable, "-m", "semantic_layer", "demo"], cwd=ROOT, check=True)
    port = free_port()
    with tempfile.NamedTemporaryFile("w+", prefix="soak-server-", suffix=".log") as log:
        server = start_server(port, log)
        try:
            began = time.monotonic()
            tally = asyncio.run(soak(f"http://127.0.0.1:{port}", server.pid, args))
            seconds = time.monotonic() - began
        finally:
            server.terminate()
            server.wait(timeout=30)
        report(tally, args, seconds)
        problems = [line for line in Path(log.name).read_text().splitlines() if "ERROR" in line or "Traceback" in line]
        if problems:
            print(f"server log: {len(problems)} error lines, the first: {problems[0]}")


if __name__ == "__main__":
    main()
