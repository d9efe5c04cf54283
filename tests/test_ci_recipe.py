"""examples/metrics-ci: the steps CI runs on a pull request, run as its script on a temporary git
repository with two commits (the project; then a changed ratio, a renamed measure and a new
deprecated metric), and every line of the report it writes checked. The workflow runs that script."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from govproject import branch, build_data, change, commit, new_repo

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "examples" / "metrics-ci"
REPORT = "#### Pull request checks\n\n| step | result |\n|---|---|\n| `semantic-layer validate --warehouse` | passed |\n| `semantic-layer lint --strict` | passed |\n| `semantic-layer check` | passed |\n| `semantic-layer diff main --values` | passed |\n\n### Semantic layer: `main` → the working tree\n\n4 definitions changed (1 model, 3 metrics). Compiled SQL (duckdb): 1 metric changes, 1 new.\n\n| | kind | name | where | compiled SQL | built on it |\n|---|---|---|---|---|---|\n| ~ | model | `orders` | `metrics/models.yml:2` |  | 6 metrics, 2 with SQL changes; 1 dashboard tile |\n| ~ | metric | `average_order_value` | `metrics/metrics.yml:25` | changes | 1 dashboard tile |\n| ~ | metric | `revenue` | `metrics/metrics.yml:2` | unchanged | 2 metrics, 1 with SQL changes; 3 dashboard tiles |\n| + | metric | `sales` | `metrics/metrics.yml:41` | new |  |\n\n#### ~ model `orders` (`metrics/models.yml:2`)\n\nDefinition:\n\n```diff\n--- main\n+++ the working tree\n@@ -11,7 +11,7 @@\n - name: created_at\n   type: time\n measures:\n-- name: revenue\n+- name: gross_revenue\n   agg: sum\n   expr: amount\n   filter: status <> 'cancelled'\n```\n\nBuilt on it: `revenue`, `order_count`, `buyers`, `average_order_value` (SQL changes), `gold_share`, `sales` (new).\n\nShown on: `sales_overview` tile 2 (Order value by month).\n\n#### ~ metric `average_order_value` (`metrics/metrics.yml:25`)\n\nDefinition:\n\n```diff\n--- main\n+++ the working tree\n@@ -7,4 +7,4 @@\n numerator:\n   metric: revenue\n denominator:\n-  metric: order_count\n+  metric: buyers\n```\n\nCompiled SQL (duckdb):\n\n```diff\n--- main\n+++ the working tree\n@@ -2,8 +2,7 @@\n   SELECT\n     SUM(orders.amount) FILTER(WHERE\n       orders.status <> 'cancelled') AS m0,\n-    COUNT(*) FILTER(WHERE\n-      orders.status <> 'cancelled') AS m1\n+    COUNT(DISTINCT orders.customer_id) AS m1\n   FROM orders AS orders\n )\n SELECT\n```\n\nShown on: `sales_overview` tile 2 (Order value by month).\n\n#### ~ metric `revenue` (`metrics/metrics.yml:2`)\n\nDefinition:\n\n```diff\n--- main\n+++ the working tree\n@@ -8,4 +8,4 @@\n synonyms:\n - gmv\n - 销售额\n-measure: orders.revenue\n+measure: orders.gross_revenue\n```\n\nCompiled SQL (duckdb): unchanged.\n\nBuilt on it: `average_order_value` (SQL changes), `gold_share`.\n\nShown on: `sales_overview` tile 1 (kpi of revenue), `sales_overview` tile 2 (Order value by month), `sales_overview` tile 3 (table of revenue, order_count by customers.tier).\n\n#### + metric `sales` (`metrics/metrics.yml:41`)\n\nDefinition:\n\n```diff\n--- main\n+++ the working tree\n@@ -0,0 +1,8 @@\n+name: sales\n+type: simple\n+description: The old name of revenue.\n+owner: sales\n+tier: strategic\n+status: deprecated\n+replaced_by: revenue\n+measure: orders.gross_revenue\n```\n\nCompiled SQL (duckdb):\n\n```diff\n--- main\n+++ the working tree\n@@ -0,0 +1,10 @@\n+WITH u0 AS (\n+  SELECT\n+    SUM(orders.amount) FILTER(WHERE\n+      orders.status <> 'cancelled') AS m0\n+  FROM orders AS orders\n+)\n+SELECT\n+  u0.m0 AS sales\n+FROM u0\n+LIMIT 10001\n```\n\n#### Values of `average_order_value`, before and after, by `metric_time:month`\n\n| month | before | after | change | change % | |\n|---|---:|---:|---:|---:|---|\n| 2025-01 | 75.00 | 75.00 | +0.00 | +0.0% |  |\n| 2025-02 | 150.00 | 300.00 | +150.00 | +100.0% | ⚠ |\n| 2025-03 | 43.33 | 65.00 | +21.67 | +50.0% | ⚠ |\n\nBy `orders.status` over the same periods:\n\n| orders.status | before | after | change | change % | |\n|---|---:|---:|---:|---:|---|\n| done | 82.86 | 193.33 | +110.48 | +133.3% | ⚠ |\n"


def review(repo: Path, state: Path) -> tuple[int, str]:
    """Run the recipe's script as CI does, with this checkout's semantic layer; (exit code, report)."""
    env = {
        **os.environ,
        "SEMANTIC_LAYER": f"{shlex.quote(sys.executable)} -m semantic_layer",
        "PYTHONPATH": str(ROOT),
        "SEMANTIC_LAYER_STATE_DIR": str(state),
    }
    done = subprocess.run(
        ["bash", str(RECIPE / "ci.sh"), "metrics", "main", "report.md"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    return done.returncode, (repo / "report.md").read_text()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main holds the project; the branch `change` holds the pull request, committed."""
    db = build_data(tmp_path / "gov.duckdb")
    project = new_repo(tmp_path / "repo", db)
    branch(project.parent, "change")
    change(project)
    commit(project.parent, "a changed ratio, a renamed measure, a new deprecated metric")
    return project.parent


def test_the_report_of_a_pull_request_line_by_line(repo: Path, tmp_path: Path) -> None:
    code, report = review(repo, tmp_path / "state")
    assert code == 0
    assert report.splitlines() == REPORT.splitlines()


def test_a_failing_step_fails_the_review_and_shows_its_output(repo: Path, tmp_path: Path) -> None:
    metrics = repo / "metrics" / "metrics.yml"
    metrics.write_text(
        metrics.read_text()
        + "  - {name: orphan, type: simple, measure: orders.buyers, filter: \"orders.status = 'done'\"}\n"
    )
    code, report = review(repo, tmp_path / "state")
    assert code == 1
    lines = report.splitlines()
    assert lines[:9] == [
        "#### Pull request checks",
        "",
        "| step | result |",
        "|---|---|",
        "| `semantic-layer validate --warehouse` | passed |",
        "| `semantic-layer lint --strict` | **failed** (exit 1) |",
        "| `semantic-layer check` | passed |",
        "| `semantic-layer diff main --values` | passed |",
        "",
    ]
    assert lines[9:17] == [
        "<details><summary><code>semantic-layer lint --strict</code></summary>",
        "",
        "```text",
        "metrics/metrics.yml:49:6: warning[missing-description]: active metric 'orphan' has no description — add "
        "'description:' saying what it counts and what it leaves out",
        "metrics/metrics.yml:49:6: warning[missing-owner]: active metric 'orphan' has no owner — add "
        "'owner: <team>', the team that answers for its definition",
        "metrics/metrics.yml:49:6: warning[missing-tier]: active metric 'orphan' has no tier — add "
        "'tier: strategic', 'tactical' or 'operational'",
        "lint: 0 errors, 3 warnings (--strict: warnings fail)",
        "```",
    ]
    assert "| + | metric | `orphan` | `metrics/metrics.yml:49` | new |  |" in lines


def test_a_project_that_does_not_load_is_reported(repo: Path, tmp_path: Path) -> None:
    metrics = repo / "metrics" / "metrics.yml"
    metrics.write_text(metrics.read_text().replace("denominator: buyers", "denominator: buyer"))
    code, report = review(repo, tmp_path / "state")
    assert code == 1
    assert "| `semantic-layer diff main --values` | **failed** (exit 1) |" in report.splitlines()
    assert report.splitlines()[-1] == ("- `metrics/metrics.yml:28:5`: unknown metric 'buyer' — did you mean 'buyers'?")


def test_the_workflow_runs_the_script_on_pull_requests_and_posts_its_report() -> None:
    workflow = yaml.safe_load((RECIPE / ".github" / "workflows" / "metrics.yml").read_text())
    steps = workflow["jobs"]["review"]["steps"]
    triggers = workflow.get("on", workflow.get(True))  # PyYAML reads the key `on` as the boolean true
    assert list(triggers) == ["pull_request"]
    assert steps[0]["with"]["fetch-depth"] == 0
    runs = [step.get("run", "") for step in steps]
    assert 'bash examples/metrics-ci/ci.sh "$PROJECT" "origin/${{ github.base_ref }}" report.md' in runs
    assert any("gh pr comment" in run and "--body-file report.md" in run for run in runs)
    assert workflow["permissions"]["pull-requests"] == "write"
