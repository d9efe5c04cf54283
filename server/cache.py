"""The result cache: answers keyed by project version and the exact SQL that produced them.

The SQL already carries every filter value and claim that shaped the answer, so two callers share
an entry only when they would run the same statement. In memory, entries expire after the TTL and
the least recently used are evicted once the byte budget is spent; with Redis several server
processes share one cache.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Protocol


class ResultCache(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl: int) -> None: ...


def cache_key(version: str, statement: str) -> str:
    return "sl:" + hashlib.sha256(f"{version}\0{statement}".encode()).hexdigest()


class MemoryCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
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

    def set(self, key: str, value: bytes, ttl: int) -> None:
        if ttl <= 0 or len(value) > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (time.monotonic() + ttl, value)
            self.bytes += len(value)
            while self.bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self.bytes -= len(value)


class RedisCache:
    def __init__(self, url: str):
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=2)
        self._client.ping()

    def get(self, key: str) -> bytes | None:
        value = self._client.get(key)
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl: int) -> None:
        if ttl > 0:
            self._client.set(key, value, ex=ttl)


def make_cache(url: str | None, max_bytes: int) -> ResultCache:
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"SEMANTIC_LAYER_CACHE_URL '{url}' is not a redis:// URL")
        return RedisCache(url)
    return MemoryCache(max_bytes)
