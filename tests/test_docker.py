"""docker/: the compose file and the image, tested without a Docker engine.

The compose file is resolved by `docker-compose config` (Debian's docker-compose) and checked
against what the server reads; the Dockerfile's build steps run as a script in a fresh virtual
environment; and the server starts with the environment the compose file and the image give it,
with only hosts, ports and paths pointed at this machine, and answers /health and GraphQL.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from engines import PG_ADMIN, unavailable
from liveserver import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "SEMANTIC_LAYER_JWT_SECRET": "a-jwt-secret-of-at-least-32-bytes!",
    "CUBEJS_API_SECRET": "cube",
}
SERVICES = {"postgres", "redis", "demo", "semantic-layer", "cube"}


def _resolved_compose() -> dict[str, Any]:
    """The compose file as docker-compose resolves it, with the secrets it requires set."""
    tool = shutil.which("docker-compose")
    if tool is None:
        unavailable("docker-compose is not installed (apt-get install docker-compose)")
    done = subprocess.run(
        [tool, "-f", str(DOCKER / "compose.yml"), "config"],
        capture_output=True,
        text=True,
        env={**os.environ, **SECRETS},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    resolved: dict[str, Any] = yaml.safe_load(done.stdout)
    return resolved


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for name, args in _instructions():
        if name == "FROM":
            stages.append([])
        stages[-1].append((name, args))
    return stages


def _image_env() -> dict[str, str]:
    """The runtime stage's ENV (KEY=value pairs)."""
    env: dict[str, str] = {}
    for name, args in _stages()[-1]:
        if name == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(args))  # type: ignore[arg-type]
    return env


def _variables_read_by_the_code() -> set[str]:
    pattern = re.compile(r"SEMANTIC_LAYER_[A-Z_]+")
    found: set[str] = set()
    for folder in ("semantic_layer", "server"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_compose_file_resolves_and_gives_each_service_what_it_needs() -> None:
    services = _resolved_compose()["services"]
    assert set(services) == SERVICES
    server = services["semantic-layer"]
    env = server["environment"]
    read = _variables_read_by_the_code()
    assert {k for k in env if k.startswith("SEMANTIC_LAYER_")} <= read, "the server would ignore some variables"
    assert env["SEMANTIC_LAYER_JWT_SECRET"] == SECRETS["SEMANTIC_LAYER_JWT_SECRET"]  # from the environment
    assert env["SEMANTIC_LAYER_CACHE_URL"].startswith("redis://redis:")
    assert env["SEMANTIC_LAYER_CONNECTION"].startswith("postgresql://semantic:pg-secret@postgres:5432/crm")
    assert [(p["target"], p["published"]) for p in server["ports"]] == [(4000, 4000)]
    assert int(env["PORT"]) == 4000 and int(env["WORKERS"]) >= 2
    # The demo writes Cube's model into the volume Cube reads it from.
    demo, cube = services["demo"], services["cube"]
    writes = _mounts(demo)["cube-model"]
    assert f"--output {writes}" in " ".join(demo["command"])
    assert _mounts(cube)["cube-model"] == "/cube/conf/model"
    assert _mounts(server)[str(ROOT / "metrics")] == _image_env()["SEMANTIC_LAYER_PROJECT"]
    assert cube["image"].startswith("cubejs/cube:")
    assert cube["environment"]["CUBEJS_DB_NAME"] == services["postgres"]["environment"]["POSTGRES_DB"]
    assert cube["environment"]["CUBEJS_API_SECRET"] == SECRETS["CUBEJS_API_SECRET"]


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """source → target of a service's volumes (docker-compose v1 writes 'source:target:mode')."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        found[source] = target
    return found


def test_no_secret_is_written_into_the_files() -> None:
    raw = yaml.safe_load((DOCKER / "compose.yml").read_text())
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"SECRET|PASS", key):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), (
                    f"{name}.{key} must come from the environment"
                )
    for name, args in _instructions():
        if name in ("ENV", "ARG"):
            assert not re.search(r"SECRET|PASSWORD|TOKEN", args), args


def test_the_image_is_multi_stage_slim_unprivileged_and_checks_its_health() -> None:
    stages = _stages()
    assert len(stages) >= 2 and all("slim" in stage[0][1] for stage in stages)
    runtime = dict(stages[-1])
    assert runtime["USER"] not in ("root", "0")
    assert "/health" in runtime["HEALTHCHECK"] and "$PORT" not in runtime["HEALTHCHECK"]
    assert '--workers "$WORKERS"' in runtime["CMD"] and '--port "$PORT"' in runtime["CMD"]
    assert runtime["EXPOSE"] == "4000" and _image_env()["SEMANTIC_LAYER_PROJECT"] == "/srv/project"


@pytest.mark.slow
def test_the_build_steps_install_a_working_server_in_a_fresh_environment(tmp_path: Path) -> None:
    """The build stage's RUN steps, as a script, over a copy of what it COPYs, into a new venv."""
    build = _stages()[0]
    src = tmp_path / "src"
    src.mkdir()
    for name, args in build:
        if name == "COPY":
            *sources, target = args.split()
            for source in sources:
                into = src / target / Path(source).name if target.endswith("/") else src / target
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, into, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(ROOT / source, into)
    env_line = next(args for name, args in build if name == "ENV")
    env = dict(part.split("=", 1) for part in shlex.split(env_line))
    env["VIRTUAL_ENV"] = str(tmp_path / "venv")
    script = "set -eu\n" + "\n".join(args for name, args in build if name == "RUN") + "\n"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=src,
        env={**os.environ, **env, "PIP_QUIET": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "venv" / "bin" / "semantic-layer").is_file()


def _load_demo_module() -> Any:
    spec = importlib.util.spec_from_file_location("load_demo", DOCKER / "load_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def demo_schema() -> Any:
    """A fresh schema holding the demo, loaded by docker/load_demo.py as the compose file's demo does."""
    import uuid

    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({str(exc).strip()[:80]})")
    schema = f"sl_docker_{uuid.uuid4().hex[:10]}"
    admin.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(psycopg.sql.Identifier(schema)))
    url = f"{PG_ADMIN}?options=-csearch_path%3D{schema}"
    try:
        counts = _load_demo_module().load(url, scale=0.02, seed=42)
        assert counts["orders"] > 0 and "receivable_snapshots" in counts
        yield url
    finally:
        admin.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(schema)))
        admin.close()


@pytest.mark.slow
def test_the_server_starts_with_the_compose_environment_and_answers(demo_schema: str, tmp_path: Path) -> None:
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis is not reachable on 127.0.0.1:6379 ({exc})")
    service = _resolved_compose()["services"]["semantic-layer"]
    port = free_port()
    env = {**_image_env(), **service["environment"]}
    # Pointed at this machine: the warehouse, the cache, the port, the project and state folders.
    env.update(
        SEMANTIC_LAYER_CONNECTION=demo_schema,
        SEMANTIC_LAYER_CACHE_URL=env["SEMANTIC_LAYER_CACHE_URL"].replace("redis://redis:", "redis://127.0.0.1:"),
        PORT=str(port),
        SEMANTIC_LAYER_PROJECT=str(ROOT / "metrics"),
        SEMANTIC_LAYER_STATE_DIR=str(tmp_path / "state"),
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    )
    command = _stages()[-1]
    cmd = dict(command)["CMD"].replace("--host 0.0.0.0", "--host 127.0.0.1")
    server = subprocess.Popen(["sh", "-c", cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, server)
        # The image's own HEALTHCHECK command, as Docker runs it inside the container.
        check = json.loads(dict(command)["HEALTHCHECK"].split(" CMD ", 1)[1])
        assert subprocess.run(check, env=env, timeout=10).returncode == 0
        token = jwt.encode({"roles": ["admin"], "exp": int(time.time()) + 600}, env["SEMANTIC_LAYER_JWT_SECRET"])
        body = {"query": '{ query(input: {metrics: ["revenue"], dimensions: ["customers.tier"]}) { rows } }'}
        answer = httpx.post(f"{base}/graphql", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert answer.status_code == 200, answer.text
        rows = answer.json()["data"]["query"]["rows"]
        assert {row["customers.tier"] for row in rows} >= {"strategic", "key", "normal"}
        refused = httpx.post(f"{base}/graphql", json=body, timeout=30)  # no token: the policies apply
        assert "errors" in refused.json() or refused.status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stdout.read().decode() if server.stdout else ""
            raise AssertionError(f"the server exited ({server.returncode}):\n{output}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError("the server did not answer /health within 60 s")
