"""Cold start: `import golive` and building an app load only the standard library; heavy parts wait for first use."""

from __future__ import annotations

import json
import textwrap

SCRIPT = textwrap.dedent("""
    import json, sys
    baseline = set(sys.modules)

    import golive
    from golive import App, CORS, JWTAuth, APIKeyAuth, GatewayAuth, logger, metrics, tracer, audit
    from golive.resilience import CircuitBreaker, Deadline

    app = App("users", cors=CORS(allow_origins=["https://*.example.com"]),
              auth=[JWTAuth(secret="s" * 32), JWTAuth(jwks_url="http://127.0.0.1:9/jwks.json"),
                    APIKeyAuth({"k": "svc"}), GatewayAuth()])
    app.health.add("db", lambda: True)
    breaker = CircuitBreaker("db")

    @app.post("/users", body={"type": "object", "properties": {"name": {"type": "string"}}},
              responses={201: {"type": "object"}}, scopes=["users:write"])
    def create(req):
        return req.json, 201

    @app.get("/users/{id}", public=True, path_params={"type": "object", "properties": {"id": {"type": "integer"}}})
    def get_user(req, id):
        return {"id": id}

    loaded = set(sys.modules) - baseline
    outside = sorted(m for m in loaded
                     if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "golive")
    report = {"outside": outside, "lazy_at_start": sorted(m for m in ("jwt", "fastjsonschema", "cryptography")
                                                         if m in sys.modules)}

    from golive.testing import TestClient
    client = TestClient(app)
    assert client.get("/users/7").status == 200
    report["after_validation"] = sorted(m for m in ("jwt", "fastjsonschema") if m in sys.modules)
    import base64, hashlib, hmac  # the token is minted by hand so that only golive can import PyJWT
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(
        {"sub": "u", "scope": "users:write", "exp": 4102444800}).encode())
    token = signing_input + "." + b64(hmac.new(b"s" * 32, signing_input.encode(), hashlib.sha256).digest())
    assert client.post("/users", json={"name": "Ada"}, token=token).status == 201
    report["after_auth"] = "jwt" in sys.modules
    print(json.dumps(report))
""")


def test_import_and_app_construction_load_only_the_standard_library(run_python):
    result = run_python(SCRIPT)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["outside"] == []
    assert report["lazy_at_start"] == []
    assert report["after_validation"] == ["fastjsonschema"]  # first validation compiles the schema
    assert report["after_auth"] is True  # first token verification
