"""The community's teaching timetable as its members see it (教学安排): what is on now and soon, so a
trainee finds the live broadcast (网络收看) and a specialist the room, without knowing a session id.

The administrator's own view, with attendance, stays in `server/api/teaching.py`.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import false, select
from sqlalchemy.orm import selectinload
from starlette.responses import JSONResponse, Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, Context, api_route
from server.api.serializers import person_json
from server.community.models import Role
from server.core.orm import utcnow
from server.teaching.models import TeachingItem, TeachingSession

# A round scheduled this long ago may still be running; one further ahead is not "soon".
STILL_ON = timedelta(hours=12)
AHEAD = timedelta(days=14)
MAX_SESSIONS = 100


def schedule(ctx: Context) -> Response:
    """Sessions of the caller's community scheduled from 12 h ago to 14 days ahead, soonest first."""
    user, now = ctx.current_user, utcnow()
    community = (
        TeachingSession.community_id == user.community_id if user.community_id is not None else false()
    )
    sessions = ctx.db.scalars(
        select(TeachingSession)
        .where(community, TeachingSession.scheduled_at.between(now - STILL_ON, now + AHEAD))
        .options(selectinload(TeachingSession.host), selectinload(TeachingSession.institution))
        .order_by(TeachingSession.scheduled_at, TeachingSession.id)
        .limit(MAX_SESSIONS)
    ).all()
    published = set(
        ctx.db.scalars(
            select(TeachingItem.teaching_session_id).where(
                TeachingItem.teaching_session_id.in_([s.id for s in sessions])
            )
        )
    )
    return JSONResponse(
        {
            "sessions": [
                {
                    "id": s.id,
                    "title": s.title,
                    "kind": s.kind.value,
                    "host": person_json(s.host),
                    "institution": s.institution.name,
                    "scheduled_at": s.scheduled_at.isoformat(),
                    "held_at": s.held_at.isoformat() if s.held_at else None,
                    "in_library": s.id in published,
                }
                for s in sessions
            ]
        }
    )


routes = [api_route("/api/teaching/schedule", schedule, access=Access.only(CLINICAL_ROLES, Role.TRAINEE))]
