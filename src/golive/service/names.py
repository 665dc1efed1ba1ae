"""The names a deployed stage has on AWS: its stack, and the log groups the template creates under it.

One place for both sides: the template renders these names with `${AWS::StackName}` (so CloudFormation fills the
stack in), the CI workflow deploys each stage under `stack_name(...)`, and the telemetry reader fills the same
stack in to find a stage's log groups. Reader and template therefore cannot disagree."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from golive.service.config import ServiceConfig

STACK_VARIABLE = "${AWS::StackName}"  # what the template writes where the stack's name goes (inside Fn::Sub)


def stack_name(service: str, stage: str) -> str:
    """The CloudFormation stack a stage deploys as (`golive ci`'s `sam deploy --stack-name`): `users-prod`.

    Stack names allow letters, digits and hyphens only: `$default` becomes `default`, `_` becomes `-`."""
    return f"{service}-{stage}".replace("$", "").replace("_", "-")


def access_log_group(stack: str) -> str:
    """API Gateway's access logs (the template's AccessLogSetting destination)."""
    return f"/aws/apigateway/{stack}-access"


def function_log_group(stack: str, function: str) -> str:
    """A golive.toml function's log group (its LoggingConfig.LogGroup)."""
    return f"/aws/lambda/{stack}-{function}"


def hook_function_name(stack: str, function: str) -> str:
    """The pre-traffic hook of a function (CodeDeploy may only invoke hooks named CodeDeployHook_*)."""
    return f"CodeDeployHook_{stack}-{function}"


def hook_log_group(stack: str, function: str) -> str:
    return f"/aws/lambda/{hook_function_name(stack, function)}"


def waf_log_group(stack: str) -> str:
    """WAF's log group (WAF requires names starting with aws-waf-logs-)."""
    return f"aws-waf-logs-{stack}"


def deployed_functions(config: ServiceConfig) -> list[str]:
    """The functions the template deploys with a log group each: golive.toml's, plus golive's JWT authorizer
    function when the auth plan deploys one."""
    from golive.service.auth import jwt_function

    names = list(config.functions)
    authorizer = jwt_function(config)
    if authorizer is not None and authorizer.name not in names:
        names.append(authorizer.name)
    return names
