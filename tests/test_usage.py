"""The audit log of queries and `semantic-layer usage`: what a record holds (never a filter value),
records from the Python API and the server (with its dashboard header), rotation by size, several
processes appending at once, appends that never wait for the disk, and the usage report."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from govproject import DASHBOARDS, METRICS, MODELS, POLICIES, SETTINGS, build_data
from liveserver import LiveServer
from served import SECRET, gql, run, token
from typer.testing import CliRunner

import semantic_layer as sl
from semantic_layer.audit import AuditLog, audit_log
from semantic_layer.audit_files import LogFiles, log_files
from semantic_layer.audit_record import AuditRecord
from semantic_layer.cli import app
from semantic_layer.governance.usage import parse_since
from server import ServerSettings, create_app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    db = build_data(tmp_path / "gov.duckdb")
    root = tmp_path / "p"
    root.mkdir()
    (root / "semantic_layer.yml").write_text(SETTINGS.replace("{db}", str(db)))
    (root / "models.yml").write_text(MODELS)
    (root / "metrics.yml").write_text(METRICS)
    (root / "dashboards.yml").write_text(DASHBOARDS)
    return root


def records(folder: Path) -> list[AuditRecord]:
    return list(LogFiles(folder).records(0))


# -- records ---------------------------------------------------------------------------------------
def test_a_python_query_is_recorded_without_its_filter_values(project: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with sl.Layer(sl.load(project), state_folder=state) as layer:
        layer.query(
            metrics=["revenue", "order_count"],
            dimensions=["customers.tier", "metric_time:month"],
            where=["customers.region = 'secret-region'", sl.Filter(member="orders.status", op="in", values=["hush"])],
        )
        layer.query(metrics=["buyers"], principal=sl.Principal(("analyst",), {"region": "claimed-region"}))
        assert layer.audit is not None and layer.audit.flush()
    found = records(state)
    assert [(r.source, r.roles, r.metrics, r.dimensions, r.cached) for r in found] == [
        ("python", (), ("revenue", "order_count"), ("customers.tier", "metric_time:month"), False),
        ("python", ("analyst",), ("buyers",), (), False),
    ]
    assert all(r.duration_ms > 0 and abs(r.at - time.time()) < 60 for r in found)
    stored = b"".join(path.read_bytes() for path in state.iterdir())
    assert b"revenue" in stored and not any(s in stored for s in (b"secret-region", b"hush", b"claimed-region"))


def test_alert_evaluations_and_checks_are_not_queries(project: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with sl.Layer(sl.load(project), state_folder=state) as layer:
        layer.check()
        layer.run(sl.Query(metrics=("revenue",)))
        assert layer.audit is not None and layer.audit.flush()
    assert records(state) == []


def test_the_audit_log_can_be_switched_off(project: Path, tmp_path: Path) -> None:
    (project / "semantic_layer.yml").write_text(
        (project / "semantic_layer.yml").read_text() + "audit: {enabled: false}\n"
    )
    with sl.Layer(sl.load(project), state_folder=tmp_path / "state") as layer:
        layer.query(metrics=["revenue"])
        assert layer.audit is None
    assert not (tmp_path / "state").exists() or log_files(tmp_path / "state") == []


def test_files_rotate_by_size_and_the_oldest_go(tmp_path: Path) -> None:
    log = AuditLog(LogFiles(tmp_path, max_bytes=60_000, keep_files=3))
    for batch in range(12):
        for i in range(100):
            log.record(AuditRecord(batch * 1000 + i, "server", ("r",), ("m" * 40,), ("d" * 40,), 1.0, False))
        assert log.flush()
    log.close()
    files = log_files(tmp_path)
    numbers = [int(path.name.split(".")[1]) for path in files]
    assert len(files) == 3 and numbers == list(range(numbers[0], numbers[0] + 3)) and numbers[0] > 1
    kept = records(tmp_path)
    assert len(kept) < 1200 and kept[-1].at == 11099  # the newest are kept, in order
    assert [r.at for r in kept] == sorted(r.at for r in kept)
    assert not list(tmp_path.glob("usage.000001.*"))


WRITER = """
import sys
from pathlib import Path
from semantic_layer.audit import AuditLog
from semantic_layer.audit_files import LogFiles
from semantic_layer.audit_record import AuditRecord
log = AuditLog(LogFiles(Path(sys.argv[1])))
for i in range(300):
    log.record(AuditRecord(float(sys.argv[2]) * 1000 + i, "server", (), ("revenue",), (), 1.0, False))
log.close()
"""


def test_several_processes_append_to_one_log(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(n)], env=env, stderr=subprocess.PIPE)
        for n in range(3)
    ]
    for writer in writers:
        assert writer.wait(60) == 0, writer.stderr.read() if writer.stderr else ""
    found = records(tmp_path)
    assert len(found) == 900 and len({r.at for r in found}) == 900
    conn = sqlite3.connect(log_files(tmp_path)[0])
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_appending_never_waits_for_the_disk(project: Path, tmp_path: Path) -> None:
    """A writer that cannot write (another process holds the database) delays the records, not the queries."""
    state = tmp_path / "state"
    with sl.Layer(sl.load(project), state_folder=state) as layer:
        layer.query(metrics=["revenue"])
        assert layer.audit is not None and layer.audit.flush()
        blocker = sqlite3.connect(log_files(state)[0], isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        started = time.perf_counter()
        for _ in range(50):
            layer.audit_query(sl.Query(metrics=("revenue",)), (), 1.0, False, "python")
        queued = time.perf_counter() - started
        assert not layer.audit.flush(timeout=0.5)  # the writer is waiting for the lock
        blocker.execute("ROLLBACK")
        blocker.close()
        assert layer.audit.flush()
    assert queued < 0.25 and len(records(state)) == 51


# -- the server ------------------------------------------------------------------------------------
def test_the_server_records_roles_dashboards_and_cached_answers(project: Path, tmp_path: Path) -> None:
    (project / "policies.yml").write_text(POLICIES)
    state = tmp_path / "state"
    viewer = token(["viewer"], region="east")
    headers = {"X-Semantic-Layer-Dashboard": "sales overview"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEMANTIC_LAYER_STATE_DIR", str(state))
        with LiveServer(create_app(ServerSettings(project=project, jwt_secret=SECRET))) as live:
            query = {"metrics": ["revenue"], "dimensions": ["customers.tier"]}
            run(live, bearer=viewer, **query)  # the fast path
            inline = '{ query(input: {metrics: ["revenue"], dimensions: ["customers.tier"]}) { rows cached } }'
            answer = httpx.post(
                f"{live.url}/graphql", json={"query": inline}, headers={"Authorization": f"Bearer {viewer}", **headers}
            )
            assert answer.json()["data"]["query"]["cached"] is True
            gql(live, "{ checks { name } }", bearer=token(["admin"]))
            with sl.Client(live.url, token=token(["admin"])) as client:  # /api/arrow
                client.query(metrics=["order_count"])
            assert audit_log(state, sl.load(project).settings.audit).flush()
    found = records(state)
    assert [(r.source, r.roles, r.metrics, r.dimensions, r.dashboard, r.cached) for r in found] == [
        ("server", ("viewer",), ("revenue",), ("customers.tier",), None, False),
        ("server", ("viewer",), ("revenue",), ("customers.tier",), "sales overview", True),
        ("server", ("admin",), ("order_count",), (), None, False),
    ]
    assert b"east" not in b"".join(path.read_bytes() for path in state.iterdir() if "usage" in path.name)


# -- the report ------------------------------------------------------------------------------------
def test_the_usage_report(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("SEMANTIC_LAYER_STATE_DIR", str(state))
    now = time.time()
    log = AuditLog(LogFiles(state))
    for at, roles, metrics, board in [
        (now - 3600, ("admin",), ("revenue",), "sales"),
        (now - 7200, ("admin",), ("revenue", "gold_share"), "sales"),
        (now - 86400, ("viewer",), ("average_order_value",), None),
        (now - 10, (), ("revenue",), None),
        (now - 40 * 86400, ("admin",), ("buyers",), "old"),
    ]:
        log.record(AuditRecord(at, "server", roles, metrics, (), 5.0, False, board))
    log.close()
    result = runner.invoke(app, ["usage", "-p", str(project), "--since", "30d", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["queries"] == 4
    assert [(m["metric"], m["queries"], m["roles"], m["dashboards"]) for m in report["metrics"]] == [
        ("revenue", 3, ["(no role)", "admin"], ["sales"]),
        ("average_order_value", 1, ["viewer"], []),
        ("gold_share", 1, ["admin"], ["sales"]),
    ]
    assert report["roles"] == [
        {"role": "admin", "queries": 2},
        {"role": "(no role)", "queries": 1},
        {"role": "viewer", "queries": 1},
    ]
    assert report["dashboards"] == [{"dashboard": "sales", "queries": 2}]
    assert report["unused"] == ["buyers"]  # order_count is used through average_order_value
    assert report["unused_dashboards"] == ["sales_overview"]  # 'sales' is no dashboard of the project
    table = runner.invoke(app, ["usage", "-p", str(project), "--since", "90d"])
    assert table.exit_code == 0
    assert "5 queries since" in table.stdout and "0 metrics not queried" in table.stdout
    assert "by dashboard (X-Semantic-Layer-Dashboard)" in table.stdout
    assert "dashboards with no query since" in table.stdout and "Sales overview" in table.stdout


def test_usage_without_a_log_says_where_it_looked(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEMANTIC_LAYER_STATE_DIR", str(tmp_path / "empty"))
    result = runner.invoke(app, ["usage", "-p", str(project), "-f", "json"])
    assert result.exit_code == 0
    assert f"warning: no audit log in {tmp_path / 'empty'}" in result.stderr
    assert json.loads(result.stdout)["unused"] == [
        "average_order_value",
        "buyers",
        "gold_share",
        "order_count",
        "revenue",
    ]
    bad = runner.invoke(app, ["usage", "-p", str(project), "--since", "soon"])
    assert bad.exit_code == 1 and "--since 'soon' is not a window like '90d'" in bad.stderr


def test_windows() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert parse_since("90d", now) == now - timedelta(days=90)
    assert parse_since("12h", now) == now - timedelta(hours=12)
    assert parse_since("2w", now) == now - timedelta(weeks=2)
    assert parse_since("30 days", now) == now - timedelta(days=30)
    assert parse_since("2026-01-15", now) == datetime(2026, 1, 15, tzinfo=UTC)


def test_a_folder_that_cannot_be_written_costs_the_records_not_the_queries(
    project: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with sl.Layer(sl.load(project), state_folder=blocked / "state") as layer:
        for _ in range(3):
            assert layer.query(metrics=["revenue"]).rows == [{"revenue": pytest.approx(580.0)}]
            assert layer.audit is not None
            layer.audit.flush()
        assert layer.audit.dropped == 3
    assert [r.getMessage() for r in caplog.records if "audit log" in r.getMessage()][:1] == [
        f"audit log: records not written to {(blocked / 'state').resolve()} (1 so far): [Errno 20] Not a directory: "
        f"'{(blocked / 'state').resolve()}'"
    ]
    assert sum("audit log" in r.getMessage() for r in caplog.records) == 1  # once a minute, not once a record
