"""Authentication: JWT bearer (HS256 dev secret, or RS/ES against a JWKS), API keys, and gateway authorizer claims."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from golive.errors import Forbidden, ServiceUnavailable, Unauthorized
from golive.http import Request

TYPE_CHECKING = False  # typing costs ~4 ms at cold start; annotations are strings here
if TYPE_CHECKING:
    from typing import Any

_HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
_ASYMMETRIC = {"RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "PS256": "RSA", "PS384": "RSA", "PS512": "RSA",
               "ES256": "EC", "ES384": "EC", "ES512": "EC", "EdDSA": "OKP"}


class Identity:
    """Who is calling: a principal id, claims, scopes and roles."""

    __slots__ = ("claims", "principal", "roles", "scopes", "source")

    def __init__(self, principal: str, claims: dict[str, Any], scopes: set[str], roles: set[str], source: str) -> None:
        self.principal, self.claims, self.scopes, self.roles, self.source = principal, claims, scopes, roles, source


def token_scopes(claims: dict[str, Any]) -> list[str]:
    """The scopes a token grants, in token order: a space-separated `scope` (OAuth) or a `scp` list (Azure, Okta)."""
    raw = claims.get("scope", claims.get("scp", ""))
    return raw.split() if isinstance(raw, str) else [str(s) for s in raw or []]


def _roles(claims: dict[str, Any], claim: str) -> set[str]:
    raw = claims.get(claim, claims.get("cognito:groups", []))
    if isinstance(raw, str):
        # API Gateway passes list claims to Lambda as "[a b]" strings; JWTs carry real lists.
        return set(raw.strip("[]").replace(",", " ").split())
    return {str(r) for r in raw or []}


def invalid_token(detail: str) -> Unauthorized:
    """401 with the RFC 6750 challenge that tells a client its token (not its lack of one) is the problem."""
    return Unauthorized(detail, headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'})


def bearer_token(request: Request) -> str | None:
    value = request.headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    return token.strip()


class JWKSCache:
    """Signing keys from a JWKS URL, cached for ttl seconds and re-fetched when an unknown kid appears (rotation).

    One fetch is in flight at a time and nobody waits for it longer than `timeout`: a hanging identity provider
    costs each request at most that, never a queue of fetches one after another. A failed fetch is cached too
    (negative caching): the next try comes after a backoff that doubles from `backoff` up to `max_backoff`, and
    meanwhile requests fail at once instead of each asking the provider again.
    """

    MAX_DOCUMENT = 1 << 20  # a JWKS is a few KB; a provider streaming more is broken or hostile

    def __init__(self, url: str, ttl: float = 600, min_refresh: float = 30, timeout: float = 2.0,
                 backoff: float = 1.0, max_backoff: float = 60.0) -> None:
        self.url, self.ttl, self.min_refresh, self.timeout = url, ttl, min_refresh, timeout
        self.backoff, self.max_backoff = backoff, max_backoff
        self._keys: dict[str, Any] = {}
        self._fetched = 0.0  # when the keys in hand were fetched
        self._attempted = 0.0  # when a fetch was last tried, successful or not
        self._failures = 0  # fetches failed in a row
        self._retry_at = 0.0  # no fetch before this (backoff after failures)
        self._in_flight: Any = None  # a threading.Event set when the running fetch ends
        self.fetches = 0
        import _thread  # built in: threading would cost ~1.7 ms of the cold start

        self._lock = _thread.allocate_lock()

    def _fetch(self) -> dict[str, Any]:
        import urllib.request

        import jwt  # lazily: PyJWT + cryptography cost ~100 ms to import

        self.fetches += 1
        with urllib.request.urlopen(self.url, timeout=self.timeout) as reply:
            document = json.loads(reply.read(self.MAX_DOCUMENT + 1)[:self.MAX_DOCUMENT])
        keys = {}
        for entry in document.get("keys", []):
            if entry.get("use", "sig") != "sig":
                continue
            try:
                keys[entry.get("kid", "")] = jwt.PyJWK(entry)
            except jwt.PyJWKError:
                continue  # a key type this build cannot use must not hide the others
        return keys

    def _lookup(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is None and not kid and len(self._keys) == 1:
            key = next(iter(self._keys.values()))  # a token without kid, and only one key it can mean
        return key

    def retry_after(self) -> int:
        """Whole seconds until the next fetch may be tried (0: now)."""
        import math

        return max(0, math.ceil(self._retry_at - time.monotonic()))

    def _refresh(self, done: Any) -> None:
        try:
            keys = self._fetch()
        except Exception:
            with self._lock:
                self._failures += 1
                delay = min(self.max_backoff, self.backoff * 2 ** (self._failures - 1))
                self._retry_at = time.monotonic() + delay
        else:
            with self._lock:
                self._keys, self._fetched, self._failures, self._retry_at = keys, time.monotonic(), 0, 0.0
        finally:
            with self._lock:
                self._in_flight = None
            done.set()

    def get(self, kid: str | None) -> Any:
        kid = kid or ""
        with self._lock:
            now = time.monotonic()
            stale = not self._fetched or now - self._fetched > self.ttl
            # An unknown kid means the issuer rotated its keys, or a forger is guessing: re-fetch, but at most
            # once per min_refresh so that a flood of made-up kids cannot hammer the identity provider.
            wanted = stale or self._lookup(kid) is None
            allowed = (not self._keys or now - self._attempted >= self.min_refresh) and now >= self._retry_at
            done = self._in_flight
            if wanted and allowed and done is None:
                import threading  # only once a fetch is due: not part of the cold start

                self._attempted = now
                done = self._in_flight = threading.Event()
                # The fetch runs on its own thread so that this caller, like every other, waits a bounded time.
                threading.Thread(target=self._refresh, args=(done,), daemon=True).start()
            key = self._lookup(kid)
        if key is None and done is not None:
            done.wait(self.timeout)
            with self._lock:
                key = self._lookup(kid)
        if key is None:
            if not self._keys:
                raise ServiceUnavailable("Signing keys are unavailable; try again shortly",
                                         headers={"Retry-After": str(max(1, self.retry_after()))})
            raise invalid_token("Token is signed with an unknown key")
        return key


_NUMERIC_DATES = ("exp", "nbf", "iat")


def check_claim_types(claims: dict[str, Any]) -> None:
    """exp, nbf and iat are NumericDates (RFC 7519 section 2): JSON numbers, not strings that look like one,
    which PyJWT would read as numbers; `sub`, when present, is a string (a StringOrURI)."""
    for name in _NUMERIC_DATES:
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise invalid_token(f"Token claim {name!r} must be a NumericDate (a number of seconds since the epoch)")
    if "sub" in claims and not isinstance(claims["sub"], str):
        raise invalid_token("Token claim 'sub' must be a non-empty string")


def check_subject(claims: dict[str, Any]) -> None:
    """The token names whom it is about: `sub` present and a non-empty string (else every such token would
    authenticate as one empty principal)."""
    if "sub" not in claims:
        raise invalid_token("Token lacks the 'sub' claim")
    if not str(claims["sub"]).strip():
        raise invalid_token("Token claim 'sub' must be a non-empty string")


class JWTAuth:
    """Verifies `Authorization: Bearer <jwt>`: signature, issuer, audience, exp and nbf (with leeway), NumericDate
    types, and a non-empty `sub` (require_sub=False accepts tokens without a subject, e.g. client credentials)."""

    def __init__(
        self,
        *,
        issuer: str | None = None,
        audience: str | list[str] | None = None,
        secret: str | None = None,
        jwks_url: str | None = None,
        algorithms: list[str] | None = None,
        leeway: float = 30,
        roles_claim: str = "roles",
        jwks_ttl: float = 600,
        jwks_min_refresh: float = 30,
        require_sub: bool = True,
    ) -> None:
        if not secret and not jwks_url:
            raise ValueError("JWTAuth needs a secret (HS256, development) or a jwks_url (RS256/ES256)")
        if algorithms is None:
            algorithms = (["HS256"] if secret else []) + (["RS256", "ES256"] if jwks_url else [])
        for alg in algorithms:
            if alg.lower() == "none":
                raise ValueError("JWTAuth: the 'none' algorithm is never allowed")
            if alg not in _HMAC_ALGS and alg not in _ASYMMETRIC:
                raise ValueError(f"JWTAuth: unknown algorithm {alg}")
            if alg in _HMAC_ALGS and not secret:
                raise ValueError(f"JWTAuth: {alg} needs a secret")
            if alg in _ASYMMETRIC and not jwks_url:
                raise ValueError(f"JWTAuth: {alg} needs a jwks_url")
        self.issuer, self.audience, self.secret, self.leeway = issuer, audience, secret, leeway
        self.algorithms = list(algorithms)
        self.roles_claim = roles_claim
        self.require_sub = require_sub
        self.jwks = JWKSCache(jwks_url, ttl=jwks_ttl, min_refresh=jwks_min_refresh) if jwks_url else None

    def authenticate(self, request: Request) -> Identity | None:
        token = bearer_token(request)
        if token is None:
            return None
        claims = self.verify(token)
        return Identity(str(claims.get("sub", "")), claims, set(token_scopes(claims)),
                        _roles(claims, self.roles_claim), "jwt")

    def verify(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise invalid_token("Malformed token") from None
        alg = header.get("alg")
        # The allowlist is checked before any key is chosen: 'none' and HS/RS confusion never reach a verifier.
        if alg not in self.algorithms:
            raise invalid_token(f"Token algorithm {alg!r} is not accepted")
        if alg in _HMAC_ALGS:
            key: Any = self.secret
        else:
            jwk = self.jwks.get(header.get("kid"))  # type: ignore[union-attr]
            key_type = getattr(jwk, "key_type", None)
            if key_type and _ASYMMETRIC[alg] != key_type:
                raise invalid_token("Token algorithm does not match its signing key")
            key = jwk.key
        options: Any = {"require": ["exp"], "verify_aud": self.audience is not None,
                        "verify_iss": self.issuer is not None}
        try:
            # Claim types first, on the unverified payload: PyJWT would take "exp": "9999999999" for a number.
            check_claim_types(jwt.decode(token, options={"verify_signature": False}))
            claims: dict[str, Any] = jwt.decode(token, key, algorithms=[alg], audience=self.audience,
                                                issuer=self.issuer, leeway=self.leeway, options=options)
        except jwt.ExpiredSignatureError:
            raise invalid_token("Token has expired") from None
        except jwt.ImmatureSignatureError:
            raise invalid_token("Token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise invalid_token("Token audience is not accepted") from None
        except jwt.InvalidIssuerError:
            raise invalid_token("Token issuer is not accepted") from None
        except jwt.MissingRequiredClaimError as exc:
            raise invalid_token(f"Token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidTokenError:
            raise invalid_token("Token signature is invalid") from None
        if self.require_sub:
            check_subject(claims)
        return claims


class APIKeyAuth:
    """`x-api-key` against a mapping of key -> principal, or a lookup function."""

    def __init__(self, keys: dict[str, str] | Callable[[str], str | None], header: str = "x-api-key",
                 roles: dict[str, list[str]] | None = None) -> None:
        self.keys, self.header, self.roles = keys, header.lower(), roles or {}

    def authenticate(self, request: Request) -> Identity | None:
        presented = request.headers.get(self.header)
        if not presented:
            return None
        import hmac  # ~6 ms with _hashlib: only once an API key is presented

        principal: str | None = None
        if callable(self.keys):
            principal = self.keys(presented)
        else:
            for key, owner in self.keys.items():
                # Constant-time comparison over every key: no timing oracle on partial matches.
                if hmac.compare_digest(key.encode(), presented.encode()):
                    principal = owner
        if principal is None:
            raise Unauthorized("Invalid API key")
        return Identity(principal, {"sub": principal}, set(), set(self.roles.get(principal, [])), "api_key")


class GatewayAuth:
    """Trusts the identity API Gateway's authorizer already verified (Cognito, JWT or Lambda authorizer)."""

    def __init__(self, roles_claim: str = "roles") -> None:
        self.roles_claim = roles_claim

    def authenticate(self, request: Request) -> Identity | None:
        authorizer = request.request_context.get("authorizer") or {}
        claims: dict[str, Any] | None = None
        if isinstance(authorizer.get("jwt"), dict):  # HTTP API JWT authorizer
            claims = dict(authorizer["jwt"].get("claims") or {})
            if authorizer["jwt"].get("scopes"):
                claims.setdefault("scope", " ".join(authorizer["jwt"]["scopes"]))
        elif isinstance(authorizer.get("claims"), dict):  # REST Cognito authorizer
            claims = dict(authorizer["claims"])
        elif isinstance(authorizer.get("lambda"), dict):  # HTTP API Lambda authorizer
            claims = dict(authorizer["lambda"])
        elif authorizer.get("principalId"):  # REST Lambda authorizer context
            claims = {k: v for k, v in authorizer.items() if k != "integrationLatency"}
            claims.setdefault("sub", authorizer["principalId"])
        if not claims:
            return None
        principal = str(claims.get("sub") or claims.get("principalId") or "")
        return Identity(principal, claims, set(token_scopes(claims)), _roles(claims, self.roles_claim), "gateway")


def authorize(identity: Identity, scopes: list[str], roles: list[str]) -> None:
    """403 unless the identity has every required scope and, when roles are listed, one of them."""
    missing = [s for s in scopes if s not in identity.scopes]
    if missing and not (roles and identity.roles.intersection(roles)):
        needed = " ".join(scopes)
        raise Forbidden(f"Missing scope: {', '.join(missing)}", headers={
            "WWW-Authenticate": f'Bearer realm="api", error="insufficient_scope", scope="{needed}"'})
    if roles and not scopes and not identity.roles.intersection(roles):
        raise Forbidden(f"Requires role: {' or '.join(roles)}")


def jwt_from_env(prefix: str = "GOLIVE_") -> JWTAuth | None:
    """JWTAuth from environment: GOLIVE_JWKS_URL (production) or GOLIVE_JWT_SECRET (golive dev), plus
    GOLIVE_JWT_ISSUER / GOLIVE_JWT_AUDIENCE, and GOLIVE_JWT_REQUIRE_SUB=0 for tokens without a subject. None when
    neither key source is set."""
    import os

    secret = os.environ.get(f"{prefix}JWT_SECRET") or None
    jwks_url = os.environ.get(f"{prefix}JWKS_URL") or None
    if not secret and not jwks_url:
        return None
    return JWTAuth(issuer=os.environ.get(f"{prefix}JWT_ISSUER") or None,
                   audience=os.environ.get(f"{prefix}JWT_AUDIENCE") or None,
                   secret=secret, jwks_url=jwks_url,
                   require_sub=os.environ.get(f"{prefix}JWT_REQUIRE_SUB", "1") not in ("0", "false", "no"))
