"""Lambda functions: arm64, a current Python, short timeouts, reserved concurrency, active tracing, their own
encrypted log group and least-privilege role."""

from __future__ import annotations

import math
from typing import Any

from golive.deploy.auth import AuthPlan
from golive.deploy.builder import KEY_ID, Builder
from golive.deploy.cfn import checkov_skip, get_att, logical_id, ref, sub
from golive.deploy.environment import production_environment
from golive.deploy.iam import add_role
from golive.deploy.service import function_id, table_id
from golive.service.auth import jwt_function
from golive.service.config import ConfigError, FunctionConfig
from golive.service.names import STACK_VARIABLE, function_log_group
from golive.service.settings import api_settings, section, table_settings

RUNTIMES = ("python3.12", "python3.13")
ARCHITECTURES = ("arm64", "x86_64")
DLQ_REASON = ("invoked synchronously by API Gateway: a failure is returned to the caller, and a dead-letter queue "
              "only ever receives asynchronous invocations")
VPC_REASON = ("the function reaches only AWS APIs (DynamoDB, X-Ray, CloudWatch) over IAM-authenticated TLS; a VPC "
              "would add NAT cost and cold-start latency without protecting a private resource")


def log_group_id(function: str) -> str:
    return logical_id(function, "LogGroup")


def add_log_group(b: Builder, logical: str, name: Any, purpose: str) -> None:
    settings = api_settings(b.service.config)
    properties: dict[str, Any] = {"LogGroupName": name, "RetentionInDays": settings["log_retention_days"],
                                  "Tags": b.tag_list}
    skips = []
    if settings["log_encryption"]:
        properties["KmsKeyId"] = get_att(KEY_ID, "Arn")
    else:
        skips.append(("CKV_AWS_158", f"{purpose} logs are not KMS-encrypted: [api] log_encryption = false"))
    if settings["log_retention_days"] < 365:
        skips.append(("CKV_AWS_338", f"[api] log_retention_days = {settings['log_retention_days']} chosen by the "
                                     f"service owner"))
    b.add(logical, "AWS::Logs::LogGroup", properties, Metadata=checkov_skip(*skips) if skips else None)


def add_functions(b: Builder, auth: AuthPlan) -> None:
    config = b.service.config
    package = section(config, "package")
    for name, function in config.functions.items():
        _add_function(b, name, function, auth, package)
    authorizer = jwt_function(config) if auth.authorizer_function else None
    if authorizer is not None and authorizer.name not in config.functions:
        _add_function(b, authorizer.name, authorizer, auth, package, description="JWT authorizer (golive)")


def _add_function(b: Builder, name: str, function: FunctionConfig, auth: AuthPlan, package: dict[str, Any],
                  description: str | None = None) -> None:
    where = f"[functions.{name}]"
    if function.runtime not in RUNTIMES:
        raise ConfigError(f"golive.toml: {where} runtime must be one of {', '.join(RUNTIMES)} for deployment, "
                          f"got {function.runtime!r}")
    if function.architecture not in ARCHITECTURES:
        raise ConfigError(f"golive.toml: {where} architecture must be arm64 or x86_64")
    log_group = log_group_id(name)
    add_log_group(b, log_group, sub(function_log_group(STACK_VARIABLE, name)), f"function {name}")
    role = add_role(b, name, log_group)
    environment: dict[str, Any] = {**b.service.config.service_environment(), "GOLIVE_STAGE": b.service.stage,
                                   **auth.environment}  # the stage may come from --stage
    for table in b.service.config.tables:
        spec = table_settings(b.service.config, table)
        if name in spec["functions"]:
            environment[spec["env"]] = ref(table_id(table))
    environment.update(production_environment(f"[functions.{name}] environment", function.environment))
    properties: dict[str, Any] = {
        "Description": description or f"{b.service.name} {name} ({len(b.service.routes_of(name))} routes)",
        "CodeUri": b.code_uri,
        "Handler": function.handler,
        "Runtime": function.runtime,
        "Architectures": [function.architecture],
        "MemorySize": function.memory,
        "Timeout": math.ceil(function.timeout),
        "ReservedConcurrentExecutions": function.reserved_concurrency or function.concurrency,
        "Role": get_att(role, "Arn"),
        "Tracing": "Active",
        "KmsKeyArn": get_att(KEY_ID, "Arn"),
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": ref(log_group)},
        "Environment": {"Variables": environment},
        "Tags": b.tag_map,
    }
    if name in b.service.config.functions:  # the service's own, not golive's JWT authorizer
        _add_alias(properties, where, function)
    if package.get("code_signing_config_arn"):
        properties["CodeSigningConfigArn"] = package["code_signing_config_arn"]
    b.add(function_id(name), "AWS::Serverless::Function", properties,
          Metadata=checkov_skip(("CKV_AWS_116", DLQ_REASON), ("CKV_AWS_117", VPC_REASON)))


def _add_alias(properties: dict[str, Any], where: str, function: FunctionConfig) -> None:
    """Every deploy publishes a version behind the live alias: the API calls the alias, CodeDeploy shifts it."""
    from golive.deploy.release import ALIAS

    properties["AutoPublishAlias"] = ALIAS
    provisioned = function.provisioned_concurrency
    if provisioned is None:
        return
    reserve = properties["ReservedConcurrentExecutions"]
    if isinstance(provisioned, bool) or not isinstance(provisioned, int) or not 0 < provisioned <= reserve:
        raise ConfigError(f"golive.toml: {where} provisioned_concurrency must be a whole number from 1 to the "
                          f"function's reserved concurrency ({reserve})")
    properties["ProvisionedConcurrencyConfig"] = {"ProvisionedConcurrentExecutions": provisioned}

