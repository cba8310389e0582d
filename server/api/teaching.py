"""Teaching sessions with their attendance, and specialists' outreach days, over HTTP: recorded by the
administrator (`server.teaching.service`, `server.dashboard.service`).

These are the community's own records of the work the dashboard counts (教学 and 专家下沉). The live
teaching rooms and their recordings attach to a `TeachingSession`.
"""

from __future__ import annotations

from starlette.responses import Response

from server.api.routing import Access, Context, api_route, model_response
from server.api.schemas.teaching import (
    AttendanceBody,
    HeldBody,
    OutreachBody,
    OutreachDayEntry,
    OutreachDayList,
    SessionBody,
    TeachingSessionEntry,
    TeachingSessionList,
)
from server.community.models import Role
from server.dashboard import service as outreach
from server.teaching import service as teaching

ADMIN = Access.only(Role.ADMIN)


def _month(ctx: Context) -> str | None:
    return ctx.request.query_params.get("month") or None


def list_sessions(ctx: Context) -> Response:
    """The community's teaching sessions scheduled or held in the month (`?month=YYYY-MM`)."""
    sessions = teaching.list_sessions(ctx.db, ctx.actor, ctx.clock, _month(ctx))
    return model_response(
        TeachingSessionList(items=[TeachingSessionEntry.model_validate(s) for s in sessions])
    )


def create_session(ctx: Context) -> Response:
    """Schedule a teaching session (or record one already held, with `held_at`)."""
    new = teaching.NewSession(**ctx.payload(SessionBody).model_dump())
    session = teaching.create_session(ctx.db, ctx.actor, ctx.clock, new)
    return model_response(TeachingSessionEntry.model_validate(session), status_code=201)


def mark_held(ctx: Context) -> Response:
    """Record that the session took place (`held_at`, default now); 409 if it already was recorded."""
    body = HeldBody() if ctx.body is None else ctx.payload(HeldBody)
    session = teaching.mark_held(ctx.db, ctx.actor, ctx.clock, ctx.path["session_id"], body.held_at)
    return model_response(TeachingSessionEntry.model_validate(session))


def record_attendance(ctx: Context) -> Response:
    """Record (or correct) one trainee's attendance of a held session: first joined, last left."""
    body = ctx.payload(AttendanceBody)
    session = teaching.record_attendance(
        ctx.db,
        ctx.actor,
        ctx.clock,
        ctx.path["session_id"],
        ctx.path["trainee_id"],
        body.joined_at,
        body.left_at,
    )
    return model_response(TeachingSessionEntry.model_validate(session))


def list_outreach(ctx: Context) -> Response:
    """The month's outreach days at the community's institutions (`?month=YYYY-MM`)."""
    days = outreach.list_outreach(ctx.db, ctx.actor, ctx.clock, _month(ctx))
    return model_response(OutreachDayList(items=[OutreachDayEntry.model_validate(day) for day in days]))


def record_outreach(ctx: Context) -> Response:
    """Record a day a specialist worked at another member institution; 409 if that day is recorded already."""
    new = outreach.NewOutreachDay(**ctx.payload(OutreachBody).model_dump())
    day = outreach.record_outreach(ctx.db, ctx.actor, ctx.clock, new)
    return model_response(OutreachDayEntry.model_validate(day), status_code=201)


SESSION = "/api/teaching-sessions/{session_id:int}"

routes = [
    api_route("/api/teaching-sessions", list_sessions, access=ADMIN, response=TeachingSessionList),
    api_route(
        "/api/teaching-sessions",
        create_session,
        access=ADMIN,
        methods=["POST"],
        body=SessionBody,
        response=TeachingSessionEntry,
        status=201,
    ),
    api_route(
        SESSION + "/held",
        mark_held,
        access=ADMIN,
        methods=["POST"],
        body=HeldBody,
        response=TeachingSessionEntry,
    ),
    api_route(
        SESSION + "/attendance/{trainee_id:int}",
        record_attendance,
        access=ADMIN,
        methods=["PUT"],
        body=AttendanceBody,
        response=TeachingSessionEntry,
    ),
    api_route("/api/outreach-days", list_outreach, access=ADMIN, response=OutreachDayList),
    api_route(
        "/api/outreach-days",
        record_outreach,
        access=ADMIN,
        methods=["POST"],
        body=OutreachBody,
        response=OutreachDayEntry,
        status=201,
    ),
]
