"""The community's teaching timetable as its members see it (教学安排), over HTTP: what is on now and
soon, so a trainee finds the live broadcast (网络收看) and a specialist the room, without knowing a
session id (`server.teaching.service.timetable`).

The administrator's own view, with attendance, is `server/api/teaching.py`.
"""

from __future__ import annotations

from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, Context, api_route, model_response
from server.api.schemas.teaching import ScheduledSessionEntry, Timetable
from server.community.models import Role
from server.teaching.service import timetable


def schedule(ctx: Context) -> Response:
    """Sessions of the caller's community scheduled from 12 h ago to 14 days ahead, soonest first."""
    sessions = timetable(ctx.db, ctx.actor, ctx.clock)
    return model_response(Timetable(sessions=[ScheduledSessionEntry.of(s) for s in sessions]))


routes = [
    api_route(
        "/api/teaching/schedule",
        schedule,
        access=Access.only(CLINICAL_ROLES, Role.TRAINEE),
        response=Timetable,
    )
]
