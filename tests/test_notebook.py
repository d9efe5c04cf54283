"""The example notebook runs end to end in a real kernel (this venv's Python), against a live server
and against the local layer, and its cells run as a plain script too; the notebook is the script's
cells, written by examples/make_notebook.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import CRM_PROJECT
from liveserver import LiveServer
from nbclient import NotebookClient
from served import SECRET, token

from server import ServerSettings, create_app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))

import make_notebook  # noqa: E402  # examples/ is no package

pytestmark = pytest.mark.slow  # three kernels and a server: about 30 s


KERNEL = "semantic-layer-tests"


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a kernel spec that starts this interpreter, whatever `python` on PATH is."""
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "tests", "language": "python"}))
    return folder


@pytest.fixture
def kernel(kernels: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join([str(kernels), os.environ.get("JUPYTER_PATH", "")]))
    return KERNEL


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The kernel and the script import this checkout's package, not an installed copy."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    for name in ("SEMANTIC_LAYER_URL", "SEMANTIC_LAYER_TOKEN", "SEMANTIC_LAYER_PROJECT", "SEMANTIC_LAYER_CONNECTION"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def live(crm: Any, crm_db: Path) -> Iterator[LiveServer]:
    settings = ServerSettings(project=CRM_PROJECT, connection=f"duckdb:///{crm_db}", jwt_secret=SECRET, cache_url=None)
    with LiveServer(create_app(settings)) as server:
        yield server


def execute(kernel: str) -> nbformat.NotebookNode:
    book = nbformat.reads(make_notebook.rendered(), as_version=4)
    NotebookClient(book, kernel_name=kernel, timeout=120, resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    return book


def outputs(book: nbformat.NotebookNode) -> tuple[str, set[str]]:
    """The printed text and the kinds of rich output of every code cell."""
    text, kinds = [], set()
    for cell in book.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", out
            text.append(out.get("text", ""))
            kinds |= set(out.get("data", {}))
    return "".join(text), kinds


def check(book: nbformat.NotebookNode, source: str) -> None:
    text, kinds = outputs(book)
    assert text.startswith(source) and "orders, " in text and "collection_rate" in text
    assert "text/html" in kinds and "image/png" in kinds  # answers as tables, and the plot
    html = "".join(
        out["data"].get("text/html", "") for cell in book.cells for out in cell.get("outputs", []) if "data" in out
    )
    assert 'class="semantic-layer-result"' in html and "<details><summary>SQL</summary>" in html


def test_the_notebook_is_the_scripts_cells() -> None:
    assert make_notebook.main(["--check"]) == 0
    kinds = [kind for kind, _ in make_notebook.cells(make_notebook.SCRIPT.read_text())]
    assert kinds.count("code") >= 7 and kinds[0] == "markdown"


def test_the_notebook_runs_against_a_live_server(
    kernel: str, environment: pytest.MonkeyPatch, live: LiveServer
) -> None:
    environment.setenv("SEMANTIC_LAYER_URL", live.url)
    environment.setenv("SEMANTIC_LAYER_TOKEN", token(["admin"]))
    check(execute(kernel), "Client ")


def test_the_notebook_runs_against_the_local_layer(
    kernel: str, environment: pytest.MonkeyPatch, crm: Any, crm_db: Path
) -> None:
    environment.setenv("SEMANTIC_LAYER_PROJECT", str(CRM_PROJECT))
    environment.setenv("SEMANTIC_LAYER_CONNECTION", f"duckdb:///{crm_db}")
    check(execute(kernel), "Layer ")


def test_the_same_cells_run_as_a_plain_script(environment: pytest.MonkeyPatch, crm: Any, crm_db: Path) -> None:
    environment.setenv("SEMANTIC_LAYER_PROJECT", str(CRM_PROJECT))
    environment.setenv("SEMANTIC_LAYER_CONNECTION", f"duckdb:///{crm_db}")
    environment.setenv("MPLBACKEND", "Agg")
    done = subprocess.run(
        [sys.executable, str(make_notebook.SCRIPT)], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Layer ") and "orders, " in done.stdout and "collection_rate" in done.stdout
