"""Pushed alerts: a level change is sent once to each webhook, in its format; an unchanged level sends
nothing, across cycles, restarts and concurrent schedulers; failed deliveries are retried."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alertproject import alert_project
from engines import unavailable
from receiver import Receiver

import semantic_layer as sl
from semantic_layer import definitions as d
from semantic_layer.alert_state import AlertState, AlertStateError, FileLock, RedisLock, RedisStore, redis_client
from semantic_layer.alerts import Alert
from semantic_layer.notify import CycleReport, Notifier, alert_storage
from semantic_layer.webhooks import Change, WebhookSender, message, webhook_id

# At these times the shop's levels are (monthly_revenue, order_value, weekly_tickets):
NOV_12 = datetime(2024, 11, 12, tzinfo=UTC)  # warn (Oct), warn (Q3, above the band), critical (week of Nov 4)
DEC_05 = datetime(2024, 12, 5, tzinfo=UTC)  # ok (Nov), warn (Q3), ok (week of Nov 25)
JAN_10 = datetime(2025, 1, 10, tzinfo=UTC)  # critical (Dec), warn (Q4, below the band), ok (week of Dec 30)
FORMATS = ("generic", "slack", "wecom", "dingtalk")
FAST = WebhookSender(attempts=3, backoff=0.01, timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def hooks(receiver: Receiver, *formats: str) -> str:
    lines = "".join(f"    - {{url: '{receiver.url('/' + f)}', format: {f}}}\n" for f in formats)
    return f"alerts:\n  webhooks:\n{lines}"


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def project(tmp_path: Path, shop_db: Path, receiver: Receiver) -> Path:
    return alert_project(tmp_path / "p", shop_db, settings=hooks(receiver, *FORMATS))


@pytest.fixture
def layer(project: Path) -> Iterator[sl.Layer]:
    with sl.connect(project) as lay:
        yield lay


def notifier(layer: sl.Layer, clock: Clock, **kwargs: Any) -> Notifier:
    """A scheduler of its own (its own store and lock objects) on the project's state file."""
    store, lock = alert_storage(layer.project, None)
    return Notifier(lambda: layer, store, lock, sender=FAST, clock=clock, **kwargs)


def levels(report: CycleReport) -> dict[str, str]:
    return {a.metric: a.level for a in report.alerts}


def test_a_level_change_is_sent_once_to_each_webhook_in_its_format(layer: sl.Layer, receiver: Receiver) -> None:
    report = notifier(layer, Clock(NOV_12)).cycle()
    assert report.ran and report.problems == []
    assert levels(report) == {"monthly_revenue": "warn", "order_value": "warn", "weekly_tickets": "critical"}
    assert len(receiver.posts) == 3 * len(FORMATS) == len(report.sent)
    critical = next(a for a in report.alerts if a.metric == "weekly_tickets")
    text = "weekly_tickets 8 is above the critical bound 7 for the week of 2024-11-04"
    assert critical.message == text
    assert receiver.bodies("/generic")[2] == {
        "project": "shop",
        **critical.to_json(),
        "previous_level": "ok",
        "evaluated_at": "2024-11-12T00:00:00+00:00",
    }
    assert receiver.bodies("/slack")[2] == {"text": f"[shop] weekly_tickets critical (was ok): {text}"}
    assert receiver.bodies("/wecom")[2] == {
        "msgtype": "markdown",
        "markdown": {"content": f'**shop** <font color="warning">weekly_tickets critical (was ok)</font>\n> {text}'},
    }
    title = "[shop] weekly_tickets critical (was ok)"
    assert receiver.bodies("/dingtalk")[2] == {
        "msgtype": "markdown",
        "markdown": {"title": title, "text": f"#### {title}\n\n{text}"},
    }


def test_an_unchanged_level_sends_nothing_again_even_after_a_restart(layer: sl.Layer, receiver: Receiver) -> None:
    first = notifier(layer, Clock(NOV_12))
    first.cycle()
    sent = len(receiver.posts)
    assert first.cycle().sent == [] and len(receiver.posts) == sent
    restarted = notifier(layer, Clock(NOV_12))  # a new process: the state file remembers
    assert restarted.cycle().sent == [] and len(receiver.posts) == sent


def test_a_change_and_a_recovery_to_ok_are_sent(layer: sl.Layer, receiver: Receiver) -> None:
    clock = Clock(NOV_12)
    scheduler = notifier(layer, clock)
    scheduler.cycle()
    before = len(receiver.bodies("/generic"))
    clock.now = DEC_05
    report = scheduler.cycle()
    assert levels(report) == {"monthly_revenue": "ok", "order_value": "warn", "weekly_tickets": "ok"}
    recovered = receiver.bodies("/generic")[before:]
    assert [(b["metric"], b["previous_level"], b["level"]) for b in recovered] == [
        ("monthly_revenue", "warn", "ok"),
        ("weekly_tickets", "critical", "ok"),
    ]
    assert receiver.bodies("/slack")[-2]["text"].startswith("[shop] monthly_revenue recovered (was warn): ")
    clock.now = JAN_10
    scheduler.cycle()
    escalated = receiver.bodies("/generic")[before + 2 :]
    assert [(b["metric"], b["previous_level"], b["level"]) for b in escalated] == [
        ("monthly_revenue", "ok", "critical")
    ]
    assert [b["bound_kind"] for b in escalated] == ["below"]  # order_value: below the band now, still warn


def test_a_failing_receiver_is_retried(tmp_path: Path, shop_db: Path, receiver: Receiver) -> None:
    receiver.script["/generic"] = [500]
    root = alert_project(tmp_path / "p", shop_db, settings=hooks(receiver, "generic"))
    with sl.connect(root) as layer:
        report = notifier(layer, Clock(NOV_12)).cycle()
    bodies = receiver.bodies("/generic")
    assert report.problems == [] and len(report.sent) == 3
    assert len(bodies) == 4 and bodies[0] == bodies[1]  # the first message twice: 500, then 200


def test_an_undelivered_message_is_sent_at_the_next_cycle_and_only_to_its_webhook(
    tmp_path: Path, shop_db: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.script["/slack"] = [503, 503, 503]  # every attempt of the first message
    root = alert_project(tmp_path / "p", shop_db, settings=hooks(receiver, "generic", "slack"))
    with sl.connect(root) as layer:
        scheduler = notifier(layer, Clock(NOV_12))
        with caplog.at_level(logging.INFO, logger="semantic_layer.alerts"):
            report = scheduler.cycle()
        host = receiver.base.removeprefix("http://")
        assert report.problems == [f"monthly_revenue warn → {host}: HTTP 503"]
        assert "/slack" not in caplog.text  # the path may hold the webhook's secret: logs name the host
        assert len(receiver.bodies("/generic")) == 3 and len(receiver.bodies("/slack")) == 3 + 2
        again = scheduler.cycle()
    assert again.sent == [f"monthly_revenue warn → {host}"]
    assert len(receiver.bodies("/generic")) == 3 and receiver.bodies("/slack")[-1]["text"].startswith(
        "[shop] monthly_revenue warn (was ok)"
    )


@pytest.mark.parametrize(
    ("path", "status", "answer", "problem"),
    [
        ("/generic", 404, {"error": "no such hook"}, 'HTTP 404: {"error": "no such hook"}'),
        ("/wecom", 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, "errcode 93000: invalid webhook url"),
        ("/dingtalk", 200, {"errcode": 310000, "errmsg": "keywords not in content"}, "errcode 310000"),
    ],
)
def test_a_refusal_is_not_retried(
    receiver: Receiver, path: str, status: int, answer: dict[str, Any], problem: str
) -> None:
    receiver.script[path] = [status]
    receiver.answer[path] = answer
    hook = d.Webhook(url=receiver.url(path), format=path.strip("/"))  # type: ignore[arg-type]
    assert problem in (FAST.send(hook, {"text": "x"}) or "")
    assert len(receiver.bodies(path)) == 1


def test_an_unreachable_webhook_is_tried_a_bounded_number_of_times() -> None:
    with Receiver() as gone:
        url = gone.url("/generic")
    problem = FAST.send(d.Webhook(url=url), {"text": "x"})
    assert problem is not None and problem.startswith("ConnectError")


def test_two_schedulers_on_one_lock_send_once(tmp_path: Path, shop_db: Path) -> None:
    """Each answer takes 0.2 s, so the two cycles overlap: without the lock both would send everything."""
    with Receiver(delay=0.2) as slow:
        root = alert_project(tmp_path / "p", shop_db, settings=hooks(slow, "generic"))
        with sl.connect(root) as layer:
            schedulers = [notifier(layer, Clock(NOV_12), lock_wait=10) for _ in range(2)]
            reports: list[CycleReport] = []
            threads = [threading.Thread(target=lambda s=s: reports.append(s.cycle())) for s in schedulers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert sorted(len(r.sent) for r in reports) == [0, 3]
        assert len(slow.posts) == 3


def test_a_scheduler_skips_its_turn_when_another_evaluated_a_moment_ago(layer: sl.Layer) -> None:
    clock = Clock(NOV_12)
    notifier(layer, clock, every=900).cycle()
    other = notifier(layer, clock, every=900)
    clock.now = NOV_12.replace(minute=10)
    assert other.cycle().reason == "another scheduler evaluated the thresholds a moment ago"
    clock.now = NOV_12.replace(minute=14)  # 90% of 15 minutes have passed: its turn
    assert other.cycle().ran


def test_a_metric_that_cannot_be_evaluated_keeps_its_level_and_the_others_go_on(
    tmp_path: Path, shop_db: Path, receiver: Receiver
) -> None:
    root = alert_project(tmp_path / "p", shop_db, settings=hooks(receiver, "generic"))
    (root / "dropped.yml").write_text(  # a table dropped from the warehouse since the project was written
        "models:\n  - {name: dropped, table: no_such_table, primary_key: region_id, time: created_at,\n"
        "     measures: [{name: n, agg: count}]}\n"
        "metrics:\n  - {name: region_count, type: simple, measure: dropped.n, thresholds: {warn: {above: 1}}}\n"
    )
    with sl.connect(root) as layer:
        report = notifier(layer, Clock(NOV_12)).cycle()
    assert report.problems[0].startswith("region_count: the database refused the query (incident ")
    assert len(report.sent) == 3 and [a.metric for a in report.alerts] == [
        "monthly_revenue",
        "order_value",
        "weekly_tickets",
    ]


def test_state_is_kept_per_webhook_without_its_url(layer: sl.Layer, receiver: Receiver) -> None:
    notifier(layer, Clock(NOV_12)).cycle()
    text = (layer.project.root / ".semantic-layer-alerts.json").read_text()
    state = AlertState.from_json(text)
    assert receiver.base not in text and set(state.sent) == {webhook_id(receiver.url("/" + f)) for f in FORMATS}
    assert state.sent[webhook_id(receiver.url("/slack"))] == {
        "monthly_revenue": "warn",
        "order_value": "warn",
        "weekly_tickets": "critical",
    }
    assert state.evaluated_at == NOV_12.timestamp()


def test_a_state_file_that_cannot_be_written_is_an_error_not_a_resend(tmp_path: Path, shop_db: Path) -> None:
    root = alert_project(tmp_path / "p", shop_db, settings="alerts: {state_file: missing/dir/blocked/state.json}\n")
    (root / "missing").write_text("a file where a folder should be")
    with sl.connect(root) as layer, pytest.raises(AlertStateError, match="cannot be used"):
        notifier(layer, Clock(NOV_12)).cycle()


def test_file_locks_exclude_each_other_within_one_process(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "l"), FileLock(tmp_path / "l")
    assert first.acquire(0) and not second.acquire(0.2)
    first.release()
    assert second.acquire(0) and second.held()
    second.release()


def test_message_formats_say_recovery() -> None:
    alert = Alert("m", "ok", 3.0, datetime(2025, 2, 1).date(), "month", "m 3 is within its thresholds for 2025-02")
    change = Change("p", alert, "critical", NOV_12)
    assert message("slack", change) == {
        "text": "[p] m recovered (was critical): m 3 is within its thresholds for 2025-02"
    }
    assert '<font color="info">m recovered (was critical)</font>' in message("wecom", change)["markdown"]["content"]


# -- Redis ------------------------------------------------------------------------------------------------
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_url() -> str:
    try:
        redis_client(REDIS).ping()
    except Exception as exc:
        unavailable(f"Redis is not reachable on 127.0.0.1:6379 ({exc})")
    return REDIS


def test_two_schedulers_sharing_redis_send_once(tmp_path: Path, shop_db: Path, redis_url: str) -> None:
    name = f"alerts_{uuid.uuid4().hex[:8]}"  # state and lock keys of their own
    with Receiver(delay=0.2) as slow:
        roots = [
            alert_project(tmp_path / f"p{i}", shop_db, settings=hooks(slow, "generic"), name=name) for i in range(2)
        ]  # two copies: two machines serving one project
        layers = [sl.connect(root) for root in roots]
        try:
            schedulers = []
            for layer in layers:
                store, lock = alert_storage(layer.project, redis_url)
                schedulers.append(
                    Notifier(lambda lay=layer: lay, store, lock, sender=FAST, clock=Clock(NOV_12), lock_wait=10)
                )
            reports: list[CycleReport] = []
            threads = [threading.Thread(target=lambda s=s: reports.append(s.cycle())) for s in schedulers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(len(r.sent) for r in reports) == [0, 3] and len(slow.posts) == 3
            assert not (roots[0] / ".semantic-layer-alerts.json").exists()  # the state is in Redis
            stored = RedisStore(redis_client(redis_url), f"semantic_layer:alerts:{name}:state").read()
            assert stored.sent[webhook_id(slow.url("/generic"))]["weekly_tickets"] == "critical"
        finally:
            for layer in layers:
                layer.close()
            redis_client(redis_url).delete(f"semantic_layer:alerts:{name}:state")


def test_a_redis_lock_is_renewed_while_held_and_lost_when_taken(redis_url: str) -> None:
    client = redis_client(redis_url)
    key = f"semantic_layer:test:{uuid.uuid4().hex}"
    lock = RedisLock(client, key, lease=0.3)
    assert lock.acquire(0)
    threading.Event().wait(0.6)  # twice the lease: renewed meanwhile
    assert lock.held() and not RedisLock(client, key).acquire(0)
    client.set(key, "someone else")
    threading.Event().wait(0.3)
    assert not lock.held()
    lock.release()
    assert client.get(key) == b"someone else"  # not ours to delete
    client.delete(key)


def test_removed_thresholds_and_webhooks_are_forgotten(tmp_path: Path, shop_db: Path, receiver: Receiver) -> None:
    root = alert_project(tmp_path / "p", shop_db, settings=hooks(receiver, "generic", "slack"))
    with sl.connect(root) as layer:
        notifier(layer, Clock(NOV_12)).cycle()
    (root / "alerts.yml").write_text((root / "alerts.yml").read_text().split("  - name: weekly_tickets")[0])
    settings = (root / "semantic_layer.yml").read_text()
    (root / "semantic_layer.yml").write_text("\n".join(ln for ln in settings.splitlines() if "/slack" not in ln) + "\n")
    with sl.connect(root) as layer:
        notifier(layer, Clock(NOV_12)).cycle()
    state = AlertState.from_json((root / ".semantic-layer-alerts.json").read_text())
    assert state.sent == {webhook_id(receiver.url("/generic")): {"monthly_revenue": "warn", "order_value": "warn"}}


class LostLock:
    """A lock taken, then lost (as a Redis lease that could not be renewed)."""

    where = "a lock that is lost"

    def acquire(self, wait: float) -> bool:
        return True

    def held(self) -> bool:
        return False

    def release(self) -> None:
        return None


def test_a_scheduler_that_lost_its_lock_sends_and_writes_nothing(layer: sl.Layer, receiver: Receiver) -> None:
    store, _ = alert_storage(layer.project, None)
    report = Notifier(lambda: layer, store, LostLock(), sender=FAST, clock=Clock(NOV_12)).cycle()
    assert report.problems == ["the lock was lost: stopped sending until the next cycle"]
    assert receiver.posts == [] and not (layer.project.root / ".semantic-layer-alerts.json").exists()
