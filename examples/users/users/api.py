"""The Users API: routes, who may call them, and how store outcomes become HTTP statuses.

Access rules (README.md has the reasoning):
  - every route but /health needs a JWT; role "admin" may do everything;
  - any other caller is the user whose id equals its `sub`: it creates, reads and replaces only that record,
    and GET /users shows it only itself;
  - DELETE is admin-only and leaves an audit record.
"""

from __future__ import annotations

import os

from golive import (
    CORS,
    App,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Request,
    Response,
    ServiceUnavailable,
    UnprocessableContent,
    audit,
    logger,
    metrics,
)
from golive.resilience import Deadline
from golive.security.auth import jwt_from_env
from users import schemas
from users.http_cache import match_passes, none_match_hits
from users.model import User, digest, etag, new_id
from users.store import open_store
from users.store.base import (
    EmailTaken,
    IdempotencyKey,
    IdempotencyMismatch,
    StoreUnavailable,
    UserExists,
    UserNotFound,
    UserStore,
    VersionConflict,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ADMIN = "admin"
MAX_ID_LENGTH = 128
# Seconds a client should wait after the store failed to answer once (an open breaker names its own wait).
STORE_RETRY_AFTER_S = 1


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _is_admin(req: Request) -> bool:
    identity = req.validated.get("identity")
    return identity is not None and ADMIN in identity.roles


def _require_self_or_admin(req: Request, user_id: str) -> None:
    # Checked before the store is read, so a stranger learns nothing about which ids exist.
    if not _is_admin(req) and req.principal != user_id:
        raise Forbidden("You may only access your own user record")


def _location(user: User) -> str:
    return f"/users/{user.id}"


def create_app(store: UserStore | None = None, *, auth: Any = None, require_if_match: bool | None = None,
               cors_origins: list[str] | None = None) -> App:
    """The Users service. Defaults come from the environment golive sets from golive.toml:
    the store (USERS_TABLE or SQLite), JWT settings (GOLIVE_JWT_* / GOLIVE_JWKS_URL),
    USERS_REQUIRE_IF_MATCH and GOLIVE_CORS_ALLOW_ORIGINS."""
    store = store if store is not None else open_store()
    auth = auth if auth is not None else jwt_from_env()
    if auth is None:
        # Fail closed: a Users API that cannot verify tokens must not start at all.
        raise RuntimeError("users: no JWT settings; set GOLIVE_JWKS_URL (production) or GOLIVE_JWT_SECRET "
                           "(development; golive dev sets it from golive.toml [auth])")
    if require_if_match is None:
        require_if_match = _flag("USERS_REQUIRE_IF_MATCH")
    if cors_origins is None:
        cors_origins = [o.strip() for o in os.environ.get("GOLIVE_CORS_ALLOW_ORIGINS", "").split(",") if o.strip()]
    app = App("users", auth=auth, cors=CORS(cors_origins) if cors_origins else None, health_path=None)
    app.health.add("store", store.ping, timeout=2.0)
    # golive's health route, declared here to publish (and validate) its body: monitors read it too.
    app.get("/health", public=True, name="health", tags=["health"], cache_control="no-store",
            summary="Health check (503 and status degraded when the store does not answer within 2 s)",
            responses={200: schemas.HEALTH, 503: schemas.HEALTH})(app.health.endpoint)
    app.store = store  # type: ignore[attr-defined]  # reachable from tests and diagnostics

    @app.middleware
    def within_the_invocation(req: Request, call_next: Any) -> Response:
        # Store calls stop starting when the invocation is nearly out of time: a 503 instead of a Lambda timeout.
        with store.bounded_by(Deadline.from_context(req.context)):
            return call_next(req)

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(req: Request, exc: StoreUnavailable) -> ServiceUnavailable:
        logger.warning("user store unavailable", error=str(exc))
        return ServiceUnavailable("The user store is not answering; retry shortly",
                                  headers={"Retry-After": str(STORE_RETRY_AFTER_S)})

    @app.post("/users", body=schemas.USER_INPUT, headers=schemas.CREATE_HEADERS, tags=["users"],
              summary="Create a user (admin: any user; others: their own record, id = token sub)",
              responses={201: schemas.USER, **schemas.problems(400, 401, 403, 409, 413, 415, 422, 503)})
    def create_user(req: Request) -> Any:
        fields = req.json
        if _is_admin(req):
            user_id = new_id()
        else:
            user_id = req.principal or ""
            if not user_id or len(user_id) > MAX_ID_LENGTH or "/" in user_id:
                raise Forbidden("Your token's subject cannot name a user record; ask an admin to create it")
        key = req.headers.get("idempotency-key")
        idempotency = IdempotencyKey(req.principal or "", key, digest(fields)) if key else None
        try:
            result = store.create(User.new(user_id, fields), idempotency)
        except EmailTaken:
            raise Conflict("A user with this email already exists") from None
        except UserExists:
            raise Conflict("You already have a user record; update it with PUT /users/{id}") from None
        except IdempotencyMismatch:
            raise UnprocessableContent("This Idempotency-Key was already used with a different request body; "
                                       "use a new key for a new request") from None
        user = result.user
        headers = {"Location": _location(user), "ETag": etag(user)}
        if result.replayed:
            headers["Idempotent-Replayed"] = "true"
            logger.info("user create replayed", user_id=user.id)
        else:
            metrics.add("UserCreated", 1)
            logger.info("user created", user_id=user.id, email=user.email)  # masked in the log: al***@example.com
        return user.to_json(), 201, headers

    @app.get("/users", query=schemas.LIST_QUERY, tags=["users"],
             summary="List users, oldest first (admin: all; others: only themselves)",
             responses={200: schemas.USER_PAGE, **schemas.problems(400, 401, 503)})
    def list_users(req: Request) -> Any:
        query = req.validated["query"]
        if not _is_admin(req):
            own = store.get(req.principal or "")
            return {"items": [own.to_json()] if own else [], "next": None}
        from users import cursor

        after = None
        if query.get("cursor"):
            try:
                after = cursor.decode(query["cursor"])
            except ValueError as exc:
                raise BadRequest(f"The request query is invalid: {exc}",
                                 errors=[{"field": "cursor", "pointer": "/cursor", "message": str(exc)}]) from None
        page = store.list(query["limit"], after)
        return {"items": [user.to_json() for user in page.users],
                "next": cursor.encode(page.next) if page.next else None}

    @app.get("/users/{id}", path_params=schemas.USER_PATH, headers=schemas.READ_HEADERS, tags=["users"],
             cache_control="private, no-cache", summary="Read a user (ETag; If-None-Match answers 304)",
             responses={200: schemas.USER, 304: None, **schemas.problems(401, 403, 404, 503)})
    def get_user(req: Request, id: str) -> Any:
        _require_self_or_admin(req, id)
        user = store.get(id)
        if user is None:
            raise NotFound("No user has this id")
        tag = etag(user)
        if none_match_hits(req.headers.get("if-none-match"), tag):
            return Response(None, 304, {"ETag": tag})
        return user.to_json(), 200, {"ETag": tag}

    @app.put("/users/{id}", path_params=schemas.USER_PATH, body=schemas.USER_INPUT, headers=schemas.WRITE_HEADERS,
             tags=["users"], summary="Replace a user (If-Match with the ETag makes it conditional)",
             responses={200: schemas.USER, **schemas.problems(400, 401, 403, 404, 409, 412, 413, 415, 428, 503)})
    def replace_user(req: Request, id: str) -> Any:
        _require_self_or_admin(req, id)
        if_match = req.headers.get("if-match")
        if if_match is None and require_if_match:
            raise PreconditionRequired("Send If-Match with the ETag from GET /users/{id}, so that no "
                                       "concurrent change is overwritten")
        expected = None
        if if_match is not None:
            current = store.get(id)
            if current is None:
                raise NotFound("No user has this id")
            if not match_passes(if_match, etag(current)):
                raise PreconditionFailed("The user changed since you read it; GET it again for the current ETag")
            expected = current.version
        try:
            user = store.replace(id, req.json, expected_version=expected)
        except UserNotFound:
            raise NotFound("No user has this id") from None
        except VersionConflict:
            raise PreconditionFailed("The user changed since you read it; GET it again for the current ETag") from None
        except EmailTaken:
            raise Conflict("A user with this email already exists") from None
        logger.info("user replaced", user_id=user.id, version=user.version)
        return user.to_json(), 200, {"ETag": etag(user)}

    @app.delete("/users/{id}", path_params=schemas.USER_PATH, headers=schemas.WRITE_HEADERS, roles=[ADMIN],
                tags=["users"], summary="Delete a user (admin only; audited; frees the email)",
                responses={204: None, **schemas.problems(401, 403, 404, 412, 503)})
    def delete_user(req: Request, id: str) -> Any:
        resource = f"users/{id}"
        if_match = req.headers.get("if-match")
        expected = None
        if if_match is not None:
            current = store.get(id)
            if current is not None and not match_passes(if_match, etag(current)):
                audit("user.delete", resource, outcome="failure", reason="precondition failed")
                raise PreconditionFailed("The user changed since you read it; GET it again for the current ETag")
            expected = current.version if current is not None else None
        try:
            store.delete(id, expected_version=expected)
        except UserNotFound:
            audit("user.delete", resource, outcome="failure", reason="not found")
            raise NotFound("No user has this id") from None
        except VersionConflict:
            audit("user.delete", resource, outcome="failure", reason="precondition failed")
            raise PreconditionFailed("The user changed since you read it; GET it again for the current ETag") from None
        audit("user.delete", resource)
        metrics.add("UserDeleted", 1)
        return None, 204

    return app
