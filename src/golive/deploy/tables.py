"""DynamoDB tables: on demand, point-in-time recovery, encrypted with the service key, retained on stack deletion."""

from __future__ import annotations

from typing import Any

from golive.deploy.builder import KEY_ID, Builder
from golive.deploy.cfn import ref
from golive.deploy.service import table_id
from golive.service.settings import table_settings


def add_tables(b: Builder) -> None:
    for name in b.service.config.tables:
        spec = table_settings(b.service.config, name)
        attributes = {spec["partition_key"]: spec["partition_key_type"]}
        keys = [{"AttributeName": spec["partition_key"], "KeyType": "HASH"}]
        if spec["sort_key"]:
            attributes[spec["sort_key"]] = spec["sort_key_type"]
            keys.append({"AttributeName": spec["sort_key"], "KeyType": "RANGE"})
        indexes: list[dict[str, Any]] = []
        for index_name, index in spec["indexes"].items():
            attributes.setdefault(index["partition_key"], index["partition_key_type"])
            index_keys = [{"AttributeName": index["partition_key"], "KeyType": "HASH"}]
            if index["sort_key"]:
                attributes.setdefault(index["sort_key"], index["sort_key_type"])
                index_keys.append({"AttributeName": index["sort_key"], "KeyType": "RANGE"})
            indexes.append({"IndexName": index_name, "KeySchema": index_keys,
                            "Projection": {"ProjectionType": index["projection"]}})
        properties: dict[str, Any] = {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": k, "AttributeType": v} for k, v in attributes.items()],
            "KeySchema": keys,
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": ref(KEY_ID)},
            "DeletionProtectionEnabled": True,
            "Tags": b.tag_list,
        }
        if indexes:
            properties["GlobalSecondaryIndexes"] = indexes
        if spec["ttl_attribute"]:
            properties["TimeToLiveSpecification"] = {"AttributeName": spec["ttl_attribute"], "Enabled": True}
        b.add(table_id(name), "AWS::DynamoDB::Table", properties, DeletionPolicy="Retain",
              UpdateReplacePolicy="Retain")
        b.output(f"{table_id(name)}Name", ref(table_id(name)), f"DynamoDB table for [tables.{name}]")
