"""The SAM translator (the real transform CloudFormation runs) accepts every generated template and produces the API
Gateway resources golive meant: validators, models, authorizers, stage settings, the WAF association."""

from __future__ import annotations

import copy
import json

import pytest
from deploy_helpers import TEMPLATE_NAMES


class _NoManagedPolicies:
    """golive writes its own roles, so the transform never needs AWS's managed-policy map."""

    def load(self) -> dict[str, str]:
        return {}


def transform(template: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    from samtranslator.translator.transform import transform as sam_transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    packaged = copy.deepcopy(template)
    for resource in packaged["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/code.zip"  # what `sam package` substitutes
    return json.loads(json.dumps(sam_transform(packaged, {}, _NoManagedPolicies()), default=str))


@pytest.fixture(scope="module")
def monkeymodule():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def transformed(templates, monkeymodule):
    return {name: transform(template, monkeymodule) for name, template in templates.items()}


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_the_sam_transform_accepts_the_template(name, transformed):
    resources = transformed[name]["Resources"]
    assert not any(r["Type"].startswith("AWS::Serverless::") for r in resources.values())
    assert any(r["Type"] == "AWS::Lambda::Function" for r in resources.values())


def test_rest_api_body_has_a_validator_model_and_authorizer_per_method(transformed):
    resources = transformed["users_like"]["Resources"]
    body = resources["Api"]["Properties"]["Body"]
    operations = {f"{verb.upper()} {path}": op for path, ops in body["paths"].items() for verb, op in ops.items()}
    assert {"POST /users", "GET /users", "GET /users/{id}", "PUT /users/{id}", "DELETE /users/{id}",
            "GET /health"} <= set(operations)
    post = operations["POST /users"]
    assert post["x-amazon-apigateway-request-validator"] == "body-and-params"
    body_parameter = next(p for p in post["parameters"] if p["in"] == "body")
    assert body_parameter["schema"]["$ref"] == "#/definitions/postusersrequest"
    assert body["definitions"]["postusersrequest"]["required"] == ["name", "email"]
    assert post["security"] == [{"JwtAuthorizer": []}, {"api_key": []}]
    assert operations["GET /health"]["security"] == []
    assert post["x-amazon-apigateway-integration"]["timeoutInMillis"] == 4000
    authorizer = body["securityDefinitions"]["JwtAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "token" and authorizer["authorizerResultTtlInSeconds"] == 300


def test_stage_settings_and_waf_association_survive_the_transform(transformed):
    resources = transformed["users_like"]["Resources"]
    stage = next(r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Stage")["Properties"]
    assert stage["TracingEnabled"] is True
    assert {"ResourcePath": "/*", "HttpMethod": "*"}.items() <= stage["MethodSettings"][0].items()
    association = resources["WebAclAssociation"]["Properties"]["ResourceArn"]["Fn::Sub"]
    assert association.endswith("/restapis/${Api}/stages/${ApiprodStage}")  # SAM resolved ${Api.Stage}
    kinds = {r["Type"] for r in resources.values()}
    assert {"AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlanKey"} <= kinds


def test_http_api_transform_keeps_route_settings_and_jwt_authorizer(transformed):
    resources = transformed["users_http"]["Resources"]
    stage = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage")["Properties"]
    assert stage["DefaultRouteSettings"]["DetailedMetricsEnabled"] is True
    assert "GET /users/{id}" in stage["RouteSettings"]
    body = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Api")["Properties"]["Body"]
    authorizer = body["components"]["securitySchemes"]["CognitoAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "jwt"
    assert body["paths"]["/health"]["get"]["security"] == [{"NONE": []}]  # SAM's spelling of a public route
    assert body["paths"]["/users"]["post"]["security"] == [{"CognitoAuthorizer": ["users/write"]}]


def test_multi_function_transform_routes_each_method_to_its_function(transformed):
    resources = transformed["users_multi"]["Resources"]
    body = resources["Api"]["Properties"]["Body"]
    ban = body["paths"]["/users/{id}/ban"]["post"]["x-amazon-apigateway-integration"]["uri"]
    catalog = body["paths"]["/catalog"]["get"]["x-amazon-apigateway-integration"]["uri"]
    assert "AdminFunction" in json.dumps(ban) and "ApiFunction" in json.dumps(catalog)
    stage = next(r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Stage")["Properties"]
    assert stage["CacheClusterEnabled"] is True
    cached = [s for s in stage["MethodSettings"] if s.get("CachingEnabled")]
    assert [(s["ResourcePath"], s["HttpMethod"]) for s in cached] == [("/~1catalog", "GET")]  # public GET only


def test_a_handler_not_written_with_golive_is_deployed_behind_a_proxy_route(tmp_path, monkeypatch):
    from deploy_helpers import render

    service = tmp_path / "foreign"
    service.mkdir()
    (service / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n")
    (service / "golive.toml").write_text('service = "foreign"\n[functions.api]\nhandler = "app.handler"\n')
    template = render(service)
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"]
    assert [(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events.values()] == [("ANY", "/{proxy+}")]
    assert template["Metadata"]["golive"]["routes"] == {}  # nothing known about its code
    resources = transform(template, monkeypatch)["Resources"]
    body = resources["Api"]["Properties"]["Body"]
    assert "x-amazon-apigateway-any-method" in body["paths"]["/{proxy+}"]
