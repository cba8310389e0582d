"""The ASGI application: API routes, health probes and the browser UI."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api import (
    audit_log,
    auth,
    billing,
    case_actions,
    case_images,
    cases,
    consults,
    dashboard,
    dicomweb,
    directory,
    ecg,
    follow_up,
    health,
    notifications,
    openapi,
    referral_office,
    referrals,
    report_print,
    reports,
    share_links,
    slide_annotations,
    slides,
    teaching,
    teaching_library,
    teaching_schedule,
    uploads,
    worklist,
)
from server.api.web import SinglePageApp
from server.core.config import Settings, load_settings
from server.core.db import make_engine, make_session_factory
from server.core.tasks import TaskClient
from server.storage import open_store

log = logging.getLogger(__name__)

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)


def api_routes() -> list[BaseRoute]:
    """Every route that needs an access rule; the role × endpoint test walks this list."""
    return [
        *health.routes,
        *auth.routes,
        *cases.routes,
        *case_actions.routes,
        *reports.routes,
        *report_print.routes,
        *worklist.routes,
        *notifications.routes,
        *case_images.routes,
        *ecg.routes,
        *slides.routes,
        *slide_annotations.routes,
        *dicomweb.routes,
        *directory.routes,
        *share_links.routes,
        *uploads.routes,
        *billing.routes,
        *referrals.routes,
        *referral_office.routes,
        *follow_up.routes,
        *dashboard.routes,
        *teaching.routes,
        *teaching_library.routes,
        *teaching_schedule.routes,
        *consults.routes,
        *audit_log.routes,
        *openapi.routes,
    ]


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": "internal_error", "detail": "internal server error"}, status_code=500)


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "not_found", "detail": "no such endpoint"}, status_code=404)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "method_not_allowed", "detail": "method not allowed"}, status_code=405)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        app.state.engine.dispose()

    app = Starlette(
        routes=[*api_routes(), Mount("/api", routes=[]), Mount("/", SinglePageApp(settings.web_dist))],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={500: _server_error, 404: _not_found, 405: _method_not_allowed},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.store = open_store(settings)
    app.state.tasks = TaskClient(settings)
    return app
