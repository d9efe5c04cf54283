"""The pages in a real browser (Debian's chromium driven by Playwright) over the CRM demo at scale 0.05.

Every dashboard renders with no console error and no failed request; each KPI equals `layer.query`
for its metric, period and range, its colour `layer.alerts`; a filter and a drill-down re-ask and
get the right numbers; a restricted token sees its rows only; the wall screen refreshes in place
without its heap growing; text from data and definitions is never markup. Screenshots of each page
go to test-artifacts/pages/ (git-ignored).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from crmproject import crm_project
from liveserver import LiveServer
from served import SECRET, gql, token, wait_for

import semantic_layer as sl
from semantic_layer.access import Principal
from semantic_layer.catalog import dimensions_for
from semantic_layer.dashboards import iso_bound, range_for
from server import ServerSettings, create_app

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "pages"
CHROMIUM = Path("/usr/bin/chromium")
CLOCK = datetime(2026, 1, 10, tzinfo=UTC)
ADMIN = token(["admin"])
EAST_REP = token(["sales_rep"], region="east")
PROBE = """
# Text that would run if a page ever parsed data or definitions as HTML.
models:
  - name: probe
    sql: >
      SELECT 1 AS id, '<img src=x onerror="document.body.dataset.pwned=1">' AS label,
             TIMESTAMP '2025-06-01 00:00:00' AS at
      UNION ALL SELECT 2, '<script>document.body.dataset.pwned=2</script>', TIMESTAMP '2025-07-01 00:00:00'
    primary_key: id
    time: at
    dimensions:
      - {name: label, label: "<b>label</b>"}
      - {name: at, type: time}
    measures:
      - {name: rows, agg: count}
metrics:
  - {name: probe_rows, type: simple, measure: probe.rows, format: integer,
     label: "<img src=x onerror=\\"document.body.dataset.pwned=3\\">"}
dashboards:
  - name: probe
    title: "<img src=x onerror=\\"document.body.dataset.pwned=4\\">"
    filters: [probe.label]
    tiles:
      - {metrics: [probe_rows], kind: kpi}
      - {metrics: [probe_rows], dimensions: [probe.label], kind: bar}
      - {metrics: [probe_rows], dimensions: [probe.label], kind: table}
"""


def _playwright() -> Any:
    """Playwright's sync API, or a skip (a failure under CI) saying what is missing."""
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed: pip install -e '.[test]'"
    if reason is None and not CHROMIUM.exists():
        reason = f"chromium is not at {CHROMIUM}: apt-get install -y chromium"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (required in CI)")
        pytest.skip(reason)
    return sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _playwright()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def crm_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data") / "crm.duckdb"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, crm_db: Path) -> Path:
    project = crm_project(tmp_path_factory.mktemp("crm"), crm_db)
    (project / "probe.yml").write_text(PROBE, encoding="utf-8")
    return project


@pytest.fixture(scope="module")
def live(root: Path) -> Iterator[LiveServer]:
    settings = ServerSettings(project=root, jwt_secret=SECRET, cache_url=None, clock=lambda: CLOCK)
    with LiveServer(create_app(settings)) as server:
        yield server


@pytest.fixture(scope="module")
def layer(root: Path) -> Iterator[sl.Layer]:
    with sl.connect(root) as connected:
        yield connected


@pytest.fixture(scope="module", autouse=True)
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@dataclass
class Opened:
    """A page and every problem it reported: console errors and warnings, uncaught errors, failed
    requests and HTTP errors."""

    page: Any
    problems: list[str] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)  # GraphQL request bodies, when recorded

    def ready(self) -> None:
        self.page.wait_for_selector('body[data-ready="1"]', timeout=30_000)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def tile(self, kind: str, title: str | None = None) -> Any:
        tiles = self.page.locator(f'section.tile[data-kind="{kind}"]')
        return tiles.filter(has_text=title).first if title else tiles.first

    def close(self) -> None:
        self.page.context.close()


def open_page(
    browser: Any,
    server: Any,
    path: str,
    bearer: str | None = ADMIN,
    width: int = 1440,
    ready: bool = True,
    record: bool = False,
) -> Opened:
    context = browser.new_context(viewport={"width": width, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    opened = Opened(page)
    page.on("console", lambda m: m.type in ("error", "warning") and opened.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: opened.problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: opened.problems.append(f"failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and opened.problems.append(f"HTTP {r.status}: {r.url}"))
    if record:
        page.on("request", lambda r: r.url.endswith("/graphql") and opened.posted.append(r.post_data_json))
    page.goto(f"{server.url}{path}" + (f"#token={bearer}" if bearer else ""))
    if ready:
        opened.ready()
    return opened


def close(a: Any, b: Any) -> bool:
    """Equal as numbers (the page reads JSON floats, the layer may answer Decimals)."""
    a, b = (float(v) if isinstance(v, Decimal) else v for v in (a, b))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def period_range(layer: sl.Layer, name: str) -> dict[str, str | None]:
    """The range the page shows by default: the dashboard's, at the server's clock."""
    start, end = range_for(layer.project.dashboards[name], layer.project.settings, CLOCK)
    return {"start": iso_bound(start), "end": iso_bound(end)}


def kpi_expected(layer: sl.Layer, metric: str, grain: str, time_range: Any, **query: Any) -> dict[str, Any]:
    """The row of the last period in the range: what a KPI shows."""
    column = f"metric_time:{grain}"
    rows = layer.query(metrics=[metric], dimensions=[column], time_range=time_range, order_by=[column], **query).rows
    return rows[-1]


def kpis(opened: Opened) -> list[dict[str, str]]:
    tiles = opened.page.locator('section.tile[data-kind="kpi"]')
    return [
        {key: tiles.nth(i).get_attribute(f"data-{key}") or "" for key in ("index", "value", "period", "level")}
        for i in range(tiles.count())
    ]


def assert_kpis_equal_the_layer(opened: Opened, layer: sl.Layer, name: str, **query: Any) -> None:
    board = layer.project.dashboards[name]
    time_range = period_range(layer, name)
    for shown in kpis(opened):
        tile = board.tiles[int(shown["index"])]
        grain = tile.grain or board.grain
        row = kpi_expected(layer, tile.metrics[0], grain, time_range, **query)
        assert close(float(shown["value"]), row[tile.metrics[0]]), (name, tile.metrics, shown, row)
        assert shown["period"][:10] == str(row[f"metric_time:{grain}"])[:10], (shown, row)


def wait_until(page: Any, predicate: str, seconds: float = 30) -> None:
    """Poll a JavaScript predicate (Playwright's wait_for_function evaluates strings, which the
    pages' Content-Security-Policy forbids)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, f"not true within {seconds} s: {predicate}"
        time.sleep(0.05)


def click_bar(opened: Opened, tile: Any, index: int) -> None:
    """Click the `index`-th bar of a bar tile: found by hovering across the canvas until the chart
    shows the pointer cursor it shows over bars."""
    chart = tile.locator(".chart")
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    y = box["y"] + box["height"] * 0.75
    bars: list[list[float]] = []
    for step in range(120):
        x = box["x"] + box["width"] * step / 120
        opened.page.mouse.move(x, y)
        cursor = chart.evaluate("el => [el, ...el.querySelectorAll('*')].map((e) => e.style.cursor).join(' ')")
        if "pointer" in cursor:
            if bars and x - bars[-1][-1] < box["width"] / 100:
                bars[-1].append(x)
            else:
                bars.append([x])
    assert len(bars) > index, f"found {len(bars)} bars"
    opened.page.mouse.click(sum(bars[index]) / len(bars[index]), y)


# -- rendering ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["strategic_cockpit", "sales_marketing", "operations"])
def test_every_tile_renders_and_every_kpi_equals_the_layer(
    browser: Any, live: LiveServer, layer: sl.Layer, name: str
) -> None:
    opened = open_page(browser, live, f"/dashboards/{name}")
    page = opened.page
    tiles = page.locator("section.tile")
    assert tiles.count() == len(layer.project.dashboards[name].tiles)
    for i in range(tiles.count()):
        tile = tiles.nth(i)
        assert tile.get_attribute("data-state") == "ready", (i, tile.inner_text())
        kind = tile.get_attribute("data-kind")
        if kind == "table":
            assert tile.locator("tbody tr").count() > 0 and tile.locator("tfoot tr.total").count() == 1
        elif kind == "kpi":  # its sparkline is a small SVG
            assert tile.locator(".kpi-spark path.line").get_attribute("d")
        else:
            assert tile.locator("canvas").count() >= 1
    assert_kpis_equal_the_layer(opened, layer, name)
    opened.shot(name)
    assert opened.problems == []
    opened.close()


def test_the_cohort_table_keeps_its_own_range_and_shows_the_layers_numbers(
    browser: Any, live: LiveServer, layer: sl.Layer
) -> None:
    """Whatever range the page is on, the cockpit's cohort table asks for the four quarters its
    definition names, and what it is answered is what the layer answers."""
    board = layer.project.dashboards["strategic_cockpit"]
    cohorts = next(t for t in board.tiles if "retention_rate_4q" in t.metrics)
    expected = layer.query(
        metrics=cohorts.metrics,
        dimensions=["metric_time:quarter"],
        time_range={"start": "2024-01-01", "end": "2025-01-01"},
        order_by=["metric_time:quarter"],
    )
    assert len(expected.rows) == 4 and all(value is not None for row in expected.rows for value in row.values())
    for path in ("/dashboards/strategic_cockpit", "/dashboards/strategic_cockpit?last=3%20months"):
        opened = open_page(browser, live, path, record=True)
        tile = opened.tile("heatmap", "留存队列")
        assert tile.get_attribute("data-state") == "ready" and tile.locator("canvas").count() >= 1
        asked = [
            body["variables"]["input"]
            for body in opened.posted
            if body and cohorts.metrics[-1] in body.get("variables", {}).get("input", {}).get("metrics", [])
        ]
        assert [a["timeRange"] for a in asked] == [{"start": "2024-01-01", "end": "2025-01-01"}]
        answer = gql(live, "query Q($input: QueryInput!) { query(input: $input) { rows } }", {"input": asked[0]})
        rows = answer["data"]["query"]["rows"]
        assert len(rows) == 4
        for shown, row in zip(rows, expected.rows, strict=True):
            assert all(close(shown[m], row[m]) for m in cohorts.metrics), (shown, row)
        if "last" not in path:
            tile.screenshot(path=str(ARTIFACTS / "cohort-table.png"))
        assert opened.problems == []
        opened.close()


def test_threshold_colours_and_the_alerts_panel_match_layer_alerts(
    browser: Any, live: LiveServer, layer: sl.Layer
) -> None:
    checked = 0
    for name in ("strategic_cockpit", "operations"):
        opened = open_page(browser, live, f"/dashboards/{name}")
        board = layer.project.dashboards[name]
        time_range = period_range(layer, name)
        for shown in kpis(opened):
            tile = board.tiles[int(shown["index"])]
            if layer.project.metrics[tile.metrics[0]].thresholds is None:
                assert shown["level"] == "none"
                continue
            (alert,) = layer.alerts([tile.metrics[0]], time_range, tile.grain or board.grain, now=CLOCK)
            assert str(alert.period) == shown["period"][:10] and shown["level"] == alert.level, (shown, alert)
            checked += 1
        raised = {a.metric: a.level for a in layer.alerts(time_range={"end": time_range["end"]}, now=CLOCK)}
        items = opened.page.locator(".alert-list li[data-metric]")
        shown_alerts = {
            items.nth(i).get_attribute("data-metric"): items.nth(i).get_attribute("data-level")
            for i in range(items.count())
        }
        assert shown_alerts == {m: level for m, level in raised.items() if level != "ok"}
        assert shown_alerts, "the demo has metrics at warn or critical"
        opened.close()
    assert checked == 3  # churn, first response time, collection rate


# -- filters and drill-down ---------------------------------------------------------------------------
def test_a_filter_asks_again_and_shows_the_filtered_numbers(browser: Any, live: LiveServer, layer: sl.Layer) -> None:
    opened = open_page(browser, live, "/dashboards/strategic_cockpit")
    page = opened.page
    before = kpis(opened)[0]["value"]
    page.wait_for_selector('select[name="customers.region"][data-loaded="1"]')
    page.select_option('select[name="customers.region"]', label="east")
    opened.ready()
    after = kpis(opened)
    assert after[0]["value"] != before
    east = [sl.Filter(member="customers.region", op="in", values=["east"])]
    assert_kpis_equal_the_layer(opened, layer, "strategic_cockpit", where=east)
    regions = page.locator('section.tile[data-kind="table"] tbody tr td:first-child').all_inner_texts()
    assert regions == ["east"]
    assert "f=customers.region%3Aeast" in page.url
    # The URL holds the view: opened again, it shows the same numbers.
    again = open_page(browser, live, page.url.replace(live.url, ""))
    assert kpis(again) == after
    assert opened.problems == [] and again.problems == []
    opened.close()
    again.close()


def test_a_click_on_a_bar_filters_the_other_tiles(browser: Any, live: LiveServer, layer: sl.Layer) -> None:
    opened = open_page(browser, live, "/dashboards/strategic_cockpit")
    value_tile = opened.tile("bar", "lifetime value")
    click_bar(opened, value_tile, 0)  # the highest bar: strategic customers
    opened.page.wait_for_selector(".chip")
    opened.ready()
    assert (
        "customers.tier" in opened.page.locator(".chip").inner_text()
        or "客户等级" in opened.page.locator(".chip").inner_text()
    )
    assert value_tile.get_attribute("data-rows") == "3"  # the clicked tile keeps all its bars
    strategic = [sl.Filter(member="customers.tier", op="in", values=["strategic"])]
    assert_kpis_equal_the_layer(opened, layer, "strategic_cockpit", where=strategic)
    assert "drill=" in opened.page.url
    opened.shot("strategic_cockpit-drilled")
    opened.page.locator(".chip").click()  # the chip removes the drill-down
    opened.ready()
    assert_kpis_equal_the_layer(opened, layer, "strategic_cockpit")
    assert opened.problems == []
    opened.close()


def test_a_click_on_a_row_filters_what_reaches_it_and_badges_what_does_not(
    browser: Any, live: LiveServer, layer: sl.Layer
) -> None:
    opened = open_page(browser, live, "/dashboards/sales_marketing")
    cost = opened.tile("bar", "活动成本")
    cost_rows = cost.get_attribute("data-rows")
    table = opened.tile("table")
    owner = table.locator("tbody tr").first.locator("td").first.inner_text()
    table.locator("tbody tr").first.click()
    opened.page.wait_for_selector(".chip")
    opened.ready()
    # Campaign cost cannot reach the account owner: it keeps its numbers and says so.
    assert cost.get_attribute("data-unfiltered") == "customers.account_owner.name"
    assert "not filtered by" in cost.locator(".badge").inner_text()
    assert cost.get_attribute("data-rows") == cost_rows
    mine = [sl.Filter(member="customers.account_owner.name", op="in", values=[owner])]
    assert_kpis_equal_the_layer(opened, layer, "sales_marketing", where=mine)
    assert table.locator("tbody tr.selected").count() == 1
    opened.shot("sales_marketing-drilled")
    assert opened.problems == []
    opened.close()


def test_table_totals_come_from_the_layer(browser: Any, live: LiveServer, layer: sl.Layer) -> None:
    opened = open_page(browser, live, "/dashboards/sales_marketing")
    table = opened.tile("table")
    totals = table.locator("tfoot td").evaluate_all("(cells) => cells.map((c) => Number(c.dataset.value))")
    whole = layer.query(
        metrics=["revenue", "order_count", "average_order_value"], time_range=period_range(layer, "sales_marketing")
    ).rows[0]
    assert all(close(a, b) for a, b in zip(totals, whole.values(), strict=True)), (totals, whole)
    owners = layer.query(
        metrics=["revenue"],
        dimensions=["customers.account_owner.name"],
        time_range=period_range(layer, "sales_marketing"),
    )
    assert table.locator("tbody tr").count() == min(20, len(owners.rows))  # limit: 20
    opened.close()


# -- access -----------------------------------------------------------------------------------------
def test_a_restricted_token_sees_only_its_rows(browser: Any, live: LiveServer, layer: sl.Layer) -> None:
    opened = open_page(browser, live, "/dashboards/strategic_cockpit", bearer=EAST_REP)
    page = opened.page
    page.wait_for_selector('select[name="customers.region"][data-loaded="1"]')
    options = page.locator('select[name="customers.region"] option').all_inner_texts()
    assert options == ["all", "east"]
    rep = Principal(("sales_rep",), {"region": "east"})
    assert_kpis_equal_the_layer(opened, layer, "strategic_cockpit", principal=rep)
    regions = page.locator('section.tile[data-kind="table"] tbody tr td:first-child').all_inner_texts()
    assert regions == ["east"]
    opened.shot("strategic_cockpit-east-rep")
    assert opened.problems == []
    opened.close()


def test_without_a_token_the_page_asks_for_one_and_takes_it(browser: Any, live: LiveServer) -> None:
    opened = open_page(browser, live, "/dashboards/operations", bearer=None, ready=False)
    page = opened.page
    page.wait_for_selector(".problem")
    assert "token" in page.locator(".problem").inner_text().lower()
    form = page.locator("form.token-form")
    assert form.is_visible()
    page.fill("#token-input", ADMIN)
    page.click("form.token-form button[type=submit]")
    opened.ready()
    assert page.locator('section.tile[data-state="ready"]').count() == len(page.locator("section.tile").all())
    # The refusals before the token were answers (HTTP 200 with UNAUTHENTICATED), not failures.
    assert opened.problems == []
    opened.close()


def test_a_project_without_policies_needs_no_token(browser: Any, tmp_path: Path, crm_db: Path) -> None:
    project = crm_project(tmp_path / "open", crm_db)
    (project / "policies.yml").unlink()
    with LiveServer(create_app(ServerSettings(project=project, cache_url=None, clock=lambda: CLOCK))) as server:
        opened = open_page(browser, server, "/dashboards/operations", bearer=None)
        states = opened.page.locator("section.tile").evaluate_all("(ts) => ts.map((t) => t.dataset.state)")
        assert set(states) == {"ready"} and opened.page.locator(".problem").count() == 0
        assert "no token" in opened.page.locator("#account").inner_text()
        assert opened.problems == []
        opened.close()


def test_a_token_in_the_fragment_is_taken_once_and_removed(browser: Any, live: LiveServer) -> None:
    opened = open_page(browser, live, "/catalog")
    page = opened.page
    assert "token" not in page.url
    assert page.evaluate("() => sessionStorage.getItem('semantic-layer-token')") == ADMIN
    page.go_back()  # the entry before is the blank page: no entry holds the token
    assert page.url == "about:blank"
    opened.close()


# -- the other pages -----------------------------------------------------------------------------------
def test_the_index_lists_the_dashboards_and_a_missing_one_is_a_404(browser: Any, live: LiveServer) -> None:
    opened = open_page(browser, live, "/")
    names = opened.page.locator(".card").evaluate_all("(cards) => cards.map((c) => c.dataset.name)")
    assert names == ["strategic_cockpit", "sales_marketing", "operations", "probe"]
    opened.shot("index")
    opened.close()
    missing = open_page(browser, live, "/dashboards/nope")
    assert "nope" in missing.page.locator(".problem").inner_text()
    assert missing.problems == [
        f"HTTP 404: {live.url}/dashboards/nope",
        "console: Failed to load resource: the server responded with a status of 404 (Not Found)",
    ]
    missing.close()


def test_the_catalogue_is_searchable_in_english_and_chinese(browser: Any, live: LiveServer, layer: sl.Layer) -> None:
    opened = open_page(browser, live, "/catalog")
    page = opened.page
    cards = page.locator("article.metric-card")
    assert cards.count() == len(layer.project.metrics)
    opened.shot("catalog")
    visible = "(cards) => cards.filter((c) => !c.hidden).map((c) => c.dataset.name)"
    page.fill('input[name="q"]', "流失")
    assert cards.evaluate_all(visible) == ["churn_rate"]
    page.fill('input[name="q"]', "CHURN")
    assert cards.evaluate_all(visible) == ["churn_rate"]
    page.fill('input[name="q"]', "客单价")
    assert cards.evaluate_all(visible) == ["average_order_value"]
    aov = page.locator("#metric-average_order_value")
    assert "sales-ops" in aov.inner_text() and "aov" in aov.inner_text()
    lineage = aov.locator("dd a").all_inner_texts()
    assert "成交金额" in lineage and "订单数" in lineage  # computed from revenue and order_count
    churn = page.locator("#metric-churn_rate")
    assert "warn > 8.0%" in churn.inner_text() and "critical > 12.0%" in churn.inner_text()
    assert "q=%E5%AE%A2%E5%8D%95%E4%BB%B7" in page.url
    page.fill('input[name="q"]', "")
    page.locator("#metric-revenue").screenshot(path=str(ARTIFACTS / "catalog-revenue.png"))
    assert opened.problems == []
    opened.close()


def test_the_explorer_offers_only_reachable_dimensions_and_keeps_its_state_in_the_url(
    browser: Any, live: LiveServer, layer: sl.Layer
) -> None:
    opened = open_page(browser, live, "/explore?m=revenue&m=ticket_count&d=customers.region&grain=quarter")
    page = opened.page
    offered = page.locator('input[name="dimension"]').evaluate_all("(boxes) => boxes.map((b) => b.value)")
    assert offered == dimensions_for(layer.project.graph, ["revenue", "ticket_count"])
    expected = layer.query(metrics=["revenue", "ticket_count"], dimensions=["customers.region"], limit=1000).rows
    cells = page.locator(".results tbody tr td.num").evaluate_all(
        "(cells) => cells.map((c) => Number(c.dataset.value))"
    )
    assert len(cells) == 2 * len(expected)
    assert all(
        close(a, b)
        for a, b in zip(cells, [v for row in expected for v in (row["revenue"], row["ticket_count"])], strict=True)
    )
    assert "SELECT" in page.locator("pre.sql").inner_text()
    page.locator('input[name="dimension"][value="metric_time"]').check()
    opened.ready()
    assert "d=metric_time" in page.url and page.locator(".results canvas").count() >= 1
    opened.shot("explore")
    assert opened.problems == []
    opened.close()


def test_text_from_data_and_definitions_is_never_markup(browser: Any, live: LiveServer) -> None:
    for path in ("/dashboards/probe", "/catalog", "/"):
        opened = open_page(browser, live, path)
        page = opened.page
        assert page.locator("main img, main script, main b").count() == 0
        assert page.evaluate("() => document.body.dataset.pwned") is None
        if path == "/dashboards/probe":
            assert page.locator("h1").inner_text() == '<img src=x onerror="document.body.dataset.pwned=4">'
            cells = page.locator("tbody td:first-child").all_inner_texts()
            assert "<script>document.body.dataset.pwned=2</script>" in cells
            page.wait_for_selector('select[name="probe.label"][data-loaded="1"]')
            options = page.locator('select[name="probe.label"] option').all_inner_texts()
            assert '<img src=x onerror="document.body.dataset.pwned=1">' in options
            opened.shot("probe")
        assert opened.problems == []
        opened.close()


# -- the wall screen ------------------------------------------------------------------------------------
def test_the_wall_screen_refreshes_in_place_without_growing(browser: Any, live: LiveServer) -> None:
    opened = open_page(browser, live, "/dashboards/operations?screen=1&refresh=0.05")
    page = opened.page
    assert page.evaluate("() => document.body.classList.contains('screen')")
    assert not page.locator("header.top").is_visible()
    opened.shot("operations-screen")
    session = page.context.new_cdp_session(page)

    def settled_after(refreshes: int) -> tuple[float, int, int]:
        """The JavaScript heap after a full collection, DOM nodes and canvases, once the screen has
        refreshed `refreshes` times. The heap leaves out the embedder's (Blink's) part, which grows
        with DevTools' copy of every response Playwright's network tracking keeps: an artefact of
        being watched, which a wall screen without DevTools does not have."""
        wait_until(page, f"() => Number(document.body.dataset.refreshes) >= {refreshes}", seconds=180)
        session.send("HeapProfiler.collectGarbage")
        session.send("HeapProfiler.collectGarbage")
        usage = session.send("Runtime.getHeapUsage")
        nodes = page.evaluate("() => document.getElementsByTagName('*').length")
        return usage["usedSize"] - usage.get("embedderHeapUsedSize", 0), nodes, page.locator("canvas").count()

    heap, nodes, canvases = settled_after(60)  # past the warm-up: compiled code, caches filled
    later_heap, later_nodes, later_canvases = settled_after(260)
    assert later_canvases == canvases  # the same charts, redrawn
    assert later_nodes == nodes
    assert later_heap - heap < 1_000_000, f"the heap grew by {later_heap - heap:,.0f} bytes over 200 refreshes"
    assert opened.problems == []
    opened.close()


# -- hot reload -------------------------------------------------------------------------------------------
def test_a_broken_dashboard_file_keeps_the_last_good_dashboard(browser: Any, tmp_path: Path, crm_db: Path) -> None:
    project = crm_project(tmp_path / "p", crm_db)
    settings = ServerSettings(
        project=project, reload=True, reload_interval=0.1, jwt_secret=SECRET, cache_url=None, clock=lambda: CLOCK
    )
    path = project / "dashboards.yml"
    good = path.read_text(encoding="utf-8")

    def save(text: str) -> None:
        draft = path.with_suffix(".draft")
        draft.write_text(text, encoding="utf-8")
        os.replace(draft, path)

    def shown(server: LiveServer) -> tuple[str, set[str]]:
        opened = open_page(browser, server, "/dashboards/operations")
        title = opened.page.locator("h1").inner_text()
        states = set(opened.page.locator("section.tile").evaluate_all("(ts) => ts.map((t) => t.dataset.state)"))
        assert opened.problems == []
        opened.close()
        return title, states

    def errors(server: LiveServer) -> list[Any]:
        return gql(server, "{ projectErrors { message } }", bearer=ADMIN)["data"]["projectErrors"]  # type: ignore[no-any-return]

    with LiveServer(create_app(settings)) as server:
        save(good.replace("运营看板 · Operations", "Ops v2"))
        wait_for(lambda: shown(server)[0] == "Ops v2")
        save(good.replace("运营看板 · Operations", "Ops v3").replace("kind: heatmap}", "kind: heat_map}"))
        wait_for(lambda: bool(errors(server)))
        assert shown(server) == ("Ops v2", {"ready"})  # the last good dashboard, every tile drawn
        save(good)
        wait_for(lambda: shown(server)[0] == "运营看板 · Operations" and not errors(server))
