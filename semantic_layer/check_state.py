"""The last data check results, so that answers reading a model whose check failed say so.

Results are kept in memory and in `checks.json` in the state folder: a `semantic-layer check` run
from cron reaches every server process and notebook of the project, each of which notices the
file changed (one `stat` per query) and reads it again. Samples are not written: the state folder
holds no rows of data. A result is forgotten when a later run of the same check passes, and
ignored once the check is no longer defined.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .checks import CheckResult

log = logging.getLogger("semantic_layer")
STATE_FILE = "checks.json"


@dataclass(frozen=True)
class Failure:
    """A check whose last run failed."""

    model: str
    name: str
    failing: int
    message: str
    checked_at: datetime

    def warning(self) -> str:
        return (
            f"model '{self.model}' failed its data check '{self.name}' ({self.message}; checked "
            f"{self.checked_at:%Y-%m-%d %H:%M} UTC): numbers read from it may be wrong"
        )


class CheckState:
    """Failures by model, in memory and (when `folder` is given) shared through a file."""

    def __init__(self, folder: Path | None):
        self.path = None if folder is None else folder / STATE_FILE
        self._failures: dict[tuple[str, str], Failure] = {}
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the file last read
        self._lock = threading.Lock()

    def record(self, results: Iterable[CheckResult]) -> None:
        """Remember the outcome of the checks that ran (an error leaves what was known), merged into
        the file under a lock, so that two runs at once (different models) both count."""
        with self._lock, self._file_lock():
            self._seen = None  # read what other processes wrote, whatever the file's stat says
            self._refresh()
            for result in results:
                key = (result.model, result.name)
                if result.status == "pass":
                    self._failures.pop(key, None)
                elif result.status == "fail":
                    self._failures[key] = Failure(
                        result.model, result.name, result.failing, result.message, result.checked_at
                    )
            self._write()

    def failures(self, models: Iterable[str], defined: set[tuple[str, str]]) -> list[Failure]:
        """The failures of `models` among the checks still `defined` ((model, name) pairs)."""
        with self._lock:
            self._refresh()
            wanted = set(models)
            return [f for key, f in sorted(self._failures.items()) if f.model in wanted and key in defined]

    def _refresh(self) -> None:
        """Read the file again when another process wrote it since it was last read."""
        if self.path is None:
            return
        try:
            stat = self.path.stat()
        except OSError:
            return
        if (stat.st_mtime_ns, stat.st_size) == self._seen:
            return
        try:
            items = json.loads(self.path.read_text(encoding="utf-8"))
            self._failures = {
                (i["model"], i["name"]): Failure(
                    i["model"], i["name"], int(i["failing"]), i["message"], datetime.fromisoformat(i["checked_at"])
                )
                for i in items
            }
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("cannot read the data check state %s: %s", self.path, exc)
        self._seen = (stat.st_mtime_ns, stat.st_size)

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """An exclusive lock shared by the processes of the project (none without a folder, or when
        the folder cannot be written: the state is then kept in memory)."""
        if self.path is None:
            yield
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(self.path.with_suffix(".lock"), "a")  # noqa: SIM115  # held for the block
        except OSError as exc:
            log.warning("cannot lock the data check state %s: %s (kept in memory)", self.path, exc)
            yield
            return
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _write(self) -> None:
        """Replace the file whole, so that a reader never sees half of it."""
        if self.path is None:
            return
        items = [
            {
                "model": f.model,
                "name": f.name,
                "failing": f.failing,
                "message": f.message,
                "checked_at": f.checked_at.isoformat(),
            }
            for f in self._failures.values()
        ]
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".checks-")
        except OSError as exc:
            log.warning("cannot write the data check state %s: %s (kept in memory)", self.path, exc)
            return
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(items, out, ensure_ascii=False)
        os.replace(tmp, self.path)
        stat = self.path.stat()
        self._seen = (stat.st_mtime_ns, stat.st_size)
