"""Governance commands on a large project: `diff` and `lint` on 1 000 metrics. Prints a table; asserts nothing.

    python bench/governance.py [--runs 5]

The project is bench/compile.py's generated one (100 models in a join chain, 1 000 metrics of every
type), committed to a temporary git repository; the change committed on a branch is the one a pull
request typically holds: a ratio's denominator changed, a measure renamed (and the metrics reading
it), a deprecated metric added. "In process" times the command's own work (loading both versions
from git, comparing, compiling what changed, rendering Markdown; loading and linting); "command"
is the whole `semantic-layer …` process, Python's start and imports included. The audit log's row
is the time a query spends handing its record over (the write happens on a thread of its own).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from compile import generated_project  # noqa: E402

import semantic_layer as sl  # noqa: E402
from semantic_layer.audit import AuditLog  # noqa: E402
from semantic_layer.audit_files import LogFiles  # noqa: E402
from semantic_layer.audit_record import AuditRecord  # noqa: E402
from semantic_layer.cli import app  # noqa: E402
from semantic_layer.governance.lint import lint  # noqa: E402

GIT = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "bench"}
GIT |= {"GIT_COMMITTER_EMAIL": "b@example.com"}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **GIT})


def repository(root: Path) -> Path:
    """The generated project on main, and on the branch `change` the pull request; returns the project."""
    git(root, "init", "-q", "-b", "main")
    project = root / "metrics"
    project.mkdir()
    generated_project(project)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the project")
    git(root, "checkout", "-qb", "change")
    text = (project / "models.yml").read_text()
    # model_4's total_4 becomes gross_4, and the ten metrics reading it follow; metric_1's denominator changes.
    head, sep, tail = text.partition("  - name: model_4\n")
    tail = tail.replace("{name: total_4,", "{name: gross_4,", 1)
    text = re.sub(r"measure: model_4\.total_4,", "measure: model_4.gross_4,", head + sep + tail)
    text = text.replace(
        "{name: metric_1, type: ratio, numerator: metric_0, denominator: metric_0}",
        "{name: metric_1, type: ratio, numerator: metric_0, denominator: metric_4}",
    )
    text += (
        "  - {name: metric_old, type: simple, measure: model_3.total_1, status: deprecated, replaced_by: metric_3}\n"
    )
    (project / "models.yml").write_text(text)
    git(root, "commit", "-qam", "a changed ratio, a renamed measure, a deprecated metric")
    return project


def timed(fn: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of each run (CPU time does not count other processes' load on
    a shared machine, which wall-clock time does)."""
    fn()  # warm-up: imports, caches of parsed snippets
    wall, cpu = [], []
    for _ in range(runs):
        start, started = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - started) * 1000)
    return wall, cpu


def command(args: list[str], cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "semantic_layer", *args], cwd=cwd, capture_output=True)
    # 1: lint found errors (the generated project breaks governance rules by design), 2: diff found changes
    assert done.returncode in (0, 1, 2) and b"Traceback" not in done.stderr, done.stderr.decode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runner = CliRunner()
    table = Table(title=f"governance on 1 000 metrics / 100 models ({args.runs} runs; ms)")
    for column in ("case", "wall median", "wall max", "CPU median", "goal"):
        table.add_column(column)

    def row(label: str, samples: tuple[list[float], list[float]], goal: str) -> None:
        wall, cpu = samples
        in_process = "command" not in label  # a command's CPU time is its child's: not measured here
        shown = f"{statistics.median(cpu):.0f}" if in_process else "—"
        table.add_row(label, f"{statistics.median(wall):.0f}", f"{max(wall):.0f}", shown, goal)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = repository(root)
        os.chdir(root)
        os.environ["SEMANTIC_LAYER_STATE_DIR"] = str(root / "state")

        def diff() -> None:
            result = runner.invoke(app, ["diff", "main", "-p", "metrics", "--format", "markdown"])
            assert result.exit_code == 0 and "metric_1" in result.stdout, result.output

        def lint_command() -> None:
            result = runner.invoke(app, ["lint", "-p", "metrics"])
            assert result.exit_code in (0, 1), result.output

        loaded = sl.load(project)
        row("diff main (no --values), in process", timed(diff, args.runs), "< 2000")
        row(
            "semantic-layer diff main, command",
            timed(lambda: command(["diff", "main", "-p", "metrics", "-f", "markdown"], root), args.runs),
            "—",
        )
        row("lint (load + rules), in process", timed(lint_command, args.runs), "< 1000")
        row("lint rules alone (project loaded)", timed(lambda: lint(loaded, queried=set()), args.runs), "—")
        row("semantic-layer lint, command", timed(lambda: command(["lint", "-p", "metrics"], root), args.runs), "—")
        row("load + validate the project", timed(lambda: sl.load(project), args.runs), "—")

        log = AuditLog(LogFiles(root / "audit"))
        record = AuditRecord(time.time(), "server", ("sales_rep",), ("revenue",), ("metric_time:month",), 3.0, False)
        per, _ = timed(lambda: [log.record(record) for _ in range(10_000)], 1)
        log.close()
        table.add_row("audit log: hand a record over (per query, µs)", f"{per[0] / 10:.1f}", "", "", "—")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
