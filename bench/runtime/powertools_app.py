"""POST /users written with Powertools: REST resolver with enable_validation (pydantic), Logger, Metrics."""

import json
import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, EmailStr, Field

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}

# The benchmark's "-log" rows: the handler also logs one line of its own with personal data in it, as real ones do.
LOG_USER = os.environ.get("BENCH_LOG_USER") == "1"
logger = Logger(service="users")
metrics = Metrics(namespace="users", service="users")
# The Event Handler docs' "Data validation": pydantic models checked by the resolver itself.
app = APIGatewayRestResolver(enable_validation=True)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    email: EmailStr
    age: int | None = Field(default=None, ge=0, le=150, strict=True)  # "36" is not an age, as in JSON Schema


class User(UserIn):
    id: str


def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    response.headers["X-Request-ID"] = logger.get_correlation_id()
    return response


def security_headers(app: APIGatewayRestResolver, next_middleware) -> Response:
    return _secure(next_middleware(app))


app.use(middlewares=[security_headers])


@app.exception_handler(RequestValidationError)
def bad_request(exc: RequestValidationError) -> Response:
    # Request validation runs before user middleware, so the error response gets its headers here.
    errors = [{"field": ".".join(map(str, e["loc"][1:])), "message": e["msg"]} for e in exc.errors()]
    problem = {"title": "Bad Request", "status": 400, "errors": errors}
    return _secure(Response(status_code=400, content_type="application/problem+json", body=json.dumps(problem)))


@app.post("/users")
def create_user(user: UserIn) -> Response[User]:
    metrics.add_metric(name="UserCreated", unit=MetricUnit.Count, value=1)
    created = User(id=os.urandom(16).hex(), **user.model_dump(exclude_unset=True))
    if LOG_USER:
        logger.info("user created", email=created.email)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=created)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    headers = event.get("headers") or {}
    correlation_id = next((v for k, v in headers.items() if k.lower() == "x-request-id"), None)
    logger.set_correlation_id(correlation_id or event["requestContext"]["requestId"])
    result = app.resolve(event, context)
    logger.info("request completed", status=result["statusCode"])
    return result
