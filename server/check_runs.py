"""Data checks run for GraphQL callers, shared between them.

A check reads every row of its model, and any caller may ask for checks: without a bound, a client
repeating `checks` would keep the warehouse scanning. Here each model's checks run at most once per
interval however many callers ask (later callers get the last results, whose `checkedAt` says when),
and callers asking while a run is under way wait for that run instead of starting their own. What is
kept is one result list per model of the current project version: bounded by the project's size.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from semantic_layer.checks import CheckResult, checked_models
from semantic_layer.layer import Layer

RunChecks = Callable[[list[str]], Awaitable[list[CheckResult]]]


Outcomes = dict[str, list[CheckResult]]  # each model's check results


class SharedCheckRuns:
    def __init__(self, interval_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.interval = interval_seconds
        self.clock = clock
        self._project: object | None = None
        self._done: dict[str, tuple[float, list[CheckResult]]] = {}  # model → (when run, its results)
        self._running: dict[str, asyncio.Future[Outcomes]] = {}

    async def results(self, layer: Layer, models: list[str] | None, run: RunChecks) -> list[CheckResult]:
        """The checks of `models` (default every model), run by `run` for the models whose last results
        are older than the interval and which no run in progress covers."""
        if layer.project is not self._project:  # a reloaded project: its checks may differ
            self._project, self._done, self._running = layer.project, {}, {}
        names = list(dict.fromkeys(checked_models(layer.project.graph, models)))  # each model's checks once
        now = self.clock()
        found = {n: done[1] for n in names if (done := self._done.get(n)) is not None and now - done[0] < self.interval}
        due = [n for n in names if n not in found and n not in self._running]
        if due:
            flight = asyncio.ensure_future(self._run(layer.project, due, run))
            self._running.update(dict.fromkeys(due, flight))
        flights = {id(f): f for n in names if n not in found and (f := self._running.get(n)) is not None}
        for outcomes in await asyncio.gather(*(asyncio.shield(f) for f in flights.values())):
            found.update((n, results) for n, results in outcomes.items() if n not in found)
        return [result for n in names for result in found[n]]

    async def _run(self, project: object, models: list[str], run: RunChecks) -> Outcomes:
        try:
            results = await run(models)
        finally:
            if self._project is project:
                for model in models:
                    self._running.pop(model, None)
        outcomes = {model: [r for r in results if r.model == model] for model in models}
        if self._project is project:
            when = self.clock()
            self._done.update((model, (when, found)) for model, found in outcomes.items())
        return outcomes
