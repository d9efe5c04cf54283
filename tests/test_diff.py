"""`semantic-layer diff` on temporary git repositories: the report of a pull request line by line,
values before and after against hand-written SQL, what reaches which metric, broken versions, refs,
dialects and exit codes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from govproject import branch, build_data, change, commit, new_repo
from typer.testing import CliRunner

import semantic_layer as sl
from semantic_layer.cli import app
from semantic_layer.governance.diff import _Sql
from semantic_layer.governance.values import top_dimension

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_data(tmp_path_factory.mktemp("data") / "gov.duckdb")


@pytest.fixture
def project(tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project committed on main in a fresh repository, the working directory at its top."""
    folder = new_repo(tmp_path / "repo", db)
    monkeypatch.chdir(tmp_path / "repo")
    return folder


def diff(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["diff", *args])
    return result.exit_code, result.stdout, result.stderr


PULL_REQUEST = "### Semantic layer: `main` → the working tree\n\n4 definitions changed (1 model, 3 metrics). Compiled SQL (duckdb): 1 metric changes, 1 new.\n\n| | kind | name | where | compiled SQL | built on it |\n|---|---|---|---|---|---|\n| ~ | model | `orders` | `metrics/models.yml:2` |  | 6 metrics, 2 with SQL changes; 1 dashboard tile |\n| ~ | metric | `average_order_value` | `metrics/metrics.yml:25` | changes | 1 dashboard tile |\n| ~ | metric | `revenue` | `metrics/metrics.yml:2` | unchanged | 2 metrics, 1 with SQL changes; 3 dashboard tiles |\n| + | metric | `sales` | `metrics/metrics.yml:41` | new |  |\n\n#### ~ model `orders` (`metrics/models.yml:2`)\n\nDefinition:\n\n```diff\n--- main\n+++ the working tree\n@@ -11,7 +11,7 @@\n - name: created_at\n   type: time\n measures:\n-- name: revenue\n+- name: gross_revenue\n   agg: sum\n   expr: amount\n   filter: status <> 'cancelled'\n```\n\nBuilt on it: `revenue`, `order_count`, `buyers`, `average_order_value` (SQL changes), `gold_share`, `sales` (new).\n\nShown on: `sales_overview` tile 2 (Order value by month).\n\n#### ~ metric `average_order_value` (`metrics/metrics.yml:25`)\n\nDefinition:\n\n```diff\n--- main\n+++ the working tree\n@@ -7,4 +7,4 @@\n numerator:\n   metric: revenue\n denominator:\n-  metric: order_count\n+  metric: buyers\n```\n\nCompiled SQL (duckdb):\n\n```diff\n--- main\n+++ the working tree\n@@ -2,8 +2,7 @@\n   SELECT\n     SUM(orders.amount) FILTER(WHERE\n       orders.status <> 'cancelled') AS m0,\n-    COUNT(*) FILTER(WHERE\n-      orders.status <> 'cancelled') AS m1\n+    COUNT(DISTINCT orders.customer_id) AS m1\n   FROM orders AS orders\n )\n SELECT\n```\n\nShown on: `sales_overview` tile 2 (Order value by month).\n\n#### ~ metric `revenue` (`metrics/metrics.yml:2`)\n\nDefinition:\n\n```diff\n--- main\n+++ the working tree\n@@ -8,4 +8,4 @@\n synonyms:\n - gmv\n - 销售额\n-measure: orders.revenue\n+measure: orders.gross_revenue\n```\n\nCompiled SQL (duckdb): unchanged.\n\nBuilt on it: `average_order_value` (SQL changes), `gold_share`.\n\nShown on: `sales_overview` tile 1 (kpi of revenue), `sales_overview` tile 2 (Order value by month), `sales_overview` tile 3 (table of revenue, order_count by customers.tier).\n\n#### + metric `sales` (`metrics/metrics.yml:41`)\n\nDefinition:\n\n```diff\n--- main\n+++ the working tree\n@@ -0,0 +1,8 @@\n+name: sales\n+type: simple\n+description: The old name of revenue.\n+owner: sales\n+tier: strategic\n+status: deprecated\n+replaced_by: revenue\n+measure: orders.gross_revenue\n```\n\nCompiled SQL (duckdb):\n\n```diff\n--- main\n+++ the working tree\n@@ -0,0 +1,10 @@\n+WITH u0 AS (\n+  SELECT\n+    SUM(orders.amount) FILTER(WHERE\n+      orders.status <> 'cancelled') AS m0\n+  FROM orders AS orders\n+)\n+SELECT\n+  u0.m0 AS sales\n+FROM u0\n+LIMIT 10001\n```\n"


def test_the_markdown_report_of_a_pull_request(project: Path) -> None:
    change(project)
    code, out, err = diff("main", "-p", "metrics", "--format", "markdown")
    assert (code, err) == (0, "")
    assert out.splitlines() == PULL_REQUEST.splitlines()


def test_exit_code_2_with_changes_0_without(project: Path) -> None:
    change(project)
    assert diff("main", "-p", "metrics", "--exit-code", "-f", "markdown")[0] == 2
    assert diff("main", "-p", "metrics", "-f", "markdown")[0] == 0
    branch(project.parent, "change")
    commit(project.parent, "the change")
    code, out, _ = diff("HEAD", "-p", "metrics", "--exit-code", "-f", "markdown")
    assert code == 0
    assert out == "### Semantic layer: `HEAD` → the working tree\n\nNo definition and no compiled SQL changes.\n"
    code, out, _ = diff("main", "HEAD", "-p", "metrics", "--exit-code", "-f", "markdown")
    assert code == 2 and out.splitlines()[0] == "### Semantic layer: `main` → `HEAD`"
    assert out.splitlines()[2:] == PULL_REQUEST.replace("the working tree", "HEAD").splitlines()[2:]


def test_the_json_report(project: Path) -> None:
    change(project)
    code, out, _ = diff("main", "-p", "metrics", "--format", "json")
    report = json.loads(out)
    assert code == 0 and (report["base"], report["head"], report["dialects"]) == (
        "main",
        "the working tree",
        ["duckdb"],
    )
    assert [(c["kind"], c["name"], c["status"], c["location"]) for c in report["changes"]] == [
        ("model", "orders", "changed", "metrics/models.yml:2"),
        ("metric", "average_order_value", "changed", "metrics/metrics.yml:25"),
        ("metric", "revenue", "changed", "metrics/metrics.yml:2"),
        ("metric", "sales", "added", "metrics/metrics.yml:41"),
    ]
    aov = report["changes"][1]
    assert aov["definition_diff"].splitlines()[-2:] == ["-  metric: order_count", "+  metric: buyers"]
    assert "+    COUNT(DISTINCT orders.customer_id) AS m1" in aov["sql_diff"]["duckdb"].splitlines()
    assert report["changes"][2]["sql_diff"] == {}  # the rename leaves revenue's SQL as it was
    assert report["changes"][2]["downstream"] == [
        {"metric": "average_order_value", "sql": "changes"},
        {"metric": "gold_share", "sql": "unchanged"},
    ]
    assert report["affected"] == [] and report["values"] == []


def test_the_terminal_view(project: Path) -> None:
    change(project)
    code, out, _ = diff("main", "-p", "metrics")
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == [
        "Semantic layer: main → the working tree",
        "4 definitions changed (1 model, 3 metrics). Compiled SQL (duckdb): 1 metric changes, 1 new.",
    ]
    assert any(
        line.split("│")[1:6]
        == [" ~ ", " metric ", " average_order_value ", " metrics/metrics.yml:25 ", " changes      "]
        for line in lines
    ), out
    assert "│ -  metric: order_count" in out and "│ +  metric: buyers" in out


# -- values -------------------------------------------------------------------------------------
def hand(db: Path, sql: str) -> dict[Any, float]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {key: float(value) for key, value in con.execute(sql).fetchall()}


VALID = "o.status <> 'cancelled'"
MONTH = "strftime(o.created_at, '%Y-%m')"


def test_values_before_and_after_are_what_hand_written_sql_says(project: Path, db: Path) -> None:
    change(project)
    code, out, _ = diff("main", "-p", "metrics", "-f", "json", "--values", "--dimension", "customers.tier")
    assert code == 0
    [values] = json.loads(out)["values"]
    old_by_month = hand(
        db,
        f"SELECT {MONTH}, SUM(amount) FILTER (WHERE {VALID}) / COUNT(*) FILTER (WHERE {VALID}) FROM orders o GROUP BY 1",
    )
    new_by_month = hand(
        db, f"SELECT {MONTH}, SUM(amount) FILTER (WHERE {VALID}) / COUNT(DISTINCT customer_id) FROM orders o GROUP BY 1"
    )
    assert (values["metric"], values["grain"], values["dimension"]) == (
        "average_order_value",
        "month",
        "customers.tier",
    )
    assert [r["key"] for r in values["periods"]] == ["2025-01", "2025-02", "2025-03"]
    for row in values["periods"]:
        old, new = old_by_month[row["key"]], new_by_month[row["key"]]
        assert row["before"] == pytest.approx(old) and row["after"] == pytest.approx(new)
        assert row["change"] == pytest.approx(new - old)
        assert row["relative_change"] == pytest.approx((new - old) / old)
        assert row["flagged"] == (abs(new - old) / old > 0.01)
    by_tier = "FROM orders o JOIN customers c USING (customer_id) GROUP BY 1"
    old_by_tier = hand(
        db, f"SELECT c.tier, SUM(amount) FILTER (WHERE {VALID}) / COUNT(*) FILTER (WHERE {VALID}) {by_tier}"
    )
    new_by_tier = hand(
        db, f"SELECT c.tier, SUM(amount) FILTER (WHERE {VALID}) / COUNT(DISTINCT o.customer_id) {by_tier}"
    )
    assert [r["key"] for r in values["by_dimension"]] == ["gold", "silver"]  # the largest change first
    for row in values["by_dimension"]:
        assert row["before"] == pytest.approx(old_by_tier[row["key"]])
        assert row["after"] == pytest.approx(new_by_tier[row["key"]])


def test_the_values_in_markdown_flag_changes_over_the_threshold(project: Path) -> None:
    change(project)
    code, out, _ = diff(
        "main", "-p", "metrics", "-f", "markdown", "--values", "--dimension", "customers.tier", "--threshold", "1.2"
    )
    assert code == 0
    assert out.split("#### Values of")[1].splitlines() == [
        " `average_order_value`, before and after, by `metric_time:month`",
        "",
        "| month | before | after | change | change % | |",
        "|---|---:|---:|---:|---:|---|",
        "| 2025-01 | 75.00 | 75.00 | +0.00 | +0.0% |  |",
        "| 2025-02 | 150.00 | 300.00 | +150.00 | +100.0% |  |",
        "| 2025-03 | 43.33 | 65.00 | +21.67 | +50.0% |  |",
        "",
        "By `customers.tier` over the same periods:",
        "",
        "| customers.tier | before | after | change | change % | |",
        "|---|---:|---:|---:|---:|---|",
        "| gold | 100.00 | 250.00 | +150.00 | +150.0% | ⚠ |",
        "| silver | 40.00 | 80.00 | +40.00 | +100.0% |  |",
    ]


def test_the_top_dimension_is_the_one_queried_most_else_the_one_with_fewest_values(project: Path) -> None:
    change(project)
    with sl.connect(project) as layer:
        assert top_dimension(layer, "average_order_value") == "orders.status"  # 2 values, first of the ties
        usage = Counter({("average_order_value", "customers.region"): 3, ("average_order_value", "customers.tier"): 2})
        assert top_dimension(layer, "average_order_value", usage) == "customers.region"
        usage = Counter({("revenue", "customers.region"): 9, ("average_order_value", "orders.nope"): 9})
        assert top_dimension(layer, "average_order_value", usage) == "orders.status"  # neither applies


# -- what reaches what --------------------------------------------------------------------------
def compiled_metrics(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The metrics diff compiles (in either version), in the order it compiles them."""
    seen: list[str] = []
    original = _Sql._compile

    def counting(self: _Sql, side: int, metric: str, dialect: str) -> str | None:
        seen.append(metric)
        return original(self, side, metric, dialect)

    monkeypatch.setattr(_Sql, "_compile", counting)
    return seen


def test_a_model_change_reaches_the_metrics_that_join_it_and_only_those_are_compiled(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = (project / "models.yml").read_text()
    (project / "models.yml").write_text(
        models.replace("      - {name: tier}", "      - {name: tier, expr: upper(tier)}")
    )
    seen = compiled_metrics(monkeypatch)
    code, out, _ = diff("main", "-p", "metrics", "-f", "json")
    report = json.loads(out)
    assert code == 0 and sorted(seen) == ["gold_share", "gold_share"]  # in each version; the others are unchanged
    assert [(c["kind"], c["name"]) for c in report["changes"]] == [("model", "customers")]
    assert report["changes"][0]["downstream"] == [{"metric": "gold_share", "sql": "changes"}]
    [affected] = report["affected"]
    assert (affected["metric"], affected["because"]) == ("gold_share", ["model customers"])
    lines = affected["sql_diff"]["duckdb"].splitlines()
    assert [line for line in lines if line[:1] in "+-" and not line.startswith(("---", "+++"))] == [
        "-        customers.tier",
        "+        UPPER(customers.tier)",
    ]


def test_a_metric_change_reaches_what_is_built_on_it(project: Path) -> None:
    metrics = (project / "metrics.yml").read_text()
    (project / "metrics.yml").write_text(
        metrics.replace(
            "measure: orders.revenue\n", "measure: orders.revenue\n    filter: \"orders.status = 'done'\"\n"
        )
    )
    report = json.loads(diff("main", "-p", "metrics", "-f", "json")[1])
    [revenue] = report["changes"]
    assert revenue["downstream"] == [
        {"metric": "average_order_value", "sql": "changes"},
        {"metric": "gold_share", "sql": "changes"},
    ]
    assert [(a["metric"], a["because"]) for a in report["affected"]] == [
        ("average_order_value", ["metric revenue"]),
        ("gold_share", ["metric revenue"]),
    ]


def test_a_settings_change_that_changes_every_statement(project: Path) -> None:
    settings = (project / "semantic_layer.yml").read_text()
    (project / "semantic_layer.yml").write_text(settings + "limits: {default_rows: 500}\n")
    report = json.loads(diff("main", "-p", "metrics", "-f", "json")[1])
    assert [(c["kind"], c["name"]) for c in report["changes"]] == [("settings", "semantic_layer.yml")]
    assert "+  default_rows: 500" in report["changes"][0]["definition_diff"].splitlines()
    assert [(a["metric"], a["because"]) for a in report["affected"]] == [
        (name, ["settings"]) for name in ("average_order_value", "buyers", "gold_share", "order_count", "revenue")
    ]
    assert "+LIMIT 501" in report["affected"][0]["sql_diff"]["duckdb"].splitlines()


def test_a_policy_change_says_what_it_reaches(project: Path) -> None:
    policies = (project / "policies.yml").read_text()
    (project / "policies.yml").write_text(policies + "    hide: [customers.region]\n")
    code, out, _ = diff("main", "-p", "metrics", "-f", "markdown")
    assert code == 0
    assert out.split("#### ~ policy `viewer` (`metrics/policies.yml:3`)\n")[1].splitlines() == [
        "",
        "Definition:",
        "",
        "```diff",
        "--- main",
        "+++ the working tree",
        "@@ -2,3 +2,5 @@",
        " rows:",
        " - model: customers",
        "   where: region = {{ user.region }}",
        "+hide:",
        "+- customers.region",
        "```",
        "",
        "Reaches: row filters on `customers` (and every model joining them to-one).",
        "Reaches: hides `customers.region`.",
    ]


def test_a_removed_metric_and_what_was_built_on_it(project: Path) -> None:
    metrics = (project / "metrics.yml").read_text()
    start = metrics.index("  - name: gold_share")
    (project / "metrics.yml").write_text(metrics[:start])
    report = json.loads(diff("main", "-p", "metrics", "-f", "json")[1])
    [removed] = report["changes"]
    assert (removed["name"], removed["status"], removed["location"]) == (
        "gold_share",
        "removed",
        "metrics/metrics.yml:33",
    )
    assert removed["sql_diff"]["duckdb"].splitlines()[:3] == ["--- main", "+++ the working tree", "@@ -1,20 +0,0 @@"]


# -- versions that do not load, refs, dialects ---------------------------------------------------
def test_a_head_that_does_not_load_reports_its_errors(project: Path) -> None:
    metrics = (project / "metrics.yml").read_text()
    (project / "metrics.yml").write_text(metrics.replace("denominator: order_count", "denominator: order_cuont"))
    code, out, _ = diff("main", "-p", "metrics", "-f", "markdown")
    assert code == 1
    assert out.splitlines() == [
        "### Semantic layer: `main` → the working tree",
        "",
        "**the working tree does not load: 2 errors.**",
        "",
        "- `metrics/dashboards.yml:6:55`: unknown metric 'order_cuont' — did you mean 'order_count'?",
        "- `metrics/metrics.yml:28:5`: unknown metric 'order_cuont' — did you mean 'order_count'?",
    ]
    report = json.loads(diff("main", "-p", "metrics", "-f", "json")[1])
    assert report["errors"][0]["file"] == "metrics/dashboards.yml" and report["errors"][1:] == [
        {
            "version": "the working tree",
            "file": "metrics/metrics.yml",
            "line": 28,
            "column": 5,
            "message": "unknown metric 'order_cuont' — did you mean 'order_count'?",
        }
    ]


def test_a_base_that_does_not_load_is_reported_too(project: Path) -> None:
    (project / "broken.yml").write_text("metrics:\n  - {name: x, type: simple, measure: orders.nope}\n")
    branch(project.parent, "broken")
    commit(project.parent, "broken")
    (project / "broken.yml").unlink()
    code, out, _ = diff("HEAD", "-p", "metrics", "-f", "markdown")
    assert code == 1
    assert out.splitlines()[2:] == [
        "**HEAD does not load: 1 error.**",
        "",
        "- `metrics/broken.yml:2:29`: unknown measure 'orders.nope' — did you mean 'orders.buyers' or "
        "'orders.revenue' or 'orders.order_count'?",
    ]


def test_an_unknown_ref_and_a_folder_outside_git(project: Path, tmp_path: Path) -> None:
    code, _, err = diff("nope", "-p", "metrics")
    assert code == 1 and "error: 'nope' is not a commit" in err
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "semantic_layer.yml").write_text("name: x\n")
    code, _, err = diff("main", "-p", str(outside))
    assert code == 1 and "is not in a git repository" in err


def test_a_project_at_the_top_of_its_repository(tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = new_repo(tmp_path / "top", db, folder="")
    monkeypatch.chdir(project)
    change(project)
    code, out, _ = diff("main", "-f", "markdown")
    assert code == 0 and out.splitlines() == PULL_REQUEST.replace("metrics/", "").splitlines()


def test_a_project_that_did_not_exist_at_the_base(tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = new_repo(tmp_path / "r", db, folder="metrics")
    moved = project.rename(project.parent / "moved")
    commit(project.parent, "moved")
    monkeypatch.chdir(project.parent)
    code, _, err = diff("HEAD~1", "-p", str(moved))
    assert code == 1 and "'HEAD~1' has no folder 'moved': the project did not exist there" in err


def test_sql_for_each_dialect_asked(project: Path) -> None:
    change(project)
    report = json.loads(diff("main", "-p", "metrics", "-f", "json", "--dialect", "postgres", "--dialect", "mysql")[1])
    assert report["dialects"] == ["postgres", "mysql"]
    aov = report["changes"][1]
    assert sorted(aov["sql_diff"]) == ["mysql", "postgres"]
    assert (
        "-    SUM(CASE WHEN orders.status <> 'cancelled' THEN orders.amount END) AS m0," not in aov["sql_diff"]["mysql"]
    )
    assert "+    COUNT(DISTINCT orders.customer_id) AS m1" in aov["sql_diff"]["postgres"].splitlines()
    code, _, err = diff("main", "-p", "metrics", "--dialect", "dbase")
    assert code == 1 and "unknown dialect 'dbase'" in err


def test_a_report_too_long_for_a_comment_is_cut_between_sections(project: Path) -> None:
    many = "".join(
        f"  - {{name: m{i}, type: simple, measure: orders.buyers, filter: \"orders.status = 's{i}'\"}}\n"
        for i in range(400)
    )
    (project / "metrics.yml").write_text((project / "metrics.yml").read_text() + many)
    commit(project.parent, "many metrics")
    settings = (project / "semantic_layer.yml").read_text()
    (project / "semantic_layer.yml").write_text(settings + "limits: {default_rows: 500}\n")
    code, out, _ = diff("main", "-p", "metrics", "-f", "markdown")
    assert code == 0 and len(out) <= 65_536
    lines = out.splitlines()
    assert lines[-1].endswith(
        "more sections left out: the comment would pass GitHub's limit of 65 536 characters. `semantic-layer diff` prints the whole report.*"
    )
    assert lines[-2] == "" and lines[-3] == "```"  # cut after a whole section
    shown = sum(line.startswith("##### ↳ metric") for line in lines)
    assert (
        50 < shown < 405
        and lines[-1]
        == f"*{405 - shown} more sections left out: the comment would pass GitHub's limit of 65 536 characters. `semantic-layer diff` prints the whole report.*"
    )


def test_conversion_and_retention_metrics_are_reached_through_the_models_they_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CRM's lead_to_win_rate_90d converts leads into won opportunities of another model, and its
    retention_rate follows customers through orders: a change there changes their SQL."""
    import shutil

    from govproject import git

    repo = tmp_path / "crm"
    shutil.copytree(Path(__file__).resolve().parents[1] / "metrics", repo / "metrics")
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "the CRM")
    monkeypatch.chdir(repo)
    pipeline = repo / "metrics" / "pipeline.yml"
    text = pipeline.read_text()
    assert "{name: won_count, agg: count, filter: \"stage = 'won'\"}" in text
    pipeline.write_text(
        text.replace(
            "{name: won_count, agg: count, filter: \"stage = 'won'\"}",
            "{name: won_count, agg: count, filter: \"stage IN ('won', 'closed')\"}",
        )
    )
    report = json.loads(diff("main", "-p", "metrics", "-f", "json")[1])
    assert [(c["kind"], c["name"]) for c in report["changes"]] == [("model", "closed_opportunities")]
    assert [(a["metric"], a["because"]) for a in report["affected"]] == [
        ("lead_to_win_rate_90d", ["model closed_opportunities"]),
        ("won_deals", ["model closed_opportunities"]),
    ]
    # A retention metric reads its activity model's rows: a new time for orders changes its periods.
    pipeline.write_text(text)
    sales = repo / "metrics" / "sales.yml"
    sales.write_text(sales.read_text().replace("    time: signed_at\n", "    time: created_at\n", 1))
    assert "time: created_at" in sales.read_text()
    report = json.loads(diff("main", "-p", "metrics", "-f", "json")[1])
    affected = {a["metric"]: a["because"] for a in report["affected"]}
    assert affected["retention_rate"] == ["model orders"] and affected["churn_rate"] == ["model orders"]


def test_values_of_a_share_per_period_are_compared_by_its_period(crm: sl.Layer) -> None:
    """A retention metric is asked by its own period, and by a dimension in its last final period only
    (its shares do not add up across periods)."""
    from semantic_layer.governance.values import compare_values

    found = compare_values(crm, crm, "retention_rate", dimension="customers.tier")
    ref = "metric_time:quarter"
    by_quarter = crm.run(sl.Query(metrics=("retention_rate",), dimensions=(ref,), order_by=(f"-{ref}",), limit=12)).rows
    assert found.error is None and found.grain == "quarter"
    assert [(r.key, r.old, r.new) for r in found.periods] == [
        (f"{row[ref].year}-Q{(row[ref].month - 1) // 3 + 1}", row["retention_rate"], row["retention_rate"])
        for row in reversed(by_quarter)
    ]
    last = max(row[ref] for row in by_quarter)  # every quarter of the demo has ended a year ago
    assert found.scope == f"in {last.year}-Q{(last.month - 1) // 3 + 1}, the last final period"
    tiers = crm.run(
        sl.Query(
            metrics=("retention_rate",), dimensions=(ref, "customers.tier"), time_range={"start": last.isoformat()}
        )
    ).rows
    assert sorted((r.key, r.new) for r in found.by_dimension) == sorted(
        (row["customers.tier"], row["retention_rate"]) for row in tiers if row["retention_rate"] is not None
    )


# -- dashboards ---------------------------------------------------------------------------------
def test_tiles_that_show_a_change_are_named(project: Path) -> None:
    change(project)
    report = json.loads(diff("main", "-p", "metrics", "-f", "json")[1])
    tiles = {c["name"]: [(t["dashboard"], t["tile"], t["title"]) for t in c["tiles"]] for c in report["changes"]}
    assert tiles == {
        "orders": [("sales_overview", 2, "Order value by month")],  # through average_order_value's SQL
        "average_order_value": [("sales_overview", 2, "Order value by month")],
        "revenue": [
            ("sales_overview", 1, "kpi of revenue"),
            ("sales_overview", 2, "Order value by month"),
            ("sales_overview", 3, "table of revenue, order_count by customers.tier"),
        ],
        "sales": [],
    }


def test_a_model_change_reaches_the_tiles_grouped_by_it(project: Path) -> None:
    models = (project / "models.yml").read_text()
    (project / "models.yml").write_text(
        models.replace("      - {name: tier}", "      - {name: tier, expr: upper(tier)}")
    )
    report = json.loads(diff("main", "-p", "metrics", "-f", "json")[1])
    [customers] = report["changes"]
    assert customers["tiles"] == [
        {"dashboard": "sales_overview", "tile": 3, "title": "table of revenue, order_count by customers.tier"}
    ]
    assert [(a["metric"], a["tiles"]) for a in report["affected"]] == [("gold_share", [])]


def test_a_dashboard_change(project: Path) -> None:
    boards = (project / "dashboards.yml").read_text()
    (project / "dashboards.yml").write_text(boards.replace("title: Order value by month", "title: AOV by month"))
    code, out, _ = diff("main", "-p", "metrics", "-f", "markdown")
    assert code == 0
    assert out.splitlines()[2:] == [
        "1 definition changed (1 dashboard). Compiled SQL (duckdb): 0 metrics change.",
        "",
        "| | kind | name | where | compiled SQL | built on it |",
        "|---|---|---|---|---|---|",
        "| ~ | dashboard | `sales_overview` | `metrics/dashboards.yml:2` |  |  |",
        "",
        "#### ~ dashboard `sales_overview` (`metrics/dashboards.yml:2`)",
        "",
        "Definition:",
        "",
        "```diff",
        "--- main",
        "+++ the working tree",
        "@@ -9,7 +9,7 @@",
        "   dimensions:",
        "   - metric_time",
        "   kind: line",
        "-  title: Order value by month",
        "+  title: AOV by month",
        " - metrics:",
        "   - revenue",
        "   - order_count",
        "```",
    ]
