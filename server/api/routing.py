"""Endpoint plumbing shared by every API route: authentication, role rule, CSRF, JSON, errors, audit.

An endpoint is a plain synchronous function `handler(ctx) -> Response`, declared with `api_route`
and an `Access` rule. The async wrapper reads the request body, resolves the session, enforces the
rule and then runs the handler in a worker thread inside one database transaction, so handlers
use a normal SQLAlchemy session without blocking the event loop.

An endpoint that must read its body as it arrives (resumable uploads) is a coroutine declared with
`api_stream_route`: same rule, authentication, CSRF and audit of refusals, but no transaction is
held while the body streams in; it does its database work in short steps with `ctx.run(work)`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTask, BackgroundTasks
from starlette.concurrency import run_in_threadpool
from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access import audit
from server.access.actor import Actor
from server.access.policy import AccessDenied
from server.api.errors import http_status
from server.auth.models import LoginSession
from server.auth.sessions import CSRF_HEADER, resolve_session
from server.auth.tokens import session_token
from server.community.models import Role, User
from server.core.clock import Clock, app_clock
from server.core.config import Settings
from server.core.errors import DomainError
from server.core.tasks import TaskClient, TaskMessage, enqueue, take_pending
from server.sharing.models import ShareLink

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_JSON_BYTES = 1 << 20
MAX_INT = 2**31 - 1  # the database's INTEGER: ids and counts above it name nothing that exists
# `produces=` / `consumes=` of a route that answers, or is sent, no body at all (headers only).
NO_CONTENT: tuple[str, ...] = ()
MediaTypes = str | tuple[str, ...]


class BoundedIntConvertor(IntegerConvertor):
    """Path `{name:int}` with at most 9 digits, so an id too large for the database is a 404, not a 500."""

    regex = "[0-9]{1,9}"


register_url_convertor("int", BoundedIntConvertor())


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
    """Who may call an endpoint: anyone (`public`), or signed-in users holding one of `roles`.

    `share_link` routes are reached without a session, by the share link token in their path; the
    handler resolves and checks the link (`server.api.share_links`).
    """

    roles: frozenset[Role] | None
    share_link: bool = False

    @classmethod
    def public(cls) -> Access:
        return cls(None)

    @classmethod
    def by_share_link(cls) -> Access:
        return cls(None, share_link=True)

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
    share: ShareLink | None = None  # the outside expert's link the request came through, if any
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def payload(self, model: type[M]) -> M:
        """The JSON body as `model`, or a 400 naming the first field at fault (`missing_field`,
        `invalid_field`), as `body_field` answers."""
        if not isinstance(self.body, dict):
            raise ApiError(400, "invalid_body", "request body must be a JSON object")
        try:
            return model.model_validate(self.body)
        except ValidationError as invalid:
            raise invalid_body(invalid) from None

    @property
    def clock(self) -> Clock:
        """The application's clock (the system clock unless a test or a tool set another)."""
        return app_clock(self.request.app)

    @property
    def actor(self) -> Actor:
        """The caller, as the domain's service functions take it."""
        return Actor(self.user, ip=self.ip, user_agent=self.request.headers.get("user-agent"))

    @property
    def ip(self) -> str | None:
        return self.request.client.host if self.request.client else None

    @property
    def current_user(self) -> User:
        assert self.user is not None, "endpoint is public; no user"
        return self.user

    def send_task(self, name: str, *args: Any, urgent: bool = False) -> None:
        """Queue a background task once this request's transaction has committed (so it sees the rows);
        `urgent` puts it on the urgent queue, which workers take from first."""
        enqueue(self.db, name, *args, urgent=urgent)

    def audit(self, action: str, **fields: Any) -> None:
        if self.share is not None:  # name the link and its patient; the token itself is never logged
            detail = dict(fields.get("detail") or {})
            if "path" in detail:
                detail["path"] = detail["path"].replace(self.path["token"], f"<link {self.share.id}>")
            fields["detail"] = {**detail, "share_link": self.share.id}
            fields["patient_id"] = fields.get("patient_id") or self.share.case.patient_id
        audit.record(
            self.db,
            action=action,
            user=self.user,
            ip=self.ip,
            user_agent=self.request.headers.get("user-agent"),
            **fields,
        )


Handler = Callable[[Context], Response]


def invalid_body(invalid: ValidationError) -> ApiError:
    """A pydantic refusal as the API's usual 400, naming the first field at fault."""
    first = invalid.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "body"
    if first["type"] == "missing" or first.get("input", ...) is None:  # null is missing, as for body_field
        return ApiError(400, "missing_field", f"field '{name}' is required", field=name)
    return ApiError(400, "invalid_field", f"field '{name}' is invalid: {first['msg']}", field=name)


def model_response(model: BaseModel, status_code: int = 200) -> JSONResponse:
    """A JSON answer from its response model (the contract the OpenAPI document publishes)."""
    return JSONResponse(model.model_dump(mode="json"), status_code=status_code)


def error_response(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse({"error": code, "detail": detail, **extra}, status_code=status, headers=headers)


async def _read_raw(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it grows past `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too_large", f"request body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too_large", f"request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_json(request: Request) -> Any:
    if request.method not in UNSAFE_METHODS:
        return None
    raw = await _read_raw(request, MAX_JSON_BYTES)
    if not raw:
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "request body must be application/json")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from None


def _authenticate(
    ctx: Context, access: Access, endpoint_name: str, from_cookie: bool, token: str | None
) -> None:
    if token and not access.share_link:
        ctx.login = resolve_session(ctx.db, token)
        ctx.user = ctx.login.user if ctx.login else None
    if access.is_public:
        return
    if ctx.user is None:
        raise ApiError(401, "not_authenticated", "sign in first")
    if not access.allows(ctx.user.role):
        raise AccessDenied("endpoint", endpoint_name)
    if from_cookie and ctx.request.method in UNSAFE_METHODS:
        sent = ctx.request.headers.get(CSRF_HEADER)
        if not sent or ctx.login is None or sent != ctx.login.csrf_token:
            raise ApiError(403, "csrf_failed", "missing or wrong X-CSRF-Token header")


def _after_commit(callbacks: list[Callable[[], None]], method: str, path: str) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # the data is committed; a lost notification must not turn into an error
            # (the preview sweep re-queues work whose task never reached the broker)
            log.exception("could not queue background work after %s %s", method, path)


def _sends(client: TaskClient, messages: list[TaskMessage]) -> list[Callable[[], None]]:
    return [partial(client.send, message) for message in messages]


def _end_refused(db: Session, keep_changes: bool) -> None:
    """End a refused request's transaction: keep what it wrote only when the refusal says so."""
    if keep_changes:
        db.commit()
        take_pending(db)  # a refusal sends no work, even when its records are kept
    else:
        db.rollback()
        take_pending(db)


def _run(
    factory: sessionmaker[Session],
    ctx_args: dict[str, Any],
    handler: Handler,
    access: Access,
    endpoint_name: str | None = None,
) -> Response:
    request: Request = ctx_args["request"]
    token, from_cookie = session_token(request.headers, request.cookies)
    with factory() as db:
        ctx = Context(db=db, user=None, login=None, **ctx_args)
        try:
            _authenticate(ctx, access, endpoint_name or handler.__name__, from_cookie, token)
            response = handler(ctx)
            db.commit()
            ctx.after_commit.extend(_sends(request.app.state.tasks, take_pending(db)))
            if ctx.after_commit:
                # Sent once the answer is on its way: the client need not wait for the broker.
                queued = BackgroundTask(
                    _after_commit, ctx.after_commit, ctx.request.method, ctx.request.url.path
                )
                response.background = (
                    BackgroundTasks([response.background, queued]) if response.background else queued
                )
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
            return error_response(
                403, "forbidden", denied.reason or "you do not have access to this resource"
            )
        except ApiError as error:
            _end_refused(db, error.keep_changes)
            return error_response(error.status, error.code, error.detail, **error.extra)
        except DomainError as error:
            _end_refused(db, error.keep_changes)
            return error_response(http_status(error), error.code, error.detail, **error.extra)
        except DataError:
            # The database refused a value the client sent (a number out of its column's range, say):
            # bad input, never a server error. Checks nearer the input give clearer messages first.
            db.rollback()
            return error_response(400, "invalid_value", "a value in the request is out of range or malformed")


def api_route(
    path: str,
    handler: Handler,
    *,
    access: Access,
    methods: Iterable[str] = ("GET",),
    raw_body_limit: int | None = None,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    consumes: MediaTypes | None = None,
    produces: MediaTypes | None = None,
    status: int = 200,
) -> Route:
    """A Starlette route whose endpoint enforces `access`; the rule is kept on the route for tests.

    The body is parsed as JSON, unless `raw_body_limit` is given: then the handler gets the bytes.
    `body` and `response` are the contract: the pydantic models of the JSON request body (read by the
    handler with `ctx.payload(Model)`) and of the JSON answer (built with `model_response`). The
    OpenAPI document is generated from them. A body or answer that is not JSON is declared by its media
    types (`consumes`, `produces`; `response` then describes it if it is JSON of another type, such as
    DICOM JSON), one that is empty by `NO_CONTENT`; `status` is the usual success status.
    """

    async def endpoint(request: Request) -> Response:
        try:
            body = await (_read_raw(request, raw_body_limit) if raw_body_limit else _read_json(request))
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

    contract = Contract.of(body=body, response=response, consumes=consumes, produces=produces, status=status)
    return ApiRoute(path, endpoint, methods=methods, name=handler.__name__, access=access, contract=contract)


@dataclass(frozen=True)
class Contract:
    """What an endpoint takes and answers (see `api_route`), for the OpenAPI document."""

    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    consumes: tuple[str, ...] | None = None
    produces: tuple[str, ...] | None = None
    status: int = 200
    others: Mapping[int, type[BaseModel]] = field(default_factory=dict)  # other statuses with a body

    @classmethod
    def of(
        cls,
        *,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        consumes: MediaTypes | None = None,
        produces: MediaTypes | None = None,
        status: int = 200,
        others: Mapping[int, type[BaseModel]] | None = None,
    ) -> Contract:
        def media(types: MediaTypes | None) -> tuple[str, ...] | None:
            return (types,) if isinstance(types, str) else types

        return cls(body, response, media(consumes), media(produces), status, dict(others or {}))


class ApiRoute(Route):
    """A Starlette route that carries its access rule and its contract: the OpenAPI document and the
    role × endpoint tests read them back from the route table."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        access: Access,
        contract: Contract | None = None,
        methods: Iterable[str] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(path, endpoint, methods=list(methods) if methods is not None else None, name=name)
        self.access = access
        self.contract = contract or Contract()


T = TypeVar("T")


class _Refused(Exception):
    """A step of a streaming endpoint ended the request (refusal or `ApiError`) with `response`."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True)
class StreamContext:
    """What a streaming handler gets: the request (read its body with `request.stream()`) and `run`."""

    request: Request
    settings: Settings
    path: dict[str, Any]
    access: Access
    endpoint_name: str

    @property
    def clock(self) -> Clock:
        return app_clock(self.request.app)

    async def run(self, work: Callable[[Context], T]) -> T:
        """`work(ctx)` in a worker thread inside one transaction, exactly as an `api_route` handler runs.

        The caller is authenticated and checked against the rule again, the transaction commits and
        tasks queued with `ctx.send_task` are sent. An `ApiError` or a refusal ends the whole request
        with its usual response. Return plain values, not ORM objects: the session closes after the step.
        """
        done: list[T] = []

        def step(ctx: Context) -> Response:
            done.append(work(ctx))
            return Response()  # not sent: only an error response from `_run` ever is

        ctx_args = {"request": self.request, "settings": self.settings, "path": self.path}
        factory = self.request.app.state.session_factory
        response = await run_in_threadpool(_run, factory, ctx_args, step, self.access, self.endpoint_name)
        if not done:
            raise _Refused(response)
        if response.background is not None:  # this step's response is never sent: send its tasks now
            await response.background()
        return done[0]


StreamHandler = Callable[[StreamContext], Awaitable[Response]]


def api_stream_route(
    path: str,
    handler: StreamHandler,
    *,
    access: Access,
    methods: Iterable[str] = ("POST",),
    consumes: MediaTypes | None = None,
    response: type[BaseModel] | None = None,
    produces: MediaTypes | None = None,
    status: int = 200,
) -> Route:
    """A route for a coroutine handler that reads the request body itself, as it arrives.

    The caller is authenticated and checked against `access` (CSRF and the audit of refusals as in
    `api_route`) before the handler starts, so no byte of the body is read for a refused request.
    The contract (`consumes`, `response`, `produces`, `status`) is declared as for `api_route`.
    """

    async def endpoint(request: Request) -> Response:
        ctx = StreamContext(
            request=request,
            settings=request.app.state.settings,
            path=dict(request.path_params),
            access=access,
            endpoint_name=handler.__name__,
        )
        try:
            await ctx.run(lambda _ctx: None)
            return await handler(ctx)
        except _Refused as refused:
            return refused.response
        except ApiError as error:
            return error_response(error.status, error.code, error.detail, **error.extra)
        except DomainError as error:
            return error_response(http_status(error), error.code, error.detail, **error.extra)

    contract = Contract.of(response=response, consumes=consumes, produces=produces, status=status)
    return ApiRoute(path, endpoint, methods=methods, name=handler.__name__, access=access, contract=contract)


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
    if isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT <= value <= MAX_INT:
        raise ApiError(400, "invalid_field", f"field '{name}' is out of range", field=name)
    return value
