"""Auth: HS256 dev tokens, RS256/ES256 against a real JWKS server, claim checks, algorithm attacks, scopes, roles,
API keys and identities an API Gateway authorizer already verified."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from golive import APIKeyAuth, App, GatewayAuth, JWTAuth
from golive.synth import build_event
from golive.testing import TestClient

ISSUER = "https://issuer.example.com/"
AUDIENCE = "users-api"
SECRET = "dev-secret-that-is-long-enough-for-hs256"


class JWKSServer:
    """A JWKS endpoint on loopback whose key set the test can rotate; it counts fetches."""

    def __init__(self) -> None:
        self.keys: list[dict] = []
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class Signer:
    """A private key, its public JWK, and tokens signed with it."""

    def __init__(self, alg: str, kid: str) -> None:
        self.alg, self.kid = alg, kid
        if alg == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk.update(kid=kid, use="sig", alg=alg)
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def token(self, **claims) -> str:
        return jwt.encode(_claims(**claims), self.private, algorithm=self.alg, headers={"kid": self.kid})


def _claims(**overrides) -> dict:
    now = int(time.time())
    claims = {"sub": "user-1", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, "scope": "users:read"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(header: dict, claims: dict, key: bytes | None) -> str:
    """A token PyJWT would refuse to make: alg none, or HMAC keyed with a public key."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = _b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest()) if key else ""
    return f"{signing_input}.{signature}"


@pytest.fixture(scope="module")
def rsa_signer() -> Signer:
    return Signer("RS256", "rsa-1")


@pytest.fixture(scope="module")
def ec_signer() -> Signer:
    return Signer("ES256", "ec-1")


@pytest.fixture
def jwks(rsa_signer, ec_signer):
    server = JWKSServer()
    server.keys = [rsa_signer.jwk, ec_signer.jwk]
    yield server
    server.close()


def make_app(auth) -> App:
    app = App("users", auth=auth)

    @app.get("/me")
    def me(req):
        return {"principal": req.principal, "scope": req.claims.get("scope")}

    @app.post("/users", scopes=["users:write"])
    def create(req):
        return {"created": True}, 201

    @app.delete("/users/{id}", roles=["admin"])
    def delete(req, id):
        return None

    @app.get("/catalog", public=True)
    def catalog(req):
        return {"public": True, "principal": req.principal}

    return app


def hs_client(**options) -> TestClient:
    return TestClient(make_app(JWTAuth(secret=SECRET, issuer=ISSUER, audience=AUDIENCE, **options)))


def hs_token(**claims) -> str:
    return jwt.encode(_claims(**claims), SECRET, algorithm="HS256")


def test_hs256_development_tokens():
    client = hs_client()
    response = client.get("/me", token=hs_token())
    assert response.status == 200
    assert response.json() == {"principal": "user-1", "scope": "users:read"}
    access = next(r for r in response.logs if r["message"] == "request completed")
    assert access["principal"] == "user-1"


def test_anonymous_requests_are_401_with_a_challenge():
    response = hs_client().get("/me")
    assert response.status == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not.a.jwt", "Bearer a.b"])
def test_malformed_credentials_are_401(authorization):
    response = hs_client().get("/me", headers={"Authorization": authorization})
    assert response.status == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_public_routes_need_no_token():
    client = hs_client()
    assert client.get("/catalog").json() == {"public": True, "principal": None}
    assert client.get("/health").status == 200


# Times are offsets from the moment the test runs (not from collection, which may be long before).
@pytest.mark.parametrize("claims, detail", [
    ({"exp": -60}, "Token has expired"),
    ({"nbf": +60}, "Token is not valid yet"),
    ({"iss": "https://evil.example.com/"}, "Token issuer is not accepted"),
    ({"aud": "other-api"}, "Token audience is not accepted"),
    ({"exp": None}, "Token lacks the 'exp' claim"),
])
def test_claims_outside_their_bounds_are_refused(claims, detail):
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") and v is not None else v for k, v in claims.items()}
    response = hs_client(leeway=30).get("/me", token=hs_token(**claims))
    assert response.status == 401
    assert response.json()["detail"] == detail
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_leeway_absorbs_small_clock_skew():
    client = hs_client(leeway=30)
    assert client.get("/me", token=hs_token(exp=int(time.time()) - 10)).status == 200
    assert client.get("/me", token=hs_token(nbf=int(time.time()) + 10)).status == 200


def test_a_token_signed_with_another_secret_is_refused():
    token = jwt.encode(_claims(), "another-secret-of-sufficient-length-xx", algorithm="HS256")
    assert hs_client().get("/me", token=token).json()["detail"] == "Token signature is invalid"


@pytest.mark.parametrize("signer_name", ["rsa_signer", "ec_signer"])
def test_rs256_and_es256_against_a_jwks(jwks, signer_name, request):
    signer = request.getfixturevalue(signer_name)
    client = TestClient(make_app(JWTAuth(jwks_url=jwks.url, issuer=ISSUER, audience=AUDIENCE)))
    response = client.get("/me", token=signer.token(sub=f"{signer.alg}-user"))
    assert response.status == 200, response.text
    assert response.json()["principal"] == f"{signer.alg}-user"


def test_jwks_is_fetched_once_for_many_requests(jwks, rsa_signer, ec_signer):
    client = TestClient(make_app(JWTAuth(jwks_url=jwks.url, issuer=ISSUER, audience=AUDIENCE)))
    for index in range(10):
        signer = rsa_signer if index % 2 else ec_signer
        assert client.get("/me", token=signer.token()).status == 200
    # Forged kids do not make golive hammer the identity provider either.
    for index in range(5):
        forged = jwt.encode(_claims(), rsa_signer.private, algorithm="RS256", headers={"kid": f"made-up-{index}"})
        response = client.get("/me", token=forged)
        assert response.status == 401 and response.json()["detail"] == "Token is signed with an unknown key"
    assert jwks.fetches == 1


def test_a_new_kid_triggers_a_refetch_after_rotation(jwks, rsa_signer):
    client = TestClient(make_app(JWTAuth(jwks_url=jwks.url, issuer=ISSUER, audience=AUDIENCE, jwks_min_refresh=0)))
    assert client.get("/me", token=rsa_signer.token()).status == 200
    assert jwks.fetches == 1
    rotated = Signer("RS256", "rsa-2")
    jwks.keys = [rotated.jwk]  # the issuer rotates: the old key is gone, a new kid signs
    assert client.get("/me", token=rotated.token(sub="after-rotation")).json()["principal"] == "after-rotation"
    assert jwks.fetches == 2
    assert client.get("/me", token=rotated.token()).status == 200
    assert jwks.fetches == 2


def test_an_unreachable_jwks_is_503_not_401(rsa_signer):
    client = TestClient(make_app(JWTAuth(jwks_url="http://127.0.0.1:9/jwks.json", issuer=ISSUER)))
    response = client.get("/me", token=rsa_signer.token())
    assert response.status == 503


def test_alg_none_is_refused(jwks):
    token = _hand_made({"alg": "none", "typ": "JWT"}, _claims(), None)
    for auth in (JWTAuth(secret=SECRET), JWTAuth(jwks_url=jwks.url)):
        response = TestClient(make_app(auth)).get("/me", token=token)
        assert response.status == 401
        assert response.json()["detail"] == "Token algorithm 'none' is not accepted"
    with pytest.raises(ValueError, match="'none' algorithm is never allowed"):
        JWTAuth(secret=SECRET, algorithms=["none"])


def test_hs256_signed_with_the_rsa_public_key_is_refused(jwks, rsa_signer):
    forged = _hand_made({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, _claims(sub="attacker"), rsa_signer.public_pem)
    # An RS256 deployment does not accept HS256 at all...
    response = TestClient(make_app(JWTAuth(jwks_url=jwks.url))).get("/me", token=forged)
    assert response.status == 401 and response.json()["detail"] == "Token algorithm 'HS256' is not accepted"
    # ...and one that accepts both never keys HMAC with a public key.
    both = JWTAuth(secret=SECRET, jwks_url=jwks.url)
    response = TestClient(make_app(both)).get("/me", token=forged)
    assert response.status == 401 and response.json()["detail"] == "Token signature is invalid"


def test_a_token_whose_alg_does_not_match_its_key_is_refused(jwks, rsa_signer, ec_signer):
    # ES256 claimed, but the kid points at the RSA key.
    token = jwt.encode(_claims(), ec_signer.private, algorithm="ES256", headers={"kid": rsa_signer.kid})
    response = TestClient(make_app(JWTAuth(jwks_url=jwks.url))).get("/me", token=token)
    assert response.status == 401
    assert response.json()["detail"] == "Token algorithm does not match its signing key"


def test_scopes_are_enforced_with_403():
    client = hs_client()
    response = client.post("/users", json={}, token=hs_token(scope="users:read"))
    assert response.status == 403
    assert response.json()["detail"] == "Missing scope: users:write"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert client.post("/users", json={}, token=hs_token(scope="users:read users:write")).status == 201
    assert client.post("/users", json={}, token=hs_token(scp=["users:write"], scope=None)).status == 201


def test_roles_are_enforced_with_403():
    client = hs_client()
    response = client.delete("/users/7", token=hs_token(roles=["member"]))
    assert response.status == 403 and response.json()["detail"] == "Requires role: admin"
    assert client.delete("/users/7", token=hs_token(roles=["admin"])).status == 204
    assert client.delete("/users/7", token=hs_token(**{"cognito:groups": ["admin"]})).status == 204


def test_scopes_without_auth_are_a_configuration_error():
    app = App("x")
    with pytest.raises(ValueError, match="requires scopes/roles but the app has no auth"):
        app.post("/users", scopes=["users:write"])(lambda req: {})


def test_api_keys():
    client = TestClient(make_app(APIKeyAuth({"key-abc": "billing-service"}, roles={"billing-service": ["admin"]})))
    response = client.get("/me", headers={"X-Api-Key": "key-abc"})
    assert response.json()["principal"] == "billing-service"
    assert client.delete("/users/1", headers={"X-Api-Key": "key-abc"}).status == 204
    assert client.get("/me", headers={"X-Api-Key": "key-abd"}).status == 401
    assert client.get("/me").status == 401


def test_several_authenticators_are_tried_in_order():
    client = TestClient(make_app([JWTAuth(secret=SECRET), APIKeyAuth({"k1": "svc"})]))
    assert client.get("/me", token=hs_token()).json()["principal"] == "user-1"
    assert client.get("/me", headers={"X-Api-Key": "k1"}).json()["principal"] == "svc"


def test_gateway_auth_trusts_http_api_jwt_claims(aws_event):
    client = TestClient(make_app(GatewayAuth()))
    event = aws_event("http_api_v2")
    event["rawPath"] = "/users"
    response = client.invoke(event)
    assert response.status == 201  # scopes users:read and users:write came from the authorizer
    event["requestContext"]["authorizer"]["jwt"]["scopes"] = ["users:read"]
    assert client.invoke(event).status == 403


def test_gateway_auth_trusts_rest_cognito_claims(aws_event):
    client = TestClient(make_app(GatewayAuth()))
    event = aws_event("rest_v1")
    event["httpMethod"], event["path"] = "DELETE", "/users/9"
    event["requestContext"]["authorizer"] = {"claims": {"sub": "cognito-user", "cognito:groups": "admin,ops",
                                                        "email": "ada@example.com"}}
    assert client.invoke(event).status == 204
    event["httpMethod"], event["path"] = "GET", "/me"
    assert client.invoke(event).json()["principal"] == "cognito-user"


def test_gateway_auth_trusts_lambda_authorizer_context():
    client = TestClient(make_app(GatewayAuth()))
    rest = build_event("v1", "GET", "/me", authorizer={"principalId": "tenant-42", "plan": "gold",
                                                       "integrationLatency": 12})
    assert client.invoke(rest).json()["principal"] == "tenant-42"
    http = build_event("v2", "GET", "/me", authorizer={"lambda": {"sub": "svc-9", "roles": "[admin]"}})
    assert client.invoke(http).json()["principal"] == "svc-9"
    http = build_event("v2", "DELETE", "/users/1", authorizer={"lambda": {"sub": "svc-9", "roles": "[admin]"}})
    assert client.invoke(http).status == 204


def test_gateway_auth_without_an_authorizer_is_anonymous():
    client = TestClient(make_app(GatewayAuth()))
    assert client.get("/me").status == 401
    event = build_event("v1", "GET", "/me", authorizer={"claims": None, "scopes": None})
    assert client.invoke(event).status == 401


@pytest.mark.parametrize("claims, detail", [
    ({"sub": None}, "Token lacks the 'sub' claim"),
    ({"sub": ""}, "Token claim 'sub' must be a non-empty string"),
    ({"sub": "   "}, "Token claim 'sub' must be a non-empty string"),
    ({"sub": 42}, "Token claim 'sub' must be a non-empty string"),
    ({"exp": "9999999999"}, "Token claim 'exp' must be a NumericDate (a number of seconds since the epoch)"),
    ({"exp": True}, "Token claim 'exp' must be a NumericDate (a number of seconds since the epoch)"),
    ({"nbf": "0"}, "Token claim 'nbf' must be a NumericDate (a number of seconds since the epoch)"),
    ({"iat": "yesterday"}, "Token claim 'iat' must be a NumericDate (a number of seconds since the epoch)"),
])
def test_tokens_that_break_rfc_7519_claim_rules_are_401(claims, detail):
    response = hs_client().get("/me", token=hs_token(**claims))
    assert response.status == 401, response.text
    assert response.json()["detail"] == detail
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_token_without_sub_is_accepted_when_the_service_says_so(monkeypatch):
    assert hs_client(require_sub=False).get("/me", token=hs_token(sub=None)).json()["principal"] == ""
    monkeypatch.setenv("GOLIVE_JWT_SECRET", SECRET)
    monkeypatch.setenv("GOLIVE_JWT_REQUIRE_SUB", "0")
    from golive.security.auth import jwt_from_env

    assert TestClient(make_app(jwt_from_env())).get("/me", token=hs_token(sub=None)).status == 200
    monkeypatch.delenv("GOLIVE_JWT_REQUIRE_SUB")
    assert TestClient(make_app(jwt_from_env())).get("/me", token=hs_token(sub=None)).status == 401


class FailingJWKS:
    """An identity provider that is down (answers 503) or hangs (accepts, never answers); it counts requests."""

    def __init__(self, hang: bool) -> None:
        self.requests = 0
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                if hang:
                    server.release.wait(10)
                    return
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_failing_jwks_is_asked_once_per_backoff_not_once_per_request(rsa_signer):
    provider = FailingJWKS(hang=False)
    try:
        auth = JWTAuth(jwks_url=provider.url, issuer=ISSUER)
        auth.jwks.backoff = 0.3  # type: ignore[union-attr]
        client = TestClient(make_app(auth))
        answers = [client.get("/me", token=rsa_signer.token()) for _ in range(20)]
        assert {a.status for a in answers} == {503}
        assert all(int(a.headers["retry-after"]) >= 1 for a in answers)
        assert provider.requests == 1  # the failure is cached: 19 requests did not ask again
        time.sleep(0.35)
        assert client.get("/me", token=rsa_signer.token()).status == 503
        assert provider.requests == 2  # after the backoff, one more try
        assert client.get("/me", token=rsa_signer.token()).status == 503
        assert provider.requests == 2  # and the backoff has doubled
    finally:
        provider.close()


def test_a_hanging_jwks_costs_one_bounded_wait_not_a_queue(rsa_signer):
    provider = FailingJWKS(hang=True)
    try:
        auth = JWTAuth(jwks_url=provider.url, issuer=ISSUER)
        auth.jwks.timeout = 0.5  # type: ignore[union-attr]
        client = TestClient(make_app(auth))
        started = time.monotonic()
        first = client.get("/me", token=rsa_signer.token())
        first_took = time.monotonic() - started
        assert first.status == 503 and first_took < 2
        started = time.monotonic()
        others = [client.get("/me", token=rsa_signer.token()) for _ in range(5)]
        assert {a.status for a in others} == {503}
        # The fetch still hangs: the others waited for it (bounded), none started a fetch of its own.
        assert time.monotonic() - started < 5 * 0.5 + 1
        assert provider.requests == 1
    finally:
        provider.close()
