"""POST /users as a bare Lambda handler: json.loads, hand-written checks, print(json.dumps(...)). The floor."""

import json
import os
import re
import time

# The benchmark's "-log" rows: the handler also logs one line of its own with personal data in it, as real ones do.
LOG_USER = os.environ.get("BENCH_LOG_USER") == "1"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ALLOWED = frozenset(("name", "email", "age"))
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


def _errors(body):
    if not isinstance(body, dict):
        return ["body must be an object"]
    errors = [f"{key} is not an allowed field" for key in body if key not in _ALLOWED]
    name, email, age = body.get("name"), body.get("email"), body.get("age")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        errors.append("name must be a string of 1-100 characters")
    if not isinstance(email, str) or not _EMAIL.match(email):
        errors.append("email must be a valid email")
    if "age" in body and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 150):
        errors.append("age must be an integer 0-150")
    return errors


def handler(event, context):
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    correlation_id = headers.get("x-request-id") or event["requestContext"]["requestId"]
    try:
        body = json.loads(event.get("body") or "")
        errors = _errors(body)
    except ValueError:
        errors = ["body is not valid JSON"]
    if errors:
        status, payload = 400, {"title": "Bad Request", "status": 400, "errors": errors}
    else:
        status, payload = 201, {"id": os.urandom(16).hex(), **body}
        if LOG_USER:
            print(json.dumps({"timestamp": time.time(), "level": "INFO", "message": "user created",
                              "service": "users", "email": body["email"]}))
        print(json.dumps({"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [
            {"Namespace": "users", "Dimensions": [["service"]], "Metrics": [{"Name": "UserCreated", "Unit": "Count"}]}
        ]}, "service": "users", "UserCreated": 1}))
    print(json.dumps({"timestamp": time.time(), "level": "INFO", "message": "request completed", "service": "users",
                      "correlation_id": correlation_id, "request_id": context.aws_request_id, "status": status}))
    return {"statusCode": status, "headers": {**SECURITY_HEADERS, "Content-Type": "application/json",
                                              "X-Request-ID": correlation_id}, "body": json.dumps(payload)}
