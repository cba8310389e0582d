"""Login, logout and the current user.

The rules (password check, throttling, the session, the audit) are `server.auth.service`'s; these
handlers parse, call it once and answer, the session token as a cookie or, when asked, in the body.
"""

from __future__ import annotations

from starlette.responses import Response

from server.api.routing import NO_CONTENT, Access, Context, api_route, model_response
from server.api.schemas.auth import BearerSession, LoginBody, Session
from server.api.schemas.auth import User as UserOut
from server.auth import service
from server.auth.sessions import SESSION_COOKIE
from server.auth.tokens import session_token


def login(ctx: Context) -> Response:
    body = ctx.payload(LoginBody)
    settings = ctx.settings
    signed_in = service.login(ctx.db, ctx.actor, settings, body.username, body.password)
    ctx.user = signed_in.user
    user, csrf_token = UserOut.of(signed_in.user), signed_in.session.csrf_token
    if body.bearer:
        # Programs (uploader, signalling peers) ask for the token itself instead of a cookie.
        return model_response(BearerSession(user=user, csrf_token=csrf_token, token=signed_in.token))
    response = model_response(Session(user=user, csrf_token=csrf_token))
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return response


def logout(ctx: Context) -> Response:
    token, _ = session_token(ctx.request.headers, ctx.request.cookies)
    service.logout(ctx.db, ctx.actor, token)
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
