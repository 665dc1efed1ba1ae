"""Lambda TOKEN and REQUEST authorizers: one auth plan, so the template deploys what golive dev serves, and both
refuse what neither can serve."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from deploy_helpers import golive, resources_of
from test_deploy_sam import transform

from golive.deploy.template import build
from golive.service.config import load_config

HANDLERS = '''
from golive import App

app = App("gate")


@app.get("/orders")
def orders(req):
    return {"principal": req.headers.get("authorization", "")}


@app.get("/open", public=True)
def open_route(req):
    return {"open": True}


handler = app.handler


def authorize(event, context):
    return {"principalId": "u1", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event.get("methodArn", "*")}]}}
'''


def service(tmp_path: Path, auth: str, api_type: str = "rest") -> Path:
    root = tmp_path / f"gate-{api_type}"
    root.mkdir()
    (root / "handler.py").write_text(HANDLERS)
    (root / "golive.toml").write_text(f'''service = "gate"
[api]
type = "{api_type}"
[auth]
{auth}
function = "authorizer"
[functions.api]
handler = "handler.handler"
[functions.authorizer]
handler = "handler.authorize"
''')
    return root


def deployed(template: dict, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict]:
    """The REST API's authorizer (as the SAM transform writes it into the API's body) and its operations."""
    (api,) = resources_of(transform(template, monkeypatch), "AWS::ApiGateway::RestApi").values()
    body = api["Properties"]["Body"]
    (definition,) = [d for d in body["securityDefinitions"].values() if "x-amazon-apigateway-authorizer" in d]
    authorizer = {**definition["x-amazon-apigateway-authorizer"], "header": definition.get("name")}
    operations = {f"{verb.upper()} {path}": op for path, ops in body["paths"].items() for verb, op in ops.items()}
    return authorizer, operations


def test_lambda_token_authorizer_is_deployed_as_a_token_authorizer(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    root = service(tmp_path, 'type = "lambda-token"\nvalidation_expression = "^Bearer .+$"\ncache_ttl = 60')
    template, _ = build(load_config(root))
    authorizer, operations = deployed(template, monkeypatch)
    assert authorizer["type"] == "token"
    assert authorizer["header"] == "Authorization"
    assert authorizer["identityValidationExpression"] == "^Bearer .+$"
    assert authorizer["authorizerResultTtlInSeconds"] == 60
    assert operations["GET /orders"]["security"] == [{"LambdaAuthorizer": []}]
    # the plan's guards: public routes are open (SAM writes Authorizer NONE as an empty or a NONE requirement)
    assert all("LambdaAuthorizer" not in item for item in operations["GET /open"]["security"])
    # the authorizer function serves no route
    assert "Events" not in template["Resources"]["AuthorizerFunction"]["Properties"]


def test_lambda_request_authorizer_reads_the_declared_identity_sources(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root = service(tmp_path, 'type = "lambda-request"\n'
                             'identity_source = ["method.request.header.X-Tenant", "method.request.querystring.key"]')
    template, _ = build(load_config(root))
    authorizer, _ = deployed(template, monkeypatch)
    assert authorizer["type"] == "request"
    assert set(authorizer["identitySource"].split(", ")) == {"method.request.header.X-Tenant",
                                                             "method.request.querystring.key"}


@pytest.mark.slow
def test_lambda_token_on_an_http_api_is_refused_by_template_and_dev(tmp_path: Path) -> None:
    root = service(tmp_path, 'type = "lambda-token"', api_type="http")
    template = golive("template", str(root))
    dev = golive("dev", str(root), "--port", "0", timeout=60)
    for result in (template, dev):
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "lambda-token" in lines[0] and "REST" in lines[0], result.stderr


@pytest.mark.slow
def test_golive_dev_serves_the_token_authorizer_the_template_deploys(tmp_path: Path) -> None:
    import subprocess

    import httpx

    root = service(tmp_path, 'type = "lambda-token"\nvalidation_expression = "^Bearer .+$"')
    command = [sys.executable, "-m", "golive.cli", "dev", str(root), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:
            if line.startswith("http://"):
                url = line.strip()
                break
        assert url, "golive dev did not print its URL"
        with httpx.Client(base_url=url, timeout=20) as http:
            assert http.get("/orders").status_code == 401  # no token: the TOKEN authorizer's 401
            assert http.get("/orders", headers={"Authorization": "Basic x"}).status_code == 401
            allowed = http.get("/orders", headers={"Authorization": "Bearer abc"})
            assert allowed.status_code == 200 and json.loads(allowed.text) == {"principal": "Bearer abc"}
            assert http.get("/open").json() == {"open": True}
    finally:
        process.terminate()
        process.wait(10)
