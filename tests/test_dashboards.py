"""Dashboards as code: the YAML checked at load with file:line errors, relative time ranges resolved
in the project's calendar, and the GraphQL fields the pages read, as each caller may see them."""

from __future__ import annotations

import glob
import hashlib
import os
import re
import textwrap
import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from crmproject import crm_project
from helpers import make_project
from liveserver import LiveServer
from served import ADMIN, SECRET, code_of, gql, token, wait_for
from typer.testing import CliRunner

import semantic_layer as sl
from semantic_layer import definitions as d
from semantic_layer.cli import app as cli
from semantic_layer.dashboards import range_for, resolve_range
from semantic_layer.timegrain import Calendar
from server import ServerSettings, create_app

# -- load-time checks ----------------------------------------------------------------------------
GOOD_TILES = """\
      - {metrics: [revenue], kind: kpi, compare: 1 year}
      - {metrics: [revenue, order_count], dimensions: [metric_time], kind: line}
      - {metrics: [revenue], dimensions: [customers.segment], kind: bar, limit: 5}
      - {metrics: [revenue, ticket_count], dimensions: [customers.segment], kind: table}
      - {metrics: [revenue], dimensions: [customers.segment, regions.name], kind: heatmap}
      - {metrics: [customer_count, order_count], kind: funnel}
"""


def board_file(tiles: str = GOOD_TILES, filters: str = "[customers.segment]", extra: str = "") -> str:
    return (
        "dashboards:\n"
        "  - name: shop_board\n"
        "    title: Shop\n"
        f"    filters: {filters}\n"
        "    time_range: {last: 12 months}\n"
        f"{extra}"
        "    tiles:\n" + tiles
    )


def shop_with(tmp_path: Path, text: str) -> Path:
    root = make_project(tmp_path / "shop", tmp_path / "unused.duckdb")
    (root / "dashboards.yml").write_text(text)
    return root


def errors_of(root: Path) -> list[sl.Issue]:
    with pytest.raises(sl.ValidationError) as info:
        sl.load(root)
    return info.value.errors


def test_a_valid_dashboard_loads_and_validate_counts_it(tmp_path: Path) -> None:
    root = shop_with(tmp_path, board_file())
    project = sl.load(root)
    board = project.dashboards["shop_board"]
    assert board.title == "Shop" and board.grain == "month" and board.screen_refresh == 60
    assert [t.kind for t in board.tiles] == ["kpi", "line", "bar", "table", "heatmap", "funnel"]
    assert board.time_range == d.DashboardRange(last="12 months")
    result = CliRunner().invoke(cli, ["validate", "--project", str(root)])
    assert result.exit_code == 0 and ", 1 dashboards" in result.stdout


# (a tile to add, the filters, text on the line the error points at, what the error says)
BROKEN: dict[str, tuple[str, str, str, str]] = {
    "unknown metric": (
        "      - {metrics: [revenu], kind: kpi}\n",
        "[customers.segment]",
        "revenu",
        "unknown metric 'revenu' — did you mean 'revenue'",
    ),
    "dimension the metric cannot reach": (
        "      - {metrics: [revenue], dimensions: [tickets.priority], kind: bar}\n",
        "[customers.segment]",
        "tickets.priority",
        "dimension 'tickets.priority' is not reachable from metric 'revenue' (model 'orders')",
    ),
    "dimension one of two metrics cannot reach": (
        "      - {metrics: [ticket_count, revenue], dimensions: [tickets.priority], kind: table}\n",
        "[customers.segment]",
        "tickets.priority",
        "not reachable from metric 'revenue'",
    ),
    "metric_time of a model without time": (
        "      - {metrics: [quantity], dimensions: [metric_time], kind: line}\n",
        "[customers.segment]",
        "quantity",
        "model 'order_lines' has no 'time:'",
    ),
    "unknown kind": (
        "      - {metrics: [revenue], kind: pie}\n",
        "[customers.segment]",
        "kind: pie",
        "kind: Input should be 'kpi', 'line', 'bar', 'stacked_bar', 'funnel', 'table' or 'heatmap'",
    ),
    "kpi with a dimension": (
        "      - {metrics: [revenue], dimensions: [customers.segment], kind: kpi}\n",
        "[customers.segment]",
        "- {metrics: [revenue], dimensions",
        "a kpi tile takes one metric and no dimensions; this one has 1 metric and 1 dimension",
    ),
    "funnel of one step": (
        "      - {metrics: [revenue], kind: funnel}\n",
        "[customers.segment]",
        "- {metrics: [revenue], kind: funnel}",
        "a funnel tile takes two or more metrics",
    ),
    "line not along time": (
        "      - {metrics: [revenue], dimensions: [customers.segment], kind: line}\n",
        "[customers.segment]",
        "- {metrics: [revenue], dimensions: [customers.segment], kind: line}",
        "a line runs along time: its first dimension must be metric_time or a time dimension",
    ),
    "comparison that does not fit the grain": (
        "      - {metrics: [revenue], kind: kpi, compare: 2 weeks}\n",
        "[customers.segment]",
        "- {metrics: [revenue], kind: kpi, compare: 2 weeks}",
        "compare '2 weeks' does not move a month onto another month",
    ),
    "compare on a bar": (
        "      - {metrics: [revenue], dimensions: [customers.segment], kind: bar, compare: 1 year}\n",
        "[customers.segment]",
        "- {metrics: [revenue], dimensions: [customers.segment], kind: bar",
        "compare: applies to kpi tiles only, not bar",
    ),
    "a grain the compiler refuses for the metric": (
        "      - {metrics: [revenue_growth_mom], dimensions: [metric_time], kind: line, grain: week}\n",
        "[customers.segment]",
        "revenue_growth_mom",
        "line tile: an offset of 1 month does not align with grain 'week'",
    ),
    "a grain finer than a date dimension holds": (
        "      - {metrics: [balance], kind: kpi, grain: hour}\n",
        "[customers.segment]",
        "balance",
        "kpi tile: dimension 'balances.snapshot_date' holds dates; it cannot be grouped by hour",
    ),
    "filter no tile reaches": (
        "      - {metrics: [revenue], kind: kpi}\n",
        "[customers.segmnt]",
        "filters:",
        "'customers.segmnt' filters none of the dashboard's tiles",
    ),
    "filter on time": (
        "      - {metrics: [revenue], kind: kpi}\n",
        "[customers.created_at]",
        "filters:",
        "'customers.created_at' is a time dimension: the dashboard's time range filters time",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_each_broken_dashboard_is_reported_at_its_line(case: str, tmp_path: Path) -> None:
    tiles, filters, at, message = BROKEN[case]
    text = board_file(GOOD_TILES + tiles, filters)
    errors = errors_of(shop_with(tmp_path, text))
    assert len(errors) == 1, errors
    error = errors[0]
    assert error.file.endswith("dashboards.yml") and message in error.message, error
    line = max(i for i, ln in enumerate(text.splitlines(), 1) if at in ln)  # the broken tile is the last
    assert error.line == line, (error, text)


def test_a_dashboard_name_defined_twice_is_reported_at_both(tmp_path: Path) -> None:
    root = shop_with(tmp_path, board_file())
    (root / "more.yml").write_text(board_file())
    errors = errors_of(root)
    assert len(errors) == 2 and all("duplicate dashboard name 'shop_board'" in e.message for e in errors)


def test_every_problem_of_every_dashboard_is_reported_at_once(tmp_path: Path) -> None:
    text = board_file(
        "      - {metrics: [revenu], kind: kpi}\n      - {metrics: [revenue], dimensions: [tickets.priority], kind: bar}\n"
    ) + textwrap.indent(board_file("      - {metrics: [order_cnt], kind: kpi}\n").split("\n", 1)[1], "").replace(
        "shop_board", "other_board"
    )
    errors = errors_of(shop_with(tmp_path, text))
    assert sorted(e.message.split(" — ")[0].split(":")[0] for e in errors) == [
        "dimension 'tickets.priority' is not reachable from metric 'revenue' (model 'orders')",
        "unknown metric 'order_cnt'",
        "unknown metric 'revenu'",
    ]


# -- relative time ranges ----------------------------------------------------------------------
SHANGHAI = Calendar("Asia/Shanghai", "monday", 1)


@pytest.mark.parametrize(
    ("written", "grain", "now", "expected"),
    [
        # the last 12 whole months, up to the start of the current one
        ({"last": "12 months"}, "month", datetime(2025, 10, 1, 1, 0), (datetime(2024, 10, 1), datetime(2025, 10, 1))),
        ({"last": "12 months"}, "month", datetime(2025, 9, 30, 23, 59), (datetime(2024, 9, 1), datetime(2025, 9, 1))),
        # an end pinned: the range ends there, whatever the clock
        (
            {"last": "12 months", "end": date(2026, 1, 1)},
            "month",
            datetime(2030, 5, 5),
            (datetime(2025, 1, 1), datetime(2026, 1, 1)),
        ),
        # quarters: whole quarters covering the interval
        ({"last": "1 year"}, "quarter", datetime(2025, 8, 15), (datetime(2024, 7, 1), datetime(2025, 7, 1))),
        # weeks start on Monday: 2025-09-10 is a Wednesday, its week began on the 8th
        ({"last": "4 weeks"}, "week", datetime(2025, 9, 10, 12), (datetime(2025, 8, 11), datetime(2025, 9, 8))),
        # a month of weeks: the start moves back to the Monday that begins its week
        ({"last": "1 month"}, "week", datetime(2025, 9, 10, 12), (datetime(2025, 8, 4), datetime(2025, 9, 8))),
        # days and hours
        ({"last": "7 days"}, "day", datetime(2025, 3, 1, 0, 30), (datetime(2025, 2, 22), datetime(2025, 3, 1))),
        (
            {"last": "6 hours"},
            "hour",
            datetime(2025, 3, 1, 10, 45),
            (datetime(2025, 3, 1, 4), datetime(2025, 3, 1, 10)),
        ),
        # fixed bounds, either open
        (
            {"start": date(2025, 1, 1), "end": date(2025, 4, 1)},
            "month",
            datetime(2030, 1, 1),
            (datetime(2025, 1, 1), datetime(2025, 4, 1)),
        ),
        ({"start": date(2025, 1, 1)}, "month", datetime(2030, 1, 1), (datetime(2025, 1, 1), None)),
    ],
)
def test_a_relative_range_is_whole_periods_up_to_the_current_one(
    written: dict[str, Any], grain: str, now: datetime, expected: tuple[datetime | None, datetime | None]
) -> None:
    assert resolve_range(d.DashboardRange(**written), grain, SHANGHAI, now) == expected


def test_no_range_is_all_time_and_sunday_weeks_and_fiscal_years_follow_the_project() -> None:
    assert resolve_range(None, "month", SHANGHAI, datetime(2025, 1, 1)) == (None, None)
    sunday = Calendar("UTC", "sunday", 1)
    last = d.DashboardRange(last="2 weeks")
    assert resolve_range(last, "week", sunday, datetime(2025, 9, 10)) == (datetime(2025, 8, 24), datetime(2025, 9, 7))
    april = Calendar("UTC", "monday", 4)
    year = d.DashboardRange(last="1 year")
    assert resolve_range(year, "fiscal_year", april, datetime(2025, 9, 10)) == (
        datetime(2024, 4, 1),
        datetime(2025, 4, 1),
    )


def test_the_clock_is_read_in_the_project_time_zone() -> None:
    """23:30 UTC on September 30th is already October 1st in Shanghai: September is complete."""
    board = d.Dashboard(name="b", time_range={"last": "3 months"}, tiles=[{"metrics": ["m"], "kind": "kpi"}])
    settings = d.Settings(timezone="Asia/Shanghai")
    now = datetime(2025, 9, 30, 23, 30, tzinfo=UTC)
    assert range_for(board, settings, now) == (datetime(2025, 7, 1), datetime(2025, 10, 1))
    assert range_for(board, d.Settings(timezone="UTC"), now) == (datetime(2025, 6, 1), datetime(2025, 9, 1))


def test_a_range_takes_last_or_start_not_both() -> None:
    with pytest.raises(ValueError, match="not 'last:' and 'start:'"):
        d.DashboardRange(last="1 month", start=date(2025, 1, 1))
    with pytest.raises(ValueError, match="needs 'last:'"):
        d.DashboardRange()
    with pytest.raises(ValueError, match="must come after start"):
        d.DashboardRange(start=date(2025, 2, 1), end=date(2025, 1, 1))
    with pytest.raises(ValueError, match="is not an interval"):
        d.DashboardRange(last="a while")


# -- GraphQL -------------------------------------------------------------------------------------
ANALYST = """
  - role: analyst                   # a test role: no average order value
    hide: [average_order_value]
"""
CLOCK = datetime(2026, 1, 10, tzinfo=UTC)
BOARD = """query B($name: String!, $last: String, $start: String, $end: String) {
  dashboard(name: $name) {
    name title owner grain screenRefresh hiddenTiles
    timeRange { last start end }
    range(last: $last, start: $start, end: $end) { start end }
    filters { name label type }
    dimensions { name label type }
    metrics { name label format thresholds }
    tiles { kind title metrics dimensions grain compare limit timeRange range { start end } reaches }
  }
}"""


@pytest.fixture(scope="module")
def crm_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data") / "crm.duckdb"  # written by the first crm_project


@pytest.fixture(scope="module")
def crm_root(tmp_path_factory: pytest.TempPathFactory, crm_db: Path) -> Path:
    root = crm_project(tmp_path_factory.mktemp("crm"), crm_db)
    with (root / "policies.yml").open("a") as policies:
        policies.write(ANALYST)
    return root


@pytest.fixture(scope="module")
def live(crm_root: Path) -> Iterator[LiveServer]:
    settings = ServerSettings(project=crm_root, jwt_secret=SECRET, cache_url=None, clock=lambda: CLOCK)
    with LiveServer(create_app(settings)) as server:
        yield server


def board(live: LiveServer, name: str, bearer: str = ADMIN, **variables: Any) -> dict[str, Any]:
    body = gql(live, BOARD, {"name": name, **variables}, bearer)
    assert "errors" not in body, body
    return body["data"]["dashboard"]  # type: ignore[no-any-return]


def test_the_dashboards_are_listed_in_file_order(live: LiveServer) -> None:
    body = gql(live, "{ dashboards { name title tiles { kind } } }")
    names = [b["name"] for b in body["data"]["dashboards"]]
    assert names == ["strategic_cockpit", "sales_marketing", "operations"]
    assert gql(live, '{ dashboard(name: "nope") { name } }')["data"]["dashboard"] is None


def test_a_dashboard_has_what_its_page_needs(live: LiveServer) -> None:
    found = board(live, "sales_marketing")
    assert found["grain"] == "month" and found["screenRefresh"] == 60 and found["hiddenTiles"] == 0
    assert found["timeRange"] == {"last": "12 months", "start": None, "end": "2026-01-01"}
    assert found["range"] == {"start": "2025-01-01", "end": "2026-01-01"}
    assert [f["name"] for f in found["filters"]] == ["customers.region", "customers.tier"]
    assert found["filters"][0] == {"name": "customers.region", "label": "区域", "type": "string"}
    tiles = {tile["title"] or f"{tile['kind']} {' '.join(tile['metrics'])}": tile for tile in found["tiles"]}
    kpi = tiles["kpi average_order_value"]
    assert kpi["kind"] == "kpi" and kpi["dimensions"] == [] and kpi["compare"] == "1 year" and kpi["grain"] == "month"
    share = tiles["渠道贡献度 · channel share of revenue"]
    assert share["dimensions"] == ["metric_time:month", "customers.acquisition_channel.name"]
    cost = tiles["bar campaign_cost"]
    assert cost["reaches"] == ["campaigns.name", "channels.name"]  # campaigns reach no customer: no region, no tier
    assert set(tiles["bar campaign_response_rate"]["reaches"]) >= {"customers.region", "customers.tier"}
    labels = {m["name"]: m["label"] for m in found["metrics"]}
    assert labels["average_order_value"] == "客单价" and "campaign_cost" in labels
    dims = {x["name"]: x for x in found["dimensions"]}
    assert dims["metric_time"]["type"] == "time" and dims["campaigns.name"]["label"] == "活动"


def test_the_range_is_resolved_at_the_server_clock(live: LiveServer) -> None:
    assert board(live, "sales_marketing", last="3 months")["range"] == {"start": "2025-10-01", "end": "2026-01-01"}
    pinned = board(live, "sales_marketing", last="6 months", end="2025-07-01")["range"]
    assert pinned == {"start": "2025-01-01", "end": "2025-07-01"}
    fixed = board(live, "operations", start="2025-03-01", end="2025-05-01")["range"]
    assert fixed == {"start": "2025-03-01", "end": "2025-05-01"}
    wrong = gql(live, BOARD, {"name": "operations", "last": "a while"})
    assert code_of(wrong) == "VALIDATION" and "is not an interval" in wrong["errors"][0]["message"]


def test_a_tile_with_a_range_of_its_own_keeps_it_whatever_the_page_asks(live: LiveServer) -> None:
    """The cockpit's cohort table: the four quarters whose buyers could be followed for a year, in
    whole quarters, while the page's range (any `last`) applies to the other tiles only."""
    for variables in ({}, {"last": "3 months"}):
        tiles = board(live, "strategic_cockpit", **variables)["tiles"]
        own = [t for t in tiles if t["timeRange"] == "own"]
        assert [(t["metrics"][-1], t["range"]) for t in own] == [
            ("retention_rate_4q", {"start": "2024-01-01", "end": "2025-01-01"})
        ]
        assert all(t["range"] is None for t in tiles if t["timeRange"] != "own")


def test_a_tile_range_is_checked_like_a_dashboard_range(tmp_path: Path) -> None:
    tiles = "      - {metrics: [revenue], dimensions: [metric_time], kind: line, time_range: {last: soon}}\n"
    assert [(e.line, e.message) for e in errors_of(shop_with(tmp_path, board_file(tiles)))] == [
        (
            7,
            "'shop_board': time_range: 'soon' is not an interval like '30 days' or '1 month' "
            "(units: hour, day, week, month, quarter, year)",
        )
    ]
    fixed = "      - {metrics: [revenue], dimensions: [metric_time], kind: line, time_range: {start: 2025-01-01, end: 2025-04-01}}\n"
    tile = sl.load(shop_with(tmp_path / "b", board_file(fixed))).dashboards["shop_board"].tiles[0]
    assert tile.time_range == d.DashboardRange(start=date(2025, 1, 1), end=date(2025, 4, 1))


def test_a_role_that_hides_a_metric_does_not_see_its_tiles(live: LiveServer) -> None:
    analyst = token(["analyst"])
    found = board(live, "sales_marketing", analyst)
    shown = {m for tile in found["tiles"] for m in tile["metrics"]}
    assert "average_order_value" not in shown and found["hiddenTiles"] == 3
    assert "average_order_value" not in {m["name"] for m in found["metrics"]}
    assert code_of(gql(live, "{ dashboards { name } }", bearer=None)) == "UNAUTHENTICATED"


def test_metrics_carry_their_lineage_both_ways(live: LiveServer) -> None:
    body = gql(
        live,
        '{ metric(name: "revenue") { dependsOn usedBy models } aov: metric(name: "average_order_value") { dependsOn usedBy models } }',
    )
    revenue, aov = body["data"]["metric"], body["data"]["aov"]
    assert revenue["dependsOn"] == [] and revenue["models"] == ["orders"]
    assert {"average_order_value", "channel_contribution", "customer_lifetime_value"} <= set(revenue["usedBy"])
    assert aov["dependsOn"] == ["revenue", "order_count"] and aov["usedBy"] == [] and aov["models"] == ["orders"]


def title_of(live: LiveServer, name: str) -> str | None:
    found = gql(live, "query T($n: String!) { dashboard(name: $n) { title } }", {"n": name})["data"]["dashboard"]
    return None if found is None else str(found["title"])


def replace(path: Path, text: str) -> None:
    """Write the file whole at once, as editors save, so the watcher never reads half of it."""
    draft = path.with_suffix(".draft")
    draft.write_text(text, encoding="utf-8")
    os.replace(draft, path)


def test_a_broken_dashboard_change_keeps_the_last_good_project(tmp_path: Path, crm_db: Path) -> None:
    root = crm_project(tmp_path / "p", crm_db)
    settings = ServerSettings(
        project=root, reload=True, reload_interval=0.1, jwt_secret=SECRET, cache_url=None, clock=lambda: CLOCK
    )
    path = root / "dashboards.yml"
    good = path.read_text(encoding="utf-8")
    with LiveServer(create_app(settings)) as live:
        replace(path, good.replace("title: 运营看板 · Operations", "title: Ops v2"))
        wait_for(lambda: title_of(live, "operations") == "Ops v2")
        broken = good.replace("kind: heatmap}", "kind: heat_map}")
        replace(path, broken)
        wait_for(lambda: bool(gql(live, "{ projectErrors { message } }")["data"]["projectErrors"]))
        (error,) = gql(live, "{ projectErrors { file line message } }")["data"]["projectErrors"]
        line = next(i for i, text in enumerate(broken.splitlines(), 1) if "heat_map" in text)
        assert error["file"].endswith("dashboards.yml") and error["line"] == line and "kind" in error["message"]
        assert title_of(live, "operations") == "Ops v2"  # the last good version keeps serving
        replace(path, good)
        wait_for(lambda: title_of(live, "operations") == "运营看板 · Operations")
        assert gql(live, "{ projectErrors { message } }")["data"]["projectErrors"] == []


# -- the pages' files ------------------------------------------------------------------------------
VENDOR = Path(__file__).resolve().parents[1] / "server" / "static" / "vendor"


def test_the_vendored_echarts_is_the_one_recorded_with_its_licences() -> None:
    """scripts/vendor_echarts.py writes the bundle and the licences it carries, and their checksums."""
    recorded = [line.split() for line in (VENDOR / "VERSIONS").read_text().splitlines() if line.startswith("sha256 ")]
    names = {name for _, _, name in recorded}
    assert names == {p.name for p in VENDOR.iterdir()} - {"VERSIONS"}
    assert {"echarts.min.js", "ECHARTS-LICENSE", "ECHARTS-NOTICE", "ZRENDER-LICENSE", "TSLIB-LICENSE"} <= names
    for _, digest, name in recorded:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, f"{name} differs from VERSIONS"


def test_pages_and_static_files_carry_the_security_headers(live: LiveServer) -> None:
    page = httpx.get(f"{live.url}/dashboards/operations")
    policy = page.headers["content-security-policy"]
    assert page.status_code == 200 and "script-src 'self'" in policy and "default-src 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["cache-control"] == "no-cache"
    scripts = re.findall(r'src="(/static/[^"]+)"', page.text) + re.findall(r'href="(/static/[^"]+)"', page.text)
    assert any(s.endswith("/js/dashboard.js") for s in scripts) and any(s.endswith(".css") for s in scripts)
    for url in scripts:
        found = httpx.get(f"{live.url}{url}", headers={"accept-encoding": "gzip"})
        assert found.status_code == 200, url
        assert found.headers["content-security-policy"] == policy and "immutable" in found.headers["cache-control"]
    assert httpx.get(f"{live.url}{scripts[0].rsplit('/', 1)[0]}/nope.js").status_code == 404
    assert httpx.get(f"{live.url}/dashboards/nope").status_code == 404
    assert httpx.get(f"{live.url}/metrics").headers["content-type"].startswith("text/plain")  # Prometheus


def test_the_static_files_ship_in_the_wheel() -> None:
    """pyproject's package-data takes every file under server/static (setuptools expands each
    pattern with a recursive glob from the package's folder)."""
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    package = VENDOR.parents[1]
    patterns = pyproject["tool"]["setuptools"]["package-data"]["server"]
    covered = {Path(found) for pattern in patterns for found in glob.glob(str(package / pattern), recursive=True)}
    files = {p for p in (package / "static").rglob("*") if p.is_file()}
    assert files <= covered and len(files) > 10
