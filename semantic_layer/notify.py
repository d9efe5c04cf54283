"""Pushed alerts: evaluate every metric's thresholds, and tell each webhook about the levels that changed.

One `Notifier.cycle()` is what `semantic-layer alerts --notify` runs once (from cron) and what the
server's scheduler runs every `alerts.every`. Under the lock (alert_state.py) it reads the levels
last delivered to each webhook, evaluates, sends one message per metric whose level differs from
the one that webhook was last told — up (ok → warn → critical) or down, recovery to ok included —
and records each delivery as it succeeds. A level nobody was told yet counts as ok: the first
evaluation reports what is wrong now, and a metric that is fine sends nothing. A message that
cannot be delivered is not recorded, so the next cycle tries it again; an unchanged level sends
nothing, however often the cycle runs and whichever process runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import definitions as d
from .alert_state import (
    AlertState,
    FileLock,
    FileStore,
    RedisLock,
    RedisStore,
    SchedulerLock,
    StateStore,
    holding,
    redis_client,
)
from .alerts import Alert
from .errors import SemanticLayerError
from .layer import Layer
from .project import Project
from .webhooks import Change, WebhookSender, message, webhook_id, where

log = logging.getLogger("semantic_layer.alerts")

# A scheduler skips its turn when another evaluated less than this share of the interval ago: of
# several processes ticking at the same interval, one evaluates each time, whichever comes first.
RECENT_SHARE = 0.9


@dataclass
class CycleReport:
    ran: bool  # False: another scheduler holds the lock, or evaluated a moment ago
    reason: str = ""  # why it did not run
    alerts: list[Alert] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # "metric level → host", one per message delivered
    problems: list[str] = field(default_factory=list)  # metrics not evaluated, messages not delivered


def utc_now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """`layer()` is called once per cycle, so that a server's hot reload brings new thresholds and
    webhooks. `every` (seconds): skip the cycle when another scheduler evaluated less than 90% of
    that ago (None: always evaluate). `lock_wait`: seconds to wait for the lock before giving up."""

    def __init__(
        self,
        layer: Callable[[], Layer],
        store: StateStore,
        lock: SchedulerLock,
        *,
        sender: WebhookSender | None = None,
        clock: Callable[[], datetime] = utc_now,
        every: float | None = None,
        lock_wait: float = 0.0,
    ):
        self.layer = layer
        self.store = store
        self.lock = lock
        self.sender = sender or WebhookSender()
        self.clock = clock
        self.every = every
        self.lock_wait = lock_wait

    def cycle(self) -> CycleReport:
        with holding(self.lock, self.lock_wait) as taken:
            if not taken:
                return CycleReport(False, f"another scheduler holds the lock ({self.lock.where})")
            return self._locked_cycle()

    def _locked_cycle(self) -> CycleReport:
        now = self.clock()
        state = self.store.read()
        if self._recent(state, now):
            return CycleReport(False, "another scheduler evaluated the thresholds a moment ago")
        layer = self.layer()
        report = CycleReport(True)
        report.alerts, report.problems = _evaluate(layer, now)
        hooks = layer.project.settings.alerts.webhooks
        _forget_removed(state, layer, hooks)
        for hook in hooks:
            told = state.sent.setdefault(webhook_id(hook.url), {})
            if not self._tell(hook, told, state, report, (layer.project.settings.name, now)):
                return report  # the lock is another's now: its holder owns the state
        state.evaluated_at = now.timestamp()
        self.store.write(state)
        return report

    def close(self) -> None:
        self.sender.close()

    def _recent(self, state: AlertState, now: datetime) -> bool:
        if self.every is None or state.evaluated_at is None:
            return False
        return now.timestamp() - state.evaluated_at < RECENT_SHARE * self.every

    def _tell(
        self,
        hook: d.Webhook,
        told: dict[str, str],
        state: AlertState,
        report: CycleReport,
        origin: tuple[str, datetime],
    ) -> bool:
        """Send `hook` each alert whose level differs from the one it was last told; record each
        delivery. `origin`: the project's name and when the thresholds were evaluated. False when
        the lock was lost on the way (nothing more may be sent or written)."""
        for alert in report.alerts:
            previous = told.get(alert.metric, "ok")
            if alert.level == previous:
                continue
            if not self.lock.held():
                report.problems.append("the lock was lost: stopped sending until the next cycle")
                log.error(
                    "the alert lock (%s) was lost mid-cycle: stopped sending until the next cycle", self.lock.where
                )
                return False
            problem = self.sender.send(hook, message(hook.format, Change(origin[0], alert, previous, origin[1])))
            if problem is not None:
                report.problems.append(f"{alert.metric} {alert.level} → {where(hook.url)}: {problem}")
                log.warning("alert %s %s not delivered to %s: %s", alert.metric, alert.level, where(hook.url), problem)
                continue
            if alert.level == "ok":
                told.pop(alert.metric, None)
            else:
                told[alert.metric] = alert.level
            self.store.write(state)  # at once: a crash later in the cycle must not send it again
            report.sent.append(f"{alert.metric} {alert.level} → {where(hook.url)}")
            log.info("alert %s %s (was %s) sent to %s", alert.metric, alert.level, previous, where(hook.url))
        return True


def _forget_removed(state: AlertState, layer: Layer, hooks: list[d.Webhook]) -> None:
    """Drop what was sent to webhooks no longer configured, and about metrics whose thresholds were
    removed: one that comes back starts from ok."""
    configured = {webhook_id(hook.url) for hook in hooks}
    watched = {name for name, metric in layer.project.metrics.items() if metric.thresholds is not None}
    for hook_id in list(state.sent):
        if hook_id not in configured:
            del state.sent[hook_id]
            continue
        for gone in set(state.sent[hook_id]) - watched:
            del state.sent[hook_id][gone]


def _evaluate(layer: Layer, now: datetime) -> tuple[list[Alert], list[str]]:
    """Every metric with thresholds, each on its own: one that fails is reported and keeps the level
    it was last sent, the others go on."""
    alerts, problems = [], []
    for plan in layer.alert_plans(now=now):
        try:
            alerts.append(layer.judge(plan))
        except SemanticLayerError as exc:
            text = getattr(exc, "message", str(exc))
            problems.append(f"{plan.metric.name}: {text}")
            log.error("alert of metric %s not evaluated: %s", plan.metric.name, text)
    return alerts, problems


def alert_storage(project: Project, cache_url: str | None) -> tuple[StateStore, SchedulerLock]:
    """Redis when a shared cache is configured (every process and machine using it shares state and
    lock), else the project's state file and a lock file beside it."""
    if cache_url:
        client = redis_client(cache_url)
        prefix = f"semantic_layer:alerts:{project.settings.name}"
        return RedisStore(client, f"{prefix}:state"), RedisLock(client, f"{prefix}:lock")
    path = state_path(project)
    return FileStore(path), FileLock(path.with_name(path.name + ".lock"))


def state_path(project: Project) -> Path:
    """`alerts.state_file`, relative to the project folder unless absolute."""
    return project.root / Path(project.settings.alerts.state_file).expanduser()
