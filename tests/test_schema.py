"""`semantic-layer schema`: the JSON Schema editors check project files with. It accepts every file
the project ships, and refuses what the loader refuses for its shape (an unknown key first)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from schemacheck import errors
from typer.testing import CliRunner

from semantic_layer.cli import app
from semantic_layer.loader import read_project
from semantic_layer.project_schema import project_schema
from semantic_layer.yaml_source import load_yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = sorted([*(ROOT / "metrics").rglob("*.yml"), *(ROOT / "tests" / "fixtures").rglob("*.yml")])
PROJECT = project_schema()
SETTINGS = project_schema(settings=True)


def schema_for(path: Path) -> dict[str, Any]:
    return SETTINGS if path.name == "semantic_layer.yml" else PROJECT


def data(path: Path) -> Any:
    return as_editors_read(load_yaml(path, path.name).data)


def as_editors_read(value: Any) -> Any:
    """YAML as an editor's language server reads it (YAML 1.2, which has no date type): the loader
    reads `end: 2025-10-01` as a date, an editor as the text the schema's `format: date` checks."""
    if isinstance(value, dict):
        return {key: as_editors_read(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_editors_read(item) for item in value]
    return value.isoformat() if isinstance(value, date) else value


@pytest.mark.parametrize("path", PROJECT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_project_file_validates(path: Path) -> None:
    assert errors(schema_for(path), data(path)) == []


def test_the_shipped_files_include_both_kinds() -> None:
    names = {p.name for p in PROJECT_FILES}
    assert "semantic_layer.yml" in names and "sales.yml" in names and len(PROJECT_FILES) >= 10


SALES = data(ROOT / "metrics" / "sales.yml")


def _model(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["models"][0]  # type: ignore[no-any-return]


def _metric(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in doc["metrics"] if m["name"] == name)


# Each mutation of metrics/sales.yml makes a file the loader refuses for its shape; the schema
# refuses it too, for the reason given.
BROKEN: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "unknown model key": (lambda doc: _model(doc).update(tabel="orders"), "$.models[0]: unknown key 'tabel'"),
    "unknown top-level key": (lambda doc: doc.update(model=[]), "$: unknown key 'model'"),
    "a setting outside semantic_layer.yml": (lambda doc: doc.update(timezone="UTC"), "$: unknown key 'timezone'"),
    "unknown dimension key": (
        lambda doc: _model(doc)["dimensions"][0].update(kind="number"),
        "$.models[0].dimensions[0]: unknown key 'kind'",
    ),
    "unknown measure aggregation": (
        lambda doc: _model(doc)["measures"][0].update(agg="total"),
        "$.models[0].measures[0].agg: 'total' is not one of",
    ),
    "no primary_key": (lambda doc: _model(doc).pop("primary_key"), "$.models[0]: missing required key 'primary_key'"),
    "both table and sql": (
        lambda doc: _model(doc).update(sql="SELECT 1 AS order_id"),
        "$.models[0]: matches 2 of 2 alternatives",
    ),
    "neither table nor sql": (lambda doc: _model(doc).pop("table"), "$.models[0]: matches 0 of 2 alternatives"),
    "a name that is not snake_case": (
        lambda doc: _model(doc).update(name="Orders"),
        "$.models[0].name: 'Orders' does not match",
    ),
    "a join name that is not snake_case": (
        lambda doc: _model(doc)["joins"][1].update(name="Owner Rep"),
        "$.models[0].joins[1].name: 'Owner Rep' does not match",
    ),
    "unknown relationship": (
        lambda doc: _model(doc)["joins"][0].update(relationship="many_to_many"),
        "$.models[0].joins[0].relationship: 'many_to_many' is not one of",
    ),
    "percentile without percentile:": (
        lambda doc: _model(doc)["measures"][0].update(agg="percentile"),
        "$.models[0].measures[0]: missing required key 'percentile'",
    ),
    "percentile: on a sum": (
        lambda doc: _model(doc)["measures"][0].update(percentile=0.9),
        "$.models[0].measures[0]: matches a combination that is not allowed",
    ),
    "percentile out of range": (
        lambda doc: _model(doc)["measures"][0].update(agg="percentile", percentile=1.5),
        "$.models[0].measures[0].percentile: 1.5 breaks exclusiveMaximum 1",
    ),
    "unknown metric type": (
        lambda doc: _metric(doc, "revenue").update(type="funnel"),
        "$.metrics[0].type: 'funnel' is not one of",
    ),
    "metric without type": (
        lambda doc: _metric(doc, "revenue").pop("type"),
        "$.metrics[0]: missing required key 'type'",
    ),
    "unknown metric key": (
        lambda doc: _metric(doc, "revenue").update(owners=["x"]),
        "$.metrics[0]: unknown key 'owners'",
    ),
    "a key of another metric type": (
        lambda doc: _metric(doc, "revenue").update(numerator="revenue"),
        "$.metrics[0]: unknown key 'numerator'",
    ),
    "unknown tier": (
        lambda doc: _metric(doc, "revenue").update(tier="critical"),
        "$.metrics[0].tier: 'critical' is not one of",
    ),
    "unknown threshold level": (
        lambda doc: _metric(doc, "churn_rate")["thresholds"].update(alarm={"above": 1}),
        "thresholds: unknown key 'alarm'",
    ),
    "a threshold level without a bound": (
        lambda doc: _metric(doc, "churn_rate")["thresholds"].update(warn={}),
        "thresholds.warn: missing required key 'above'",
    ),
    "an unknown thresholds grain": (
        lambda doc: _metric(doc, "churn_rate")["thresholds"].update(grain="monthly"),
        "thresholds.grain: 'monthly' is not one of",
    ),
    "ratio side with an unknown key": (
        lambda doc: _metric(doc, "average_order_value").update(numerator={"metric": "revenue", "where": "x"}),
        "$.metrics[2].numerator: unknown key 'where'",
    ),
    "offset that is not an interval": (
        lambda doc: doc["metrics"].append(
            {
                "name": "x",
                "type": "derived",
                "expr": "p",
                "inputs": [{"metric": "revenue", "alias": "p", "offset": "last month"}],
            }
        ),
        ".inputs[0].offset: 'last month' does not match",
    ),
    "cumulative with window and grain_to_date": (
        lambda doc: doc["metrics"].append(
            {"name": "x", "type": "cumulative", "metric": "revenue", "window": "7 days", "grain_to_date": "month"}
        ),
        "matches a combination that is not allowed: {'required': ['window', 'grain_to_date']}",
    ),
    "conversion window that is not an interval": (
        lambda doc: doc["metrics"].append(
            {
                "name": "x",
                "type": "conversion",
                "base": "orders.order_count",
                "conversion": "orders.order_count",
                "entity": "customer_id",
                "window": "a quarter",
            }
        ),
        ".window: 'a quarter' does not match",
    ),
    "conversion metric name that is not snake_case": (
        lambda doc: doc["metrics"].append(
            {"name": "LeadToWin", "type": "conversion", "base": "a.b", "conversion": "c.d", "entity": "e"}
        ),
        ".name: 'LeadToWin' does not match",
    ),
    "unknown policy key": (
        lambda doc: doc.update(policies=[{"role": "r", "rows": [], "hidden": []}]),
        "$.policies[0]: unknown key 'hidden'",
    ),
    "a kpi tile with a dimension": (
        lambda doc: doc.update(
            dashboards=_board({"metrics": ["revenue"], "dimensions": ["customers.tier"], "kind": "kpi"})
        ),
        "$.dashboards[0].tiles[0].dimensions: ['customers.tier'] is expected to be empty",
    ),
    "a funnel of one step": (
        lambda doc: doc.update(dashboards=_board({"metrics": ["revenue"], "kind": "funnel"})),
        "$.dashboards[0].tiles[0].metrics: ['revenue'] is too short",
    ),
    "an unknown tile kind": (
        lambda doc: doc.update(dashboards=_board({"metrics": ["revenue"], "kind": "pie"})),
        "$.dashboards[0].tiles[0].kind: 'pie' is not one of",
    ),
    "a limit on a kpi": (
        lambda doc: doc.update(dashboards=_board({"metrics": ["revenue"], "kind": "kpi", "limit": 3})),
        "$.dashboards[0].tiles[0].kind: 'kpi' is not one of ['bar', 'stacked_bar', 'table']",
    ),
    "a comparison that is not an interval": (
        lambda doc: doc.update(dashboards=_board({"metrics": ["revenue"], "kind": "kpi", "compare": "last year"})),
        "$.dashboards[0].tiles[0].compare: 'last year' does not match",
    ),
    "a time range with last and start": (
        lambda doc: doc.update(
            dashboards=_board({"metrics": ["revenue"], "kind": "kpi"}, last="12 months", start="2025-01-01")
        ),
        "$.dashboards[0].time_range: matches a combination that is not allowed",
    ),
}


def _board(tile: dict[str, Any], **time_range: str) -> list[dict[str, Any]]:
    """A dashboards section of one dashboard with one tile."""
    return [{"name": "b", "tiles": [tile], **({"time_range": time_range} if time_range else {})}]


@pytest.mark.parametrize("mutation", list(BROKEN), ids=list(BROKEN))
def test_the_schema_refuses_what_the_loader_refuses(mutation: str, tmp_path: Path) -> None:
    doc = copy.deepcopy(SALES)
    mutate, reason = BROKEN[mutation]
    mutate(doc)
    found = errors(PROJECT, doc)
    assert any(reason in e for e in found), f"the schema should refuse {mutation} ({reason}), it says: {found}"
    # The loader agrees: the same file, in a project of its own, does not load for its shape.
    (tmp_path / "semantic_layer.yml").write_text("name: t\n")
    (tmp_path / "sales.yml").write_text(json.dumps(doc, ensure_ascii=False))
    assert read_project(tmp_path).errors, f"the loader accepts a file with {mutation}"


# Spellings the loader accepts that a naive schema would refuse.
ACCEPTED = {
    "ratio sides as names": lambda doc: _metric(doc, "average_order_value").update(
        numerator="revenue", denominator="order_count"
    ),
    "ratio sides as objects": lambda doc: _metric(doc, "average_order_value").update(
        numerator={"metric": "revenue", "filter": "customers.tier = 'strategic'"}, denominator={"metric": "order_count"}
    ),
    "numbers among synonyms": lambda doc: _metric(doc, "revenue").update(synonyms=["gmv", 2025]),
    "an empty section": lambda doc: doc.update(policies=None),
    "interval in upper case": lambda doc: doc["metrics"].append(
        {"name": "x", "type": "cumulative", "metric": "revenue", "window": "30 DAYS"}
    ),
    "composite primary key": lambda doc: _model(doc).update(primary_key=["order_id", "status"]),
    "default_role in any file": lambda doc: doc.update(default_role=None),
}


@pytest.mark.parametrize("variant", list(ACCEPTED), ids=list(ACCEPTED))
def test_the_schema_accepts_what_the_loader_accepts(variant: str) -> None:
    doc = copy.deepcopy(SALES)
    ACCEPTED[variant](doc)
    assert errors(PROJECT, doc) == []


def test_settings_have_their_own_schema() -> None:
    settings = data(ROOT / "metrics" / "semantic_layer.yml")
    assert errors(PROJECT, settings)  # settings keys are not project-file keys
    assert errors(SETTINGS, {**settings, "timezon": "UTC"}) == ["$: unknown key 'timezon'"]
    assert errors(SETTINGS, {**settings, "engine": {"memory_limit": "4 gb", "threads": 4}}) == []
    assert errors(SETTINGS, {**settings, "engine": {"memory_limit": "lots"}})
    assert errors(SETTINGS, {**settings, "fiscal_year_start_month": 13})
    hooks = {"webhooks": [{"url": "https://example.com/h", "format": "slack"}], "every": "15 minutes"}
    assert errors(SETTINGS, {**settings, "alerts": hooks}) == []
    assert errors(SETTINGS, {**settings, "alerts": {"every": "1 Hour"}}) == []
    assert errors(SETTINGS, {**settings, "alerts": {"every": "soon"}})
    assert errors(SETTINGS, {**settings, "alerts": {"webhooks": [{"url": "ftp://x"}]}})
    assert errors(SETTINGS, {**settings, "alerts": {"webhooks": [{"url": "https://x", "format": "teams"}]}})
    assert set(SETTINGS["properties"]) >= {
        "name",
        "connection",
        "dialect",
        "timezone",
        "week_start",
        "fiscal_year_start_month",
        "cache",
        "limits",
        "engine",
        "alerts",
        "default_role",
        "models",
        "metrics",
        "policies",
        "dashboards",
        "rollups",
    }
    assert set(PROJECT["properties"]) == {"models", "metrics", "policies", "dashboards", "rollups", "default_role"}


def test_patterns_are_portable_regular_expressions() -> None:
    """ECMA-262, as editors read them: no Python inline flags."""
    text = json.dumps([PROJECT, SETTINGS])
    assert "(?i)" not in text and '"flags"' not in text


def test_the_command_prints_the_schema() -> None:
    runner = CliRunner()
    for args, expected in ((["schema"], PROJECT), (["schema", "--settings"], SETTINGS)):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == expected
