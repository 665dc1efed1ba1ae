"""Least-privilege execution roles: each function may write its own logs, send traces, and use only the DynamoDB
actions its tables allow, on those tables and their indexes."""

from __future__ import annotations

from typing import Any

from golive.deploy.builder import KEY_ID, Builder
from golive.deploy.cfn import get_att, logical_id, sub
from golive.deploy.service import table_id
from golive.service.settings import INDEX_ACTIONS, table_settings


def role_id(function: str) -> str:
    return logical_id(function, "Role")


def table_statements(b: Builder, function: str) -> list[dict[str, Any]]:
    """The DynamoDB statements for one function: its tables' actions on the table ARN, index actions on indexes."""
    statements: list[dict[str, Any]] = []
    for name in b.service.config.tables:
        spec = table_settings(b.service.config, name)
        if function not in spec["functions"]:
            continue
        table = table_id(name)
        statements.append({"Sid": f"{table}Items", "Effect": "Allow", "Action": spec["actions"],
                           "Resource": get_att(table, "Arn")})
        index_actions = sorted(INDEX_ACTIONS.intersection(spec["actions"]))
        if spec["indexes"] and index_actions:
            statements.append({"Sid": f"{table}Indexes", "Effect": "Allow", "Action": index_actions,
                               "Resource": [sub(f"${{{table}.Arn}}/index/{index}") for index in spec["indexes"]]})
    return statements


def add_role(b: Builder, function: str, log_group: str) -> str:
    statements: list[dict[str, Any]] = [
        {"Sid": "OwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": get_att(log_group, "Arn")},
        {"Sid": "DecryptEnvironment", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": get_att(KEY_ID, "Arn")},
        # X-Ray has no resource-level permissions: "*" is the only Resource these two actions accept.
        {"Sid": "Traces", "Effect": "Allow", "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
         "Resource": "*"},
        *table_statements(b, function),
    ]
    logical = role_id(function)
    b.add(logical, "AWS::IAM::Role", {
        "Description": sub(f"${{AWS::StackName}} {function} least-privilege execution role written by golive"),
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]},
        "Policies": [{"PolicyName": "least-privilege",
                      "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
        "Tags": b.tag_list,
    })
    return logical
