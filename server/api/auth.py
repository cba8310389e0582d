"""Login, logout and the current user."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from starlette.responses import Response

from server.access import audit
from server.api.routing import NO_CONTENT, Access, ApiError, Context, api_route, model_response
from server.api.schemas.auth import BearerSession, LoginBody, Session
from server.api.schemas.auth import User as UserOut
from server.auth import ratelimit
from server.auth.passwords import verify_password
from server.auth.sessions import SESSION_COOKIE, create_session, end_session
from server.auth.tokens import session_token
from server.community.models import User


def login(ctx: Context) -> Response:
    body = ctx.payload(LoginBody)
    username, password = body.username.strip(), body.password
    settings = ctx.settings
    window = timedelta(seconds=settings.login_window_seconds)
    wait = ratelimit.retry_after(
        ctx.db, username=username, ip=ctx.ip, max_failures=settings.login_max_failures, window=window
    )
    if wait is not None:
        ctx.audit("login", username=username, outcome=audit.DENIED, detail={"reason": "rate_limited"})
        raise ApiError(
            429,
            "too_many_attempts",
            "too many failed logins; try again later",
            retry_after=wait,
            keep_changes=True,
        )

    user = ctx.db.scalar(select(User).where(User.username == username))
    valid = verify_password(user.password_hash if user else None, password) and user is not None
    if not valid or user is None or not user.active:
        ratelimit.record_attempt(ctx.db, username=username, ip=ctx.ip, succeeded=False)
        ctx.audit("login", username=username, outcome=audit.FAILED)
        raise ApiError(401, "invalid_credentials", "wrong username or password", keep_changes=True)

    ratelimit.record_attempt(ctx.db, username=username, ip=ctx.ip, succeeded=True)
    token, session = create_session(
        ctx.db,
        user,
        lifetime=timedelta(hours=settings.session_hours),
        ip=ctx.ip,
        user_agent=ctx.request.headers.get("user-agent"),
    )
    ctx.user = user
    ctx.audit("login")
    if body.bearer:
        # Programs (uploader, signalling peers) ask for the token itself instead of a cookie.
        return model_response(
            BearerSession(user=UserOut.of(user), csrf_token=session.csrf_token, token=token)
        )
    response = model_response(Session(user=UserOut.of(user), csrf_token=session.csrf_token))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return response


def logout(ctx: Context) -> Response:
    token, _ = session_token(ctx.request.headers, ctx.request.cookies)
    if token:
        end_session(ctx.db, token)
    ctx.audit("logout")
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def me(ctx: Context) -> Response:
    assert ctx.login is not None
    return model_response(Session(user=UserOut.of(ctx.current_user), csrf_token=ctx.login.csrf_token))


routes = [
    # The answer is a `BearerSession` (with the token) when the body asks for `bearer`.
    api_route(
        "/api/auth/login", login, access=Access.public(), methods=["POST"], body=LoginBody, response=Session
    ),
    api_route(
        "/api/auth/logout",
        logout,
        access=Access.signed_in(),
        methods=["POST"],
        consumes=NO_CONTENT,
        produces=NO_CONTENT,
        status=204,
    ),
    api_route("/api/auth/me", me, access=Access.signed_in(), response=Session),
]
