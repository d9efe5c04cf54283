"""The project being served, and hot reload: a new version is swapped in whole or not at all.

Requests take `state.layer` once and keep that object, so a swap never changes a request mid-way.
A change that fails validation leaves the last good version serving; its errors are kept for
/ready and the `projectErrors` field until a later change fixes them. So does a valid change that
would widen access (semantic_layer/widening.py), unless the server was started to allow it: a
policies file truncated or deleted must not open the data to every caller.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from semantic_layer.errors import Issue, ValidationError
from semantic_layer.layer import Layer
from semantic_layer.project import load
from semantic_layer.widening import widenings

from .settings import ServerSettings

log = logging.getLogger("semantic_layer.server")


def signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """What the project folder looks like: every YAML file's path, mtime and size."""
    files = sorted(
        p
        for p in root.rglob("*")
        if p.suffix in (".yml", ".yaml") and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    out = []
    for path in files:
        try:
            stat = path.stat()
        except FileNotFoundError:  # deleted between listing and stat
            continue
        out.append((str(path.relative_to(root)), stat.st_mtime_ns, stat.st_size))
    return tuple(out)


class ProjectState:
    def __init__(self, settings: ServerSettings):
        self.settings = settings
        self.root = Path(settings.project).resolve()
        self._signature = signature(self.root)
        self.layer = Layer(
            load(self.root),
            settings.connection,  # a broken project refuses to start
            compiled_statements=settings.compiled_statements,
            role_views=settings.role_views,
        )
        if not self.layer.project.policies:
            log.warning(
                "project '%s' has no access policies: every caller sees every row", self.layer.project.settings.name
            )
        self.errors: list[Issue] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def check(self) -> bool:
        """Reload if the folder changed; True when a new version was swapped in."""
        with self._lock:
            current = signature(self.root)
            if current == self._signature:
                return False
            self._signature = current
            try:
                project = load(self.root)
            except ValidationError as exc:
                self.errors = exc.errors
                log.error(
                    "project change rejected, still serving version %s:\n%s",
                    self.layer.project.version,
                    "\n".join(str(e) for e in exc.errors),
                )
                return False
            old = self.layer
            widened = widenings(old.project, project)
            if widened and not self.settings.allow_widening:
                self.errors = widened
                log.error(
                    "project change would widen access, still serving version %s (restart the server, or "
                    "serve with --allow-widening, to apply it):\n%s",
                    old.project.version,
                    "\n".join(str(e) for e in widened),
                )
                return False
            connection = self.settings.connection or project.connection_url()
            engine = old._engine if connection == old.connection else None
            self.layer = Layer(
                project,
                self.settings.connection,
                engine=engine,
                compiled_statements=self.settings.compiled_statements,
                role_views=self.settings.role_views,
            )
            self.errors = []
            log.info("project reloaded: version %s → %s", old.project.version, project.version)
            if engine is None:
                # Requests in flight may still use the old connection: close it once they are done.
                timer = threading.Timer(old.project.settings.limits.timeout_seconds + 5, old.close)
                timer.daemon = True
                timer.start()
            return True

    def watch(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="project-watcher", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.reload_interval):
            try:
                self.check()
            except Exception:  # a watcher that dies silently would stop reloads for good
                log.exception("project watcher failed; retrying")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.layer.close()
