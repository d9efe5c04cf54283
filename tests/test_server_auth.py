"""Tokens over real HTTP: audience and issuer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
import pytest
from liveserver import LiveServer
from test_server import SECRET, code_of, run, server_project

from server import ServerSettings, create_app

AUDIENCES = ("api://metrics", "api://dashboards")
ISSUER = "https://idp.example/"


@contextmanager
def serving(project: Path, **auth: Any) -> Iterator[LiveServer]:
    """A server with every auth setting explicit, so the test run's environment cannot change them."""
    base: dict[str, Any] = {"jwt_secret": None, "jwt_public_key": None, "jwt_audience": (), "jwt_issuer": None}
    with LiveServer(create_app(ServerSettings(project=project, cache_url=None, **{**base, **auth}))) as live:
        yield live


def claims(**extra: Any) -> dict[str, Any]:
    return {"roles": ["admin"], "exp": int(time.time()) + 600, **extra}


def hs256(**extra: Any) -> str:
    return jwt.encode(claims(**extra), SECRET, algorithm="HS256")


def accepted(live: LiveServer, token: str) -> bool:
    body = run(live, bearer=token, metrics=["order_count"])
    assert body.get("data") is not None, body
    return int(body["data"]["query"]["rows"][0]["order_count"]) > 0


def refusal(live: LiveServer, token: str) -> str:
    """The message of an UNAUTHENTICATED answer that holds no data."""
    body = run(live, bearer=token, metrics=["order_count"])
    assert body["data"] is None and code_of(body) == "UNAUTHENTICATED", body
    return str(body["errors"][0]["message"])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Path:
    return server_project(tmp_path_factory.mktemp("auth"), shop_db)


@pytest.fixture(scope="module")
def lenient(project: Path) -> Iterator[LiveServer]:
    with serving(project, jwt_secret=SECRET) as live:
        yield live


@pytest.fixture(scope="module")
def strict(project: Path) -> Iterator[LiveServer]:
    with serving(project, jwt_secret=SECRET, jwt_audience=AUDIENCES, jwt_issuer=ISSUER) as live:
        yield live


# -- audience and issuer ----------------------------------------------------------------------------
def test_a_token_with_an_audience_is_accepted_when_none_is_configured(lenient: LiveServer) -> None:
    assert accepted(lenient, hs256(aud="api://somewhere-else", iss="https://any-issuer/"))


@pytest.mark.parametrize("aud", ["api://dashboards", ["api://other", "api://metrics"]], ids=["string", "list"])
def test_a_token_for_a_configured_audience_is_accepted(strict: LiveServer, aud: str | list[str]) -> None:
    assert accepted(strict, hs256(aud=aud, iss=ISSUER))


def test_a_token_without_an_audience_is_refused_when_one_is_configured(strict: LiveServer) -> None:
    message = refusal(strict, hs256(iss=ISSUER))
    assert "lacks the 'aud' claim" in message and "api://metrics" in message


def test_a_token_for_another_audience_is_refused(strict: LiveServer) -> None:
    message = refusal(strict, hs256(aud=["api://billing"], iss=ISSUER))
    assert "another audience" in message and "api://dashboards" in message


def test_a_token_from_another_issuer_is_refused(strict: LiveServer) -> None:
    message = refusal(strict, hs256(aud="api://metrics", iss="https://evil.example/"))
    assert "another issuer" in message and ISSUER in message


def test_a_token_without_an_issuer_is_refused_when_one_is_configured(strict: LiveServer) -> None:
    assert "lacks the 'iss' claim" in refusal(strict, hs256(aud="api://metrics"))


def test_the_audience_setting_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    monkeypatch.setenv("SEMANTIC_LAYER_JWT_AUDIENCE", "api://metrics, api://dashboards")
    monkeypatch.setenv("SEMANTIC_LAYER_JWT_ISSUER", ISSUER)
    settings = ServerSettings(project=project)
    assert settings.jwt_audience == AUDIENCES and settings.jwt_issuer == ISSUER
