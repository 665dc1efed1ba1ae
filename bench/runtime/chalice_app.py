"""POST /users written with Chalice: hand-written checks (Chalice has no validation), JSON logs, middleware."""

import json
import logging
import os
import re
import sys

from chalice import BadRequestError, Chalice, Response

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ALLOWED = frozenset(("name", "email", "age"))


class JSONFormatter(logging.Formatter):
    """One JSON object per record, with the extra fields the app passes."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"timestamp": record.created, "level": record.levelname, "message": record.getMessage(),
                           "service": "users", **getattr(record, "fields", {})})


# The benchmark's "-log" rows: the handler also logs one line of its own with personal data in it, as real ones do.
LOG_USER = os.environ.get("BENCH_LOG_USER") == "1"
app = Chalice(app_name="users", configure_logs=False)
log_handler = logging.StreamHandler(sys.stdout)
log_handler.setFormatter(JSONFormatter())
app.log.addHandler(log_handler)
app.log.setLevel(logging.INFO)
app.log.propagate = False


def _errors(body) -> list[str]:
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


@app.middleware("http")
def correlation_and_headers(event, get_response):
    correlation_id = event.headers.get("x-request-id") or event.context.get("requestId", "")
    response = get_response(event)
    response.headers.update(SECURITY_HEADERS)
    response.headers["X-Request-ID"] = correlation_id
    app.log.info("request completed", extra={"fields": {
        "correlation_id": correlation_id, "method": event.method, "path": event.path,
        "status": response.status_code}})
    return response


@app.route("/users", methods=["POST"], content_types=["application/json"])
def create_user():
    body = app.current_request.json_body  # Chalice answers 400 itself on malformed JSON
    errors = _errors(body)
    if errors:
        raise BadRequestError("; ".join(errors))
    if LOG_USER:
        app.log.info("user created", extra={"fields": {"email": body["email"]}})
    return Response(body={"id": os.urandom(16).hex(), **body}, status_code=201)


handler = app
