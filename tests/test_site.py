"""`semantic-layer docs --site`: the files written, every project text HTML-escaped, the lineage
graph, and example answers from the warehouse (or a warning when it does not answer). Behaviour in
a browser (search, links, no network) is tested in test_site_browser.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from govproject import DASHBOARDS, METRICS, MODELS, SETTINGS, build_data
from typer.testing import CliRunner

from semantic_layer.cli import app

runner = CliRunner()
HOSTILE = """  - name: odd_one
    type: simple
    measure: orders.buyers
    filter: "orders.status = 'done'"
    label: "<script>alert('label')</script>"
    description: 'A "quoted" & <b>bold</b> description'
    synonyms: ["<img src=x onerror=alert(1)>", "a\\"b"]
    owner: "<i>team</i>"
    tier: operational
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    db = build_data(tmp_path / "gov.duckdb")
    root = tmp_path / "p"
    root.mkdir()
    (root / "semantic_layer.yml").write_text(SETTINGS.replace("{db}", str(db)))
    (root / "models.yml").write_text(MODELS)
    (root / "metrics.yml").write_text(METRICS + HOSTILE)
    (root / "dashboards.yml").write_text(DASHBOARDS)
    return root


def test_the_site_has_an_index_a_page_per_metric_a_stylesheet_and_a_script(project: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["docs", "-p", str(project), "--site", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"✓ wrote {tmp_path / 'site' / 'index.html'} and 6 metric pages\n"
    files = sorted(str(p.relative_to(tmp_path / "site")) for p in (tmp_path / "site").rglob("*") if p.is_file())
    assert files == [
        "index.html",
        "metrics/average_order_value.html",
        "metrics/buyers.html",
        "metrics/gold_share.html",
        "metrics/odd_one.html",
        "metrics/order_count.html",
        "metrics/revenue.html",
        "search.js",
        "style.css",
    ]
    index = (tmp_path / "site" / "index.html").read_text()
    assert 'data-terms="revenue Revenue gmv 销售额 Amounts of orders not cancelled."' in index
    assert not re.search(r"(src|href)=\"(https?:)?//", index)  # nothing from the network


def test_every_text_from_the_project_is_escaped(project: Path, tmp_path: Path) -> None:
    runner.invoke(app, ["docs", "-p", str(project), "--site", str(tmp_path / "site")])
    for page in (tmp_path / "site" / "index.html", tmp_path / "site" / "metrics" / "odd_one.html"):
        text = page.read_text()
        assert "<script>alert" not in text and "<img" not in text and "<b>bold" not in text and "<i>team" not in text
        assert "&lt;script&gt;alert(&#x27;label&#x27;)&lt;/script&gt;" in text
        assert text.count("<script") == (1 if page.name == "index.html" else 0)  # the search script alone
    page = (tmp_path / "site" / "metrics" / "odd_one.html").read_text()
    assert "A &quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt; description" in page
    assert '<span class="tag">&lt;img src=x onerror=alert(1)&gt;</span><span class="tag">a&quot;b</span>' in page


def test_a_metric_page_shows_its_lineage(project: Path, tmp_path: Path) -> None:
    runner.invoke(app, ["docs", "-p", str(project), "--site", str(tmp_path / "site")])
    page = (tmp_path / "site" / "metrics" / "revenue.html").read_text()
    svg = page[page.index("<svg") : page.index("</svg>")]
    boxes = re.findall(r'<g class="(\w+)"><title>[^<]*</title><rect[^>]*/><text[^>]*>([^<]+)</text></g>', svg)
    assert sorted(boxes) == [
        ("dashboard", "sales_overview"),
        ("measure", "orders.revenue"),
        ("metric", "average_order_value"),
        ("metric", "gold_share"),
        ("model", "orders"),
        ("self", "revenue"),
    ]
    assert '<a href="gold_share.html"><g class="metric">' in svg
    assert svg.count("<path") == 5  # orders → orders.revenue → revenue → each metric built on it, the dashboard
    assert (
        "<tr><th>shown on</th><td><code>sales_overview</code> tile 1 (kpi of revenue), <code>sales_overview</code> "
        "tile 3 (table of revenue, order_count by customers.tier)</td></tr>"
    ) in page
    gold = (tmp_path / "site" / "metrics" / "gold_share.html").read_text()
    assert '<path class="joined"' in gold  # customers, joined by the numerator's filter
    assert '<tr><th>built on</th><td><a href="revenue.html">revenue</a></td></tr>' in gold


def test_examples_come_from_the_warehouse(project: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["docs", "-p", str(project), "--site", str(tmp_path / "site"), "--examples"])
    assert result.exit_code == 0 and result.stderr == ""
    page = (tmp_path / "site" / "metrics" / "revenue.html").read_text()
    rows = re.findall(r'<tr><td>([^<]+)</td><td class="number">([^<]+)</td></tr>', page)
    assert rows == [("2025-01", "150.00"), ("2025-02", "300.00"), ("2025-03", "130.00")]  # by hand from ORDERS
    assert '<p class="muted">by metric_time:month</p>' in page


def test_a_warehouse_that_does_not_answer_leaves_the_examples_out(project: Path, tmp_path: Path) -> None:
    url = "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1"
    result = runner.invoke(
        app, ["docs", "-p", str(project), "--site", str(tmp_path / "site"), "--examples", "--connection", url]
    )
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: the warehouse does not answer, so no examples:")
    assert "Example answer" not in (tmp_path / "site" / "metrics" / "revenue.html").read_text()
