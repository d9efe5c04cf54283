"""Server settings: constructor arguments for tests, environment variables for deployments."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from semantic_layer.compiler.pipeline import CACHE_SIZE
from semantic_layer.layer import ROLE_VIEWS
from semantic_layer.notify import utc_now


def _env_list(name: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in os.environ.get(name, "").split(",") if v.strip())


@dataclass(frozen=True)
class ServerSettings:
    project: Path
    connection: str | None = None
    reload: bool = False
    reload_interval: float = 0.5
    allow_widening: bool = False  # apply reloads that widen access (server/reload.py); off: hold them back
    jwt_secret: str | None = field(default_factory=lambda: os.environ.get("SEMANTIC_LAYER_JWT_SECRET"))
    jwt_public_key: str | None = field(
        default_factory=lambda: _read_key(os.environ.get("SEMANTIC_LAYER_JWT_PUBLIC_KEY"))
    )
    jwks_url: str | None = field(default_factory=lambda: os.environ.get("SEMANTIC_LAYER_JWKS_URL") or None)
    jwks_lifespan: float = 300.0  # seconds a fetched key set is used before it is fetched again
    jwks_cooldown: float = 30.0  # least seconds between the refetches that unknown kids trigger
    jwt_audience: tuple[str, ...] = field(default_factory=lambda: _env_list("SEMANTIC_LAYER_JWT_AUDIENCE"))
    jwt_issuer: str | None = field(default_factory=lambda: os.environ.get("SEMANTIC_LAYER_JWT_ISSUER") or None)
    cache_url: str | None = field(default_factory=lambda: os.environ.get("SEMANTIC_LAYER_CACHE_URL"))
    cache_max_bytes: int = field(default_factory=lambda: _env_int("SEMANTIC_LAYER_CACHE_MAX_BYTES", 256 * 2**20))
    # Larger answers are not cached (in memory or in Redis): one export-sized answer would otherwise
    # push every dashboard's answers out of the cache.
    cache_max_entry_bytes: int = field(
        default_factory=lambda: _env_int("SEMANTIC_LAYER_CACHE_MAX_ENTRY_BYTES", 32 * 2**20)
    )
    cors_origins: tuple[str, ...] = field(default_factory=lambda: _env_list("SEMANTIC_LAYER_CORS_ORIGINS"))
    max_request_bytes: int = 256 * 1024
    max_depth: int = 10
    max_aliases: int = 30
    max_fields: int = 500
    max_tokens: int = 2000  # GraphQL document tokens; a dashboard's document has a few hundred
    threads: int = 8
    fast_path: bool = True  # answer recognised `query` documents without strawberry (server/fastpath.py)
    # How long one server process may hold the shared cache's lock on an answer it is computing;
    # the others wait that long for the answer before computing it themselves.
    cache_lock_seconds: float = field(
        default_factory=lambda: float(os.environ.get("SEMANTIC_LAYER_CACHE_LOCK_SECONDS", 5))
    )
    # Compiled statements kept for all roles together (a few KiB each), and role views (one per set
    # of roles seen): bounds on what a long-running server keeps for the query shapes it met.
    compiled_statements: int = field(default_factory=lambda: _env_int("SEMANTIC_LAYER_COMPILED_STATEMENTS", CACHE_SIZE))
    role_views: int = field(default_factory=lambda: _env_int("SEMANTIC_LAYER_ROLE_VIEWS", ROLE_VIEWS))
    # The C allocator's arenas, and how often its free pages go back to the system (server/allocator.py;
    # 0 turns either off).
    allocator_arenas: int = field(default_factory=lambda: _env_int("SEMANTIC_LAYER_ALLOCATOR_ARENAS", 2))
    memory_trim_seconds: float = field(
        default_factory=lambda: float(os.environ.get("SEMANTIC_LAYER_MEMORY_TRIM_SECONDS", 30))
    )
    # How often this server evaluates thresholds and pushes level changes ('15 minutes'); replaces the
    # project's `alerts.every`. Neither set: no scheduler runs.
    alerts_every: str | None = field(default_factory=lambda: os.environ.get("SEMANTIC_LAYER_ALERTS_EVERY") or None)
    # Least seconds between two runs of a model's data checks for GraphQL `checks` (server/check_runs.py):
    # every check reads the whole model, and any caller may ask.
    checks_interval: float = field(
        default_factory=lambda: float(os.environ.get("SEMANTIC_LAYER_CHECKS_INTERVAL_SECONDS", 60))
    )
    # Refresh the project's rollups in the background, each once its refresh.every has passed.
    refresh_rollups: bool = field(default_factory=lambda: os.environ.get("SEMANTIC_LAYER_REFRESH_ROLLUPS") == "1")
    # What "now" is for alerts (the `alerts` field and the scheduler): a seam for tests.
    clock: Callable[[], datetime] = utc_now


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _read_key(value: str | None) -> str | None:
    """A PEM public key given inline or as a path to a file."""
    if value and not value.lstrip().startswith("-----") and Path(value).is_file():
        return Path(value).read_text()
    return value
