"""Tokens over real HTTP: audience and issuer, keys fetched from a JWKS endpoint by kid, key
rotation, an unreachable key set, and tokens that try to choose their own algorithm."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from liveserver import LiveServer, free_port
from served import SECRET, code_of, run, server_project
from typer.testing import CliRunner

from semantic_layer.access import Principal
from semantic_layer.cli import app as cli
from server import ServerSettings, create_app
from server import auth as auth_module
from server.lru import BoundedCache

AUDIENCES = ("api://metrics", "api://dashboards")
ISSUER = "https://idp.example/"
UNAVAILABLE = "could not fetch its signing key set"


class KeyServer:
    """A JWKS endpoint on a loopback port whose key set (or answer) the test changes; counts fetches."""

    def __init__(self, *keys: dict[str, Any]):
        self.keys = list(keys)
        self.body: bytes | None = None  # served instead of the key set when set
        self.status = 200
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = outer.body if outer.body is not None else json.dumps({"keys": outer.keys}).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/.well-known/jwks.json"

    def __enter__(self) -> KeyServer:
        threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()


@contextmanager
def silent_endpoint() -> Iterator[str]:
    """A port that accepts connections and never answers: an identity provider that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/jwks.json"


@contextmanager
def serving(project: Path, **auth: Any) -> Iterator[LiveServer]:
    """A server with every auth setting explicit, so the test run's environment cannot change them."""
    base: dict[str, Any] = {
        "jwt_secret": None,
        "jwt_public_key": None,
        "jwks_url": None,
        "jwt_audience": (),
        "jwt_issuer": None,
    }
    with LiveServer(create_app(ServerSettings(project=project, cache_url=None, **{**base, **auth}))) as live:
        yield live


def claims(**extra: Any) -> dict[str, Any]:
    return {"roles": ["admin"], "exp": int(time.time()) + 600, **extra}


def hs256(**extra: Any) -> str:
    return jwt.encode(claims(**extra), SECRET, algorithm="HS256")


def signed(key: Any, kid: str, algorithm: str = "RS256", **extra: Any) -> str:
    return jwt.encode(claims(**extra), key, algorithm=algorithm, headers={"kid": kid})


def jwk(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    return {**algorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], payload: dict[str, Any], hmac_key: bytes | None = None) -> str:
    """A token assembled by hand, as an attacker would: pyjwt refuses to make these."""
    head = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(hmac_key, head.encode(), hashlib.sha256).digest() if hmac_key is not None else b""
    return f"{head}.{b64(signature)}"


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


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
def rsa_old() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_new() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


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


def test_the_token_command_mints_for_the_configured_audience_and_issuer(
    strict: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEMANTIC_LAYER_JWT_SECRET", SECRET)
    monkeypatch.setenv("SEMANTIC_LAYER_JWT_AUDIENCE", ",".join(AUDIENCES))
    monkeypatch.setenv("SEMANTIC_LAYER_JWT_ISSUER", ISSUER)
    result = CliRunner().invoke(cli, ["token", "--role", "admin", "--expires", "5m"])
    assert result.exit_code == 0, result.stderr
    assert accepted(strict, result.stdout.strip())


def test_the_audience_setting_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    monkeypatch.setenv("SEMANTIC_LAYER_JWT_AUDIENCE", "api://metrics, api://dashboards")
    monkeypatch.setenv("SEMANTIC_LAYER_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("SEMANTIC_LAYER_JWKS_URL", "https://idp.example/.well-known/jwks.json")
    settings = ServerSettings(project=project)
    assert settings.jwt_audience == AUDIENCES and settings.jwt_issuer == ISSUER
    assert settings.jwks_url == "https://idp.example/.well-known/jwks.json"


# -- verified tokens are remembered -----------------------------------------------------------------
def test_remembered_tokens_are_bounded_and_the_least_recently_used_go_first() -> None:
    remembered: BoundedCache[auth_module.Verified] = BoundedCache(2)
    entries = {name: auth_module.Verified(Principal(), 0.0, auth_module.SigningKey("k", "HS256")) for name in "abc"}
    remembered.put("a", entries["a"])
    remembered.put("b", entries["b"])
    assert remembered.get("a") is entries["a"]  # a is now the most recently used
    remembered.put("c", entries["c"])
    assert remembered.get("b") is None and remembered.get("a") is entries["a"] and remembered.get("c") is entries["c"]


# -- keys from a JWKS endpoint ----------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_token_is_verified_with_the_key_its_kid_names(
    project: Path, rsa_old: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey, algorithm: str
) -> None:
    with KeyServer(jwk(rsa_old, "rsa-1"), jwk(ec_key, "ec-1")) as keys, serving(project, jwks_url=keys.url) as live:
        key, kid = (rsa_old, "rsa-1") if algorithm == "RS256" else (ec_key, "ec-1")
        assert accepted(live, signed(key, kid, algorithm))


def test_the_key_set_is_fetched_once_for_many_tokens(project: Path, rsa_old: rsa.RSAPrivateKey) -> None:
    with KeyServer(jwk(rsa_old, "rsa-1")) as keys, serving(project, jwks_url=keys.url) as live:
        for n in range(20):
            assert accepted(live, signed(rsa_old, "rsa-1", n=n))
        assert keys.fetches == 1


def test_the_key_set_is_fetched_again_once_its_lifespan_is_over(project: Path, rsa_old: rsa.RSAPrivateKey) -> None:
    token = signed(rsa_old, "rsa-1")
    with KeyServer(jwk(rsa_old, "rsa-1")) as keys, serving(project, jwks_url=keys.url, jwks_lifespan=0.5) as live:
        assert accepted(live, token) and accepted(live, token) and keys.fetches == 1
        time.sleep(0.6)
        assert accepted(live, token) and keys.fetches == 2


def test_an_unknown_kid_is_refused_after_one_refetch_naming_it(project: Path, rsa_old: rsa.RSAPrivateKey) -> None:
    with KeyServer(jwk(rsa_old, "rsa-1")) as keys, serving(project, jwks_url=keys.url, jwks_cooldown=0) as live:
        assert accepted(live, signed(rsa_old, "rsa-1"))
        assert "no key with kid 'who-knows'" in refusal(live, signed(rsa_old, "who-knows"))
        assert keys.fetches == 2


def test_a_flood_of_unknown_kids_does_not_flood_the_key_server(project: Path, rsa_old: rsa.RSAPrivateKey) -> None:
    with KeyServer(jwk(rsa_old, "rsa-1")) as keys, serving(project, jwks_url=keys.url) as live:
        assert accepted(live, signed(rsa_old, "rsa-1"))
        for n in range(10):
            refusal(live, signed(rsa_old, f"made-up-{n}"))
        assert keys.fetches == 1  # the next refetch waits for the cooldown


def test_a_new_kid_is_fetched_once_and_accepted(
    project: Path, rsa_old: rsa.RSAPrivateKey, rsa_new: rsa.RSAPrivateKey
) -> None:
    with KeyServer(jwk(rsa_old, "2024")) as keys, serving(project, jwks_url=keys.url, jwks_cooldown=0) as live:
        assert accepted(live, signed(rsa_old, "2024"))
        keys.keys = [jwk(rsa_old, "2024"), jwk(rsa_new, "2025")]
        for n in range(5):
            assert accepted(live, signed(rsa_new, "2025", n=n))
        assert keys.fetches == 2


def test_a_key_rotated_out_of_the_set_stops_admitting_its_tokens(
    project: Path, rsa_old: rsa.RSAPrivateKey, rsa_new: rsa.RSAPrivateKey
) -> None:
    remembered = signed(rsa_old, "2024")
    with KeyServer(jwk(rsa_old, "2024")) as keys, serving(project, jwks_url=keys.url, jwks_cooldown=0) as live:
        assert accepted(live, remembered)
        keys.keys = [jwk(rsa_new, "2025")]
        assert accepted(live, signed(rsa_new, "2025"))  # an unknown kid: the set is fetched again
        assert "no key with kid '2024'" in refusal(live, remembered)
        assert "no key with kid '2024'" in refusal(live, signed(rsa_old, "2024", n=1))


def test_a_development_token_is_accepted_beside_the_key_set(project: Path, rsa_old: rsa.RSAPrivateKey) -> None:
    minted = auth_module.mint_token(SECRET, ["admin"], {}, 600)
    with KeyServer(jwk(rsa_old, "rsa-1")) as keys, serving(project, jwt_secret=SECRET, jwks_url=keys.url) as live:
        assert accepted(live, minted) and accepted(live, signed(rsa_old, "rsa-1"))


# -- a key set that cannot be had -------------------------------------------------------------------
@pytest.mark.parametrize("problem", ["refused", "error status", "not json", "no usable keys"])
def test_a_key_set_that_cannot_be_fetched_is_unauthenticated(
    project: Path, rsa_old: rsa.RSAPrivateKey, problem: str
) -> None:
    with KeyServer(jwk(rsa_old, "rsa-1")) as keys:
        keys.status, keys.body = {
            "refused": (200, None),
            "error status": (503, b"{}"),
            "not json": (200, b"<html>sign in</html>"),
            "no usable keys": (200, b'{"keys": [{"kty": "XYZ", "kid": "rsa-1"}]}'),
        }[problem]
        url = f"http://127.0.0.1:{free_port()}/jwks.json" if problem == "refused" else keys.url
        with serving(project, jwks_url=url) as live:
            assert UNAVAILABLE in refusal(live, signed(rsa_old, "rsa-1"))


@pytest.mark.slow  # waits out timeouts or expiry on purpose
def test_a_key_server_that_never_answers_delays_a_request_seconds_not_forever(
    project: Path, rsa_old: rsa.RSAPrivateKey
) -> None:
    with silent_endpoint() as url, serving(project, jwks_url=url) as live:
        started = time.monotonic()
        assert UNAVAILABLE in refusal(live, signed(rsa_old, "rsa-1"))
        assert time.monotonic() - started < auth_module.FETCH_TIMEOUT + 2


@pytest.mark.slow  # waits out timeouts or expiry on purpose
def test_a_hanging_key_fetch_does_not_block_other_requests(
    project: Path, rsa_old: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth_module, "FETCH_TIMEOUT", 2.5)
    with silent_endpoint() as url, serving(project, jwt_secret=SECRET, jwks_url=url) as live:
        waiting = threading.Thread(target=refusal, args=(live, signed(rsa_old, "rsa-1")))
        waiting.start()
        time.sleep(0.3)  # the fetch is now hanging
        started = time.monotonic()
        assert httpx.get(f"{live.url}/health", timeout=5).json() == {"status": "ok"}
        assert accepted(live, hs256())
        assert time.monotonic() - started < 1.5 and waiting.is_alive()  # answered while the fetch hangs
        waiting.join()


@pytest.mark.slow  # waits out timeouts or expiry on purpose
def test_after_a_failed_fetch_tokens_are_refused_at_once_until_the_retry(
    project: Path, rsa_old: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth_module, "RETRY_AFTER", 1.0)
    with KeyServer(jwk(rsa_old, "rsa-1")) as keys, serving(project, jwks_url=keys.url) as live:
        keys.status = 503
        for n in range(5):
            assert UNAVAILABLE in refusal(live, signed(rsa_old, "rsa-1", n=n))
        assert keys.fetches == 1
        keys.status = 200
        time.sleep(1.1)
        assert accepted(live, signed(rsa_old, "rsa-1")) and keys.fetches == 2


def test_an_unreachable_key_set_is_logged_once_per_outage(
    project: Path, rsa_old: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(auth_module, "RETRY_AFTER", 0.2)
    caplog.set_level(logging.WARNING, logger="semantic_layer.server")
    with KeyServer(jwk(rsa_old, "rsa-1")) as keys, serving(project, jwks_url=keys.url) as live:
        keys.status = 503
        for n in range(3):
            refusal(live, signed(rsa_old, "rsa-1", n=n))
            time.sleep(0.25)
        assert keys.fetches == 3
        keys.status = 200
        assert accepted(live, signed(rsa_old, "rsa-1"))
    messages = [r.getMessage() for r in caplog.records if r.name == "semantic_layer.server"]
    assert len(messages) == 2 and "cannot fetch the JWKS key set" in messages[0] and keys.url in messages[0]
    assert "can be fetched again" in messages[1] and all(r.exc_info is None for r in caplog.records)


def test_a_jwks_url_that_is_not_http_is_refused_naming_the_setting(project: Path, rsa_old: rsa.RSAPrivateKey) -> None:
    with serving(project, jwks_url="file:///etc/passwd") as live:
        assert "SEMANTIC_LAYER_JWKS_URL" in refusal(live, signed(rsa_old, "rsa-1"))


# -- tokens that choose their own algorithm ---------------------------------------------------------
@pytest.mark.parametrize("source", ["key set", "configured public key"])
def test_an_hs256_token_signed_with_the_public_key_is_refused(
    project: Path, rsa_old: rsa.RSAPrivateKey, source: str
) -> None:
    forged = unsigned({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims(), public_pem(rsa_old).encode())
    with KeyServer(jwk(rsa_old, "rsa-1")) as keys:
        auth = {"jwks_url": keys.url} if source == "key set" else {"jwt_public_key": public_pem(rsa_old)}
        with serving(project, **auth) as live:
            assert accepted(live, signed(rsa_old, "rsa-1"))
            refusal(live, forged)


@pytest.mark.parametrize("kid", [{"kid": "rsa-1"}, {}], ids=["with kid", "without kid"])
def test_an_unsigned_token_is_refused(project: Path, rsa_old: rsa.RSAPrivateKey, kid: dict[str, str]) -> None:
    forged = unsigned({"alg": "none", "typ": "JWT", **kid}, claims())
    with (
        KeyServer(jwk(rsa_old, "rsa-1")) as keys,
        serving(project, jwks_url=keys.url, jwt_public_key=public_pem(rsa_old)) as live,
    ):
        assert accepted(live, signed(rsa_old, "rsa-1"))
        refusal(live, forged)


def test_a_shared_secret_published_in_the_key_set_is_never_used(project: Path) -> None:
    secret = b"published-for-all-to-see-32-bytes!!"
    with KeyServer({"kty": "oct", "kid": "sym", "k": b64(secret)}) as keys, serving(project, jwks_url=keys.url) as live:
        assert "shared secret" in refusal(live, jwt.encode(claims(), secret, algorithm="HS256", headers={"kid": "sym"}))
