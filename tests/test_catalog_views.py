"""The command line's catalogue views: `list dimensions --metric`, `list metrics` with owner and
replaced_by, and `show metric` (definition, SQL, lineage)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from govproject import DASHBOARDS, METRICS, MODELS, SETTINGS, build_data
from helpers import run_cli as cli
from typer.testing import CliRunner

import semantic_layer as sl
from semantic_layer.catalog import depends_on, dimensions_for, used_by

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = build_data(tmp_path / "gov.duckdb")
    root = tmp_path / "p"
    root.mkdir()
    (root / "semantic_layer.yml").write_text(SETTINGS.replace("{db}", str(db)))
    (root / "models.yml").write_text(MODELS)
    (root / "metrics.yml").write_text(
        METRICS + "  - {name: sales, type: simple, measure: orders.revenue, status: deprecated, replaced_by: revenue}\n"
    )
    (root / "dashboards.yml").write_text(DASHBOARDS)
    monkeypatch.chdir(tmp_path)
    return root


def test_list_dimensions_of_metrics_lists_what_they_can_be_grouped_by(project: Path) -> None:
    code, out, _ = cli("list", "dimensions", "-p", "p", "-m", "gold_share", "-f", "json")
    assert code == 0
    assert [(d["name"], d["type"]) for d in json.loads(out)] == [
        ("metric_time", "time"),
        ("orders.status", "string"),
        ("orders.created_at", "time"),
        ("customers.tier", "string"),
        ("customers.region", "string"),
    ]


def test_list_dimensions_of_the_crm_metrics_is_what_the_compiler_accepts() -> None:
    project = sl.load(ROOT / "metrics")
    for metrics in (["revenue"], ["revenue", "ticket_count"], ["collection_rate"], ["retention_rate"]):
        code, out, _ = cli(
            "list",
            "dimensions",
            "-p",
            str(ROOT / "metrics"),
            "-f",
            "json",
            *[arg for m in metrics for arg in ("-m", m)],
        )
        listed = [d["name"] for d in json.loads(out)]
        assert code == 0 and listed == dimensions_for(project.graph, metrics)
        layer = sl.Layer(project)
        time = "metric_time:quarter" if metrics == ["retention_rate"] else "metric_time:month"  # a share per quarter
        for ref in listed:  # each compiles with the metrics (a retention by its period)
            extra = [time] if metrics == ["retention_rate"] and ref != "metric_time" else []
            layer.compile(metrics=metrics, dimensions=[*extra, ref if ref != "metric_time" else time])


def test_list_dimensions_of_an_unknown_metric_is_an_error(project: Path) -> None:
    code, out, err = cli("list", "dimensions", "-p", "p", "-m", "revnue")
    assert (code, out) == (1, "") and "[UNKNOWN_MEMBER] unknown metric 'revnue' — did you mean 'revenue'?" in err
    code, _, err = cli("list", "metrics", "-p", "p", "-m", "revenue")
    assert code == 1 and "--metric applies to 'list dimensions' only" in err


def test_list_metrics_shows_owner_and_replacement(project: Path) -> None:
    code, out, _ = cli("list", "metrics", "-p", "p", "-f", "json")
    rows = {m["name"]: m for m in json.loads(out)}
    assert code == 0
    assert list(rows["sales"]) == [
        "name",
        "type",
        "tier",
        "status",
        "owner",
        "replaced_by",
        "label",
        "description",
        "thresholds",
    ]
    assert (rows["sales"]["status"], rows["sales"]["replaced_by"], rows["sales"]["owner"]) == (
        "deprecated",
        "revenue",
        "",
    )
    assert (rows["revenue"]["owner"], rows["revenue"]["replaced_by"]) == ("sales", "")


def test_show_metric_holds_everything_about_it(project: Path) -> None:
    code, out, _ = cli("show", "metric", "gold_share", "-p", "p", "-f", "json")
    shown = json.loads(out)
    assert code == 0
    assert {k: shown[k] for k in ("name", "type", "owner", "tier", "status", "format", "location", "dialect")} == {
        "name": "gold_share",
        "type": "ratio",
        "owner": "sales",
        "tier": "tactical",
        "status": "active",
        "format": "percent",
        "location": "p/metrics.yml:33",
        "dialect": "duckdb",
    }
    assert shown["definition"].splitlines()[:2] == ["name: gold_share", "type: ratio"]
    assert shown["sql"] == sl.Layer(sl.load(project)).compile(metrics=["gold_share"], pretty=True)
    assert (shown["depends_on"], shown["upstream"], shown["downstream"]) == (["revenue"], ["revenue"], [])
    assert (shown["models"], shown["measures"], shown["joined"]) == (["orders"], ["orders.revenue"], ["customers"])
    assert shown["dimensions"] == [
        "metric_time",
        "orders.status",
        "orders.created_at",
        "customers.tier",
        "customers.region",
    ]
    revenue = json.loads(cli("show", "metric", "revenue", "-p", "p", "-f", "json", "--dialect", "postgres")[1])
    assert revenue["used_by"] == ["average_order_value", "gold_share"] and revenue["dialect"] == "postgres"
    assert revenue["synonyms"] == ["gmv", "销售额"]
    assert revenue["tiles"] == [
        {"dashboard": "sales_overview", "tile": 1, "title": "kpi of revenue"},
        {"dashboard": "sales_overview", "tile": 3, "title": "table of revenue, order_count by customers.tier"},
    ]
    assert shown["tiles"] == []


def test_show_metric_for_a_terminal(project: Path) -> None:
    code, out, _ = cli("show", "metric", "sales", "-p", "p")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "sales"
    assert any(line.split() == ["status", "deprecated"] for line in lines)
    assert any(line.split() == ["replaced", "by", "revenue"] for line in lines)
    assert "│ built on it: —" in out


def test_show_an_unknown_metric(project: Path) -> None:
    code, _, err = cli("show", "metric", "gold_shar", "-p", "p")
    assert code == 1 and "unknown metric 'gold_shar' — did you mean 'gold_share'?" in err


def test_a_metric_read_twice_by_a_ratio_is_listed_once(project: Path) -> None:
    """A filtered share divides a metric by itself: its lineage names that metric once, both ways."""
    graph = sl.load(project).graph
    assert depends_on(graph, "gold_share") == ["revenue"]
    assert used_by(graph, "revenue").count("gold_share") == 1
