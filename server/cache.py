"""The result cache: answers keyed by project version and the exact SQL that produced them.

The SQL already carries every filter value and claim that shaped the answer, so two callers share
an entry only when they would run the same statement. In memory, entries expire after the TTL and
the least recently used are evicted once the byte budget is spent; with Redis several server
processes share one cache.

The cache only ever saves work: when Redis is down or slow, requests are answered from the
database, the failure is logged once and counted, and Redis is tried again after a pause. Its calls
are awaited, so a slow Redis delays only the requests that wait on it, never the event loop.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("semantic_layer.server")

# A cache that answers slower than this is not worth waiting for: the database is asked instead.
REDIS_TIMEOUT_SECONDS = 0.5
# After a failure, Redis is left alone this long, so that an outage costs one timeout, not one per request.
REDIS_RETRY_SECONDS = 5.0


class ResultCache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: int) -> None: ...

    async def check(self) -> str | None:
        """None when the cache answers, else why not (for /ready and the startup log)."""

    async def close(self) -> None: ...


def cache_key(version: str, statement: str) -> str:
    return "sl:" + hashlib.sha256(f"{version}\0{statement}".encode()).hexdigest()


class MemoryCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    async def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires < time.monotonic():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return value

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        if ttl <= 0 or len(value) > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (time.monotonic() + ttl, value)
            self.bytes += len(value)
            while self.bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    async def check(self) -> str | None:
        return None

    async def close(self) -> None:
        return None

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self.bytes -= len(value)


class RedisCache:
    def __init__(self, url: str, on_error: Callable[[], None]):
        from redis.asyncio import Redis

        self._client = Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                      socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        kwargs = self._client.connection_pool.connection_kwargs
        # Named without user or password: this text goes to logs and /ready.
        self.where = "redis at " + (kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}")
        self._on_error = on_error
        self._resting_until = 0.0
        self.problem: str | None = None

    async def get(self, key: str) -> bytes | None:
        value = await self._call(self._client.get, key)
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        if ttl > 0:
            await self._call(self._client.set, key, value, ex=ttl)

    async def check(self) -> str | None:
        await self._call(self._client.ping, retry_now=True)
        return self.problem

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, method: Callable[..., Any], *args: Any, retry_now: bool = False, **kwargs: Any) -> Any:
        from redis.exceptions import RedisError

        if not retry_now and time.monotonic() < self._resting_until:
            return None
        try:
            result = await method(*args, **kwargs)
        except (RedisError, OSError) as exc:
            self._on_error()
            self._resting_until = time.monotonic() + REDIS_RETRY_SECONDS
            if self.problem is None:
                log.warning("the shared cache (%s) failed: %s — answering from the database and trying "
                            "again every %.0f s", self.where, exc, REDIS_RETRY_SECONDS)
            self.problem = f"{self.where}: {exc}"
            return None
        if self.problem is not None:
            log.warning("the shared cache (%s) answers again", self.where)
            self.problem = None
        return result


def check_cache_url(url: str) -> None:
    """Refuse a cache URL Redis cannot read, naming the setting and the form it wants; a password in
    the URL is not repeated."""
    from redis.connection import parse_url

    shown = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    expected = "expected redis://[:password@]host:port/db, rediss://… or unix:///path/to/socket"
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"SEMANTIC_LAYER_CACHE_URL '{shown}' is not a Redis URL — {expected}")
    try:
        parse_url(url)
    except ValueError as exc:
        raise ValueError(f"SEMANTIC_LAYER_CACHE_URL '{shown}' cannot be read ({exc}) — {expected}") from None


def make_cache(url: str | None, max_bytes: int, on_error: Callable[[], None]) -> ResultCache:
    if url:
        check_cache_url(url)
        return RedisCache(url, on_error)
    return MemoryCache(max_bytes)
