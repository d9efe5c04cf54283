"""The result cache: answers keyed by project version and the exact SQL that produced them.

The SQL already carries every filter value and claim that shaped the answer, so two callers share
an entry only when they would run the same statement. In memory, entries expire after the TTL and
the least recently used are evicted once the byte budget is spent; with Redis several server
processes share one cache.

An entry may outlive its TTL by a stale window (stale-while-revalidate): a read then returns it
marked stale, to be served while one refresh runs. Filling a key can be claimed: in memory that
is always granted (one process coalesces its own requests); in Redis it is a short lock, so that
of several server processes only one runs a query whose answer expired.

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
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

log = logging.getLogger("semantic_layer.server")

# A cache that answers slower than this is not worth waiting for: the database is asked instead.
REDIS_TIMEOUT_SECONDS = 0.5
# After a failure, Redis is left alone this long, so that an outage costs one timeout, not one per request.
REDIS_RETRY_SECONDS = 5.0
# What an in-memory entry costs beyond its key's characters and its value's bytes: the str and bytes
# headers, the entry tuple, its floats and int, the OrderedDict's slot and links (about 310 bytes,
# measured with tracemalloc on CPython 3.11). Counted, so that many small answers cannot hold
# several times the byte budget.
ENTRY_OVERHEAD = 320
# Releases a fill lock only if it still holds our token: an expired lock retaken by another process
# is not ours to delete.
RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


# What an entry holds: bytes, or a view of an Arrow stream's buffer (kept without a copy).
Stored = bytes | memoryview


class Hit(NamedTuple):
    value: Stored
    stale: bool  # past its TTL, inside the stale window: serve it, and refresh it


@dataclass(frozen=True)
class Claim:
    """The right to fill a key. `granted` is False while another process holds it; `token`
    releases a Redis lock (None when no lock was taken)."""

    granted: bool
    token: str | None = None


class ResultCache(Protocol):
    async def get(self, key: str, stale_seconds: int = 0) -> Hit | None:
        """The entry, if any; the last `stale_seconds` of its life it is marked stale."""

    async def set(self, key: str, value: Stored, ttl: int, stale_seconds: int = 0) -> None:
        """Keep `value` fresh for `ttl` seconds, then stale for `stale_seconds` more."""

    async def claim(self, key: str, seconds: float) -> Claim:
        """The right to fill `key` for at most `seconds`; granted too when the cache cannot tell."""

    async def release(self, key: str, claim: Claim) -> None: ...

    async def check(self) -> str | None:
        """None when the cache answers, else why not (for /ready and the startup log)."""

    async def close(self) -> None: ...


def cache_key(version: str, statement: str) -> str:
    return "sl:" + hashlib.sha256(f"{version}\0{statement}".encode()).hexdigest()


class _Entry(NamedTuple):
    fresh_until: float
    expires: float
    value: Stored
    size: int  # what it counts against the budget: key, value and ENTRY_OVERHEAD


class MemoryCache:
    """An LRU bounded by bytes (entries' overhead included). Expired entries are dropped from the
    least recently used end whenever an entry is added, so a cache whose keys keep changing holds
    about the last two TTLs of answers, not its whole budget of dead ones."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str, stale_seconds: int = 0) -> Hit | None:
        """(The stale window of an entry in memory was fixed when it was set.)"""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            now = time.monotonic()
            if entry.expires < now:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return Hit(entry.value, entry.fresh_until < now)

    async def set(self, key: str, value: Stored, ttl: int, stale_seconds: int = 0) -> None:
        size = len(key) + len(value) + ENTRY_OVERHEAD
        if ttl <= 0 or size > self.max_bytes:
            return
        now = time.monotonic()
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = _Entry(now + ttl, now + ttl + stale_seconds, value, size)
            self.bytes += size
            while self._entries:
                oldest = next(iter(self._entries))
                if self.bytes <= self.max_bytes and self._entries[oldest].expires >= now:
                    break
                self._drop(oldest)

    async def claim(self, key: str, seconds: float) -> Claim:
        return Claim(True)  # one process: its own requests are coalesced before they get here

    async def release(self, key: str, claim: Claim) -> None:
        return None

    async def check(self) -> str | None:
        return None

    async def close(self) -> None:
        return None

    def _drop(self, key: str) -> None:
        self.bytes -= self._entries.pop(key).size


class RedisCache:
    def __init__(self, url: str, on_error: Callable[[], None]):
        from redis.asyncio import Redis

        self._client = Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        kwargs = self._client.connection_pool.connection_kwargs
        # Named without user or password: this text goes to logs and /ready.
        self.where = "redis at " + (kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}")
        self._release = self._client.register_script(RELEASE_SCRIPT)
        self._on_error = on_error
        self._resting_until = 0.0
        self.problem: str | None = None

    async def get(self, key: str, stale_seconds: int = 0) -> Hit | None:
        if stale_seconds <= 0:
            value = await self._call(self._client.get, key)
            return Hit(value, False) if isinstance(value, bytes) else None
        found = await self._call(self._get_with_ttl, key)
        if not isinstance(found, list) or not isinstance(found[0], bytes):
            return None
        value, milliseconds_left = found
        return Hit(value, milliseconds_left <= stale_seconds * 1000)

    async def set(self, key: str, value: Stored, ttl: int, stale_seconds: int = 0) -> None:
        if ttl > 0:
            await self._call(self._client.set, key, value, ex=ttl + stale_seconds)

    async def claim(self, key: str, seconds: float) -> Claim:
        token = uuid.uuid4().hex
        taken = await self._call(self._client.set, _lock_key(key), token, nx=True, px=max(1, int(seconds * 1000)))
        if taken is _FAILED:
            return Claim(True)  # Redis cannot arbitrate: run it here, as on any Redis error
        return Claim(True, token) if taken else Claim(False)

    async def release(self, key: str, claim: Claim) -> None:
        if claim.token is not None:
            await self._call(self._release, keys=[_lock_key(key)], args=[claim.token])

    async def check(self) -> str | None:
        await self._call(self._client.ping, retry_now=True)
        return self.problem

    async def close(self) -> None:
        await self._client.aclose()

    async def _get_with_ttl(self, key: str) -> list[Any]:
        """The value and its milliseconds to live, in one round trip."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.pttl(key)
            return await pipe.execute()

    async def _call(
        self, method: Callable[..., Awaitable[Any]], *args: Any, retry_now: bool = False, **kwargs: Any
    ) -> Any:
        """The call's result, or _FAILED when Redis failed now or is resting after a failure."""
        from redis.exceptions import RedisError

        if not retry_now and time.monotonic() < self._resting_until:
            return _FAILED
        try:
            result = await method(*args, **kwargs)
        except (RedisError, OSError) as exc:
            self._on_error()
            self._resting_until = time.monotonic() + REDIS_RETRY_SECONDS
            if self.problem is None:
                log.warning(
                    "the shared cache (%s) failed: %s — answering from the database and trying again every %.0f s",
                    self.where,
                    exc,
                    REDIS_RETRY_SECONDS,
                )
            self.problem = f"{self.where}: {exc}"
            return _FAILED
        if self.problem is not None:
            log.warning("the shared cache (%s) answers again", self.where)
            self.problem = None
        return result


_FAILED = object()


def _lock_key(key: str) -> str:
    return key + ":filling"


def check_cache_url(url: str) -> None:
    """Refuse a cache URL Redis cannot read, naming the setting and the form it wants; a password in
    the URL is not repeated."""
    from redis.connection import parse_url

    shown = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    expected = "expected redis://[:password@]host:port/db, rediss://… or unix:///path/to/socket"
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"SEMANTIC_LAYER_CACHE_URL '{shown}' is not a Redis URL — {expected}")
    try:
        parse_url(url)  # type: ignore[no-untyped-call]  # redis-py's parser has no annotations
    except ValueError as exc:
        raise ValueError(f"SEMANTIC_LAYER_CACHE_URL '{shown}' cannot be read ({exc}) — {expected}") from None


def make_cache(url: str | None, max_bytes: int, on_error: Callable[[], None]) -> ResultCache:
    if url:
        check_cache_url(url)
        return RedisCache(url, on_error)
    return MemoryCache(max_bytes)
