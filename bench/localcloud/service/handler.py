"""The trivial Lambda handler every peer runs: GET /hello answers {"ok": true} as an API Gateway proxy response."""

import json

BODY = json.dumps({"ok": True})


def hello(event: dict, context: object) -> dict:
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": BODY}
