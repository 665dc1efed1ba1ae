"""Contract test: the live API (`golive dev examples/users`, over HTTP) keeps the promises of its published OpenAPI
document, examples/users/openapi.json. A consumer's journey runs against it and every answer is checked against
the document: the status is one its operation documents, the media type is the documented one, the body validates
against the documented schema (jsonschema, draft 2020-12 as OpenAPI 3.1 says) and the documented headers are there.
What the consumer sends is checked against the documented request schemas too."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from golive.commands.token import mint_token
from golive.service.config import load_config

SERVICE_DIR = Path(__file__).resolve().parents[1]
DOCUMENT = json.loads((SERVICE_DIR / "openapi.json").read_text())
BASE = "urn:users-openapi"
REGISTRY = Registry().with_resource(BASE, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _resolve(node: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A response or request object with its $ref followed; the pointer it came from when it was a reference."""
    ref = node.get("$ref")
    if not ref:
        return node, None
    target: Any = DOCUMENT
    for part in ref.removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target, ref.removeprefix("#")


def _errors(schema_pointer: str, instance: Any) -> list[str]:
    validator = Draft202012Validator({"$ref": f"{BASE}#{quote(schema_pointer, safe='/~')}"}, registry=REGISTRY)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator.iter_errors(instance)]


class Contract:
    """Checks exchanges against the document and remembers which operations the journey exercised."""

    def __init__(self) -> None:
        self.exercised: set[tuple[str, str]] = set()
        self.templates = sorted(DOCUMENT["paths"], key=lambda t: t.count("{"))  # literal paths win over templates

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        for template in self.templates:
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
            operation = DOCUMENT["paths"][template].get(method.lower())
            if re.match(pattern, path) and operation is not None:
                return template, operation
        raise AssertionError(f"{method} {path} is not in the published document")

    def check(self, response: httpx.Response) -> httpx.Response:
        request = response.request
        method, path = request.method, request.url.path
        template, operation = self.operation(method, path)
        self.exercised.add((method, template))
        where = f"{method} {template} -> {response.status_code}"
        responses = operation["responses"]
        status = str(response.status_code)
        key = status if status in responses else f"{status[0]}XX" if f"{status[0]}XX" in responses else "default"
        assert key in responses, f"{where}: status not documented (documented: {sorted(responses)}): {response.text}"
        documented, ref = _resolve(responses[key])
        base = ref or _pointer("paths", template, method.lower(), "responses", key)
        content = documented.get("content") or {}
        if not content:
            assert response.content == b"", f"{where}: documented without a body, answered {response.text[:200]}"
        else:
            media = response.headers.get("content-type", "").split(";")[0].strip()
            assert media in content, f"{where}: answered {media!r}, documented {sorted(content)}"
            if "schema" in content[media]:
                errors = _errors(f"{base}/content/{media.replace('/', '~1')}/schema", response.json())
                assert not errors, f"{where}: body breaks the documented schema: {errors}"
        for name, declared in (documented.get("headers") or {}).items():
            header, _ = _resolve(declared)
            if header.get("required"):
                assert name.lower() in response.headers, f"{where}: documented header {name} missing"
        return response

    def check_request_body(self, method: str, template: str, body: Any) -> None:
        """What the consumer sends is what the document asks for (else the test, not the API, is wrong)."""
        request_body, ref = _resolve(DOCUMENT["paths"][template][method.lower()]["requestBody"])
        assert "application/json" in request_body["content"], f"{method} {template} takes no JSON body"
        base = ref or _pointer("paths", template, method.lower(), "requestBody")
        errors = _errors(f"{base}/content/application~1json/schema", body)
        assert not errors, f"{method} {template}: the consumer's body breaks the documented schema: {errors}"


@pytest.fixture
def contract() -> Contract:
    return Contract()


@pytest.fixture
def api(dev_server: Any, contract: Contract) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=dev_server.url, timeout=15,
                      event_hooks={"response": [lambda r: (r.read(), contract.check(r))]}) as client:
        yield client


def bearer(sub: str, roles: tuple[str, ...] = ()) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(load_config(SERVICE_DIR), sub, roles=roles)}"}


def test_a_consumers_journey_keeps_to_the_published_document(api: httpx.Client, contract: Contract) -> None:
    run = os.urandom(4).hex()
    me, stranger, admin = bearer(f"consumer-{run}"), bearer(f"stranger-{run}"), bearer(f"admin-{run}", ("admin",))
    profile = {"name": "Grace Hopper", "email": f"grace-{run}@example.com", "age": 85, "phone": "+12025550123"}
    contract.check_request_body("POST", "/users", profile)

    assert api.get("/health").status_code == 200
    created = api.post("/users", json=profile, headers={**me, "Idempotency-Key": f"signup-{run}"})
    assert created.status_code == 201
    location, etag = created.headers["location"], created.headers["etag"]
    replay = api.post("/users", json=profile, headers={**me, "Idempotency-Key": f"signup-{run}"})
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert api.post("/users", json={**profile, "age": 1}, headers={**me, "Idempotency-Key": f"signup-{run}"}
                    ).status_code == 422
    assert api.post("/users", json=profile, headers=me).status_code == 409

    assert api.get(location, headers=me).status_code == 200
    assert api.get(location, headers={**me, "If-None-Match": etag}).status_code == 304
    assert api.get(location, headers=stranger).status_code == 403
    assert api.get(f"/users/missing-{run}", headers=admin).status_code == 404
    assert api.get("/users", headers=me).json()["items"][0]["id"] == created.json()["id"]

    renamed = {"name": "Rear Admiral Hopper", "email": profile["email"]}
    contract.check_request_body("PUT", "/users/{id}", renamed)
    updated = api.put(location, json=renamed, headers={**me, "If-Match": etag})
    assert updated.status_code == 200 and "age" not in updated.json()  # a full replace
    assert api.put(location, json=renamed, headers={**me, "If-Match": etag}).status_code == 412

    other = api.post("/users", json={"name": "Ada", "email": f"ada-{run}@example.com"}, headers=admin)
    assert other.status_code == 201
    first = api.get("/users", params={"limit": 1}, headers=admin).json()
    assert first["next"] and api.get("/users", params={"limit": 1, "cursor": first["next"]},
                                     headers=admin).status_code == 200
    assert api.put(other.headers["location"], json={"name": "Ada", "email": profile["email"]},
                   headers=admin).status_code == 409

    assert api.delete(location, headers=me).status_code == 403
    assert api.delete(location, headers={**admin, "If-Match": etag}).status_code == 412
    assert api.delete(location, headers=admin).status_code == 204
    assert api.delete(location, headers=admin).status_code == 404

    documented = {(method.upper(), template) for template, operations in DOCUMENT["paths"].items()
                  for method in operations if method in ("get", "put", "post", "delete", "patch")}
    assert documented - contract.exercised == set(), "add the new operations to this consumer's journey"


def test_refusals_are_documented_problems(api: httpx.Client) -> None:
    admin = bearer(f"admin-{os.urandom(4).hex()}", ("admin",))
    assert api.get("/users").status_code == 401
    assert api.get("/users", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert api.post("/users", json={"name": "No email"}, headers=admin).status_code == 400
    form = {**admin, "Content-Type": "application/x-www-form-urlencoded"}
    assert api.post("/users", content=b"name=Ada", headers=form).status_code == 415
    assert api.get("/users", params={"limit": 0}, headers=admin).status_code == 400
    assert api.get("/users", params={"cursor": "garbage!"}, headers=admin).status_code == 400
    assert api.put("/users/someone", json={"name": "X", "email": "x@example.com", "extra": 1},
                   headers=admin).status_code == 400

