"""POST /users written with FastAPI + Mangum: pydantic model, a JSON log formatter, an HTTP middleware."""

import json
import logging
import os
import sys

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mangum import Mangum
from pydantic import BaseModel, ConfigDict, EmailStr, Field

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


class JSONFormatter(logging.Formatter):
    """One JSON object per record, with the extra fields the app passes."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"timestamp": record.created, "level": record.levelname, "message": record.getMessage(),
                           "service": "users", **getattr(record, "fields", {})})


# The benchmark's "-log" rows: the handler also logs one line of its own with personal data in it, as real ones do.
LOG_USER = os.environ.get("BENCH_LOG_USER") == "1"
log_handler = logging.StreamHandler(sys.stdout)
log_handler.setFormatter(JSONFormatter())
logger = logging.getLogger("users")
logger.addHandler(log_handler)
logger.setLevel(logging.INFO)
logger.propagate = False

app = FastAPI()


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    email: EmailStr
    age: int | None = Field(default=None, ge=0, le=150, strict=True)  # "36" is not an age, as in JSON Schema


class User(UserIn):
    id: str


@app.middleware("http")
async def correlation_and_headers(request: Request, call_next):
    aws_event = request.scope.get("aws.event") or {}
    correlation_id = request.headers.get("x-request-id") or aws_event.get("requestContext", {}).get("requestId", "")
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    response.headers["X-Request-ID"] = correlation_id
    logger.info("request completed", extra={"fields": {
        "correlation_id": correlation_id, "method": request.method, "path": request.url.path,
        "status": response.status_code}})
    return response


@app.exception_handler(RequestValidationError)
async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": ".".join(map(str, e["loc"][1:])), "message": e["msg"]} for e in exc.errors()]
    # application/json, not problem+json: Mangum would base64-encode a type it does not know as text.
    return JSONResponse({"title": "Bad Request", "status": 400, "errors": errors}, status_code=400)


@app.post("/users", status_code=201, response_model=User)
def create_user(user: UserIn) -> User:
    created = User(id=os.urandom(16).hex(), **user.model_dump(exclude_unset=True))
    if LOG_USER:
        logger.info("user created", extra={"fields": {"email": created.email}})
    return created


handler = Mangum(app)
