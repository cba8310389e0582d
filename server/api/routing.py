"""Endpoint plumbing shared by every API route: authentication, role rule, CSRF, JSON, errors, audit.

An endpoint is a plain synchronous function `handler(ctx) -> Response`, declared with `api_route`
and an `Access` rule. The async wrapper reads the request body, resolves the session, enforces the
rule and then runs the handler in a worker thread inside one database transaction, so handlers
use a normal SQLAlchemy session without blocking the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import audit
from server.access import AccessDenied
from server.auth.sessions import CSRF_HEADER, SESSION_COOKIE, resolve_session
from server.config import Settings
from server.models import LoginSession, Role, User

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_JSON_BYTES = 1 << 20


class ApiError(Exception):
    """An error the client caused; becomes `{"error": code, "detail": ...}` with the given status."""

    def __init__(
        self, status: int, code: str, detail: str, *, keep_changes: bool = False, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.keep_changes = keep_changes  # commit what the handler wrote (e.g. a failed-login record)
        self.extra = extra


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


@dataclass(frozen=True)
class Access:
    """Who may call an endpoint: anyone (`public`), or signed-in users holding one of `roles`."""

    roles: frozenset[Role] | None

    @classmethod
    def public(cls) -> Access:
        return cls(None)

    @classmethod
    def signed_in(cls) -> Access:
        return cls(frozenset(Role))

    @classmethod
    def only(cls, *roles: Role | Iterable[Role]) -> Access:
        flat: set[Role] = set()
        for item in roles:
            flat.update([item] if isinstance(item, Role) else item)
        return cls(frozenset(flat))

    @property
    def is_public(self) -> bool:
        return self.roles is None

    def allows(self, role: Role) -> bool:
        return self.roles is None or role in self.roles


@dataclass
class Context:
    """What a handler gets: the request, its transaction, the caller and the parsed JSON body."""

    request: Request
    db: Session
    settings: Settings
    user: User | None
    login: LoginSession | None
    body: Any = None
    path: dict[str, Any] = field(default_factory=dict)

    @property
    def ip(self) -> str | None:
        return self.request.client.host if self.request.client else None

    @property
    def current_user(self) -> User:
        assert self.user is not None, "endpoint is public; no user"
        return self.user

    def audit(self, action: str, **fields: Any) -> None:
        audit.record(
            self.db,
            action=action,
            user=self.user,
            ip=self.ip,
            user_agent=self.request.headers.get("user-agent"),
            **fields,
        )


Handler = Callable[[Context], Response]


def error_response(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse({"error": code, "detail": detail, **extra}, status_code=status, headers=headers)


def session_token(request: Request) -> tuple[str | None, bool]:
    """The session token and whether it came from the cookie (only cookie auth needs CSRF)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None, False
    return request.cookies.get(SESSION_COOKIE), True


async def _read_json(request: Request) -> Any:
    if request.method not in UNSAFE_METHODS:
        return None
    raw = await request.body()
    if not raw:
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "request body must be application/json")
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, "too_large", "JSON body larger than 1 MiB")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from None


def _authenticate(ctx: Context, access: Access, from_cookie: bool, token: str | None) -> None:
    if token:
        ctx.login = resolve_session(ctx.db, token)
        ctx.user = ctx.login.user if ctx.login else None
    if access.is_public:
        return
    if ctx.user is None:
        raise ApiError(401, "not_authenticated", "sign in first")
    if not access.allows(ctx.user.role):
        raise AccessDenied("endpoint", ctx.request.url.path)
    if from_cookie and ctx.request.method in UNSAFE_METHODS:
        sent = ctx.request.headers.get(CSRF_HEADER)
        if not sent or ctx.login is None or sent != ctx.login.csrf_token:
            raise ApiError(403, "csrf_failed", "missing or wrong X-CSRF-Token header")


def _run(
    factory: sessionmaker[Session], ctx_args: dict[str, Any], handler: Handler, access: Access
) -> Response:
    token, from_cookie = session_token(ctx_args["request"])
    with factory() as db:
        ctx = Context(db=db, user=None, login=None, **ctx_args)
        try:
            _authenticate(ctx, access, from_cookie, token)
            response = handler(ctx)
            db.commit()
            return response
        except AccessDenied as denied:
            db.rollback()
            ctx.audit(
                "access_denied",
                resource_type=denied.resource_type,
                resource_id=denied.resource_id,
                patient_id=denied.patient_id,
                outcome=audit.DENIED,
                detail={"method": ctx.request.method, "path": ctx.request.url.path},
            )
            db.commit()
            return error_response(403, "forbidden", "you do not have access to this resource")
        except ApiError as error:
            if error.keep_changes:
                db.commit()
            else:
                db.rollback()
            return error_response(error.status, error.code, error.detail, **error.extra)


def api_route(path: str, handler: Handler, *, access: Access, methods: Iterable[str] = ("GET",)) -> Route:
    """A Starlette route whose endpoint enforces `access`; the rule is kept on the route for tests."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await _read_json(request)
        except ApiError as error:
            return error_response(error.status, error.code, error.detail)
        state = request.app.state
        ctx_args = {
            "request": request,
            "settings": state.settings,
            "body": body,
            "path": dict(request.path_params),
        }
        return await run_in_threadpool(_run, state.session_factory, ctx_args, handler, access)

    route = Route(path, endpoint, methods=list(methods), name=handler.__name__)
    route.access = access  # type: ignore[attr-defined]
    return route


def body_field(ctx: Context, name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
    """A typed field of the JSON object body, or a 400 that names it."""
    body = ctx.body if isinstance(ctx.body, dict) else None
    if body is None:
        raise ApiError(400, "invalid_body", "request body must be a JSON object")
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, "missing_field", f"field '{name}' is required", field=name)
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ApiError(400, "invalid_field", f"field '{name}' has the wrong type", field=name)
    return value
