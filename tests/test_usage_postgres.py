"""The audit log in a PostgreSQL table (`audit: {url: …}` or SEMANTIC_LAYER_AUDIT_URL): processes with
state folders of their own — servers on several machines — append to one table, and `semantic-layer
usage` and lint read all of them. A store that cannot be reached costs the records, never an answer,
and `usage` says which store it could not read. Needs the local PostgreSQL (skips without it, fails
under CI)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from engines import PG_ADMIN, unavailable
from govproject import METRICS, MODELS, SETTINGS, build_data
from typer.testing import CliRunner

import semantic_layer as sl
from semantic_layer.audit import audit_store
from semantic_layer.cli import app
from semantic_layer.governance.lint import lint

pytestmark = pytest.mark.slow  # another database
runner = CliRunner()


@pytest.fixture
def table() -> Iterator[str]:
    """A table of its own per test, dropped afterwards."""
    name = f"audit_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({str(exc).strip()[:80]})")
    yield name
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP TABLE IF EXISTS {}").format(psycopg.sql.Identifier(name)))


def project_with(tmp_path: Path, audit: str) -> Path:
    db = build_data(tmp_path / "gov.duckdb")
    root = tmp_path / "p"
    root.mkdir()
    (root / "semantic_layer.yml").write_text(SETTINGS.replace("{db}", str(db)) + audit)
    (root / "models.yml").write_text(MODELS)
    (root / "metrics.yml").write_text(METRICS)
    return root


def test_processes_with_folders_of_their_own_share_one_table(
    tmp_path: Path, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project_with(tmp_path, f"audit: {{url: '{PG_ADMIN}', table: {table}}}\n")
    for machine, metric in (("a", "revenue"), ("b", "order_count")):  # two state folders: two machines
        with sl.Layer(sl.load(root), state_folder=tmp_path / machine) as layer:
            layer.query(metrics=[metric], where=["customers.region = 'secret-region'"])
            assert layer.audit is not None and layer.audit.flush()
    assert not list((tmp_path / "a").glob("usage.*"))  # nothing in the folders
    with psycopg.connect(PG_ADMIN) as conn:
        rows = conn.execute(psycopg.sql.SQL("SELECT metrics FROM {}").format(psycopg.sql.Identifier(table))).fetchall()
        text = conn.execute(psycopg.sql.SQL("SELECT * FROM {}").format(psycopg.sql.Identifier(table))).fetchall()
    assert sorted(r[0] for r in rows) == ['["order_count"]', '["revenue"]']
    assert "secret-region" not in repr(text)
    monkeypatch.setenv("SEMANTIC_LAYER_STATE_DIR", str(tmp_path / "elsewhere"))
    result = runner.invoke(app, ["usage", "-p", str(root), "--since", "1d", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert '"revenue"' in result.stdout and '"order_count"' in result.stdout
    project = sl.load(root)
    unused = [f.message for f in lint(project) if f.rule == "unused-metric"]
    assert not any("'revenue'" in m or "'order_count'" in m for m in unused) and unused  # the others are unused


def test_the_environment_names_the_table_without_a_password_in_the_project(
    tmp_path: Path, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project_with(tmp_path, f"audit: {{table: {table}}}\n")
    monkeypatch.setenv("SEMANTIC_LAYER_AUDIT_URL", PG_ADMIN)
    project = sl.load(root)
    store = audit_store(tmp_path / "state", project.settings.audit)
    assert store.place == f"table {table} on 127.0.0.1:5432/test" and not store.found()
    with sl.Layer(project, state_folder=tmp_path / "state") as layer:
        layer.query(metrics=["revenue"])
        assert layer.audit is not None and layer.audit.flush()
    assert store.found() and [r.metrics for r in store.records(0)] == [("revenue",)]


def test_an_unreachable_table_costs_the_records_not_the_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1
    root = project_with(tmp_path, f"audit: {{url: '{url}', table: unreachable_audit}}\n")
    caplog.set_level(logging.WARNING, logger="semantic_layer")
    with sl.Layer(sl.load(root), state_folder=tmp_path / "state") as layer:
        assert layer.query(metrics=["revenue"]).rows
        assert layer.audit is not None
        layer.audit.flush()
        assert layer.audit.dropped == 1
    assert any("table unreachable_audit on 127.0.0.1:1/test" in r.getMessage() for r in caplog.records)
    monkeypatch.setenv("SEMANTIC_LAYER_STATE_DIR", str(tmp_path / "state"))
    result = runner.invoke(app, ["usage", "-p", str(root)])
    assert result.exit_code == 1
    assert "cannot read the audit log in table unreachable_audit on 127.0.0.1:1/test" in result.stderr


@pytest.mark.parametrize(
    ("audit", "message"),
    [
        ("{url: 'mysql://root@127.0.0.1/test'}", "url: String should match pattern '^postgres(ql)?://'"),
        ("{url: 'postgresql://x/y', table: 'q; DROP TABLE x'}", "table: String should match pattern"),
    ],
)
def test_a_store_that_is_not_a_postgresql_table_is_refused_at_load(tmp_path: Path, audit: str, message: str) -> None:
    root = project_with(tmp_path, f"audit: {audit}\n")
    with pytest.raises(sl.ValidationError) as info:
        sl.load(root)
    assert message in str(info.value) and "semantic_layer.yml:" in str(info.value)
