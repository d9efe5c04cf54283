"""Bearer tokens: JWT → a Principal.

Keys: HS256 with a shared secret, RS256 with a configured public key, or any public key of the
identity provider's key set (JWKS), chosen by the token's `kid` header. The algorithm is always the
key's, never the token's choice: a token cannot ask for `none`, nor for HS256 with a public key as
the secret. When an audience or issuer is configured the token must carry a matching `aud`/`iss`;
when not, those claims are not checked (a token meant for several services is still accepted).

A missing token is not an error here (the project's policies decide); a malformed, forged, expired
or not-yet-valid one always is: UNAUTHENTICATED, never a guess.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from starlette.concurrency import run_in_threadpool

from semantic_layer.access import Principal
from semantic_layer.errors import UnauthenticatedError

from .lru import BoundedCache
from .settings import ServerSettings

log = logging.getLogger("semantic_layer.server")

RESERVED = {"roles", "exp", "nbf", "iat", "iss", "aud", "jti"}
REMEMBERED_TOKENS = 4096
FETCH_TIMEOUT = 3.0  # seconds: the longest a request waits on the key set's server
RETRY_AFTER = 5.0  # seconds after a failed fetch during which tokens that need it are refused at once
UNAVAILABLE = "the server could not fetch its signing key set (SEMANTIC_LAYER_JWKS_URL) — try again shortly"


async def principal_from_header(header: str | None, settings: ServerSettings) -> Principal | None:
    """The caller's principal. A token verified before is answered from memory (the hot path: a
    dashboard sends the same token with every request); a new one that may need the key set is
    verified in a worker thread, so a slow identity provider never stalls the event loop."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthenticatedError("the Authorization header must be 'Bearer <JWT>'")
    token = token.strip()
    key = (
        token,
        settings.jwt_secret,
        settings.jwt_public_key,
        settings.jwks_url,
        settings.jwt_audience,
        settings.jwt_issuer,
    )
    verified = _VERIFIED.get(key)
    if verified is None or not verified.trusted():
        verified = await run_in_threadpool(_verify, token, settings) if settings.jwks_url else _verify(token, settings)
        _VERIFIED.put(key, verified)
    if time.time() >= verified.expires:  # checked on every use: a verified token is remembered, not trusted forever
        raise UnauthenticatedError("the token has expired — get a new one")
    return verified.principal


class KeySet(jwt.PyJWKClient):
    """pyjwt's JWKS client — it caches the set for `lifespan` seconds and refetches it once when a
    token names an unknown kid (at most once per `cooldown` seconds, so a flood of made-up kids
    cannot make us flood the identity provider) — plus what a server needs from it:

    - a fetch that fails (unreachable, timed out, not a key set) is logged once per outage, and for
      `RETRY_AFTER` seconds tokens that need the set are refused at once instead of each waiting
      `FETCH_TIMEOUT` in turn behind the client's lock;
    - each successful fetch starts a new epoch, and a remembered verification counts only while the
      set it was verified with is current and fresh, so a key rotated out of the set stops
      admitting even tokens verified with it before.
    """

    def __init__(self, url: str, lifespan: float, cooldown: float):
        super().__init__(url, lifespan=lifespan, cooldown_duration=cooldown, timeout=FETCH_TIMEOUT)
        self.lifespan = lifespan
        self.epoch = 0
        self._fresh_until = 0.0
        self._retry_at = 0.0
        self._failing = False
        self._lookup = threading.Lock()

    def current_epoch(self) -> int | None:
        """The epoch of the set in use, or None once it is older than its lifespan."""
        return self.epoch if time.monotonic() < self._fresh_until else None

    def signing_key(self, kid: str) -> tuple[jwt.PyJWK, int]:
        """The key for `kid` and the epoch of the set it came from (read together: a refetch by
        another thread in between would credit the key to a set that may no longer hold it)."""
        with self._lookup:
            return self.get_signing_key(kid), self.epoch

    def fetch_data(self) -> Any:
        if time.monotonic() < self._retry_at:
            raise jwt.PyJWKClientConnectionError("the last fetch failed moments ago")
        try:
            data = super().fetch_data()
        except (jwt.PyJWTError, OSError, ValueError) as exc:  # ValueError: a body that is not JSON
            self._retry_at = time.monotonic() + RETRY_AFTER
            if not self._failing:
                log.warning(
                    "cannot fetch the JWKS key set from %s (%s): tokens that need it are refused; retrying every %g s",
                    self.uri,
                    exc,
                    RETRY_AFTER,
                )
            self._failing = True
            raise jwt.PyJWKClientConnectionError(str(exc)) from None
        if self._failing:
            log.warning("the JWKS key set at %s can be fetched again", self.uri)
            self._failing = False
        self.epoch += 1
        self._fresh_until = time.monotonic() + self.lifespan
        return data


@dataclass(frozen=True)
class SigningKey:
    """A key, the one algorithm it verifies, and for a fetched key the set and epoch it came from."""

    material: jwt.PyJWK | str
    algorithm: str
    key_set: KeySet | None = None
    epoch: int = 0


@dataclass(frozen=True)
class Verified:
    """A token that verified: who it speaks for, until when, and with which key."""

    principal: Principal
    expires: float
    key: SigningKey

    def trusted(self) -> bool:
        """A configured key vouches for its tokens until they expire; a fetched one while its set is current."""
        key_set = self.key.key_set
        return key_set is None or key_set.current_epoch() == self.key.epoch


# Not functools.lru_cache: whether a token is known must be asked before verifying it, since
# verifying may have to leave the event loop.
_VERIFIED: BoundedCache[Verified] = BoundedCache(REMEMBERED_TOKENS)


def _verify(token: str, settings: ServerSettings) -> Verified:
    """A token's principal and expiry, checked once per token and settings.

    Checking a signature costs more than answering a cached query. Only successes are remembered (a
    refused token raises and is checked anew next time), and expiry is re-checked on each use.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise UnauthenticatedError("the token is not a well-formed JWT") from None
    key = _signing_key(header, settings)
    claims = _claims(token, key, settings)
    roles = claims.get("roles", [])
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise UnauthenticatedError("the token's 'roles' claim must be a list of role names")
    principal = Principal(tuple(roles), {k: v for k, v in claims.items() if k not in RESERVED})
    return Verified(principal, float(claims["exp"]), key)


def _signing_key(header: dict[str, Any], settings: ServerSettings) -> SigningKey:
    """The key a token is checked with: the secret for HS256, the key set for a token with a kid,
    the configured public key for RS256. The token's `alg` only picks among these."""
    algorithm = header.get("alg")
    if settings.jwt_secret and algorithm == "HS256":
        return SigningKey(settings.jwt_secret, "HS256")
    if settings.jwks_url and "kid" in header:
        return _from_key_set(header["kid"], settings.jwks_url, settings)
    if settings.jwt_public_key and algorithm == "RS256":
        return SigningKey(settings.jwt_public_key, "RS256")
    accepted = [
        name
        for name, on in [
            ("HS256", settings.jwt_secret),
            ("RS256", settings.jwt_public_key),
            ("any with a 'kid' from SEMANTIC_LAYER_JWKS_URL", settings.jwks_url),
        ]
        if on
    ]
    if not accepted:
        raise UnauthenticatedError(
            "this server accepts no tokens: set SEMANTIC_LAYER_JWT_SECRET (HS256), "
            "SEMANTIC_LAYER_JWT_PUBLIC_KEY (RS256) or SEMANTIC_LAYER_JWKS_URL"
        )
    raise UnauthenticatedError(f"tokens signed with '{algorithm}' are not accepted (accepted: {', '.join(accepted)})")


def _from_key_set(kid: Any, url: str, settings: ServerSettings) -> SigningKey:
    if not isinstance(kid, str):
        raise UnauthenticatedError("the token's 'kid' header must be a string")
    try:
        key_set = _key_set(url, settings.jwks_lifespan, settings.jwks_cooldown)
    except jwt.PyJWKClientError as exc:  # pyjwt refuses any scheme but http(s)
        raise UnauthenticatedError(f"SEMANTIC_LAYER_JWKS_URL cannot be used: {exc}") from None
    try:
        jwk, epoch = key_set.signing_key(kid)
    except jwt.PyJWKClientConnectionError:
        raise UnauthenticatedError(UNAVAILABLE) from None
    except jwt.PyJWKClientError:
        raise UnauthenticatedError(f"the server's key set has no key with kid '{kid[:100]}'") from None
    if jwk.key_type == "oct":  # a published secret is no secret: whoever read the set could sign
        raise UnauthenticatedError(f"key '{kid[:100]}' of the key set is a shared secret, not a public key")
    return SigningKey(jwk, jwk.algorithm_name, key_set, epoch)


@lru_cache(maxsize=8)
def _key_set(url: str, lifespan: float, cooldown: float) -> KeySet:
    """One client per key set, so its cache is shared by every request."""
    return KeySet(url, lifespan, cooldown)


def _claims(token: str, key: SigningKey, settings: ServerSettings) -> dict[str, Any]:
    audience = list(settings.jwt_audience) or None
    required = ["exp", *(["aud"] if audience else []), *(["iss"] if settings.jwt_issuer else [])]
    try:
        return jwt.decode(
            token,
            key.material,
            algorithms=[key.algorithm],
            audience=audience,
            issuer=settings.jwt_issuer,
            options={"require": required, "verify_aud": bool(audience)},
        )
    except jwt.ExpiredSignatureError:
        raise UnauthenticatedError("the token has expired — get a new one") from None
    except jwt.ImmatureSignatureError:
        raise UnauthenticatedError("the token is not valid yet (nbf is in the future)") from None
    except jwt.InvalidSignatureError:
        raise UnauthenticatedError("the token's signature does not verify") from None
    except jwt.InvalidAlgorithmError:
        raise UnauthenticatedError(f"the token's 'alg' does not match its key, which is for {key.algorithm}") from None
    except jwt.MissingRequiredClaimError as exc:
        raise UnauthenticatedError(f"the token lacks the '{exc.claim}' claim{_expected(exc.claim, settings)}") from None
    except jwt.InvalidAudienceError:
        raise UnauthenticatedError(f"the token is for another audience{_expected('aud', settings)}") from None
    except jwt.InvalidIssuerError:
        raise UnauthenticatedError(f"the token is from another issuer{_expected('iss', settings)}") from None
    except jwt.InvalidTokenError as exc:
        raise UnauthenticatedError(f"the token is invalid: {exc}") from None


def _expected(claim: str, settings: ServerSettings) -> str:
    if claim == "aud":
        return f" (this server accepts {' or '.join(repr(a) for a in settings.jwt_audience)})"
    if claim == "iss":
        return f" (this server accepts tokens issued by '{settings.jwt_issuer}')"
    return ""


def mint_token(secret: str, roles: list[str], claims: dict[str, Any], expires_in: int) -> str:
    """A development token (HS256) — production tokens come from the identity provider."""
    now = int(time.time())
    payload = {**claims, "roles": roles, "iat": now, "nbf": now, "exp": now + expires_in}
    return jwt.encode(payload, secret, algorithm="HS256")
