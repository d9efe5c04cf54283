"""Large answers in Python, local against remote: time to a pandas DataFrame and peak memory.

    python bench/client.py                       # 200 000 and 1 000 000 rows, prints a table
    python bench/client.py --rows 200000 --runs 5

A temporary DuckDB file holds one row per event (id, day, category, a DECIMAL amount) and a small
project over it; the query asks for the events' amounts by id, so the answer has one row per event.
Each measurement runs in a fresh Python process (imports and a small query first, so that only the
answer is measured): the local layer, the server through `sl.Client` (one Arrow stream), and the
server in pages of 250 000 rows. The server is `semantic-layer serve` in a process of its own, its
answer cache off (ttl 0) so that every run computes its answer. Reported: the median time from the
call to the DataFrame (and the best run: on a busy machine the two processes of a remote answer
wait for the CPU more often than one), the client's peak RSS above its level before the query against the
DataFrame's own size, and the server's RSS before the query, at its peak and once the answer is sent.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx

ROOT = Path(__file__).resolve().parents[1]
PROJECT = """
name: bench
connection: duckdb:///events.duckdb
dialect: duckdb
timezone: UTC
cache: {ttl_seconds: 0}
limits: {default_rows: 10000, max_rows: 1000000, timeout_seconds: 120}
"""
MODELS = """
models:
  - name: events
    table: events
    primary_key: id
    time: happened_at
    dimensions:
      - {name: id, type: number}
      - {name: category}
      - {name: happened_at, type: time}
    measures:
      - {name: amount, agg: sum, expr: amount}
metrics:
  - {name: amount, type: simple, measure: events.amount, format: currency}
"""
CHILD = """
import json, os, resource, sys, time
import pandas, pyarrow
import semantic_layer as sl

def rss():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))

mode, rows, url, project = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
source = sl.connect(project) if mode == "local" else sl.Client(url, timeout=300)
query = dict(metrics=["amount"], dimensions=["events.id", "events.category", "metric_time:day"], limit=rows)
source.query(metrics=["amount"], dimensions=["events.category"]).to_pandas()  # warm: imports, connection
before = rss()
started = time.perf_counter()
result = source.query(page_size=250_000, **query) if mode == "paged" else source.query(**query)
frame = result.to_pandas()
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "rows": len(frame), "before": before, "peak": peak,
                  "frame": int(frame.memory_usage(deep=True).sum()), "arrow": result.table.nbytes}))
"""


def build(folder: Path, rows: int) -> Path:
    """The events table (`rows` of them) and the project over it."""
    (folder / "semantic_layer.yml").write_text(PROJECT)
    (folder / "models.yml").write_text(MODELS)
    with duckdb.connect(str(folder / "events.duckdb")) as con:
        con.execute(
            f"""CREATE TABLE events AS SELECT i AS id, 'category ' || (i % 20) AS category,
                TIMESTAMP '2024-01-01' + to_seconds(i * 37 % 31536000) AS happened_at,
                CAST((i * 7919 % 100000) / 100.0 AS DECIMAL(12, 2)) AS amount
                FROM range({rows}) AS r(i)"""
        )
    return folder


def server_rss(pid: int) -> tuple[int, int]:
    """The server's current and peak RSS, in bytes."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def reset_peak(pid: int) -> None:
    """Start the server's peak RSS afresh (Linux: writing 5 to clear_refs resets VmHWM)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def measure(mode: str, rows: int, url: str, project: Path, server: int) -> dict[str, Any]:
    reset_peak(server)
    before, _ = server_rss(server)
    child = [sys.executable, "-c", CHILD, mode, str(rows), url, str(project)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(child, capture_output=True, text=True, check=True, env=env)
    time.sleep(1.0)  # the answer is sent; give the allocator's background threads a moment
    after, peak = server_rss(server)
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return {**found, "server_before": before, "server_peak": peak, "server_after": after}


def start_server(project: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "semantic_layer", "serve", "--project", str(project), "--port", str(port)]
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mib(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def report(rows: int, mode: str, runs: list[dict[str, Any]], local_seconds: tuple[float, float] | None) -> str:
    seconds = statistics.median(r["seconds"] for r in runs)
    best = min(r["seconds"] for r in runs)
    last = runs[-1]
    growth = max(r["peak"] - r["before"] for r in runs)
    ratio = "" if local_seconds is None else f"{seconds / local_seconds[0]:.2f}× ({best / local_seconds[1]:.2f}×)"
    server = (
        ""
        if mode == "local"
        else (
            f"{mib(last['server_before'])} → {mib(last['server_peak'])} → {mib(last['server_after'])} "
            f"({(last['server_after'] / last['server_before'] - 1) * 100:+.0f} %)"
        )
    )
    return (
        f"| {rows:,} | {mode} | {seconds:.2f} ({best:.2f}) | {ratio} | {mib(growth)} | {mib(last['frame'])} | "
        f"{growth / last['frame']:.2f} | {server} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--verbose", action="store_true", help="print every run's time")
    args = parser.parse_args()
    columns = [
        "rows",
        "path",
        "seconds to DataFrame: median (best)",
        "× local",
        "client peak above start, MiB",
        "DataFrame, MiB",
        "peak / DataFrame",
        "server RSS MiB: before → peak → after",
    ]
    print("| " + " | ".join(columns) + " |\n|---:|---|---:|---:|---:|---:|---:|---|")
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            project = build(Path(tmp), rows)
            process, url = start_server(project)
            try:
                local_seconds: tuple[float, float] | None = None
                for mode in ("local", "remote", "paged"):
                    runs = [measure(mode, rows, url, project, process.pid) for _ in range(args.runs)]
                    assert all(r["rows"] == rows for r in runs), runs
                    print(report(rows, mode, runs, local_seconds), flush=True)
                    if args.verbose:
                        print(f"<!-- {mode}: {[round(r['seconds'], 3) for r in runs]} -->", flush=True)
                    if mode == "local":
                        times = [r["seconds"] for r in runs]
                        local_seconds = (statistics.median(times), min(times))
            finally:
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
