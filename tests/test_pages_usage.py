"""A dashboard page says which dashboard its questions come from (X-Semantic-Layer-Dashboard), so the
audit log counts them per dashboard: the page in Debian's chromium, driven by Playwright, over the
CRM demo."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from crmproject import crm_project
from engines import unavailable
from liveserver import LiveServer
from served import SECRET, token

import semantic_layer as sl
from semantic_layer.audit import audit_log
from semantic_layer.audit_files import LogFiles
from server import ServerSettings, create_app

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable(f"chromium is not at {CHROMIUM}: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


def test_a_dashboards_questions_are_counted_for_it(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("SEMANTIC_LAYER_STATE_DIR", str(state))
    root = crm_project(tmp_path / "crm", tmp_path / "crm.duckdb")
    clock = datetime(2026, 1, 10, tzinfo=UTC)
    settings = ServerSettings(project=root, jwt_secret=SECRET, cache_url=None, clock=lambda: clock)
    with LiveServer(create_app(settings)) as live:
        page = browser.new_page()
        page.goto(f"{live.url}/dashboards/sales_marketing#token={token(['admin'])}")
        page.wait_for_selector('body[data-ready="1"]', timeout=60_000)
        page.close()
        project = sl.load(root)
        assert audit_log(state, project.settings.audit).flush()
    found = list(LogFiles(state).records(0))
    shown = {m for tile in project.dashboards["sales_marketing"].tiles for m in tile.metrics}
    assert found and {r.dashboard for r in found} == {"sales_marketing"}
    assert {m for r in found for m in r.metrics} == shown
    assert {r.roles for r in found} == {("admin",)}
