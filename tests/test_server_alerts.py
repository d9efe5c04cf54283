"""Alerts over GraphQL (the `alerts` field, `Metric.thresholds`, `sl.Client.alerts`) and the server's
scheduler, which pushes level changes to webhooks without holding up requests."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alertproject import alert_project
from liveserver import LiveServer
from receiver import Receiver
from served import SECRET, code_of, gql, token, wait_for
from typer.testing import CliRunner

import semantic_layer as sl
from semantic_layer.alert_state import AlertState
from semantic_layer.cli import app as cli
from server import ServerSettings, create_app

NOV_12 = datetime(2024, 11, 12, tzinfo=UTC)
DEC_05 = datetime(2024, 12, 5, tzinfo=UTC)
ALERTS = """query A($metrics: [String!], $timeRange: TimeRangeInput, $grain: String) {
  alerts(metrics: $metrics, timeRange: $timeRange, grain: $grain) {
    metric level value period grain bound boundKind boundLevel direction message note } }"""
ADMIN = token(["admin"])


class Clock:
    """A clock that runs from `start` at the real pace; `start` may be moved."""

    def __init__(self, start: datetime):
        self.start, self._origin = start, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._origin)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Path:
    return alert_project(tmp_path_factory.mktemp("served"), shop_db, policies=True)


@pytest.fixture(scope="module")
def live(root: Path) -> Iterator[LiveServer]:
    settings = ServerSettings(project=root, jwt_secret=SECRET, cache_url=None, clock=lambda: NOV_12)
    with LiveServer(create_app(settings)) as server:
        yield server


@pytest.fixture(scope="module")
def layer(root: Path) -> Iterator[sl.Layer]:
    with sl.connect(root) as lay:
        yield lay


def test_the_alerts_field_answers_as_the_python_layer(live: LiveServer, layer: sl.Layer) -> None:
    found = gql(live, ALERTS, bearer=ADMIN)["data"]["alerts"]
    expected = layer.alerts(now=NOV_12)
    assert [a["metric"] for a in found] == [a.metric for a in expected]
    for got, want in zip(found, expected, strict=True):
        assert got == {
            "metric": want.metric,
            "level": want.level,
            "value": pytest.approx(want.value),
            "period": want.period.isoformat(),
            "grain": want.grain,
            "bound": want.bound,
            "boundKind": want.bound_kind,
            "boundLevel": want.bound_level,
            "direction": want.direction,
            "message": want.message,
            "note": want.note,
        }


def test_the_alerts_field_takes_metrics_a_time_range_and_a_grain(live: LiveServer, layer: sl.Layer) -> None:
    variables = {"metrics": ["monthly_revenue"], "timeRange": {"end": "2024-07-01"}, "grain": "quarter"}
    (found,) = gql(live, ALERTS, variables, bearer=ADMIN)["data"]["alerts"]
    (want,) = layer.alerts(["monthly_revenue"], {"end": "2024-07-01"}, "quarter", now=NOV_12)
    assert (found["period"], found["grain"], found["message"]) == ("2024-04-01", "quarter", want.message)


def test_row_policies_and_hidden_metrics_apply(live: LiveServer, layer: sl.Layer) -> None:
    east = token(["regional"], region_id=3)
    found = gql(live, ALERTS, {"metrics": ["monthly_revenue"]}, bearer=east)["data"]["alerts"][0]
    (want,) = layer.alerts(["monthly_revenue"], principal=sl.Principal(("regional",), {"region_id": 3}), now=NOV_12)
    assert found["value"] == pytest.approx(want.value) and found["value"] != pytest.approx(
        layer.alerts(["monthly_revenue"], now=NOV_12)[0].value
    )
    hidden = token(["no_revenue"])
    assert [a["metric"] for a in gql(live, ALERTS, bearer=hidden)["data"]["alerts"]] == [
        "order_value",
        "weekly_tickets",
    ]
    assert code_of(gql(live, ALERTS, {"metrics": ["monthly_revenue"]}, bearer=hidden)) == "UNKNOWN_MEMBER"


@pytest.mark.parametrize(
    ("variables", "bearer", "code", "says"),
    [
        ({"metrics": ["monthly_revenu"]}, ADMIN, "UNKNOWN_MEMBER", "did you mean 'monthly_revenue'"),
        ({"metrics": ["revenue"]}, ADMIN, "VALIDATION", "metric 'revenue' has no thresholds"),
        ({"grain": "fortnight"}, ADMIN, "VALIDATION", "unknown grain 'fortnight'"),
        ({}, None, "UNAUTHENTICATED", ""),
    ],
)
def test_alert_errors_carry_their_code(
    live: LiveServer, variables: dict[str, object], bearer: str | None, code: str, says: str
) -> None:
    body = gql(live, ALERTS, variables, bearer=bearer)
    assert code_of(body) == code and says in body["errors"][0]["message"]


def test_alert_queries_are_cached_like_any_query(live: LiveServer) -> None:
    gql(live, ALERTS, bearer=ADMIN)
    before = _database_queries(live)
    gql(live, ALERTS, bearer=ADMIN)
    assert _database_queries(live) == before


def _database_queries(live: LiveServer) -> float:
    text = httpx.get(f"{live.url}/metrics").text
    return float(re.search(r"^semantic_layer_database_queries_total (\S+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]


def test_metric_thresholds_are_in_the_catalogue(live: LiveServer) -> None:
    data = gql(live, '{ a: metric(name: "order_value") { thresholds } b: metric(name: "revenue") { thresholds } }')
    assert data["data"] == {
        "a": {"thresholds": {"grain": "quarter", "warn": {"below": 510.0, "above": 535.0}}},
        "b": {"thresholds": None},
    }


def test_the_client_returns_the_layer_s_alert_objects(live: LiveServer, layer: sl.Layer) -> None:
    with sl.Client(live.url, token=ADMIN) as client:
        found = client.alerts(["weekly_tickets", "monthly_revenue"], time_range=("2024-01-01", "2024-11-12"))
        want = layer.alerts(["weekly_tickets", "monthly_revenue"], ("2024-01-01", "2024-11-12"), now=NOV_12)
        assert found == want
        with pytest.raises(sl.QueryValidationError, match="has no thresholds"):
            client.alerts(["revenue"])


# -- the scheduler ----------------------------------------------------------------------------------
def scheduled(root: Path, clock: Clock, every: str = "1 second") -> LiveServer:
    settings = ServerSettings(project=root, jwt_secret=SECRET, cache_url=None, clock=clock, alerts_every=every)
    return LiveServer(create_app(settings))


@pytest.mark.slow  # waits out timeouts or expiry on purpose
def test_two_servers_push_each_change_once_and_recovery_too(tmp_path: Path, shop_db: Path) -> None:
    with Receiver() as receiver:
        settings = f"alerts:\n  webhooks:\n    - {{url: '{receiver.url('/hook')}', format: generic}}\n"
        root = alert_project(tmp_path / "p", shop_db, settings=settings)
        state = root / ".semantic-layer-alerts.json"
        clock = Clock(NOV_12)
        with scheduled(root, clock), scheduled(root, clock):
            wait_for(lambda: len(receiver.posts) >= 3)
            first = AlertState.from_json(state.read_text()).evaluated_at
            wait_for(lambda: AlertState.from_json(state.read_text()).evaluated_at != first)  # evaluated again
            time.sleep(1.5)
            assert sorted(b["metric"] for b in receiver.bodies("/hook")) == [
                "monthly_revenue",
                "order_value",
                "weekly_tickets",
            ]  # levels unchanged since: nothing more, from either server
            clock.start = DEC_05
            wait_for(lambda: len(receiver.posts) >= 5)
            time.sleep(1.5)
        recovered = [(b["metric"], b["level"], b["previous_level"]) for b in receiver.bodies("/hook")[3:]]
        assert sorted(recovered) == [("monthly_revenue", "ok", "warn"), ("weekly_tickets", "ok", "critical")]


@pytest.mark.slow  # waits out timeouts or expiry on purpose
def test_a_slow_webhook_does_not_hold_up_requests(tmp_path: Path, shop_db: Path) -> None:
    """Each POST takes a second: the cycle takes seconds, on its own thread, while /health and
    queries answer at once."""
    with Receiver(delay=1.0) as slow:
        settings = f"alerts:\n  webhooks:\n    - {{url: '{slow.url('/hook')}', format: slack}}\n"
        root = alert_project(tmp_path / "p", shop_db, settings=settings)
        with scheduled(root, Clock(NOV_12), every="1 hour") as live:
            time.sleep(0.5)  # the cycle is under way
            started = time.monotonic()
            assert httpx.get(f"{live.url}/health").status_code == 200
            assert time.monotonic() - started < 0.5
            wait_for(lambda: len(slow.posts) == 3)


def test_serve_refuses_an_interval_it_cannot_read(root: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "-p", str(root), "--port", "1", "--alerts-every", "soon"])
    assert result.exit_code == 1
    assert (
        "--alerts-every (or SEMANTIC_LAYER_ALERTS_EVERY): 'soon' is not a duration like '15 minutes'" in result.stderr
    )


def test_an_unreachable_redis_costs_the_alerts_of_that_cycle_not_the_server(
    tmp_path: Path, shop_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from liveserver import free_port

    root = alert_project(
        tmp_path / "p", shop_db, settings="alerts:\n  webhooks:\n    - {url: 'http://127.0.0.1:9/x'}\n"
    )
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = ServerSettings(
        project=root, jwt_secret=SECRET, cache_url=dead, clock=Clock(NOV_12), alerts_every="1 second"
    )
    with caplog.at_level("WARNING", logger="semantic_layer.server"), LiveServer(create_app(settings)) as live:
        wait_for(lambda: "no alerts evaluated; trying again in 1 s" in caplog.text)
        assert httpx.get(f"{live.url}/health").status_code == 200
    assert "the alert state (redis key semantic_layer:alerts:shop:lock) cannot be used" in caplog.text
    assert "Traceback" not in caplog.text
