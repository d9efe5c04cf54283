"""Dashboard page speed in Chromium: time from navigation to the last tile painted, cold and warm.
Prints a table with medians; asserts nothing.

    python bench/dashboards.py [--runs 5] [--dashboard strategic_cockpit ...]

Needs the demo warehouse at scale 1 (`semantic-layer demo`, data/crm.duckdb), Debian's chromium at
/usr/bin/chromium and Playwright for Python. The server runs in its own process
(`semantic-layer serve` on metrics/), on 127.0.0.1 only.

- cold: a server just started (no cached answer, no compiled statement) and a new browser profile
  (no cached script): each run starts its own server;
- warm: the same page loaded again in the same browser profile from the same server: answers come
  from the server's cache, scripts are revalidated by ETag.

The time is the page's `dashboard-painted` mark (server/static/js/dashboard.js: set two animation
frames after the last tile drew), from the navigation's start. The table also shows how many
GraphQL requests the page sent and how many were in flight at once: tiles ask in parallel.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.auth import mint_token  # noqa: E402


def _load_bench_server() -> ModuleType:
    """bench/server.py (its server start-up and secret), under a name that is not the server package."""
    spec = importlib.util.spec_from_file_location("bench_server", ROOT / "bench" / "server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


served = _load_bench_server()

CHROMIUM = "/usr/bin/chromium"
GOALS = {"strategic_cockpit": (300.0, 1500.0)}  # (warm, cold) milliseconds
MEASURE = """() => {
  const painted = performance.getEntriesByName('dashboard-painted')[0];
  const calls = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/graphql'));
  let most = 0;
  for (const a of calls) {
    most = Math.max(most, calls.filter((b) => b.startTime < a.responseEnd && a.startTime < b.responseEnd).length);
  }
  return {painted: painted ? painted.startTime : null, requests: calls.length, parallel: most};
}"""


def measure(page: Any, url: str) -> dict[str, Any]:
    page.goto(url)
    page.wait_for_selector('body[data-ready="1"]', timeout=60_000)
    found: dict[str, Any] = page.evaluate(MEASURE)
    states = page.locator("section.tile").evaluate_all("(tiles) => tiles.map((t) => t.dataset.state)")
    if set(states) != {"ready"}:
        raise SystemExit(f"{url}: tiles not drawn: {states}")
    return found


def cold_runs(browser: Any, name: str, runs: int, token: str) -> list[dict[str, Any]]:
    """Each run: a new server process and a new browser profile."""
    out = []
    for _ in range(runs):
        port = served.free_port()
        proc = served.start_server(port, 1)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            out.append(measure(context.new_page(), f"http://127.0.0.1:{port}/dashboards/{name}#token={token}"))
            context.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return out


def warm_runs(browser: Any, name: str, runs: int, token: str) -> list[dict[str, Any]]:
    """One server, one browser profile: a first load fills the caches, the next ones are timed."""
    port = served.free_port()
    proc = served.start_server(port, 1)
    try:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        url = f"http://127.0.0.1:{port}/dashboards/{name}#token={token}"
        measure(page, url)
        out = []
        for _ in range(runs):
            page.goto("about:blank")
            out.append(measure(page, url))
        context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dashboard", action="append", help="a dashboard name (default: all three)")
    args = parser.parse_args()
    if not (ROOT / "data" / "crm.duckdb").exists():
        raise SystemExit("no demo warehouse: run `semantic-layer demo` (scale 1) first")
    from playwright.sync_api import sync_playwright

    names = args.dashboard or ["strategic_cockpit", "sales_marketing", "operations"]
    token = mint_token(served.SECRET, ["admin"], {}, 3600)
    table = Table(title=f"Dashboards: navigation to last tile painted, ms (median of {args.runs}; min–max)")
    for column in ("dashboard", "cold", "warm", "GraphQL requests", "in flight at once", "goal (warm / cold)"):
        table.add_column(column, justify="left" if column == "dashboard" else "right")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        for name in names:
            cold = cold_runs(browser, name, args.runs, token)
            warm = warm_runs(browser, name, args.runs, token)
            goal = GOALS.get(name)
            table.add_row(
                name,
                _spread([r["painted"] for r in cold]),
                _spread([r["painted"] for r in warm]),
                str(cold[0]["requests"]),
                str(max(r["parallel"] for r in cold + warm)),
                _goal(goal, warm, cold),
            )
        browser.close()
    Console(width=160).print(table)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})"


def _goal(goal: tuple[float, float] | None, warm: list[dict[str, Any]], cold: list[dict[str, Any]]) -> str:
    if goal is None:
        return "—"
    met = (
        statistics.median(r["painted"] for r in warm) <= goal[0]
        and statistics.median(r["painted"] for r in cold) <= goal[1]
    )
    return f"≤ {goal[0]:,.0f} / ≤ {goal[1]:,.0f} {'met' if met else 'MISSED'}"


if __name__ == "__main__":
    main()
