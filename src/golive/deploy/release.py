"""Gradual deployment: each function's live alias shifts traffic through CodeDeploy, rolled back by golive's own
alarms, after a generated pre-traffic hook has called the new version with smoke requests."""

from __future__ import annotations

import json
from typing import Any

from golive.deploy.builder import KEY_ID, Builder
from golive.deploy.cfn import checkov_skip, get_att, logical_id, ref, sub
from golive.deploy.service import function_id
from golive.service.config import ConfigError, ServiceConfig

ALIAS = "live"
# CodeDeploy's predefined Lambda deployment configurations (SAM's DeploymentPreference Type).
DEPLOYMENT_TYPES = (
    "Canary10Percent5Minutes", "Canary10Percent10Minutes", "Canary10Percent15Minutes", "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute", "Linear10PercentEvery2Minutes", "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes", "AllAtOnce",
)
PRODUCTION_DEFAULT = "Canary10Percent5Minutes"
OTHER_DEFAULT = "AllAtOnce"
PRODUCTION_STAGES = ("prod", "production", "$default")
MAX_ROLLBACK_ALARMS = 10  # CodeDeploy's limit per deployment group
DEPLOYMENT_KEYS = ("type", "pre_traffic_check", "enabled")
HOOK_HANDLER = "golive.deploy.pretraffic.handler"
HOOK_REASON = ("invoked once per deployment by CodeDeploy, never by API Gateway: a dead-letter queue would only "
               "hide the failed deployment it reports")


def release_settings(config: ServiceConfig, stage: str) -> dict[str, Any]:
    """[deployment] (the stage's overrides merged in): the CodeDeploy type and whether the hook runs."""
    raw = config.raw.get("deployment") or {}
    if not isinstance(raw, dict):
        raise ConfigError('golive.toml: [deployment] must be a table, e.g. [deployment] type = "Linear10PercentEvery1'
                          'Minute"')
    unknown = sorted(set(raw) - set(DEPLOYMENT_KEYS))
    if unknown:
        raise ConfigError(f"golive.toml: [deployment] has unknown key {', '.join(unknown)}; known: "
                          f"{', '.join(DEPLOYMENT_KEYS)}")
    default = PRODUCTION_DEFAULT if stage in PRODUCTION_STAGES else OTHER_DEFAULT
    kind = raw.get("type", default)
    if kind not in DEPLOYMENT_TYPES:
        raise ConfigError(f"golive.toml: [deployment] type {kind!r} is not a CodeDeploy Lambda deployment type; use "
                          f"one of {', '.join(DEPLOYMENT_TYPES)}")
    for key in ("pre_traffic_check", "enabled"):
        if not isinstance(raw.get(key, True), bool):
            raise ConfigError(f"golive.toml: [deployment] {key} must be true or false")
    return {"type": kind, "pre_traffic_check": raw.get("pre_traffic_check", True), "enabled": raw.get("enabled", True)}


def rollback_alarms(b: Builder, function: str) -> list[str]:
    """The generated alarms a canary of FUNCTION watches: its error rate and throttles, its routes' 5xx rate and p99
    latency (logical ids, in that order)."""
    base = logical_id(function, "Function")
    alarms = [f"{base}ErrorRateAlarm", f"{base}ThrottlesAlarm"]
    for route in b.service.routes_of(function):
        alarms += [f"{route.logical}5XXRateAlarm", f"{route.logical}LatencyP99Alarm"]
    return [a for a in alarms if a in b.resources]


def add_release(b: Builder) -> None:
    """DeploymentPreference on every service function (after add_alarms: it names their alarms)."""
    settings = release_settings(b.service.config, b.service.stage)
    if not settings["enabled"]:
        b.notes.append("[deployment] enabled = false: new versions take all traffic at once with no alarm rollback")
        return
    for name in b.service.functions:
        resource = b.resources[function_id(name)]
        alarms = rollback_alarms(b, name)
        if len(alarms) > MAX_ROLLBACK_ALARMS:
            alarms = [*alarms[:2], _route_guard(b, name, alarms[2:])]
        preference: dict[str, Any] = {"Type": settings["type"], "Alarms": [ref(a) for a in alarms]}
        if settings["pre_traffic_check"]:
            preference["Hooks"] = {"PreTraffic": ref(_add_hook(b, name))}
        resource["Properties"]["DeploymentPreference"] = preference
    b.output("DeploymentType", settings["type"], "How CodeDeploy shifts traffic to a new version of each function")


def _route_guard(b: Builder, function: str, alarms: list[str]) -> str:
    """More route alarms than CodeDeploy takes: one composite alarm in ALARM when any of them is."""
    logical = logical_id(function, "RoutesReleaseAlarm")
    b.add(logical, "AWS::CloudWatch::CompositeAlarm", {
        "AlarmName": sub(f"${{AWS::StackName}} function {function} routes"),
        "AlarmDescription": f"Any route of {function} breaches its 5xx-rate or p99-latency alarm: rolls a canary "
                            f"back.",
        "AlarmRule": sub(" OR ".join(f'ALARM("${{{a}.Arn}}")' for a in alarms)),
        "ActionsEnabled": False,  # the route alarms page already; this one only tells CodeDeploy
    })
    return logical


def smoke_requests(b: Builder, function: str) -> list[list[str]]:
    """What the hook sends to a new version: its public GET routes without path parameters, /health first."""
    requests = []
    for route in b.service.routes_of(function):
        r = route.route
        if route.method != "GET" or r.param_names or not r.public or "{" in route.path:
            continue
        requests.append(["GET", route.path])
    requests.sort(key=lambda item: (item[1] != "/health", item[1]))
    return requests


def hook_id(function: str) -> str:
    return logical_id(function, "PreTrafficHook")


def _add_hook(b: Builder, function: str) -> str:
    """A function CodeDeploy runs before shifting traffic: it invokes the new version with the smoke requests and
    reports Failed (no traffic moves, the deployment rolls back) on any non-2xx answer or invocation error."""
    service_function = b.service.functions[function]
    target = function_id(function)
    logical = hook_id(function)
    requests = smoke_requests(b, function)
    if not requests:
        b.notes.append(f"{function}: no public GET route without parameters (such as /health): the pre-traffic "
                       f"hook only checks that the new version starts")
    role = f"{logical}Role"
    b.add(role, "AWS::IAM::Role", {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "pre-traffic-check", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Resource": sub(f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:"
                             f"${{{target}}}:*")},
            {"Effect": "Allow", "Action": "codedeploy:PutLifecycleEventHookExecutionStatus",
             "Resource": sub("arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:"
                             "deploymentgroup:*/*")},
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": get_att(f"{logical}LogGroup", "Arn")},
            {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"},
        ]}}],
        "Tags": b.tag_list,
    }, Metadata=checkov_skip(("CKV_AWS_111", "X-Ray's PutTraceSegments and PutTelemetryRecords support no "
                                             "resource-level permissions")))
    from golive.deploy.functions import add_log_group

    # CodeDeploy's Lambda role may only invoke hooks whose names start with CodeDeployHook_.
    from golive.service.names import STACK_VARIABLE, hook_function_name, hook_log_group

    name = sub(hook_function_name(STACK_VARIABLE, function))
    add_log_group(b, f"{logical}LogGroup", sub(hook_log_group(STACK_VARIABLE, function)),
                  f"pre-traffic hook of {function}")
    b.add(logical, "AWS::Serverless::Function", {
        "FunctionName": name,
        "Description": f"golive pre-traffic check of {function}: smoke requests to the new version",
        "CodeUri": b.code_uri,
        "Handler": HOOK_HANDLER,
        "Runtime": service_function.runtime,
        "Architectures": [service_function.architecture],
        "MemorySize": 256,
        "Timeout": 60,
        "ReservedConcurrentExecutions": 1,
        "Role": get_att(role, "Arn"),
        "Tracing": "Active",
        "KmsKeyArn": get_att(KEY_ID, "Arn"),
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": ref(f"{logical}LogGroup")},
        "Environment": {"Variables": {
            **b.service.config.service_environment(),
            "GOLIVE_HOOK_TARGET": ref(f"{target}.Version"),  # SAM resolves it to the version being deployed
            "GOLIVE_HOOK_REQUESTS": json.dumps(requests, separators=(",", ":")),
            "GOLIVE_HOOK_PAYLOAD": "v1" if b.service.api_type == "rest" else "v2",
            "GOLIVE_STAGE": b.service.stage,
        }},
        "Tags": b.tag_map,
    }, Metadata=checkov_skip(("CKV_AWS_116", HOOK_REASON), ("CKV_AWS_117", "the hook reaches only the Lambda and "
                                                                         "CodeDeploy APIs over IAM-authenticated TLS")))
    return logical
