"""Route schemas (JSON Schema 2020-12) become API Gateway models (draft-04) that never reject what the app accepts."""

from __future__ import annotations

import jsonschema
import pytest
from deploy_helpers import SERVICES

from golive.deploy.schemas import to_draft4
from golive.deploy.service import load_service
from golive.service.config import load_config


def verdicts(schema: dict, model: dict, documents: list) -> list[tuple[bool, bool]]:
    """(valid for the route schema, valid for the gateway model) per document, with real validators."""
    original = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    gateway = jsonschema.Draft4Validator(model, format_checker=jsonschema.FormatChecker())
    jsonschema.Draft4Validator.check_schema(model)
    return [(original.is_valid(d), gateway.is_valid(d)) for d in documents]


def test_exclusive_bounds_const_and_refs_keep_their_meaning():
    schema = {
        "type": "object",
        "properties": {"n": {"type": "number", "exclusiveMinimum": 0, "maximum": 10},
                       "kind": {"const": "a"}, "tag": {"$ref": "#/$defs/tag"}},
        "required": ["n"],
        "$defs": {"tag": {"type": "string", "maxLength": 3}},
    }
    model, dropped = to_draft4(schema, title="Thing")
    assert model["properties"]["n"] == {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 10}
    assert model["properties"]["tag"] == {"type": "string", "maxLength": 3}
    assert dropped == []
    documents = [{"n": 0}, {"n": 0.1}, {"n": 10}, {"n": 11}, {"n": 5, "kind": "a"}, {"n": 5, "kind": "b"},
                 {"n": 5, "tag": "abcd"}, {"n": 5, "tag": "ab"}, {}, {"n": "5"}]
    assert all(a == b for a, b in verdicts(schema, model, documents))


def test_if_then_else_becomes_an_equivalent_any_of():
    schema = {"type": "object", "if": {"properties": {"kind": {"const": "company"}}, "required": ["kind"]},
              "then": {"required": ["vat"]}, "else": {"required": ["birthday"]}}
    model, dropped = to_draft4(schema)
    assert dropped == []
    documents = [{"kind": "company", "vat": "x"}, {"kind": "company"}, {"kind": "person", "birthday": "1"},
                 {"kind": "person"}, {"birthday": "1"}, {}]
    assert all(a == b for a, b in verdicts(schema, model, documents))


def test_tuples_and_dependent_keywords():
    schema = {"type": "object", "properties": {"point": {"type": "array", "prefixItems": [{"type": "number"},
                                                                                          {"type": "number"}],
                                                         "items": False}},
              "dependentRequired": {"card": ["cvv"]}}
    model, dropped = to_draft4(schema)
    assert dropped == []
    assert model["properties"]["point"]["items"] == [{"type": "number"}, {"type": "number"}]
    assert model["properties"]["point"]["additionalItems"] is False
    assert model["dependencies"] == {"card": ["cvv"]}
    documents = [{"point": [1, 2]}, {"point": [1, 2, 3]}, {"point": ["a", 2]}, {"card": 1}, {"card": 1, "cvv": 2}]
    assert all(a == b for a, b in verdicts(schema, model, documents))


def test_what_draft_04_cannot_say_is_dropped_and_reported_never_tightened():
    schema = {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"},
                                               "tags": {"type": "array", "contains": {"const": "x"}}},
              "unevaluatedProperties": False, "propertyNames": {"maxLength": 5}}
    model, dropped = to_draft4(schema)
    assert "format" not in model["properties"]["id"]
    assert sorted(d.split(": ")[1].split(" ")[0] for d in dropped) == [
        "contains", "format", "propertyNames", "unevaluatedProperties"]
    documents = [{"id": "not-a-uuid"}, {"tags": ["y"]}, {"extra": 1}, {"toolongname": 1}, {"id": 5}]
    for app_ok, gateway_ok in verdicts(schema, model, documents):
        assert gateway_ok or not app_ok  # the gateway is looser, never stricter
    assert verdicts(schema, model, [{"id": 5}]) == [(False, False)]  # what it keeps, it still enforces


def test_recursive_refs_are_cut_without_looping():
    schema = {"$defs": {"node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/node"}}}},
              "$ref": "#/$defs/node"}
    model, dropped = to_draft4(schema)
    assert model["type"] == "object" and model["properties"]["child"] == {}
    assert any("recursive $ref" in d for d in dropped)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_body_model_of_every_service_is_a_valid_draft_04_schema(name, templates):
    service = load_service(load_config(SERVICES[name]))
    models = (templates[name]["Resources"].get("Api", {}).get("Properties") or {}).get("Models") or {}
    bodies = {f"{r.logical}Request": r.route.body for r in service.routes if r.route.body}
    if service.api_type == "http":
        assert models == {}
        return
    assert set(models) == set(bodies)
    for model_name, model in models.items():
        jsonschema.Draft4Validator.check_schema(model)
        assert model["$schema"] == "http://json-schema.org/draft-04/schema#"
        # The route schema's own examples (when it has them) pass both.
        for example in bodies[model_name].get("examples", []):
            assert verdicts(bodies[model_name], model, [example]) == [(True, True)]
