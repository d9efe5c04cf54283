"""A project as it stands at a git ref: its folder taken out of git into a scratch folder and loaded.

`semantic-layer diff BASE HEAD` compares two such versions (HEAD by default is the working tree).
Only the project's YAML files are taken out. Positions in errors and definitions are shown as paths
in the working tree (`metrics/sales.yml:12:5`), which is where the reader fixes them; the loaded
project keeps the real project folder as its root, so a relative DuckDB path still finds the data.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import Issue, SemanticLayerError, ValidationError
from ..loader import resolve_root
from ..project import Project, load

WORKING_TREE = "the working tree"


class GitError(SemanticLayerError):
    """git could not say what the project was at a ref."""


@dataclass(frozen=True)
class Version:
    """One side of a diff: its label, and the project or why it does not load."""

    label: str
    project: Project | None
    errors: tuple[Issue, ...] = ()
    shown_root: str = ""  # the project folder as paths are shown (relative to the working directory)
    loaded_root: str = ""  # where it was loaded from (a scratch folder for a git ref)

    def shown(self, file: str) -> str:
        """A file of this version as the reader finds it in the working tree."""
        if self.loaded_root and file.startswith(self.loaded_root):
            rest = file[len(self.loaded_root) :].lstrip("/")
            return f"{self.shown_root}/{rest}" if self.shown_root not in ("", ".") else rest
        return file

    def where(self, kind: str, name: str) -> str:
        """'metrics/sales.yml:132' for a definition of this version ('' when it has none)."""
        if self.project is None:
            return ""
        origin = self.project.origins.get((kind, name))
        if origin is None:
            return ""
        line, _ = origin.doc.locate(origin.path)
        return f"{self.shown(origin.doc.file)}:{line}"


def load_version(folder: Path | None, ref: str | None, scratch: Path) -> Version:
    """The project in `folder` at `ref` (None: as it is on disk)."""
    root = resolve_root(folder)
    shown = _shown(root)
    if ref is None:
        return _loaded(WORKING_TREE, root, root, shown)
    top, prefix = _repository(root)
    commit = _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", what=f"'{ref}' is not a commit")
    commit = commit.strip()
    if prefix:
        missing = f"'{ref}' has no folder '{prefix.rstrip('/')}': the project did not exist there"
        _git(top, "cat-file", "-e", f"{commit}:{prefix.rstrip('/')}", what=missing)
    target = scratch / commit
    _extract(top, commit, prefix, target)
    return _loaded(ref, target / prefix, root, shown)


def _loaded(label: str, folder: Path, root: Path, shown: str) -> Version:
    try:
        project = load(folder)
    except ValidationError as exc:
        version = Version(label, None, (), shown, str(folder))
        return replace(version, errors=tuple(replace(e, file=version.shown(e.file)) for e in exc.errors))
    return Version(label, replace(project, root=root), (), shown, str(folder))


def _shown(root: Path) -> str:
    try:
        return str(root.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(root)


def _repository(root: Path) -> tuple[Path, str]:
    """The repository's top folder and the project folder's path inside it ('' or 'a/b/')."""
    top = _git(root, "rev-parse", "--show-toplevel", what=f"{root} is not in a git repository").strip()
    prefix = _git(root, "rev-parse", "--show-prefix", what="git rev-parse failed").strip()
    return Path(top), prefix


def _extract(top: Path, commit: str, prefix: str, target: Path) -> None:
    """The YAML files under `prefix` at `commit`, written under `target` (once per commit)."""
    if target.exists():
        return
    spec = [prefix] if prefix else []
    raw = subprocess.run(
        ["git", "-C", str(top), "archive", "--format=tar", commit, "--", *spec],
        capture_output=True,
        check=False,
    )
    if raw.returncode != 0:
        raise GitError(f"git archive {commit[:12]} failed: {raw.stderr.decode(errors='replace').strip()}")
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(raw.stdout)) as archive:
        members = [m for m in archive.getmembers() if m.isfile() and m.name.endswith((".yml", ".yaml"))]
        archive.extractall(target, members=members, filter="data")


def _git(where: Path, *args: str, what: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed: diff needs it to read earlier versions") from None
    if done.returncode != 0:
        detail = done.stderr.strip()
        raise GitError(f"{what}" + (f" ({detail})" if detail else ""))
    return done.stdout
