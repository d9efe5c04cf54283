"""Rollups: definitions checked at load time, the store built and refreshed, queries routed to the
smallest covering rollup — and every answer identical with rollups and without (the differential
test over the golden cases and queries made to be routed)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
import yaml
from golden_cases import CASES, SHARE_CASES
from helpers import make_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rollupcases import (
    FUZZ_DIMENSIONS,
    FUZZ_FILTERS,
    FUZZ_METRICS,
    FUZZ_RANGES,
    RAW,
    ROLLUPS,
    ROUTED,
    Clock,
    assert_same_answer,
    rolled_project,
    same_rows,
)
from schemacheck import errors

import semantic_layer as sl
from semantic_layer.errors import ValidationError
from semantic_layer.layer import Layer
from semantic_layer.project import load
from semantic_layer.project_schema import project_schema
from semantic_layer.rollups.build import RollupBuildError, build_lock, build_rollups
from semantic_layer.rollups.serving import rollup_status


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Path:
    return rolled_project(tmp_path_factory.mktemp("rolled"), shop_db)


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, rolled: Path, clock: Clock) -> Iterator[Layer]:
    """The shop project with its rollups built: queries are answered from them where they can be."""
    with Layer(load(rolled), state_folder=tmp_path_factory.mktemp("rollup-state"), clock=clock) as layer:
        build_rollups(layer, now=clock)
        yield layer


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory, rolled: Path) -> Iterator[Layer]:
    """The same project with no rollup built: every answer comes from the source."""
    with Layer(load(rolled), state_folder=tmp_path_factory.mktemp("no-rollups")) as layer:
        yield layer


# -- definitions ------------------------------------------------------------------------------------
def _project_with(tmp_path: Path, shop_db: Path, text: str, **settings: Any) -> Path:
    root = make_project(tmp_path / "p", shop_db, **settings)
    (root / "rollups.yml").write_text(text)
    return root


BAD = [
    (
        "measures: [revenue, revenu]",
        "rollups.yml:4:25:",
        "model 'orders' has no measure 'revenu' — did you mean 'revenue'?",
    ),
    ("measures: [balance]", "", "semi-additive"),
    ("dimensions: [customers.segmnt]", "rollups.yml:5:18:", "unknown dimension 'customers.segmnt'"),
    ("dimensions: [order_lines.ship_mode]", "", "one_to_many join"),
    ("dimensions: [metric_time]", "", "metric_time is stored at the rollup's time_grain"),
    ("dimensions: [orders.created_at:hour]", "", "day or a coarser grain"),
    ("time_grain: hour", "", "time_grain"),
    ("refresh: {lookback: soon}", "", "lookback"),
    ("max_staleness: 2 fortnights", "", "max_staleness"),
]


@pytest.mark.parametrize(("line", "where", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_rollup_is_refused_at_its_line(
    tmp_path: Path, shop_db: Path, line: str, where: str, message: str
) -> None:
    model = "balances" if "balance" in line else "orders"
    measures = "" if line.startswith("measures") else "    measures: [revenue]\n"
    text = f"rollups:\n  - name: r\n    model: {model}\n{measures}    {line}\n"
    with pytest.raises(ValidationError) as caught:
        load(_project_with(tmp_path, shop_db, text))
    found = [str(e) for e in caught.value.errors]
    assert any(message in e and where in e for e in found), found


def test_a_rollup_of_a_model_without_time_or_of_an_unknown_model_is_refused(tmp_path: Path, shop_db: Path) -> None:
    text = "rollups:\n  - {name: a, model: regions, measures: [x]}\n  - {name: b, model: ordrs, measures: [x]}\n"
    with pytest.raises(ValidationError) as caught:
        load(_project_with(tmp_path, shop_db, text))
    found = "\n".join(str(e) for e in caught.value.errors)
    assert "model 'regions' has no 'time:'" in found
    assert "unknown model 'ordrs' — did you mean 'orders'" in found


def test_the_store_may_not_lie_in_the_project_folder(tmp_path: Path, shop_db: Path) -> None:
    root = tmp_path / "p"
    text = "rollups:\n  - {name: a, model: orders, measures: [revenue]}\n"
    with pytest.raises(ValidationError, match="lies inside the project folder"):
        load(_project_with(tmp_path, shop_db, text, rollup_store=f"duckdb:///{root}/rollups.duckdb"))


def test_the_schema_accepts_what_the_loader_accepts_and_refuses_bad_shapes() -> None:
    schema = project_schema()
    assert errors(schema, yaml.safe_load(ROLLUPS)) == []
    good = {"name": "r", "model": "orders", "measures": ["revenue"]}
    for bad in (
        {"time_grain": "hour"},
        {"measures": []},
        {"measures": ["revenue", "revenue"]},
        {"refresh": {"lookback": "soon"}},
        {"max_staleness": "2 fortnights"},
        {"model": "Orders"},
        {"refresh": {"every": "1 hour", "often": True}},
    ):
        assert errors(schema, {"rollups": [{**good, **bad}]}), bad
    settings = project_schema(settings=True)
    assert errors(settings, {"rollup_store": "duckdb:///var/rollups.duckdb"}) == []
    assert errors(settings, {"rollup_store": "postgresql://x/y"})


# -- the store --------------------------------------------------------------------------------------
def test_status_reports_each_rollup(served: Layer) -> None:
    assert served.rollups is not None
    found = {s.name: s for s in rollup_status(served.rollups)}
    assert set(found) == {"orders_daily", "orders_by_segment_monthly", "customers_daily"}
    assert all(s.state == "fresh" and s.rows and s.rows > 0 for s in found.values())
    assert served.rollups.store.path.parent == served.state_folder


def test_a_refresh_recomputes_the_lookback_and_keeps_the_rest(tmp_path: Path, shop_db: Path, clock: Clock) -> None:
    """Late rows land in the periods the lookback computes again; older ones keep their stored rows."""
    db = tmp_path / "shop.duckdb"
    db.write_bytes(shop_db.read_bytes())
    root = _project_with(tmp_path, db, ROLLUPS)
    with Layer(load(root), state_folder=tmp_path / "state", clock=clock) as layer:
        [first] = build_rollups(layer, ["orders_daily"], now=clock)
        assert first.full and first.start is None
        newest = first.stored.newest_period
        assert newest is not None
        layer.close()  # DuckDB opens a file read-only or read-write, not both at once in one process
        con = duckdb.connect(str(db))
        # a late order on the newest day, and a change far back that the lookback does not reach
        con.execute(
            "INSERT INTO orders SELECT order_id + 100000, customer_id, owner_rep_id, 'signed', 1000, "
            "created_at FROM orders WHERE created_at = (SELECT max(created_at) FROM orders)"
        )
        con.execute(
            "UPDATE orders SET amount = amount + 1 WHERE created_at < TIMESTAMP '2023-12-01' AND status <> 'cancelled'"
        )
        con.close()
        [second] = build_rollups(layer, ["orders_daily"], now=clock)
        assert not second.full and second.start == newest - timedelta(days=3)
        q = dict(metrics=["revenue", "order_count"], dimensions=["metric_time:year"])
        routed = layer.query(**q)
        assert routed.rollup == "orders_daily"
        layer.rollups = None
        source = layer.query(**q)
    assert routed.rows[-1] == source.rows[-1]  # the late order is counted
    assert routed.rows[0] != source.rows[0]  # the old change is not: --full would pick it up


def test_one_builder_at_a_time(served: Layer) -> None:
    lock = build_lock(served)
    assert lock.acquire(0)
    try:
        with pytest.raises(RollupBuildError, match="another rollup build is running"):
            build_rollups(served)
    finally:
        lock.release()


def test_readers_keep_reading_while_a_build_swaps_the_store(served: Layer) -> None:
    q = dict(metrics=["revenue"], dimensions=["customers.segment"])
    expected = served.query(**q).rows
    failures: list[str] = []

    def read() -> None:
        for _ in range(30):
            res = served.query(**q)
            if res.rows != expected or res.rollup is None:
                failures.append(f"{res.rollup}: {res.rows}")

    reader = threading.Thread(target=read)
    reader.start()
    build_rollups(served, ["orders_daily"], full=True)
    reader.join()
    assert failures == []


# -- routing --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("query", "rollup"), [c[1:] for c in ROUTED], ids=[c[0] for c in ROUTED])
def test_a_covered_query_reads_the_smallest_covering_rollup(
    served: Layer, raw: Layer, query: dict[str, Any], rollup: str
) -> None:
    got = served.query(**query)
    assert got.rollup == rollup
    for name in rollup.split(", "):
        assert f"FROM {name} AS rollup__{name}" in got.sql
    assert same_rows(got, raw.query(**query))


@pytest.mark.parametrize("query", [c[1] for c in RAW], ids=[c[0] for c in RAW])
def test_a_query_no_rollup_answers_exactly_reads_the_source(served: Layer, raw: Layer, query: dict[str, Any]) -> None:
    got = served.query(**query)
    assert got.rollup is None
    assert "rollup__" not in got.sql
    assert same_rows(got, raw.query(**query))


def test_row_policies_over_stored_dimensions_are_applied_to_the_rollup(tmp_path: Path, served: Layer) -> None:
    """A policy filtering a column the rollup stores as a dimension is applied to the rollup; one
    filtering a column it does not keep sends its callers to the source. Both answer as the source
    does under the same policy."""
    root = _project_with(tmp_path, _source(served), ROLLUPS)
    (root / "policies.yml").write_text(
        "policies:\n"
        "  - role: segment_rep\n    rows:\n      - {model: customers, where: 'segment = {{ user.segment }}'}\n"
        "  - role: named\n    rows:\n      - {model: customers, where: 'name <> {{ user.name }}'}\n"
        "  - role: admin\n"
    )
    layer = Layer(load(root), engine=served.engine, state_folder=served.state_folder)
    source = Layer(load(root), engine=served.engine, state_folder=tmp_path / "none")
    q = dict(metrics=["revenue", "avg_amount"], dimensions=["customers.segment", "metric_time:quarter"])
    for principal, rollup in (
        (sl.Principal(("segment_rep",), {"segment": "smb"}), "orders_daily"),
        (sl.Principal(("segment_rep", "named"), {"segment": "smb", "name": "x"}), None),
        (sl.Principal(("admin",)), "orders_daily"),
    ):
        got = layer.query(principal=principal, **q)
        assert got.rollup == rollup
        assert same_rows(got, source.query(principal=principal, **q))
    rep = layer.query(principal=sl.Principal(("segment_rep",), {"segment": "smb"}), **q)
    assert {r["customers.segment"] for r in rep.rows} == {"smb"}


def _source(layer: Layer) -> Path:
    return Path(layer.project.connection_url().removeprefix("duckdb:///"))


def test_a_stale_or_outdated_rollup_is_not_read(tmp_path: Path, rolled: Path, served: Layer, clock: Clock) -> None:
    q = dict(metrics=["order_count"], dimensions=["metric_time:week"])
    text = ROLLUPS.replace(
        "    time_grain: day\n    refresh", "    time_grain: day\n    max_staleness: 1 hour\n    refresh"
    )
    stale = Layer(
        load(_project_with(tmp_path, _source(served), text)),
        engine=served.engine,
        state_folder=served.state_folder,
        clock=clock,
    )
    assert stale.query(**q).rollup == "orders_daily"
    clock.now += timedelta(hours=2)
    try:
        assert stale.query(**q).rollup is None
    finally:
        clock.now -= timedelta(hours=2)
    changed = ROLLUPS.replace("[revenue, order_count, avg_amount", "[order_count, revenue, avg_amount").replace(
        "regions.name]\n    time_grain: day", "regions.name, orders.created_at:month]\n    time_grain: day"
    )
    outdated = Layer(
        load(_project_with(tmp_path / "o", _source(served), changed)),
        engine=served.engine,
        state_folder=served.state_folder,
        clock=clock,
    )
    assert outdated.query(**q).rollup is None
    assert {s.name: s.state for s in rollup_status(outdated.rollups)}["orders_daily"] == "outdated"  # type: ignore[arg-type]


# -- exactness: the differential test ---------------------------------------------------------------
GOLDEN = [*CASES, *SHARE_CASES]


@pytest.mark.parametrize("query", [c[1] for c in GOLDEN], ids=[c[0] for c in GOLDEN])
def test_every_golden_query_answers_the_same_with_rollups(served: Layer, raw: Layer, query: dict[str, Any]) -> None:
    assert_same_answer(served, raw, query)


def test_the_golden_queries_do_reach_rollups(served: Layer) -> None:
    routed = 0
    for _, query, _ in GOLDEN:
        try:
            routed += served.query(**query).rollup is not None
        except sl.QueryError:
            continue
    assert routed >= 10


# -- the server -------------------------------------------------------------------------------------
def test_the_server_answers_from_rollups_and_says_so(tmp_path: Path, rolled: Path, raw: Layer) -> None:
    """GraphQL's `rollup` and the Arrow answer `sl.Client` reads name the rollup; the rows are the source's."""
    from liveserver import LiveServer
    from served import ADMIN, SECRET

    from server import ServerSettings, create_app

    q = dict(metrics=["revenue", "avg_amount"], dimensions=["customers.segment", "metric_time:quarter"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEMANTIC_LAYER_STATE_DIR", str(tmp_path))
        with Layer(load(rolled)) as builder:
            build_rollups(builder, ["orders_daily"])
        settings = ServerSettings(project=rolled, jwt_secret=SECRET, cache_url=None)
        with LiveServer(create_app(settings)) as live, sl.Client(live.url, token=ADMIN) as client:
            body = {
                "query": "query Q($i: QueryInput!) { query(input: $i) { rows rollup sql } }",
                "variables": {"i": q},
            }
            answer = httpx.post(f"{live.url}/graphql", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
            remote = client.query(**q)
    found = answer.json()["data"]["query"]
    assert found["rollup"] == "orders_daily" and "FROM orders_daily" in found["sql"]
    assert remote.rollup == "orders_daily"
    assert same_rows(remote, raw.query(**q))


# -- exactness: random queries --------------------------------------------------------------------
@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    metrics=st.lists(st.sampled_from(FUZZ_METRICS), min_size=1, max_size=3, unique=True),
    dims=st.lists(st.sampled_from(FUZZ_DIMENSIONS), max_size=3, unique=True),
    where=st.lists(FUZZ_FILTERS, max_size=2),
    time_range=FUZZ_RANGES,
    timezone=st.sampled_from([None, None, None, "Asia/Shanghai"]),
)
def test_random_queries_answer_the_same_with_rollups(
    served: Layer,
    raw: Layer,
    metrics: list[str],
    dims: list[str],
    where: list[Any],
    time_range: dict[str, str] | None,
    timezone: str | None,
) -> None:
    query = dict(metrics=metrics, dimensions=dims, where=where, time_range=time_range, timezone=timezone)
    assert_same_answer(served, raw, query)


def test_serve_refresh_rollups_builds_them_in_the_background(tmp_path: Path, rolled: Path) -> None:
    """A server started with the rollups unbuilt answers from the source, then, once its refresher
    built them, from the rollups."""
    from liveserver import LiveServer
    from served import ADMIN, SECRET

    from server import ServerSettings, create_app

    q = dict(metrics=["order_count"], dimensions=["metric_time:week"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEMANTIC_LAYER_STATE_DIR", str(tmp_path))
        settings = ServerSettings(project=rolled, jwt_secret=SECRET, cache_url=None, refresh_rollups=True)
        with LiveServer(create_app(settings)) as live, sl.Client(live.url, token=ADMIN) as client:
            deadline = time.monotonic() + 60
            while (found := client.query(**q)).rollup is None and time.monotonic() < deadline:
                time.sleep(0.1)
    assert found.rollup == "orders_daily"


def test_a_failed_refresh_keeps_the_last_good_version(tmp_path: Path, shop_db: Path, clock: Clock) -> None:
    db = tmp_path / "shop.duckdb"
    db.write_bytes(shop_db.read_bytes())
    root = _project_with(tmp_path, db, ROLLUPS)
    q = dict(metrics=["order_count"], dimensions=["metric_time:month"])
    with Layer(load(root), state_folder=tmp_path / "state", clock=clock) as layer:
        build_rollups(layer, ["orders_daily"], now=clock)
        before = layer.query(**q)
        layer.close()
        con = duckdb.connect(str(db))
        con.execute("ALTER TABLE orders RENAME TO orders_gone")
        con.close()
        with pytest.raises(RollupBuildError, match=r"1 rollup not built .*: orders_daily: "):
            build_rollups(layer, ["orders_daily", "customers_daily"], now=clock)
        after = layer.query(**q)
        assert layer.rollups is not None
        statuses = {s.name: s for s in rollup_status(layer.rollups)}
        status = statuses["orders_daily"]
        assert statuses["customers_daily"].state == "fresh"  # built in the same run, swapped in all the same
    assert after.rollup == "orders_daily" and after.rows == before.rows
    assert status.state == "fresh" and status.refreshed_at == clock.now
    assert not list((tmp_path / "state").glob("*.building"))  # the half-built version is gone


# -- the command line -----------------------------------------------------------------------------
def test_the_rollups_commands(tmp_path: Path, rolled: Path) -> None:
    from typer.testing import CliRunner

    from semantic_layer.cli import app

    runner = CliRunner()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEMANTIC_LAYER_STATE_DIR", str(tmp_path))
        before = runner.invoke(app, ["rollups", "status", "-p", str(rolled), "--format", "json"])
        built = runner.invoke(app, ["rollups", "build", "orders_daily", "-p", str(rolled)])
        again = runner.invoke(app, ["rollups", "build", "orders_daily", "-p", str(rolled)])
        after = runner.invoke(app, ["rollups", "status", "-p", str(rolled), "--format", "json"])
        table = runner.invoke(app, ["rollups", "status", "-p", str(rolled)])
        unknown = runner.invoke(app, ["rollups", "build", "orders_dayly", "-p", str(rolled)])
        suggested = runner.invoke(app, ["rollups", "suggest", "-p", str(rolled)])
    assert {r["name"]: r["state"] for r in json.loads(before.stdout)["rollups"]}["orders_daily"] == "missing"
    assert built.exit_code == 0 and "orders_daily: built" in built.stdout
    assert again.exit_code == 0 and "orders_daily: refreshed from" in again.stdout
    states = {r["name"]: r for r in json.loads(after.stdout)["rollups"]}
    assert states["orders_daily"]["state"] == "fresh" and states["orders_daily"]["rows"] > 0
    assert states["customers_daily"]["state"] == "missing"
    assert json.loads(after.stdout)["store"] == str(tmp_path / "rollups.duckdb")
    assert "orders_daily" in table.stdout and "fresh" in table.stdout
    assert unknown.exit_code == 1 and "unknown rollup 'orders_dayly' — did you mean 'orders_daily'" in unknown.stderr
    assert suggested.exit_code == 0  # the shop project has no dashboards: nothing to suggest
    assert "no rollup to suggest" in suggested.stderr


def test_builders_on_several_machines_share_a_lock_in_redis(served: Layer) -> None:
    """With a shared cache configured, the build lock lives in Redis: a builder elsewhere holding it
    keeps this one from building."""
    from engines import unavailable

    from semantic_layer.alert_state import RedisLock

    url = "redis://127.0.0.1:6379/0"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEMANTIC_LAYER_CACHE_URL", url)
        lock = build_lock(served)
        assert isinstance(lock, RedisLock)
        try:
            taken = lock.acquire(0)
        except sl.SemanticLayerError:
            unavailable("Redis is not reachable on 127.0.0.1:6379")
        assert taken
        try:
            with pytest.raises(RollupBuildError, match="another rollup build is running"):
                build_rollups(served)
        finally:
            lock.release()
