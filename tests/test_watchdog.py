"""The timeout watchdog: actions run at their deadline, in order, and disarmed ones never run."""

from __future__ import annotations

import threading
import time

from semantic_layer.engines.watchdog import Watchdog


def test_actions_run_at_their_deadlines_in_order() -> None:
    dog, fired, done = Watchdog(), [], threading.Event()
    started = time.monotonic()
    dog.arm(0.3, lambda: (fired.append(("late", time.monotonic() - started)), done.set()))
    dog.arm(0.1, lambda: fired.append(("early", time.monotonic() - started)))
    assert done.wait(5)
    assert [name for name, _ in fired] == ["early", "late"]
    assert fired[0][1] >= 0.1 and fired[1][1] >= 0.3


def test_a_disarmed_action_never_runs() -> None:
    dog, fired, done = Watchdog(), [], threading.Event()
    handle = dog.arm(0.05, lambda: fired.append("disarmed"))
    dog.disarm(handle)
    dog.arm(0.2, done.set)
    assert done.wait(5) and fired == []


def test_a_failing_action_does_not_stop_the_watchdog() -> None:
    dog, done = Watchdog(), threading.Event()
    dog.arm(0.01, lambda: 1 / 0)  # type: ignore[func-returns-value]
    dog.arm(0.05, done.set)
    assert done.wait(5)


def test_only_a_new_earliest_deadline_wakes_the_thread() -> None:
    """Served queries share one timeout, so each new deadline is the latest: arming must not cost
    a thread switch per query. An earlier deadline still wakes it (the first test checks it fires)."""
    dog = Watchdog()
    wakes = []
    notify = dog._wake.notify
    dog._wake.notify = lambda n=1: (wakes.append(n), notify(n))  # type: ignore[method-assign]
    handles = [dog.arm(30 + k, lambda: None) for k in range(50)]
    assert len(wakes) == 1
    dog.arm(5, lambda: None)
    assert len(wakes) == 2
    for handle in handles:
        dog.disarm(handle)
