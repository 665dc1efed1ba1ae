"""The template under construction: resources, outputs and the tags every taggable resource carries."""

from __future__ import annotations

from typing import Any

from golive.deploy.cfn import tag_list
from golive.deploy.service import Service

KEY_ID = "ServiceKey"  # the service's customer-managed KMS key
CRITICAL_TOPIC = "CriticalAlarmTopic"
WARNING_TOPIC = "WarningAlarmTopic"


class Builder:
    """Collects resources; each deploy module adds its part."""

    def __init__(self, service: Service, code_uri: str) -> None:
        self.service = service
        self.code_uri = code_uri
        self.resources: dict[str, dict[str, Any]] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.metadata: dict[str, Any] = {}
        # Tag values cannot hold "$": the HTTP API's $default stage is tagged "default".
        self.tags: dict[str, str] = {"service": service.name, "stage": service.stage.lstrip("$"),
                                     **service.config.tags}
        self.notes: list[str] = []  # what the template could not express (shown by `golive template`)

    def add(self, logical: str, kind: str, properties: dict[str, Any], **attributes: Any) -> dict[str, Any]:
        if logical in self.resources:
            raise ValueError(f"duplicate logical id {logical}")
        resource: dict[str, Any] = {"Type": kind}
        for name in ("Condition", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy", "Metadata"):
            if attributes.get(name):
                resource[name] = attributes[name]
        resource["Properties"] = properties
        self.resources[logical] = resource
        return resource

    def output(self, name: str, value: Any, description: str) -> None:
        self.outputs[name] = {"Description": description, "Value": value}

    @property
    def tag_list(self) -> list[dict[str, str]]:
        return tag_list(self.tags)

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)
