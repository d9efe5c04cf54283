"""The C allocator's arenas are limited and its free pages trimmed on a schedule (glibc machines)."""

from __future__ import annotations

import asyncio
import platform

import pytest

from server import allocator

GLIBC = platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="the allocator settings are glibc's; elsewhere they are no-ops")
def test_arenas_are_limited_and_free_pages_trimmed_on_glibc() -> None:
    assert allocator.limit_arenas(2) is True
    assert allocator.limit_arenas(0) is False  # 0: left as glibc decides
    assert isinstance(allocator.trim(), bool)


def test_the_trimmer_trims_on_its_schedule_until_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(allocator, "trim", lambda: calls.append(1) or True)
    monkeypatch.setattr(allocator, "_glibc", lambda: object())

    async def run() -> int:
        trimmer = allocator.Trimmer(0.02)
        trimmer.start()
        for _ in range(500):  # a loaded machine may be slow to wake the loop: wait up to 5 s
            if len(calls) >= 3:
                break
            await asyncio.sleep(0.01)
        await trimmer.stop()
        stopped_at = len(calls)
        await asyncio.sleep(0.1)
        assert len(calls) == stopped_at  # nothing after stop
        return stopped_at

    assert asyncio.run(run()) >= 3


def test_a_trimmer_set_to_zero_never_starts() -> None:
    async def run() -> None:
        trimmer = allocator.Trimmer(0)
        trimmer.start()
        assert trimmer._task is None
        await trimmer.stop()

    asyncio.run(run())
