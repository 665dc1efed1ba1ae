"""CodeDeploy pre-traffic hook: invokes the new function version with smoke requests before any traffic shifts.

Deployed by `golive template` as golive.deploy.pretraffic.handler (golive ships in the zip). GOLIVE_HOOK_TARGET is
the version being deployed, GOLIVE_HOOK_REQUESTS the [method, path] pairs derived from the route table (public GET
routes without parameters, /health first). Any invocation error or non-2xx answer reports Failed, so CodeDeploy moves
no traffic and rolls the alias back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def smoke_event(method: str, path: str, kind: str, stage: str) -> dict[str, Any]:
    from golive.synth import build_event

    return build_event(kind, method, path, headers={"User-Agent": "golive-pretraffic", "Accept": "application/json"},
                       stage=stage, api_id="pretraffic")


def smoke(invoke: Invoke, requests: list[list[str]], kind: str = "v1", stage: str = "prod") -> list[str]:
    """One line per failed request ("GET /health: 503 ..."); empty when every answer was 2xx. With no requests the
    version must at least answer an unknown path without crashing (any status below 500)."""
    checks = [(method, path, True) for method, path in requests] or [("GET", "/__golive_pretraffic", False)]
    failures = []
    for method, path, must_succeed in checks:
        try:
            answer = invoke(smoke_event(method, path, kind, stage))
        except Exception as exc:  # the version failed to run at all: that is the finding
            failures.append(f"{method} {path}: invocation failed: {type(exc).__name__}: {exc}")
            continue
        status = answer.get("statusCode") if isinstance(answer, dict) else None
        ok = isinstance(status, int) and (200 <= status < 300 if must_succeed else status < 500)
        if not ok:
            body = str(answer.get("body", ""))[:200] if isinstance(answer, dict) else repr(answer)[:200]
            failures.append(f"{method} {path}: {status if status is not None else 'no statusCode'} {body}")
    return failures


def lambda_invoker(client: Any, target: str) -> Invoke:
    """Invoke TARGET (a version ARN) synchronously; a function error raises with Lambda's error payload."""

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        response = client.invoke(FunctionName=target, InvocationType="RequestResponse",
                                 Payload=json.dumps(event).encode())
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            raise RuntimeError(f"{response['FunctionError']}: {payload[:300].decode(errors='replace')}")
        result = json.loads(payload or b"null")
        return result if isinstance(result, dict) else {"statusCode": None, "body": result}

    return invoke


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    import boto3  # type: ignore[import-untyped]  # in the Lambda runtime; loaded only when the hook runs

    target = os.environ["GOLIVE_HOOK_TARGET"]
    requests = json.loads(os.environ.get("GOLIVE_HOOK_REQUESTS") or "[]")
    failures = smoke(lambda_invoker(boto3.client("lambda"), target), requests,
                     os.environ.get("GOLIVE_HOOK_PAYLOAD", "v1"), os.environ.get("GOLIVE_STAGE", "prod"))
    status = "Failed" if failures else "Succeeded"
    print(json.dumps({"level": "ERROR" if failures else "INFO", "message": f"pre-traffic check {status}",
                      "target": target, "requests": len(requests) or 1, "failures": failures}))
    boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"], lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status)
    return {"status": status, "failures": failures}
