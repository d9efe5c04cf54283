"""What a long-running server keeps is bounded: the result cache by bytes (each entry's overhead
counted, expired entries dropped), compiled statements for all roles together by count, role views
by count. Each bound is exercised past its limit; none of these tests measures time."""

from __future__ import annotations

import asyncio
import tracemalloc
from pathlib import Path

import pytest
from helpers import FakeClock, make_project
from served import POLICIES

import semantic_layer as sl
from semantic_layer.access import Principal
from server import ServerSettings, create_app
from server import cache as cache_module
from server.cache import MemoryCache, cache_key


def test_the_result_cache_holds_no_more_memory_than_its_budget_however_small_its_answers() -> None:
    budget = 1_000_000

    async def fill(cache: MemoryCache) -> None:
        for n in range(30_000):  # some ten times what fits
            await cache.set(cache_key("v1", f"SELECT {n}"), b"[%d]" % n, ttl=60)

    cache = MemoryCache(max_bytes=budget)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        asyncio.run(fill(cache))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cache.bytes <= budget and 2_000 < len(cache) < 30_000
    assert held <= budget * 1.1  # what the entries really take, the dictionary's table included


def test_expired_answers_are_dropped_as_new_ones_arrive_not_kept_until_the_budget_is_spent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(cache_module, "time", clock)

    async def scenario() -> None:
        cache = MemoryCache(max_bytes=100_000_000)
        for n in range(100):
            await cache.set(f"old{n}", b"x" * 100, ttl=1)
        clock.advance(1.1)
        await cache.set("new", b"y" * 100, ttl=60)
        assert len(cache) == 1 and await cache.get("new") is not None

    asyncio.run(scenario())


def test_compiled_statements_for_all_roles_together_stay_within_their_count(tmp_path: Path, shop_db: Path) -> None:
    root = make_project(tmp_path / "p", shop_db)
    (root / "policies.yml").write_text(POLICIES)
    metrics = ["revenue", "order_count", "avg_amount", "buyers", "ticket_count"]
    with sl.Layer(sl.load(root), compiled_statements=8, role_views=64) as layer:
        for roles in (("admin",), ("analyst",)):
            for metric in metrics:  # ten shapes in all, two views
                layer.prepare(sl.Query(metrics=(metric,)), access=layer.access_for(Principal(roles)))
        assert len(layer.statements) == 8


def test_role_views_stay_within_their_count(tmp_path: Path, shop_db: Path) -> None:
    root = make_project(tmp_path / "p", shop_db)
    (root / "policies.yml").write_text(POLICIES)
    role_sets = [("admin",), ("analyst",), ("admin", "analyst"), ("regional",), ("analyst", "regional")]
    with sl.Layer(sl.load(root), role_views=2) as layer:
        for roles in role_sets:
            access = layer.access_for(Principal(roles, {"region_id": 1}))
            assert layer.compiler_for(access) is layer.compiler_for(access)  # kept while in use
        assert len(layer._views) == 2
        again = layer.access_for(Principal(role_sets[0]))
        assert layer.prepare(sl.Query(metrics=("revenue",)), access=again)  # an evicted view is rebuilt


def test_the_server_applies_its_bounds_to_each_project_version(tmp_path: Path, shop_db: Path) -> None:
    root = make_project(tmp_path / "p", shop_db)
    settings = ServerSettings(project=root, reload=True, compiled_statements=16, role_views=3, cache_max_bytes=5000)
    app = create_app(settings)
    state = app.state.project
    assert (state.layer.statements.size, state.layer.role_views) == (16, 3)
    (root / "more.yml").write_text("metrics:\n  - {name: more_revenue, type: simple, measure: orders.revenue}\n")
    assert state.check() and (state.layer.statements.size, state.layer.role_views) == (16, 3)
    cache = app.state.service.cache
    assert cache.max_bytes == 5000
    asyncio.run(cache.set("k", b"v", ttl=60))  # what the cache counts is on /metrics
    assert f"semantic_layer_cache_bytes {float(cache.bytes)}" in app.state.service.telemetry.exposition().decode()
