"""Cube's own schema compiler (the npm package), installed once into a cache folder outside the
repository, and driven by tests/cube/compile_queries.js to turn Cube queries into SQL.

Version 0.32.31 is the last pure-JavaScript release: the 1.x releases download a native addon
from GitHub when installed, which fails offline. Outside CI a missing npm skips; under CI=true it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from engines import unavailable

CUBE_VERSION = "0.32.31"
PACKAGE = f"@cubejs-backend/schema-compiler@{CUBE_VERSION}"
DRIVER = Path(__file__).resolve().parent / "cube" / "compile_queries.js"


def cache_folder() -> Path:
    """Where the package is installed: $CUBE_COMPILER_CACHE, else ~/.cache/semantic-layer-tests."""
    default = Path.home() / ".cache" / "semantic-layer-tests" / f"cube-schema-compiler-{CUBE_VERSION}"
    return Path(os.environ.get("CUBE_COMPILER_CACHE", default))


def install() -> Path:
    """The node_modules folder holding the compiler, installing it on first use."""
    folder = cache_folder()
    modules = folder / "node_modules"
    if (modules / "@cubejs-backend" / "schema-compiler" / "package.json").is_file():
        return modules
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        unavailable("Node.js and npm are needed to run Cube's schema compiler (apt-get install nodejs npm)")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--loglevel=error", PACKAGE],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        unavailable(f"npm could not install {PACKAGE}: {done.stderr.strip()[-300:]}")
    return modules


def compile_queries(modules: Path, model: Path, queries: list[dict[str, Any]], scratch: Path) -> list[dict[str, Any]]:
    """Cube's SQL and parameters (PostgreSQL) for each query over the model folder, or its error."""
    request = scratch / "cube-queries.json"
    request.write_text(json.dumps(queries), encoding="utf-8")
    done = subprocess.run(
        ["node", str(DRIVER), str(model), str(request)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NODE_PATH": str(modules)},
    )
    if done.returncode != 0:
        raise AssertionError(f"Cube's compiler refused the exported model:\n{done.stderr}")
    answers: list[dict[str, Any]] = json.loads(done.stdout)
    return answers
