"""The local Lambda service with active tracing: each sampled invocation gets its own function segment, whose id is
the Parent of the _X_AMZN_TRACE_ID the runtime sees (golive's worker and AWS's awslambdaric alike), with the
failure kinds Lambda marks as faults; unsampled invocations pass through untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lambda_support import copy_functions
from lambda_support import run as run_service

ROOT = "1-65a1b2c3-0123456789abcdef01234567"
CALLER = "53995c3f42cd8ad8"


@pytest.fixture
def service_dir(tmp_path: Path) -> Path:
    return copy_functions(tmp_path)


@pytest.mark.parametrize("runtime_client", ["golive", "awslambdaric"])
def test_a_sampled_invocation_gets_a_function_segment_named_by_the_runtimes_trace_header(
        service_dir: Path, runtime_client: str) -> None:
    segments: list[dict[str, Any]] = []

    async def scenario(service: Any) -> Any:
        sampled = await service.invoke("context", b"{}", trace_id=f"Root={ROOT};Parent={CALLER};Sampled=1")
        unsampled = await service.invoke("context", b"{}", trace_id=f"Root={ROOT};Parent={CALLER};Sampled=0")
        failed = await service.invoke("fail", b'{"x": 1}', trace_id=f"Root={ROOT};Parent={CALLER};Sampled=1")
        return sampled, unsampled, failed

    sampled, unsampled, failed = run_service(service_dir, scenario, runtime_client=runtime_client,
                                             on_segment=lambda build, *parts: segments.append(build(*parts)))
    assert [segment["aws"]["request_id"] for segment in segments] == [sampled.request_id, failed.request_id]
    context, fail = segments
    seen = json.loads(sampled.payload)["environ"]["_X_AMZN_TRACE_ID"]
    assert seen == f"Root={ROOT};Parent={context['id']};Sampled=1"
    assert json.loads(unsampled.payload)["environ"]["_X_AMZN_TRACE_ID"] == f"Root={ROOT};Parent={CALLER};Sampled=0"
    assert (context["trace_id"], context["parent_id"], context["origin"]) == (ROOT, CALLER, "AWS::Lambda::Function")
    assert context["name"] == "fixtures-context" and context["aws"]["function_arn"].endswith(":fixtures-context")
    assert "fault" not in context
    # a cold start: Lambda's Initialization subsegment, before the invocation, inside the function's segment
    init = context["subsegments"][0]
    assert init["name"] == "Initialization" and init["start_time"] == context["start_time"]
    assert context["start_time"] < init["end_time"] < context["end_time"]
    assert abs((context["end_time"] - init["end_time"]) * 1000 - sampled.duration_ms) < 0.01
    assert fail["fault"] is True and fail["cause"]["exceptions"][0]["type"] == failed.error_type == "ValueError"
    assert fail["annotations"] == {"outcome": "function_error"}
