"""Bearer tokens: JWT (HS256 with a shared secret, RS256 with a public key) → a Principal.

When an audience or issuer is configured the token must carry a matching `aud`/`iss`; when not,
those claims are not checked (a token meant for several services is still accepted).

A missing token is not an error here (the project's policies decide); a malformed, forged, expired
or not-yet-valid one always is: UNAUTHENTICATED, never a guess.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import jwt

from semantic_layer.access import Principal
from semantic_layer.errors import UnauthenticatedError

from .settings import ServerSettings

RESERVED = {"roles", "exp", "nbf", "iat", "iss", "aud", "jti"}


def principal_from_header(header: str | None, settings: ServerSettings) -> Principal | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthenticatedError("the Authorization header must be 'Bearer <JWT>'")
    return principal_from_token(token.strip(), settings)


def principal_from_token(token: str, settings: ServerSettings) -> Principal:
    principal, expires = _verified(token, settings.jwt_secret, settings.jwt_public_key, settings.jwt_audience,
                                   settings.jwt_issuer)
    if time.time() >= expires:  # checked on every use: a verified token is remembered, not trusted forever
        raise UnauthenticatedError("the token has expired — get a new one")
    return principal


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str | None, public_key: str | None, audience: tuple[str, ...],
              issuer: str | None) -> tuple[Principal, float]:
    """A token's principal and expiry, verified once per token, keys, audience and issuer.

    Checking a signature costs more than answering a cached query; dashboards send the same token
    with every request. Only successes are remembered (a refused token raises and is checked anew
    next time), and expiry is re-checked by the caller on each use.
    """
    keys: list[tuple[str, str]] = []
    if secret:
        keys.append((secret, "HS256"))
    if public_key:
        keys.append((public_key, "RS256"))
    if not keys:
        raise UnauthenticatedError("this server accepts no tokens: set SEMANTIC_LAYER_JWT_SECRET (HS256) or "
                                   "SEMANTIC_LAYER_JWT_PUBLIC_KEY (RS256)")
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError:
        raise UnauthenticatedError("the token is not a well-formed JWT") from None
    key = next((k for k, alg in keys if alg == algorithm), None)
    if key is None or not isinstance(algorithm, str):
        accepted = ", ".join(alg for _, alg in keys)
        raise UnauthenticatedError(f"tokens signed with '{algorithm}' are not accepted (accepted: {accepted})")
    claims = _claims(token, key, algorithm, audience, issuer)
    roles = claims.get("roles", [])
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise UnauthenticatedError("the token's 'roles' claim must be a list of role names")
    return Principal(tuple(roles), {k: v for k, v in claims.items() if k not in RESERVED}), float(claims["exp"])


def _claims(token: str, key: str, algorithm: str, audience: tuple[str, ...], issuer: str | None) -> dict[str, Any]:
    required = ["exp", *(["aud"] if audience else []), *(["iss"] if issuer else [])]
    try:
        return jwt.decode(token, key, algorithms=[algorithm], audience=list(audience) or None, issuer=issuer,
                          options={"require": required, "verify_aud": bool(audience)})
    except jwt.ExpiredSignatureError:
        raise UnauthenticatedError("the token has expired — get a new one") from None
    except jwt.ImmatureSignatureError:
        raise UnauthenticatedError("the token is not valid yet (nbf is in the future)") from None
    except jwt.InvalidSignatureError:
        raise UnauthenticatedError("the token's signature does not verify") from None
    except jwt.MissingRequiredClaimError as exc:
        expected = _expected(exc.claim, audience, issuer)
        raise UnauthenticatedError(f"the token lacks the '{exc.claim}' claim{expected}") from None
    except jwt.InvalidAudienceError:
        raise UnauthenticatedError(f"the token is for another audience{_expected('aud', audience, issuer)}") from None
    except jwt.InvalidIssuerError:
        raise UnauthenticatedError(f"the token is from another issuer{_expected('iss', audience, issuer)}") from None
    except jwt.InvalidTokenError as exc:
        raise UnauthenticatedError(f"the token is invalid: {exc}") from None


def _expected(claim: str, audience: tuple[str, ...], issuer: str | None) -> str:
    if claim == "aud":
        return f" (this server accepts {' or '.join(repr(a) for a in audience)})"
    if claim == "iss":
        return f" (this server accepts tokens issued by '{issuer}')"
    return ""


def mint_token(secret: str, roles: list[str], claims: dict[str, Any], expires_in: int) -> str:
    """A development token (HS256) — production tokens come from the identity provider."""
    now = int(time.time())
    payload = {**claims, "roles": roles, "iat": now, "nbf": now, "exp": now + expires_in}
    return jwt.encode(payload, secret, algorithm="HS256")
