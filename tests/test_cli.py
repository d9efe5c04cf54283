"""The command line: exit codes, stdout for data, stderr for errors."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli as run
from typer.testing import CliRunner

import semantic_layer as sl
from semantic_layer.cli import app, display

runner = CliRunner()


def test_validate_prints_a_summary(shop_project: Path) -> None:
    code, out, _ = run("validate", "--project", str(shop_project))
    assert code == 0
    project = sl.load(shop_project)
    dimensions = sum(len(m.dimensions) for m in project.models.values())
    measures = sum(len(m.measures) for m in project.models.values())
    counts = (
        f"{len(project.models)} models, {dimensions} dimensions, {measures} measures, {len(project.metrics)} metrics"
    )
    assert counts in out and len(project.models) >= 9


def test_validate_with_warehouse_checks_the_database(shop_project: Path) -> None:
    code, out, _ = run("validate", "--project", str(shop_project), "--warehouse")
    assert code == 0 and "warehouse checked" in out


def test_validate_with_warehouse_checks_the_columns_of_row_policies(tmp_path: Path, shop_project: Path) -> None:
    """A column the project declares (so loading passes) but the table lacks fails every query of the role."""
    root = shutil.copytree(shop_project, tmp_path / "p")
    models = (root / "models.yml").read_text()
    (root / "models.yml").write_text(
        models.replace(
            "    dimensions:\n      - name: name\n\n  - name: sales_reps",
            "    dimensions:\n      - name: name\n      - name: nmae\n\n  - name: sales_reps",
        )
    )
    (root / "policies.yml").write_text(
        "policies:\n  - role: rep\n    rows:\n      - model: regions\n        where: 'nmae = {{ user.region }}'\n"
    )
    assert run("validate", "--project", str(root))[0] == 0
    code, out, err = run("validate", "--project", str(root), "--warehouse")
    assert code == 1 and out == ""
    assert (
        "policies.yml:5:9: row policy of role 'rep' on 'regions': column 'nmae' is not in table 'regions' "
        "— did you mean 'name'?"
    ) in err
    assert "models.yml:112:5: model 'regions': column 'nmae' is not in table 'regions'" in err


def test_validate_lists_errors_with_positions_and_exits_1(tmp_path: Path, shop_project: Path) -> None:
    shutil.copytree(shop_project, tmp_path / "p")
    (tmp_path / "p" / "broken.yml").write_text("metrics:\n  - {name: x, type: simple, measure: orders.revnue}\n")
    code, out, err = run("validate", "--project", str(tmp_path / "p"))
    assert code == 1 and out == ""
    assert "broken.yml:2:" in err and "did you mean 'orders.revenue'" in err


def test_errors_print_their_position_as_written(tmp_path: Path, shop_project: Path) -> None:
    """`:100:` is an emoji code to rich: positions must reach the terminal as text."""
    shutil.copytree(shop_project, tmp_path / "p")
    (tmp_path / "p" / "broken.yml").write_text(
        "#\n" * 98 + "metrics:\n  - {name: x, type: simple, measure: orders.nope}\n"
    )
    code, _, err = run("validate", "--project", str(tmp_path / "p"))
    assert code == 1 and "broken.yml:100:29: unknown measure 'orders.nope'" in err


def test_validate_refuses_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    code, out, err = run("validate", "--project", str(tmp_path))
    assert code == 1 and out == ""
    assert f"no semantic_layer.yml in {tmp_path.resolve()} — is this the project folder?" in err


def test_list_metrics_as_json(shop_project: Path) -> None:
    code, out, _ = run("list", "metrics", "--project", str(shop_project), "--format", "json")
    assert code == 0
    names = [m["name"] for m in json.loads(out)]
    assert "revenue" in names and len(names) == len(sl.load(shop_project).metrics)


def test_list_dimensions_and_models(shop_project: Path) -> None:
    assert "customers.segment" in run("list", "dimensions", "-p", str(shop_project))[1]
    assert "owner_rep (many_to_one)" in run("list", "models", "-p", str(shop_project), "-f", "csv")[1]


def test_query_json_is_machine_readable(shop_project: Path) -> None:
    code, out, _ = run(
        "query",
        "-p",
        str(shop_project),
        "-m",
        "revenue",
        "-m",
        "order_count",
        "-d",
        "metric_time:month",
        "--start",
        "2024-01-01",
        "--end",
        "2024-04-01",
        "-f",
        "json",
    )
    assert code == 0
    payload = json.loads(out)
    assert [r["metric_time:month"] for r in payload["rows"]] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert all(isinstance(r["revenue"], float) and isinstance(r["order_count"], int) for r in payload["rows"])
    assert payload["columns"][0] == {"name": "metric_time:month", "kind": "dimension", "type": "date", "format": None}
    assert payload["sql"].startswith("WITH")


def test_query_csv(shop_project: Path) -> None:
    code, out, _ = run("query", "-p", str(shop_project), "-m", "order_count", "-d", "orders.status", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["orders.status"] for r in rows] == ["cancelled", "complete", "pending", "returned"]


def test_query_table_output(shop_project: Path) -> None:
    code, out, _ = run("query", "-p", str(shop_project), "-m", "revenue", "-d", "customers.segment", "-o", "-revenue")
    assert code == 0 and "enterprise" in out and "rows in" in out


def test_query_error_goes_to_stderr_with_exit_1(shop_project: Path) -> None:
    code, out, err = run("query", "-p", str(shop_project), "-m", "revnue", "-f", "json")
    assert code == 1 and out == ""
    assert "[UNKNOWN_MEMBER] unknown metric 'revnue' — did you mean 'revenue'" in err


def test_compile_prints_sql_for_a_dialect(shop_project: Path) -> None:
    code, out, _ = run(
        "compile",
        "-p",
        str(shop_project),
        "-m",
        "average_order_value",
        "-d",
        "owner_rep.team",
        "-w",
        "customers.segment = 'smb'",
        "--dialect",
        "postgres",
    )
    assert code == 0 and "DOUBLE PRECISION" in out and "'smb'" in out


def test_compile_lays_out_the_statement_it_compiled(shop_project: Path) -> None:
    """Pretty printing comes from the compiled tree: re-parsing MariaDB's text would turn its MEDIAN
    window into an aggregate."""
    import sqlglot

    code, out, _ = run(
        "compile", "-p", str(shop_project), "-m", "median_amount", "-d", "customers.segment", "--dialect", "mariadb"
    )
    assert code == 0 and "MEDIAN(CAST(r.__in0 AS DOUBLE)) OVER (PARTITION BY" in out and "\n  " in out
    code, out, _ = run(
        "compile",
        "-p",
        str(shop_project),
        "-m",
        "revenue",
        "-d",
        "metric_time:month",
        "-w",
        "customers.segment = 'smb'",
    )
    plain = layer_sql(
        shop_project, metrics=["revenue"], dimensions=["metric_time:month"], where=["customers.segment = 'smb'"]
    )
    assert code == 0 and sqlglot.parse_one(out, read="duckdb") == sqlglot.parse_one(plain, read="duckdb")


def layer_sql(project: Path, **query: object) -> str:
    import semantic_layer as sl

    with sl.connect(project) as layer:
        return layer.compile(**query)  # type: ignore[arg-type]


def test_the_console_script_is_installed(shop_project: Path) -> None:
    exe = shutil.which("semantic-layer") or f"{sys.executable} -m semantic_layer"
    proc = subprocess.run(
        [*exe.split(), "query", "-p", str(shop_project), "-m", "order_count", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"][0]["order_count"] > 1000


@pytest.mark.parametrize(
    ("value", "fmt", "shown"),
    [
        (0.2310862, "percent", "23.1%"),
        (105375291.75, "currency", "105,375,291.75"),
        (8077.0, "integer", "8,077"),
        (5520, "duration_seconds", "1h 32m"),
        (90, "duration_seconds", "1m"),
        (3.82718, None, "3.827"),
        ("east", "percent", "east"),
        (None, "currency", None),
    ],
)
def test_table_output_formats_values_by_metric_format(value: object, fmt: str | None, shown: object) -> None:
    assert display(value, fmt) == shown


def test_docs_writes_a_catalogue_folder_and_rewrites_a_readme_section(tmp_path: Path, shop_project: Path) -> None:
    code, _, _ = run("docs", "-p", str(shop_project), "--output", str(tmp_path / "site"))
    assert code == 0 and "| `revenue` |" in (tmp_path / "site" / "metrics.md").read_text()
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- catalog:start -->\nstale\n<!-- catalog:end -->\noutro\n")
    assert run("docs", "-p", str(shop_project), "--readme", str(readme))[0] == 0
    text = readme.read_text()
    assert "stale" not in text and "| `revenue` |" in text and text.endswith("outro\n")
    (tmp_path / "plain.md").write_text("no markers\n")
    code, _, err = run("docs", "-p", str(shop_project), "--readme", str(tmp_path / "plain.md"))
    assert code == 1 and "no <!-- catalog:start -->" in err


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:6379", "is not a Redis URL"),
        ("redis://:hunter2@127.0.0.1:notaport/0", "cannot be read"),
    ],
)
def test_serve_refuses_a_cache_url_redis_cannot_read(
    shop_project: Path, monkeypatch: pytest.MonkeyPatch, url: str, says: str
) -> None:
    monkeypatch.setenv("SEMANTIC_LAYER_CACHE_URL", url)
    code, _, err = run("serve", "-p", str(shop_project), "--port", "1")
    assert code == 1 and "SEMANTIC_LAYER_CACHE_URL" in err and says in err and "redis://[:password@]host" in err
    assert "hunter2" not in err and "Traceback" not in err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_keeps_idle_connections_longer_than_proxies_do(
    shop_project: Path, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    for name in ("SEMANTIC_LAYER_PROJECT", "SEMANTIC_LAYER_RELOAD", "SEMANTIC_LAYER_ALLOW_WIDENING"):
        monkeypatch.setenv(name, "")  # restored after the test: the workers' setup writes them
    code, _, err = run("serve", "-p", str(shop_project), "--port", "1", "--workers", workers)
    assert code == 0, err
    assert seen["timeout_keep_alive"] == 75 and seen["port"] == 1


def test_serve_refuses_to_start_on_a_broken_project(tmp_path: Path, shop_project: Path) -> None:
    shutil.copytree(shop_project, tmp_path / "p")
    (tmp_path / "p" / "broken.yml").write_text("metrics:\n  - {name: x, type: simple, measure: orders.nope}\n")
    code, _, err = run("serve", "-p", str(tmp_path / "p"), "--port", "1")
    assert code == 1 and "broken.yml:2:" in err and "not valid" in err


def test_a_cut_answer_is_flagged_on_stderr_and_in_json(tmp_path: Path, shop_db: Path) -> None:
    from helpers import make_project

    root = make_project(tmp_path / "p", shop_db, limits="{default_rows: 3, max_rows: 100}")
    csv_run = runner.invoke(app, ["query", "-p", str(root), "-m", "order_count", "-d", "metric_time:day", "-f", "csv"])
    assert csv_run.exit_code == 0 and len(csv_run.stdout.strip().splitlines()) == 1 + 3
    assert "cut at 3 rows" in csv_run.stderr
    json_run = runner.invoke(
        app, ["query", "-p", str(root), "-m", "order_count", "-d", "metric_time:day", "-f", "json"]
    )
    assert json.loads(json_run.stdout)["truncated"] is True


# -- alerts ---------------------------------------------------------------------------------------
@pytest.fixture
def alerting(tmp_path: Path, shop_db: Path) -> Path:
    from alertproject import alert_project

    return alert_project(tmp_path / "p", shop_db)


def test_alerts_print_a_table_and_exit_2_when_a_metric_is_critical(alerting: Path) -> None:
    code, out, err = run("alerts", "-p", str(alerting), "--end", "2025-01-01")
    assert code == 2 and err == ""
    assert "3 alerts" in out
    row = next(line for line in out.splitlines() if "monthly_revenue" in line)
    assert "critical" in row and "38,661.98" in row and "below 45,000.00 (critical)" in row and "2024-12" in row


def test_alerts_exit_0_without_a_critical_metric_and_print_json(alerting: Path) -> None:
    code, out, _ = run(
        "alerts", "-p", str(alerting), "-m", "order_value", "-m", "weekly_tickets", "--end", "2024-07-08", "-f", "json"
    )
    assert code == 0
    found = json.loads(out)
    assert [(a["metric"], a["level"], a["period"]) for a in found] == [
        ("order_value", "ok", "2024-04-01"),
        ("weekly_tickets", "ok", "2024-07-01"),
    ]
    code, out, _ = run(
        "alerts",
        "-p",
        str(alerting),
        "-m",
        "monthly_revenue",
        "--grain",
        "quarter",
        "--end",
        "2025-01-01",
        "-f",
        "json",
    )
    assert (
        code == 0 and json.loads(out)[0]["message"] == "monthly_revenue 149,902.36 is within its thresholds for 2024-Q4"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["-m", "monthly_revenu"],
            "error: [UNKNOWN_MEMBER] unknown metric 'monthly_revenu' — did you mean 'monthly_revenue'",
        ),
        (["-m", "revenue"], "error: [VALIDATION] metric 'revenue' has no thresholds"),
        (["--grain", "fortnight"], "error: [VALIDATION] unknown grain 'fortnight'"),
        (
            ["--notify"],
            "error: --notify needs webhooks: add 'alerts: {webhooks: [{url: …, format: …}]}' to semantic_layer.yml",
        ),
        (
            ["--notify", "-m", "order_value"],
            "error: --notify evaluates every metric with thresholds as the server does",
        ),
    ],
)
def test_alerts_exit_1_on_errors(alerting: Path, args: list[str], says: str) -> None:
    code, out, err = run("alerts", "-p", str(alerting), *args)
    assert code == 1 and out == "" and says in err


def test_alerts_notify_sends_each_change_once(tmp_path: Path, shop_db: Path) -> None:
    """For cron: each run sends the levels that changed since the last one (none the second time)."""
    from alertproject import alert_project
    from receiver import Receiver

    with Receiver() as receiver:
        root = alert_project(
            tmp_path / "p",
            shop_db,
            settings=f"alerts:\n  webhooks:\n    - {{url: '{receiver.url('/hook')}', format: slack}}\n",
        )
        code, out, err = run("alerts", "-p", str(root), "--notify", "-f", "json")
        raised = [a for a in json.loads(out) if a["level"] != "ok"]
        assert code == 2 and raised  # monthly revenue of January 2025, the last month with data, is critical
        assert len(receiver.posts) == len(raised) == err.count("sent: ")
        assert {body["text"].split(" ")[1] for _, body in receiver.posts} == {a["metric"] for a in raised}
        code, out, err = run("alerts", "-p", str(root), "--notify")
        assert code == 2 and "sent" not in err and len(receiver.posts) == len(raised)


def test_list_metrics_shows_thresholds_in_the_metric_format(alerting: Path) -> None:
    code, out, _ = run("list", "metrics", "-p", str(alerting), "-f", "json")
    shown = {m["name"]: m["thresholds"] for m in json.loads(out)}
    assert code == 0 and shown["revenue"] == ""
    assert shown["monthly_revenue"] == "warn < 55,000.00, critical < 45,000.00 per month"
    assert shown["order_value"] == "warn < 510 or > 535 per quarter"
    assert shown["weekly_tickets"] == "warn > 6, critical > 7 per week"


def test_the_governance_commands_start_without_arrow_or_the_engines() -> None:
    """lint, diff and docs run in CI on every pull request: their start must not pay for Arrow,
    the database drivers or the HTTP client, which only query-running commands need."""
    code = (
        "import sys, semantic_layer.cli; print(sorted(m for m in ('pyarrow', 'duckdb', 'httpx') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
