"""What pushed alerts remember, and the lock that lets one scheduler at a time use it (the rollup
builder takes the same kinds of lock, under a key of its own: semantic_layer/rollups/build.py).

The state is the level last delivered to each webhook for each metric, and when thresholds were
last evaluated: kept outside the process, a restart neither resends nor forgets a level. With a
Redis configured (`SEMANTIC_LAYER_CACHE_URL`) state and lock live there, shared by every server
process and machine using it; otherwise in a JSON file in the project folder (settings
`alerts.state_file`) and an OS lock (`flock`) on the file beside it, shared by the processes of one
machine.

The lock is held for one evaluation and its sends. A Redis lock expires unless renewed, so a holder
that dies frees it; while a scheduler works, a thread renews it, and a scheduler that lost it (Redis
was unreachable longer than the lease) stops sending.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from .errors import SemanticLayerError

log = logging.getLogger("semantic_layer.alerts")

# How long a Redis lock lives without renewal; it is renewed every third of that while held.
LEASE_SECONDS = 30.0
POLL_SECONDS = 0.1
RENEW_SCRIPT = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)
RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class AlertStateError(SemanticLayerError):
    """The alert state or lock cannot be reached: nothing is sent rather than sent twice."""

    def __init__(self, where: str, exc: BaseException):
        self.message = f"the alert state ({where}) cannot be used: {exc}"
        super().__init__(self.message)


@contextlib.contextmanager
def reaching(where: str) -> Any:
    """Redis and file errors as an AlertStateError naming the store."""
    try:
        yield
    except _storage_errors() as exc:
        raise AlertStateError(where, exc) from exc


def _storage_errors() -> tuple[type[BaseException], ...]:
    """OSError, and Redis's errors when Redis is installed (an optional dependency)."""
    try:
        from redis.exceptions import RedisError
    except ImportError:
        return (OSError,)
    return (OSError, RedisError)


@dataclass
class AlertState:
    evaluated_at: float | None = None  # seconds since the epoch
    sent: dict[str, dict[str, str]] = field(default_factory=dict)  # webhook id → metric → level delivered

    def to_json(self) -> str:
        return json.dumps({"evaluated_at": self.evaluated_at, "sent": self.sent}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes | None) -> AlertState:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(data.get("evaluated_at"), {k: dict(v) for k, v in (data.get("sent") or {}).items()})


class StateStore(Protocol):
    where: str

    def read(self) -> AlertState: ...

    def write(self, state: AlertState) -> None: ...


class SchedulerLock(Protocol):
    where: str

    def acquire(self, wait: float) -> bool:
        """Take the lock, waiting up to `wait` seconds for another holder to let go."""

    def held(self) -> bool:
        """Whether the lock is still this scheduler's."""

    def release(self) -> None: ...


@contextlib.contextmanager
def holding(lock: SchedulerLock, wait: float = 0.0) -> Any:
    """Yields whether the lock was taken; releases it after."""
    taken = lock.acquire(wait)
    try:
        yield taken
    finally:
        if taken:
            lock.release()


# -- a file and flock ---------------------------------------------------------------------------------
class FileStore:
    def __init__(self, path: Path):
        self.path = path
        self.where = str(path)

    def read(self) -> AlertState:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return AlertState()
        except OSError as exc:
            raise AlertStateError(self.where, exc) from exc
        try:
            return AlertState.from_json(text)
        except (ValueError, AttributeError, TypeError) as exc:
            log.warning("alert state %s cannot be read (%s): starting afresh", self.path, exc)
            return AlertState()

    def write(self, state: AlertState) -> None:
        """Whole or not at all: a crash mid-write must not leave half a file."""
        with reaching(self.where):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(state.to_json())
            os.replace(tmp, self.path)


class FileLock:
    """`flock` on a file: held by an open file, released by the OS when its process dies."""

    def __init__(self, path: Path):
        self.path = path
        self.where = str(path)
        self._file: IO[str] | None = None

    def acquire(self, wait: float) -> bool:
        with reaching(self.where):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a")  # noqa: SIM115  # held open for as long as the lock is
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    return False
                time.sleep(POLL_SECONDS)
                continue
            self._file = handle
            return True

    def held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


# -- Redis ----------------------------------------------------------------------------------------------
def redis_client(url: str) -> Any:
    from redis import Redis

    with reaching("redis"):
        try:
            return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        except ValueError as exc:  # a URL redis-py cannot read
            raise AlertStateError("redis", exc) from exc


class RedisStore:
    def __init__(self, client: Any, key: str):
        self._client = client
        self.key = key
        self.where = f"redis key {key}"

    def read(self) -> AlertState:
        with reaching(self.where):
            return AlertState.from_json(self._client.get(self.key))

    def write(self, state: AlertState) -> None:
        with reaching(self.where):
            self._client.set(self.key, state.to_json())


class RedisLock:
    """SET NX PX with a random token, renewed by a thread while held; only its token's holder may
    renew or delete it."""

    def __init__(self, client: Any, key: str, lease: float = LEASE_SECONDS):
        self._client = client
        self.key = key
        self.where = f"redis key {key}"
        self.lease = lease
        self._token: str | None = None
        self._renewed_at = 0.0  # time.monotonic() of the last renewal Redis confirmed
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self, wait: float) -> bool:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        while not self._take(token):
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        self._token = token
        self._renewed_at = time.monotonic()
        self._lost.clear()
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew, name="sl-lock-renewal", daemon=True)
        self._renewer.start()
        return True

    def _take(self, token: str) -> bool:
        with reaching(self.where):
            return bool(self._client.set(self.key, token, nx=True, px=self._lease_ms()))

    def held(self) -> bool:
        """Not once Redis said the lock is another's, nor once the lease may have run out unrenewed."""
        fresh = time.monotonic() - self._renewed_at < self.lease
        return self._token is not None and fresh and not self._lost.is_set()

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        if self._token is not None:
            with contextlib.suppress(Exception):  # an unreachable Redis lets the lease run out instead
                self._client.eval(RELEASE_SCRIPT, 1, self.key, self._token)
        self._token = None

    def _renew(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                renewed = self._client.eval(RENEW_SCRIPT, 1, self.key, self._token, self._lease_ms())
            except Exception as exc:  # Redis down: keep trying; held() turns False once the lease is over
                log.warning("renewing the lock %s failed: %s", self.where, exc)
                continue
            if renewed:
                self._renewed_at = time.monotonic()
            else:
                log.error("the lock %s was lost: another process may hold it now", self.where)
                self._lost.set()
                return

    def _lease_ms(self) -> int:
        return max(1, int(self.lease * 1000))
