"""Validation: body, query, path and header schemas; coercion, defaults, all field errors; response contracts."""

from __future__ import annotations

import json
import textwrap

import pytest

from golive import App
from golive.testing import TestClient
from golive.validation import precompile

USER_IN = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "email": {"type": "string", "format": "email"},
        "age": {"type": "integer", "minimum": 0},
        "role": {"type": "string", "enum": ["admin", "member"], "default": "member"},
        "address": {
            "type": "object",
            "properties": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
            "required": ["zip"],
        },
    },
    "required": ["name", "email"],
    "additionalProperties": False,
}
USER_OUT = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    "required": ["id", "name"],
}
LIST_QUERY = {
    "type": "object",
    "properties": {
        "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        "active": {"type": "boolean"},
        "ratio": {"type": "number"},
        "tag": {"type": "array", "items": {"type": "string"}},
        "ids": {"type": "array", "items": {"type": "integer"}},
        "sort": {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
        "cursor": {"type": ["integer", "null"]},
    },
    "additionalProperties": False,
}
ID_PATH = {"type": "object", "properties": {"id": {"type": "integer", "minimum": 1}}, "required": ["id"]}
TENANT_HEADERS = {
    "type": "object",
    "properties": {"x-tenant": {"type": "string", "pattern": "^[a-z]+$"}, "x-page-size": {"type": "integer"}},
    "required": ["x-tenant"],
}


def make_app() -> App:
    app = App("validation", health_path=None)

    @app.post("/users", body=USER_IN, responses={201: USER_OUT})
    def create(req):
        return {"id": 1, "name": req.json["name"], "echo": req.json}, 201

    @app.get("/users", query=LIST_QUERY)
    def list_users(req):
        return {"query": req.validated["query"]}

    @app.get("/users/{id}", path_params=ID_PATH, responses={200: USER_OUT, 404: None})
    def get_user(req, id):
        if id == 99:
            return {"id": "ninety-nine"}  # breaks its own schema: a server bug
        return {"id": id, "name": "Ada", "type_of_id": type(id).__name__}

    @app.get("/tenants", headers=TENANT_HEADERS)
    def tenants(req):
        return {"headers": req.validated.get("headers")}

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app())


def test_valid_body_reaches_the_handler_with_defaults(client):
    response = client.post("/users", json={"name": "Ada", "email": "ada@example.com", "age": 36})
    assert response.status == 201
    assert response.json()["echo"] == {"name": "Ada", "email": "ada@example.com", "age": 36, "role": "member"}


def test_every_invalid_field_is_listed(client):
    response = client.post("/users", json={"name": "", "email": "not-an-email", "age": -1, "role": "king",
                                           "address": {"zip": "abc"}, "nickname": "x"})
    assert response.status == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and problem["detail"] == "The request body is invalid"
    by_field = {error["field"]: error for error in problem["errors"]}
    assert set(by_field) == {"name", "email", "age", "role", "address.zip", "nickname"}
    assert by_field["name"]["message"] == "must be at least 1 character long"
    assert by_field["email"]["message"] == "must be a valid email"
    assert by_field["age"]["message"] == "must be greater than or equal to 0"
    assert by_field["role"]["message"] == "must be one of admin, member"
    assert by_field["address.zip"]["pointer"] == "/address/zip"
    assert by_field["nickname"]["message"] == "is not an allowed field"


def test_missing_required_fields_are_named(client):
    problem = client.post("/users", json={}).json()
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [("name", "is required"),
                                                                        ("email", "is required")]
    problem = client.post("/users", json={"name": "A", "email": "a@example.com", "address": {}}).json()
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [("address.zip", "is required")]


def test_wrong_body_type_and_unparseable_bodies(client):
    assert client.post("/users", json=["a", "list"]).json()["errors"][0]["message"] == "must be of type object"
    response = client.post("/users", body="{not json", headers={"Content-Type": "application/json"})
    assert response.status == 400 and "not valid JSON" in response.json()["detail"]
    assert client.post("/users", body="", headers={"Content-Type": "application/json"}).status == 400
    response = client.post("/users", body="name=Ada", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 415
    assert client.post("/users", body=json.dumps({"name": "A", "email": "a@example.com"}),
                       headers={"Content-Type": "application/vnd.api+json"}).status == 201


def test_oversized_body_is_413():
    app = App("v", health_path=None, max_body_bytes=64)

    @app.post("/users", body=USER_IN)
    def create(req):
        return {}

    response = TestClient(app).post("/users", json={"name": "A" * 100, "email": "a@example.com"})
    assert response.status == 413


def test_query_strings_are_coerced_and_defaulted(client):
    response = client.get("/users", query={"limit": "10", "active": "true", "ratio": "0.5", "tag": ["a", "b"],
                                           "ids": ["1", "2"], "cursor": "7"})
    assert response.status == 200, response.text
    assert response.json()["query"] == {"limit": 10, "active": True, "ratio": 0.5, "tag": ["a", "b"], "ids": [1, 2],
                                        "sort": "asc", "cursor": 7}
    assert client.get("/users").json()["query"] == {"limit": 20, "sort": "asc"}


@pytest.mark.parametrize("kind", ["v1", "v2", "url", "alb"])
def test_query_validation_names_each_bad_parameter(client, kind):
    response = client.get("/users", query={"limit": "abc", "active": "maybe", "sort": "sideways", "extra": "1"},
                          kind=kind)
    assert response.status == 400
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors == {"limit": "must be of type integer", "active": "must be of type boolean",
                      "sort": "must be one of asc, desc", "extra": "is not an allowed field"}
    assert response.json()["detail"] == "The query string is invalid"


def test_path_parameters_are_coerced_and_validated(client):
    response = client.get("/users/5")
    assert response.json() == {"id": 5, "name": "Ada", "type_of_id": "int"}
    response = client.get("/users/abc")
    assert response.status == 400
    assert response.json()["errors"] == [{"field": "id", "pointer": "/id", "message": "must be of type integer",
                                          "rule": "type"}]
    assert client.get("/users/0").json()["errors"][0]["message"] == "must be greater than or equal to 1"


def test_headers_are_validated_case_insensitively_and_coerced(client):
    response = client.get("/tenants", headers={"X-Tenant": "acme", "X-Page-Size": "50"})
    assert response.status == 200, response.text
    assert response.json()["headers"]["x-page-size"] == 50
    response = client.get("/tenants")
    assert response.status == 400
    assert response.json()["errors"][0]["field"] == "x-tenant"
    assert client.get("/tenants", headers={"X-Tenant": "ACME!"}).status == 400


def test_a_response_that_breaks_its_schema_is_a_500_and_an_error_log(client):
    response = client.get("/users/99")
    assert response.status == 500  # never 422: the client did nothing wrong
    problem = response.json()
    assert problem["title"] == "Internal Server Error"
    assert "ninety-nine" not in response.text
    errors = [r for r in response.logs if r["level"] == "ERROR" and r["message"] == "response failed its schema"]
    assert len(errors) == 1
    fields = {(e["field"], e["message"]) for e in errors[0]["errors"]}
    assert fields == {("id", "must be of type integer"), ("name", "is required")}
    assert errors[0]["route"] == "GET /users/{id}" and errors[0]["status"] == 200
    assert response.emf[0]["5xx"] == 1


def test_statuses_without_a_schema_are_not_validated():
    app = App("v", health_path=None)

    @app.get("/things", responses={200: USER_OUT})
    def things(req):
        return {"anything": "goes"}, 202

    assert TestClient(app).get("/things").status == 202


def test_response_validation_can_be_switched_off():
    app = App("v", health_path=None, validate_responses=False)

    @app.get("/things", responses={200: USER_OUT})
    def things(req):
        return {"id": "x"}

    assert TestClient(app).get("/things").status == 200


def test_precompiled_validators_run_without_fastjsonschema(run_python, tmp_path):
    (tmp_path / "golive_validators.py").write_text(precompile([USER_IN, LIST_QUERY, ID_PATH, USER_IN]))
    code = textwrap.dedent(f"""
        import json, sys
        from golive import App
        from golive.testing import TestClient
        app = App("pre", health_path=None)

        @app.post("/users", body={USER_IN!r})
        def create(req):
            return req.json, 201

        @app.get("/users", query={LIST_QUERY!r})
        def list_users(req):
            return req.validated["query"]

        client = TestClient(app)
        good = client.post("/users", json={{"name": "Ada", "email": "ada@example.com"}})
        bad = client.post("/users", json={{"name": "", "email": "nope", "age": -1, "x": 1}})
        query = client.get("/users", query={{"limit": "5"}})
        print(json.dumps({{"good": [good.status, good.json()], "bad": [bad.status, bad.json()["errors"]],
                          "query": query.json(), "fastjsonschema": "fastjsonschema" in sys.modules}}))
    """)
    result = run_python(code, extra_path=[tmp_path], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["fastjsonschema"] is False
    assert report["good"] == [201, {"name": "Ada", "email": "ada@example.com", "role": "member"}]
    assert report["bad"][0] == 400
    assert {(e["field"], e["message"]) for e in report["bad"][1]} == {
        ("name", "must be at least 1 character long"), ("email", "must be a valid email"),
        ("age", "must be greater than or equal to 0"), ("x", "is not an allowed field")}
    assert report["query"] == {"limit": 5, "sort": "asc"}


def test_precompiled_module_is_plain_python(tmp_path):
    source = precompile([USER_IN, USER_IN])
    assert "fastjsonschema" not in source
    assert source.count("VALIDATORS[") == 1  # one validator per distinct schema
    compile(source, "golive_validators.py", "exec")


def test_schema_text_refuses_control_characters_everywhere_it_is_used():
    from golive import schema

    app = App("notes")

    @app.post("/notes", body={"type": "object", "properties": {
        "title": schema.text(min_length=1, max_length=50, visible=True),
        "body": schema.text(multiline=True),
        "email": schema.email()}}, public=True)
    def create(req):
        return req.json, 201

    client = TestClient(app)
    assert client.post("/notes", json={"title": "Plain \N{GRINNING FACE} title", "body": "two\nlines\ttabbed",
                                       "email": "a.b@example.co.uk"}).status == 201
    for bad in ({"title": "NUL\x00"}, {"title": "esc\x1b[0m"}, {"title": "c1\x9b"}, {"title": "   "},
                {"title": "line\nbreak"}, {"body": "bell\x07"}, {"body": "del\x7f"},
                {"email": "a\x00@example.com"}, {"email": "a@example.com\n"}, {"email": "a..b@example.com"},
                {"email": "a@" + "." * 50_000}):
        response = client.post("/notes", json=bad)
        assert response.status == 400, (bad, response.text)
        assert response.json()["errors"][0]["field"] == next(iter(bad))
