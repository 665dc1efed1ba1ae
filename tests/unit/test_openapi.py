"""build_openapi: the OpenAPI 3.1 document derived from a route table, checked with openapi-spec-validator."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from golive import APIKeyAuth, App, JWTAuth, Response
from golive.commands.openapi import render
from golive.openapi import build_openapi
from golive.service.config import FunctionConfig, ServiceConfig

USER = {"type": "object", "properties": {"id": {"type": "string"}, "email": {"type": "string", "format": "email"}},
        "required": ["id", "email"]}
NEW_USER = {"type": "object", "properties": {"email": {"type": "string", "format": "email"},
                                             "age": {"type": ["integer", "null"], "minimum": 0}},
            "required": ["email"], "additionalProperties": False}


def config(tmp_path: Path, **overrides) -> ServiceConfig:
    settings = {"root": tmp_path, "service": "users", "version": "2.3.4", "api": {"type": "rest", "stage": "prod"},
                "auth": {"type": "jwt", "issuer": "https://issuer.test", "audience": "users-api"},
                "functions": {"api": FunctionConfig("api")}}
    settings.update(overrides)
    return ServiceConfig(**settings)


def users_app() -> App:
    app = App("users", auth=JWTAuth(secret="s" * 32))

    @app.get("/users", scopes=["users:read"], summary="List users", tags=["users"],
             query={"type": "object", "properties": {"limit": {"type": "integer", "maximum": 100,
                                                               "description": "Page size"},
                                                     "tag": {"type": "array", "items": {"type": "string"}}},
                    "required": ["limit"]},
             responses={200: {"type": "object", "properties": {"items": {"type": "array", "items": USER}}}})
    def list_users(request):
        return {"items": []}

    @app.post("/users", body=NEW_USER, responses={201: USER, 409: None}, throttle={"rate": 5, "burst": 10},
              headers={"type": "object", "properties": {"idempotency-key": {"type": "string", "maxLength": 64},
                                                        "authorization": {"type": "string"}}})
    def create_user(request):
        return Response({"id": "1", "email": "a@b.c"}, 201)

    @app.put("/users/{id}", body=NEW_USER, responses={200: USER},
             path_params={"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}}},
             headers={"type": "object", "properties": {"if-match": {"type": "string"}}, "required": ["if-match"]})
    def replace_user(request, id):
        return {"id": id, "email": "a@b.c"}

    @app.delete("/users/{id}", roles=["admin", "support"], scopes=["users:delete"], responses={204: None})
    def delete_user(request, id):
        return None

    @app.get("/files/{path+}", public=True, responses={200: None})
    def files(request, path):
        return b""

    return app


@pytest.fixture
def document(tmp_path: Path) -> dict:
    return build_openapi(config(tmp_path), {"api": users_app()})


def test_document_is_valid_openapi_3_1(document: dict) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "users" and document["info"]["version"] == "2.3.4"
    assert document["servers"][0]["url"] == "http://127.0.0.1:3000"
    assert document["servers"][1]["url"] == "https://{apiId}.execute-api.{region}.amazonaws.com/prod"
    assert document["tags"] == [{"name": "health"}, {"name": "users"}]


def test_paths_parameters_and_bodies(document: dict) -> None:
    paths = document["paths"]
    assert set(paths) == {"/health", "/users", "/users/{id}", "/files/{path}"}
    listing = paths["/users"]["get"]
    assert listing["operationId"] == "list_users" and listing["summary"] == "List users"
    assert listing["parameters"] == [
        {"name": "limit", "in": "query", "required": True, "schema": {"type": "integer", "maximum": 100,
                                                                      "description": "Page size"},
         "description": "Page size"},
        {"name": "tag", "in": "query", "required": False, "schema": {"type": "array", "items": {"type": "string"}}},
    ]
    create = paths["/users"]["post"]
    assert create["requestBody"] == {"required": True, "content": {"application/json": {"schema": NEW_USER}}}
    # Authorization is described by the security scheme, never as a header parameter.
    assert [p["name"] for p in create["parameters"]] == ["idempotency-key"]
    replace = paths["/users/{id}"]["put"]
    assert replace["parameters"][0] == {"name": "id", "in": "path", "required": True,
                                        "schema": {"type": "string", "format": "uuid"}}
    assert replace["parameters"][1]["in"] == "header" and replace["parameters"][1]["required"] is True
    greedy = paths["/files/{path}"]["get"]["parameters"][0]
    assert greedy["name"] == "path" and greedy["x-golive-greedy"] is True


def test_responses_and_problem_errors(document: dict) -> None:
    components = document["components"]
    assert components["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    create = document["paths"]["/users"]["post"]["responses"]
    assert create["201"]["content"]["application/json"]["schema"] == USER
    assert create["201"]["headers"]["X-Request-ID"] == {"$ref": "#/components/headers/XRequestID"}
    # Declared (409) and implied errors: validation, auth, body limits, idempotency, throttling, server error.
    assert sorted(code for code in create if code.startswith(("4", "5"))) == [
        "400", "401", "409", "413", "415", "422", "429", "500"]
    assert create["409"] == {"$ref": "#/components/responses/Conflict"}
    conflict = components["responses"]["Conflict"]
    assert conflict["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    replace = document["paths"]["/users/{id}"]["put"]["responses"]
    assert {"404", "412", "428"} <= set(replace)
    delete = document["paths"]["/users/{id}"]["delete"]["responses"]
    assert "content" not in delete["204"] and "403" in delete
    health = document["paths"]["/health"]["get"]["responses"]
    assert set(health) == {"2XX", "500"}  # no schema declared, nothing to validate, public


def test_security_per_operation(document: dict) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes == {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                      "description": schemes["bearerAuth"]["description"]}}
    assert "https://issuer.test" in schemes["bearerAuth"]["description"]
    paths = document["paths"]
    assert paths["/health"]["get"]["security"] == []
    assert paths["/users"]["get"]["security"] == [{"bearerAuth": ["users:read"]}]
    assert paths["/users"]["post"]["security"] == [{"bearerAuth": []}]
    # Every scope, or any one role: one alternative each.
    assert paths["/users/{id}"]["delete"]["security"] == [{"bearerAuth": ["users:delete"]}, {"bearerAuth": ["admin"]},
                                                          {"bearerAuth": ["support"]}]
    extension = paths["/users/{id}"]["delete"]["x-golive"]
    assert extension == {"function": "api", "public": False, "scopes": ["users:delete"], "roles": ["admin", "support"]}
    description = paths["/users/{id}"]["delete"]["description"]
    assert "Requires scope `users:delete` or role `admin` or `support`." in description
    assert paths["/users"]["post"]["x-golive"]["throttle"] == {"rate": 5, "burst": 10}


def test_api_keys_and_unique_operation_ids(tmp_path: Path) -> None:
    first = App("svc", auth=[JWTAuth(secret="s" * 32), APIKeyAuth({"k" * 20: "partner"}, header="X-Partner-Key")])
    second = App("svc", health_path=None)

    @first.get("/orders", summary="Orders")
    def listing(request):
        return []

    @second.get("/invoices", public=True)
    def listing(request):  # noqa: F811 - the same function name in another app
        return []

    cfg = config(tmp_path, api={"type": "http", "api_key_required": True},
                 functions={"orders": FunctionConfig("orders"), "billing": FunctionConfig("billing")})
    document = build_openapi(cfg, {"orders": first, "billing": second})
    validate(document)
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "x-partner-key",
                                     "description": "Application API key"}
    assert schemes["gatewayApiKey"]["name"] == "x-api-key"
    orders = document["paths"]["/orders"]["get"]
    assert orders["security"] == [{"bearerAuth": [], "gatewayApiKey": []}, {"apiKeyAuth": [], "gatewayApiKey": []}]
    invoices = document["paths"]["/invoices"]["get"]
    assert invoices["security"] == [{"gatewayApiKey": []}]
    assert invoices["x-golive"]["function"] == "billing" and orders["x-golive"]["function"] == "orders"
    # Paths are sorted, so /invoices claims the plain name first.
    assert (invoices["operationId"], orders["operationId"]) == ("listing", "listing_get_orders")
    assert document["servers"][1]["url"] == "https://{apiId}.execute-api.{region}.amazonaws.com"  # $default stage


def test_yaml_rendering_round_trips(document: dict) -> None:
    text = render(document, "yaml")
    assert text.startswith("openapi: 3.1.0\n")
    assert yaml.safe_load(text) == document
