"""CloudFormation building blocks: intrinsic functions, logical ids, tags, and YAML in and out (short-form tags too)."""

from __future__ import annotations

import re
from typing import Any

TRANSFORM = "AWS::Serverless-2016-10-31"


def ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def get_att(resource: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [resource, attribute]}


def sub(text: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Fn::Sub": [text, variables] if variables else text}


def logical_id(*parts: str) -> str:
    """CamelCase, alphanumeric: ("GET", "/users/{id}") -> GetUsersId. CloudFormation allows nothing else."""
    words: list[str] = []
    for part in parts:
        words.extend(w for w in re.split(r"[^A-Za-z0-9]+", part) if w)
    text = "".join(w.capitalize() if w.isupper() else w[:1].upper() + w[1:] for w in words)
    return text or "Root"


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """Tags as most CloudFormation resources take them: [{Key, Value}]."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def checkov_skip(*skips: tuple[str, str]) -> dict[str, Any]:
    """Resource Metadata telling checkov which checks are deliberately skipped, each with its written reason."""
    return {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in skips]}}


# -- YAML --------------------------------------------------------------------------------------------------------

def dump_yaml(template: dict[str, Any]) -> str:
    """The template as plain YAML: long-form intrinsics ({"Fn::Sub": ...}) need no custom tags to read back."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:  # shared sub-dicts must be written out, never as &anchors
            return True

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump(template, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120,
                     allow_unicode=True)


_SHORT_FORMS = {
    "Ref": "Ref", "Condition": "Condition", "GetAtt": "Fn::GetAtt", "Sub": "Fn::Sub", "Join": "Fn::Join",
    "Select": "Fn::Select", "Split": "Fn::Split", "If": "Fn::If", "Equals": "Fn::Equals", "And": "Fn::And",
    "Or": "Fn::Or", "Not": "Fn::Not", "FindInMap": "Fn::FindInMap", "Base64": "Fn::Base64",
    "GetAZs": "Fn::GetAZs", "ImportValue": "Fn::ImportValue", "Cidr": "Fn::Cidr", "Length": "Fn::Length",
    "ToJsonString": "Fn::ToJsonString", "Transform": "Fn::Transform",
}


def load_yaml(text: str) -> Any:
    """Read a CloudFormation template (YAML or JSON), turning short forms like !Ref and !GetAtt a.b into long form."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        name = _SHORT_FORMS.get(suffix, f"Fn::{suffix}")
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            assert isinstance(node, yaml.MappingNode)  # YAML has no fourth kind of node
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    _Loader.add_multi_constructor("!", _construct)
    # CloudFormation keeps dates and yes/no as strings ("2010-09-09" is a version, not a date).
    _Loader.yaml_implicit_resolvers = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:timestamp",)]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return yaml.load(text, Loader=_Loader)
