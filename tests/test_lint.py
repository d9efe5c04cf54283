"""`semantic-layer lint`: each rule's finding at its file:line with its fix, configuration (disable,
severity), --strict, JSON, the audit log's unused metrics, and the shipped project passing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import get_args

import pytest
from govproject import METRICS, MODELS, SETTINGS, build_data
from typer.testing import CliRunner

import semantic_layer as sl
from semantic_layer import definitions as d
from semantic_layer.audit import AuditLog
from semantic_layer.audit_files import LogFiles
from semantic_layer.audit_record import AuditRecord
from semantic_layer.cli import app
from semantic_layer.governance.lint import DEFAULT_SEVERITY, RULE_CHECKS, lint

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
BROKEN = """  - name: orders_total
    type: simple
    measure: orders.order_count
  - name: old_revenue
    type: simple
    measure: orders.revenue
    status: deprecated
  - name: revenue_again
    type: simple
    measure: orders.revenue
    label: Revenue
    synonyms: [GMV, order count]
    owner: finance
    tier: tactical
    description: Revenue again.
    thresholds: {warn: {below: 10}}
  - name: bold_bet
    type: derived
    expr: "share_beta * 2"
    owner: sales
    tier: strategic
    description: A strategic number.
  - name: share_beta
    type: ratio
    numerator: buyers
    denominator: order_count
    owner: sales
    tier: tactical
    status: experimental
    description: Experimental.
"""
FINDINGS = [
    "p/metrics.yml:41:5: error[duplicate-definition]: metric 'orders_total' compiles to the same SQL as 'order_count' (p/metrics.yml:11): two names for one definition — keep 'order_count' and add 'orders_total' to its synonyms, or deprecate 'orders_total' with replaced_by: order_count",
    "p/metrics.yml:41:5: warning[missing-description]: active metric 'orders_total' has no description — add 'description:' saying what it counts and what it leaves out",
    "p/metrics.yml:41:5: warning[missing-owner]: active metric 'orders_total' has no owner — add 'owner: <team>', the team that answers for its definition",
    "p/metrics.yml:41:5: warning[missing-tier]: active metric 'orders_total' has no tier — add 'tier: strategic', 'tactical' or 'operational'",
    "p/metrics.yml:47:5: warning[deprecated-without-replacement]: deprecated metric 'old_revenue' names no replacement — add 'replaced_by: <metric>' so that its users learn what to ask for instead",
    "p/metrics.yml:48:5: error[duplicate-definition]: metric 'revenue_again' compiles to the same SQL as 'revenue' (p/metrics.yml:2): two names for one definition — keep 'revenue' and add 'revenue_again' to its synonyms, or deprecate 'revenue_again' with replaced_by: revenue",
    "p/metrics.yml:51:5: error[name-collision]: 'Revenue' names both 'revenue' (p/metrics.yml:5) and 'revenue_again' — keep 'Revenue' on one of them and give the other a name of its own",
    "p/metrics.yml:52:16: error[name-collision]: 'GMV' names both 'revenue' (p/metrics.yml:10) and 'revenue_again' — keep 'GMV' on one of them and give the other a name of its own",
    "p/metrics.yml:52:21: error[synonym-is-metric-name]: synonym 'order count' of 'revenue_again' is the name of metric 'order_count' — remove 'order count' from the synonyms of 'revenue_again'",
    "p/metrics.yml:56:5: warning[thresholds-without-direction]: metric 'revenue_again' has thresholds but no direction — add 'direction: up' (higher is better) or 'direction: down', so that alerts say whether a crossing is good or bad news",
    "p/metrics.yml:61:5: error[strategic-on-experimental]: strategic metric 'bold_bet' is built on experimental 'share_beta' — make the metrics it is built on active once their definition is settled, or mark this one experimental too",
]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The governance test project (it passes every rule) in tmp_path/p, the working directory tmp_path."""
    db = build_data(tmp_path / "gov.duckdb")
    root = tmp_path / "p"
    root.mkdir()
    (root / "semantic_layer.yml").write_text(SETTINGS.replace("{db}", str(db)))
    (root / "models.yml").write_text(MODELS)
    (root / "metrics.yml").write_text(METRICS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEMANTIC_LAYER_STATE_DIR", str(tmp_path / "state"))
    return root


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["lint", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_clean_project_passes_even_strict(project: Path) -> None:
    assert run("-p", "p", "--strict") == (0, "", "lint: 0 errors, 0 warnings\n")


def test_the_shipped_crm_project_passes_strict(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("SEMANTIC_LAYER_STATE_DIR", str(tmp_path))  # no audit log: the other tests' queries
    code, out, err = run("-p", "metrics", "--strict")
    assert (code, out, err) == (0, "", "lint: 0 errors, 0 warnings\n")


def test_each_rule_at_its_place_with_its_fix(project: Path) -> None:
    (project / "metrics.yml").write_text(METRICS + BROKEN)
    code, out, err = run("-p", "p")
    assert code == 1 and err == "lint: 6 errors, 5 warnings\n"
    assert out.splitlines() == FINDINGS


def test_every_rule_is_checked_and_has_a_default_severity() -> None:
    assert set(RULE_CHECKS) == set(DEFAULT_SEVERITY) == set(get_args(d.LintRule))
    text = (ROOT / "docs" / "cli.md").read_text()
    assert all(f"`{rule}`" in text for rule in RULE_CHECKS), "docs/cli.md lists every lint rule"


def test_warnings_fail_only_with_strict(project: Path) -> None:
    (project / "metrics.yml").write_text(
        METRICS
        + "  - {name: lonely, type: simple, measure: orders.buyers, filter: \"orders.status = 'x'\", owner: x, tier: operational}\n"
    )
    code, out, err = run("-p", "p")
    assert code == 0 and err == "lint: 0 errors, 1 warning\n"
    assert out == (
        "p/metrics.yml:41:6: warning[missing-description]: active metric 'lonely' has no description — add "
        "'description:' saying what it counts and what it leaves out\n"
    )
    assert run("-p", "p", "--strict")[0] == 1


def test_rules_are_disabled_and_their_severity_changed_in_the_settings(project: Path) -> None:
    (project / "metrics.yml").write_text(METRICS + BROKEN)
    settings = (project / "semantic_layer.yml").read_text()
    (project / "semantic_layer.yml").write_text(
        settings + "lint:\n  disable: [duplicate-definition, name-collision, synonym-is-metric-name, "
        "strategic-on-experimental]\n  severity: {missing-owner: error, thresholds-without-direction: error}\n"
    )
    code, out, err = run("-p", "p", "--format", "json")
    found = json.loads(out)
    assert code == 1 and err == ""
    assert [(f["rule"], f["severity"], f["metric"], f["line"]) for f in found] == [
        ("missing-description", "warning", "orders_total", 41),
        ("missing-owner", "error", "orders_total", 41),
        ("missing-tier", "warning", "orders_total", 41),
        ("deprecated-without-replacement", "warning", "old_revenue", 47),
        ("thresholds-without-direction", "error", "revenue_again", 56),
    ]
    assert set(found[0]) == {"rule", "severity", "metric", "file", "line", "column", "message", "fix"}


def test_an_unknown_rule_in_the_settings_is_refused_at_load(project: Path) -> None:
    settings = (project / "semantic_layer.yml").read_text()
    (project / "semantic_layer.yml").write_text(settings + "lint:\n  disable: [missing-onwer]\n")
    with pytest.raises(sl.ValidationError) as caught:
        sl.load(project)
    [error] = caught.value.errors
    assert (error.file, error.line, error.column) == ("p/semantic_layer.yml", 6, 3)
    assert error.message == (
        "'gov': disable: unknown lint rule 'missing-onwer' — did you mean 'missing-owner' or 'missing-tier' or "
        "'missing-description'?"
    )


# -- the audit log -------------------------------------------------------------------------------
def log_queries(folder: Path, *queries: tuple[float, tuple[str, ...]]) -> None:
    log = AuditLog(LogFiles(folder))
    for at, metrics in queries:
        log.record(AuditRecord(at, "server", ("admin",), metrics, ("metric_time:month",), 3.0, False))
    log.close()


def test_metrics_no_query_asked_for_in_the_window_are_reported(project: Path, tmp_path: Path) -> None:
    now = time.time()
    log_queries(
        tmp_path / "state",
        (now - 3600, ("average_order_value",)),  # and so revenue and order_count, which it is built on
        (now - 100 * 86400, ("buyers",)),  # outside the 90 days
    )
    code, out, err = run("-p", "p")
    assert code == 0 and err == "lint: 0 errors, 2 warnings\n"
    assert [line.split(": ", 2)[1] for line in out.splitlines()] == ["warning[unused-metric]", "warning[unused-metric]"]
    assert [line.split("'")[1] for line in out.splitlines()] == ["buyers", "gold_share"]
    assert out.splitlines()[0] == (
        "p/metrics.yml:18:5: warning[unused-metric]: metric 'buyers' was not queried in the last 90 days, nor any "
        "metric built on it — retire it (status: deprecated, with replaced_by) if nobody needs it"
    )
    settings = (project / "semantic_layer.yml").read_text()
    (project / "semantic_layer.yml").write_text(settings + "lint: {usage_window: 101 days}\n")
    assert [line.split("'")[1] for line in run("-p", "p")[1].splitlines()] == ["gold_share"]


def test_without_an_audit_log_no_metric_is_called_unused(project: Path) -> None:
    assert [f.rule for f in lint(sl.load(project))] == []
    assert [f.metric for f in lint(sl.load(project), queried=set())] == [
        "revenue",
        "order_count",
        "buyers",
        "average_order_value",
        "gold_share",
    ]
