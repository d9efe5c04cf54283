"""The catalogue site in Chromium (Debian's /usr/bin/chromium driven by Playwright): the search box
filters by names, labels and synonyms (Chinese too), links lead from metric to metric, the lineage
graph is drawn, and no page asks the network for anything."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engines import unavailable
from govproject import METRICS, MODELS, SETTINGS, build_data
from typer.testing import CliRunner

from semantic_layer.cli import app

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    db = build_data(root / "gov.duckdb")
    project = root / "p"
    project.mkdir()
    (project / "semantic_layer.yml").write_text(SETTINGS.replace("{db}", str(db)))
    (project / "models.yml").write_text(MODELS)
    (project / "metrics.yml").write_text(METRICS)
    result = CliRunner().invoke(app, ["docs", "-p", str(project), "--site", str(root / "site"), "--examples"])
    assert result.exit_code == 0, result.output
    return root / "site"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = browser.new_page(viewport={"width": 1280, "height": 900})
    opened.requests = []  # every URL the page asks for
    opened.errors = []
    opened.on("request", lambda request: opened.requests.append(request.url))
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    opened.on("console", lambda message: opened.errors.append(message.text) if message.type == "error" else None)
    yield opened
    assert opened.errors == []
    assert all(url.startswith("file://") for url in opened.requests), opened.requests
    opened.close()


def visible_metrics(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "tbody tr:not([hidden]) td:nth-child(2) a", "links => links.map(a => a.textContent)"
    )


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("", ["revenue", "average_order_value", "gold_share", "buyers", "order_count"]),
        ("销售额", ["revenue"]),
        ("GMV", ["revenue"]),
        ("share gold", ["gold_share"]),
        ("ORDER", ["revenue", "average_order_value", "buyers", "order_count"]),  # descriptions too
        ("order_count", ["order_count"]),
        ("nothing like it", []),
    ],
)
def test_the_search_box_filters_by_names_labels_synonyms_and_descriptions(
    page: Any, site: Path, typed: str, found: list[str]
) -> None:
    page.goto((site / "index.html").as_uri())
    page.fill("#search", typed)
    assert visible_metrics(page) == found
    total = 5
    expected = f"{total} metrics" if len(found) == total else f"{len(found)} of {total} metrics"
    assert page.inner_text("#count") == expected


def test_a_search_can_be_linked(page: Any, site: Path) -> None:
    page.goto((site / "index.html").as_uri() + "?q=%E9%94%80%E5%94%AE%E9%A2%9D")  # ?q=销售额
    assert page.input_value("#search") == "销售额" and visible_metrics(page) == ["revenue"]


def test_metric_pages_link_to_each_other_and_draw_their_lineage(page: Any, site: Path, tmp_path: Path) -> None:
    page.goto((site / "index.html").as_uri())
    page.click("text=revenue")
    assert page.url.endswith("/metrics/revenue.html")
    assert page.inner_text("h1") == "revenue"
    graph = page.locator("svg.lineage")
    assert graph.bounding_box()["width"] > 900
    assert sorted(page.eval_on_selector_all("svg.lineage text", "t => t.map(x => x.textContent)")) == [
        "average_order_value",
        "gold_share",
        "orders",
        "orders.revenue",
        "revenue",
    ]
    assert page.eval_on_selector_all("table tr td.number", "c => c.map(x => x.textContent)") == [
        "150.00",
        "300.00",
        "130.00",
    ]
    page.screenshot(path=str(tmp_path / "revenue.png"), full_page=True)
    page.click("svg.lineage a[href='gold_share.html'] rect")
    assert page.url.endswith("/metrics/gold_share.html")
    page.click("header >> text=Metric catalogue")
    assert page.url.endswith("/index.html")
