"""[api] is read once: every key golive.toml accepts is deployed by the template, or documented as local-only."""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy_helpers import ROOT
from test_deploy_sam import transform

from golive.deploy.template import build
from golive.service.config import ConfigError, load_config
from golive.service.settings import API_KEYS, LOCAL_ONLY_API_KEYS

HANDLER = '''
from golive import App

app = App("shop")


@app.post("/orders", body={"type": "object", "properties": {"n": {"type": "integer"}}})
def create(req):
    return {"ok": True}


@app.get("/orders")
def orders(req):
    return {"items": []}


handler = app.handler
'''


def service(tmp_path: Path, api: str) -> Path:
    root = tmp_path / "shop"
    root.mkdir(exist_ok=True)
    (root / "handler.py").write_text(HANDLER)
    (root / "golive.toml").write_text(f'service = "shop"\n[api]\n{api}\n[functions.api]\nhandler = "handler.handler"\n')
    return root


def test_local_api_settings_are_deployed_the_same_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = service(tmp_path, 'binary_media_types = ["image/png"]\nstage_variables = { tier = "gold" }\n'
                             'integration_timeout = 2.5\n[api.integration_timeouts]\n"GET /orders" = 1.5\n'
                             '[api.route_throttling]\n"GET /orders" = { rate = 7, burst = 9 }')
    template, _ = build(load_config(root))
    api = template["Resources"]["Api"]["Properties"]
    assert api["BinaryMediaTypes"] == ["image~1png"] and api["Variables"] == {"tier": "gold"}
    events = {e["Properties"]["Method"] + " " + e["Properties"]["Path"]: e["Properties"]
              for e in template["Resources"]["ApiFunction"]["Properties"]["Events"].values()}
    assert events["GET /orders"]["TimeoutInMillis"] == 1500 and events["POST /orders"]["TimeoutInMillis"] == 2500
    setting = next(m for m in api["MethodSettings"] if m["ResourcePath"] == "/~1orders" and m["HttpMethod"] == "GET")
    assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (7, 9)
    stage = next(r for r in transform(template, monkeypatch)["Resources"].values()
                 if r["Type"] == "AWS::ApiGateway::Stage")
    assert stage["Properties"]["Variables"] == {"tier": "gold"}


def test_request_validation_off_deploys_no_validator(tmp_path: Path) -> None:
    template, _ = build(load_config(service(tmp_path, "request_validation = false")))
    api = template["Resources"]["Api"]["Properties"]
    body = api["DefinitionBody"]
    assert "x-amazon-apigateway-request-validator" not in body
    assert all(not op for ops in body["paths"].values() for op in ops.values())
    assert "Models" not in api


def test_body_only_validation_names_a_body_validator(tmp_path: Path) -> None:
    template, _ = build(load_config(service(tmp_path, 'request_validation = "body"')))
    paths = template["Resources"]["Api"]["Properties"]["DefinitionBody"]["paths"]
    assert paths["/orders"]["post"]["x-amazon-apigateway-request-validator"] == "body-only"
    assert paths["/orders"]["get"] == {}


def test_an_unknown_api_key_is_one_line_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[api\] has unknown key stage_vars; known: type, stage"):
        build(load_config(service(tmp_path, 'stage_vars = { a = "b" }')))


def test_every_local_only_api_key_is_documented_as_such() -> None:
    deploy_doc = (ROOT / "docs" / "deploy.md").read_text()
    for key in API_KEYS:
        assert f"`{key}`" in deploy_doc or f"[api.{key}]" in deploy_doc, f"docs/deploy.md lacks [api] {key}"
    paragraph = deploy_doc[deploy_doc.index("Local-only `[api]` keys"):].split("\n\n")[0]
    for key in LOCAL_ONLY_API_KEYS:
        assert f"`{key}`" in paragraph, f"docs/deploy.md does not say [api] {key} is local-only"
