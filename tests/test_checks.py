"""Data checks (`checks:` on models): each kind against hand-written SQL on DuckDB (the same cases run
on PostgreSQL and MariaDB in test_checks_engines.py), the freshness boundaries, the warnings answers
carry after a failed check, the command, the GraphQL field, and the load-time errors."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from checkcases import CASES, CHECKED_AT, CheckCase, verify
from checkdata import NEWEST_DAY_STARTS, NEWEST_LOAD, build
from helpers import FakeClock
from liveserver import LiveServer
from served import gql
from typer.testing import CliRunner

import semantic_layer as sl
from semantic_layer.check_state import CheckState
from semantic_layer.checks import CheckResult
from semantic_layer.cli import app
from server import ServerSettings, create_app
from server.check_runs import SharedCheckRuns

runner = CliRunner()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("checks"))


@pytest.fixture
def layer(project: Path, tmp_path: Path) -> Iterator[sl.Layer]:
    with sl.Layer(sl.load(project), state_folder=tmp_path / "state") as lay:
        yield lay


@pytest.fixture(scope="module")
def results(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], CheckResult]:
    with sl.Layer(sl.load(project), state_folder=tmp_path_factory.mktemp("state")) as lay:
        return {(r.model, r.name): r for r in lay.check(now=CHECKED_AT)}


@pytest.fixture(scope="module")
def hand_layer(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sl.Layer]:
    with sl.Layer(sl.load(project), state_folder=tmp_path_factory.mktemp("state")) as lay:
        yield lay


@pytest.mark.parametrize("case", CASES, ids=[f"{c.model}.{c.name}" for c in CASES])
def test_each_check_finds_what_hand_written_sql_finds(
    results: dict[tuple[str, str], CheckResult], hand_layer: sl.Layer, case: CheckCase
) -> None:
    verify(hand_layer, case, results[(case.model, case.name)])


def test_every_check_of_the_project_has_a_case(results: dict[tuple[str, str], CheckResult]) -> None:
    assert sorted(results) == sorted((c.model, c.name) for c in CASES)


def test_messages_say_what_failed(results: dict[tuple[str, str], CheckResult]) -> None:
    messages = {f"{m}.{n}": r.message for (m, n), r in results.items()}
    assert messages["items.code_present"] == "1 row with a NULL code"
    assert messages["items.code_unique"] == "2 values of code held by several rows"
    assert messages["items.id_unique"] == "no values of item_id held by several rows"
    assert messages["items.known_status"] == "3 rows whose status is not an accepted value"
    assert messages["items.at_least_nine"] == "8 rows, fewer than min 9"
    assert messages["items.one_to_seven"] == "8 rows, more than max 7"
    assert messages["items.loaded_daily"] == "the newest loaded_at is 1 day old"
    assert messages["items.days_recent"] == "the newest day is 20 hours old"
    assert messages["empty_items.fresh"] == "loaded_at has no value (no rows, or all NULL): no data to be fresh"
    assert messages["items.qty_at_least_two"] == "2 rows returned by the check's query"


@pytest.mark.parametrize(
    ("name", "newest", "max_age"),
    [("loaded_daily", NEWEST_LOAD, timedelta(days=1)), ("days_recent", NEWEST_DAY_STARTS, timedelta(days=2))],
)
def test_freshness_fails_one_second_past_max_age(
    layer: sl.Layer, name: str, newest: object, max_age: timedelta
) -> None:
    """A timestamp is a UTC instant; a date starts at midnight in the project's time zone (Asia/Shanghai)."""
    at_limit = newest.replace(tzinfo=CHECKED_AT.tzinfo) + max_age  # type: ignore[attr-defined]
    by_name = {r.name: r for r in layer.check(["items"], now=at_limit)}
    assert by_name[name].status == "pass"
    by_name = {r.name: r for r in layer.check(["items"], now=at_limit + timedelta(seconds=1))}
    assert by_name[name].status == "fail" and "older than max_age" in by_name[name].message


def test_statements_are_built_per_engine_dialect(results: dict[tuple[str, str], CheckResult]) -> None:
    assert results[("items", "code_present")].sql == "SELECT COUNT(*) AS failing FROM items AS items WHERE code IS NULL"
    assert results[("odd_items", "code_present")].sql == (
        "SELECT COUNT(*) AS failing FROM (SELECT item_id, code FROM items WHERE qty IS NULL OR qty > 3) AS odd_items "
        "WHERE code IS NULL"
    )
    assert results[("items", "known_status")].sql == (
        "SELECT COUNT(*) AS failing FROM items AS items WHERE NOT status IS NULL AND NOT status IN ('new', 'done')"
    )


# -- answers after a failed check ------------------------------------------------------------------
def test_answers_warn_about_models_whose_checks_failed(layer: sl.Layer) -> None:
    layer.check(["odd_items", "clean_items"], now=CHECKED_AT)
    assert layer.query(metrics=["clean_count"]).warnings == []
    assert layer.query(metrics=["item_count"]).warnings == []  # its model's checks have not run
    with pytest.warns(sl.FailedCheckWarning) as raised:
        warnings = layer.query(metrics=["odd_share"]).warnings  # a ratio reading odd_items and clean_items
    assert [str(w.message) for w in raised if w.category is sl.FailedCheckWarning] == warnings
    assert warnings == [
        "model 'odd_items' failed its data check 'code_present' (1 row with a NULL code; checked 2026-03-05 "
        "12:00 UTC): numbers read from it may be wrong",
        "model 'odd_items' failed its data check 'code_unique' (1 value of code held by several rows; checked "
        "2026-03-05 12:00 UTC): numbers read from it may be wrong",
    ]


def test_a_passing_run_clears_the_warning_and_other_processes_see_both(layer: sl.Layer, project: Path) -> None:
    layer.check(["odd_items"], now=CHECKED_AT)
    other = sl.Layer(sl.load(project), state_folder=layer.state_folder)  # another process, the same state folder
    with pytest.warns(sl.FailedCheckWarning):
        assert len(other.query(metrics=["odd_count"]).warnings) == 2
    passed = [
        CheckResult("odd_items", name, "not_null", "pass", 0, "fine", CHECKED_AT)
        for name in ("code_present", "code_unique")
    ]
    layer.check_state.record(passed)
    assert other.query(metrics=["odd_count"]).warnings == []
    other.close()


def test_a_check_no_longer_defined_warns_no_more(layer: sl.Layer, project: Path, tmp_path: Path) -> None:
    layer.check(["odd_items"], now=CHECKED_AT)
    changed = shutil.copytree(project, tmp_path / "changed")
    models = (
        (changed / "models.yml")
        .read_text()
        .replace(
            "      - {name: code_present, not_null: code}\n      - {name: code_unique, unique: code}\n"
            "  - name: clean_items",
            "      - {name: code_unique, unique: code}\n  - name: clean_items",
        )
    )
    (changed / "models.yml").write_text(models)
    renamed = sl.Layer(sl.load(changed), state_folder=layer.state_folder)
    with pytest.warns(sl.FailedCheckWarning):
        assert [w.split("'")[3] for w in renamed.query(metrics=["odd_count"]).warnings] == ["code_unique"]


def test_a_cut_answer_keeps_its_warning_last(project: Path, tmp_path: Path) -> None:
    """The check's warning comes before the cut's, which Python warnings raise as TruncatedResultWarning."""
    root = shutil.copytree(project, tmp_path / "small")
    settings = (root / "semantic_layer.yml").read_text()
    (root / "semantic_layer.yml").write_text(settings + "limits: {default_rows: 1}\n")
    with sl.Layer(sl.load(root), state_folder=tmp_path / "state") as small:
        failed = sum(r.failed for r in small.check(["items"], now=CHECKED_AT))
        with pytest.warns(sl.SemanticLayerWarning) as raised:
            result = small.query(metrics=["item_count"], dimensions=["items.code"])
    kinds = [w.category.__name__ for w in raised if issubclass(w.category, sl.SemanticLayerWarning)]
    assert failed == 8 and kinds == ["FailedCheckWarning"] * failed + ["TruncatedResultWarning"]
    assert result.truncated and result.warnings[-1].startswith("the answer was cut at 1 rows")


def test_the_state_file_holds_no_rows(layer: sl.Layer) -> None:
    layer.check(["items"], now=CHECKED_AT)
    text = (layer.state_folder / "checks.json").read_text()
    assert "code_unique" in text and "occurrences" not in text and "weird" not in text


def test_an_unwritable_state_folder_keeps_the_state_in_memory(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    state = CheckState(blocked / "state")
    state.record([CheckResult("m", "c", "not_null", "fail", 3, "3 rows", CHECKED_AT)])
    assert [f.name for f in state.failures(["m"], {("m", "c")})] == ["c"]


# -- the command -----------------------------------------------------------------------------------
def test_the_command_exits_2_on_a_failure_and_0_when_all_pass(project: Path) -> None:
    result = runner.invoke(app, ["check", "-p", str(project), "--model", "clean_items"])
    assert result.exit_code == 0, result.output
    assert "1 check, 0 failed" in result.stdout and "id_present" in result.stdout
    result = runner.invoke(app, ["check", "-p", str(project), "-m", "odd_items", "--format", "json"])
    assert result.exit_code == 2
    found = json.loads(result.stdout)
    assert [(r["name"], r["status"], r["failing"], r["sample"]) for r in found] == [
        ("code_present", "fail", 1, [{"item_id": 4, "code": None}]),
        ("code_unique", "fail", 1, [{"code": "C", "occurrences": 2}]),
    ]
    assert set(found[0]) == {
        "model",
        "name",
        "kind",
        "status",
        "failing",
        "observed",
        "message",
        "sample",
        "sql",
        "checked_at",
    }


def test_the_command_exits_1_when_a_check_cannot_run(project: Path, tmp_path: Path) -> None:
    broken = shutil.copytree(project, tmp_path / "broken")
    models = (broken / "models.yml").read_text()
    (broken / "models.yml").write_text(
        models.replace("{name: id_present, not_null: item_id}", "{name: x, not_null: nope}")
    )
    result = runner.invoke(app, ["check", "-p", str(broken), "-m", "clean_items"])
    assert result.exit_code == 1
    assert "error" in result.stdout and "the check's statement failed" in result.stdout


def test_the_command_refuses_an_unknown_model(project: Path) -> None:
    result = runner.invoke(app, ["check", "-p", str(project), "-m", "itmes"])
    assert result.exit_code == 1
    assert "unknown model 'itmes' — did you mean 'items'?" in result.stderr


# -- GraphQL ---------------------------------------------------------------------------------------
CHECKS = "query C($models: [String!]) { checks(models: $models) { model name status failing sample checkedAt } }"


def test_the_checks_field_runs_them(project: Path) -> None:
    with LiveServer(create_app(ServerSettings(project=project))) as live:
        body = gql(live, CHECKS, {"models": ["odd_items"]}, bearer=None)
        assert [(c["name"], c["status"], c["failing"], c["sample"]) for c in body["data"]["checks"]] == [
            ("code_present", "fail", 1, [{"item_id": 4, "code": None}]),
            ("code_unique", "fail", 1, [{"code": "C", "occurrences": 2}]),
        ]
        answer = gql(live, '{ query(input: {metrics: ["odd_count"]}) { warnings } }', bearer=None)
        assert len(answer["data"]["query"]["warnings"]) == 2
        unknown = gql(live, CHECKS, {"models": ["nope"]}, bearer=None)
        assert unknown["errors"][0]["extensions"]["code"] == "UNKNOWN_MEMBER"
        with sl.Client(live.url) as client:  # Arrow answers carry them too, ahead of their own
            with pytest.warns(sl.FailedCheckWarning):
                remote = client.query(metrics=["odd_count"])
            assert remote.warnings == answer["data"]["query"]["warnings"]
            assert client.query(metrics=["clean_count"]).warnings == []
            with pytest.warns(sl.FailedCheckWarning):
                assert sum(batch.num_rows for batch in client.iter_batches(metrics=["odd_count"])) == 1


def test_a_restricted_role_sees_no_sample_rows(project: Path, tmp_path: Path) -> None:
    from served import SECRET, token

    root = shutil.copytree(project, tmp_path / "p")
    (root / "policies.yml").write_text("policies:\n  - role: admin\n  - role: viewer\n    hide: [items.code]\n")
    with LiveServer(create_app(ServerSettings(project=root, jwt_secret=SECRET))) as live:
        admin = gql(live, CHECKS, {"models": ["odd_items"]}, bearer=token(["admin"]))
        viewer = gql(live, CHECKS, {"models": ["odd_items"]}, bearer=token(["viewer"]))
    assert admin["data"]["checks"][0]["sample"] == [{"item_id": 4, "code": None}]
    assert [c["sample"] for c in viewer["data"]["checks"]] == [[], []]
    assert [c["failing"] for c in viewer["data"]["checks"]] == [1, 1]


def test_repeated_requests_share_one_run_per_interval(project: Path) -> None:
    """Any caller may ask for checks, and each reads whole models: asked again within the interval, the
    answer is the last run's (the same checkedAt), not a new scan of the warehouse."""
    with LiveServer(create_app(ServerSettings(project=project, checks_interval=3600))) as live:
        first = gql(live, CHECKS, {"models": ["odd_items"]}, bearer=None)["data"]["checks"]
        again = gql(live, CHECKS, {"models": ["odd_items"]}, bearer=None)["data"]["checks"]
        everything = gql(live, CHECKS, {}, bearer=None)["data"]["checks"]
        repeated = gql(live, CHECKS, {"models": ["odd_items"] * 200}, bearer=None)["data"]["checks"]
    assert [c["checkedAt"] for c in again] == [c["checkedAt"] for c in first]
    odd = [c for c in everything if c["model"] == "odd_items"]
    assert [c["checkedAt"] for c in odd] == [c["checkedAt"] for c in first]  # only the other models ran
    assert len(repeated) == len(first)  # a model named many times is answered once, not once per mention


def test_callers_at_once_wait_for_one_run_and_a_later_caller_past_the_interval_runs_again(layer: sl.Layer) -> None:
    clock = FakeClock()
    shared = SharedCheckRuns(60, clock.monotonic)
    runs: list[list[str]] = []

    async def run(models: list[str]) -> list[CheckResult]:
        runs.append(models)
        await asyncio.sleep(0.01)  # the others arrive while it runs
        return layer.check(models, now=CHECKED_AT)

    async def scenario() -> list[list[CheckResult]]:
        asked = [shared.results(layer, ["odd_items"], run) for _ in range(5)]
        answers = await asyncio.gather(*asked, shared.results(layer, None, run))
        clock.advance(59)
        answers.append(await shared.results(layer, ["odd_items"], run))
        clock.advance(2)
        answers.append(await shared.results(layer, ["odd_items"], run))
        return answers

    answers = asyncio.run(scenario())
    models = list(layer.project.graph.models)
    assert runs == [["odd_items"], [m for m in models if m != "odd_items"], ["odd_items"]]
    assert all(a == answers[0] for a in answers[1:5]) and answers[6] == answers[0]
    assert [r.model for r in answers[5]] == [r.model for r in layer.check(now=CHECKED_AT)]
    assert [(r.name, r.status) for r in answers[7]] == [(r.name, r.status) for r in answers[0]]


def test_a_failed_run_reaches_every_waiter_and_the_next_caller_tries_again(layer: sl.Layer) -> None:
    shared = SharedCheckRuns(60)
    calls = 0

    async def run(models: list[str]) -> list[CheckResult]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        if calls == 1:
            raise sl.ExecutionError("the warehouse went away")
        return layer.check(models, now=CHECKED_AT)

    async def scenario() -> None:
        failed = await asyncio.gather(
            *(shared.results(layer, ["odd_items"], run) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(f, sl.ExecutionError) for f in failed)
        assert len(await shared.results(layer, ["odd_items"], run)) == 2
        with pytest.raises(sl.UnknownMemberError, match="unknown model 'nope'"):
            await shared.results(layer, ["nope"], run)

    asyncio.run(scenario())
    assert calls == 2


# -- load-time errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            "{name: two, not_null: code, unique: code}",
            "models.yml:9:9: 'items': checks: check 'two' needs exactly one of freshness, not_null, unique, accepted_values, "
            "row_count, sql, not 2 (not_null, unique)",
        ),
        (
            "{name: none}",
            "models.yml:9:9: 'items': checks: check 'none' needs exactly one of freshness, not_null, unique, "
            "accepted_values, row_count, sql",
        ),
        (
            "{name: expression, not_null: 'lower(code)'}",
            "models.yml:9:28: check 'expression': 'lower(code)' is not a column name of the model's own source "
            "(write the bare column)",
        ),
        (
            "{name: query, sql: 'qty < 2'}",
            "models.yml:9:23: check 'query': model sql 'qty < 2' must be a SELECT query",
        ),
        (
            "{name: fresh, freshness: {column: t, max_age: soon}}",
            "models.yml:9:46: 'items': max_age: 'soon' is not a duration",
        ),
        (
            "{name: rows, row_count: {min: 5, max: 2}}",
            "models.yml:9:22: 'items': row_count: row_count max (2) is below min (5)",
        ),
        (
            "{name: values, accepted_values: {column: code, values: []}}",
            "models.yml:9:56: 'items': values: List should have at least 1 item",
        ),
        (
            "{name: code_present, not_null: code}",
            "models.yml:9:10: check 'code_present' is defined twice in model 'items'",
        ),
    ],
)
def test_checks_that_cannot_be_built_are_refused_at_load(tmp_path: Path, check: str, message: str) -> None:
    (tmp_path / "semantic_layer.yml").write_text("name: t\n")
    (tmp_path / "models.yml").write_text(
        "models:\n  - name: items\n    table: items\n    primary_key: item_id\n"
        "    measures: [{name: n, agg: count}]\n    checks:\n"
        "      - {name: code_present, not_null: code}\n      - {name: other, unique: code}\n"
        f"      - {check}\n"
    )
    with pytest.raises(sl.ValidationError) as caught:
        sl.load(tmp_path)
    shown = [str(e).replace(str(tmp_path) + "/", "") for e in caught.value.errors]
    assert any(s.startswith(message) for s in shown), shown


def test_validate_warehouse_finds_a_check_column_the_table_lacks(project: Path, tmp_path: Path) -> None:
    root = shutil.copytree(project, tmp_path / "p")
    models = (root / "models.yml").read_text()
    (root / "models.yml").write_text(
        models.replace("{name: id_present, not_null: item_id}", "{name: x, not_null: itme_id}")
    )
    result = runner.invoke(app, ["validate", "-p", str(root), "--warehouse"])
    assert result.exit_code == 1
    assert "model 'clean_items': column 'itme_id' is not in table 'items' — did you mean 'item_id'?" in result.stderr
