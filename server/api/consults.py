"""Live consult sessions and their event streams (for replay), and the RTC configuration of the caller.

A case's consult is seen by whoever sees the case (trainees never); a teaching session's by the users
of its community. Reading a case consult's stream is reading patient data, so it is audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, select
from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES, case_scope
from server.api.routing import MAX_INT, Access, ApiError, Context, api_route, model_response, not_found
from server.api.schemas.consults import ConsultEvents, ConsultSessions, RtcConfig
from server.api.schemas.consults import ConsultSession as SessionOut
from server.api.schemas.consults import RoomEvent as EventOut
from server.cases.models import Case
from server.community.models import Role, User
from server.consults.ice import ice_servers
from server.consults.models import ConsultSession, RoomEvent
from server.consults.viewer_events import for_observer
from server.teaching.models import TeachingSession

ROOM_MEMBERS = Access.only(CLINICAL_ROLES, Role.TRAINEE)
MAX_SESSIONS = 200
MAX_EVENTS = 5000


def consult_scope(user: User) -> ColumnElement[bool]:
    """SQL predicate on `ConsultSession`: the sessions this user may see."""
    teaching = (
        ConsultSession.teaching_session_id.in_(
            select(TeachingSession.id).where(TeachingSession.community_id == user.community_id)
        )
        if user.community_id is not None
        else false()
    )
    if user.role == Role.TRAINEE:
        return teaching
    return or_(ConsultSession.case_id.in_(select(Case.id).where(case_scope(user))), teaching)


def _query_int(ctx: Context, name: str) -> int | None:
    raw = ctx.request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) > MAX_INT:
        raise ApiError(400, "invalid_query", f"query '{name}' must be a non-negative integer", field=name)
    return int(raw)


def list_consults(ctx: Context) -> Response:
    query = select(ConsultSession).where(consult_scope(ctx.current_user))
    case_id, teaching_id = _query_int(ctx, "case_id"), _query_int(ctx, "teaching_session_id")
    if case_id is not None:
        query = query.where(ConsultSession.case_id == case_id)
    if teaching_id is not None:
        query = query.where(ConsultSession.teaching_session_id == teaching_id)
    rows = ctx.db.scalars(query.order_by(ConsultSession.started_at.desc()).limit(MAX_SESSIONS))
    return model_response(ConsultSessions(sessions=[SessionOut.of(row) for row in rows]))


def _shown(user: User, event: RoomEvent) -> dict[str, Any] | None:
    """A trainee reads a teaching session's viewer events as its observers saw them live."""
    if user.role == Role.TRAINEE and event.kind == "viewer":
        return for_observer(event.payload)
    return event.payload


def consult_events(ctx: Context) -> Response:
    """The stream after `after` (exclusive), in `seq` order: viewer events and chat as the room saw them."""
    row = ctx.db.scalar(
        select(ConsultSession).where(
            ConsultSession.id == ctx.path["session_id"], consult_scope(ctx.current_user)
        )
    )
    if row is None:
        raise not_found("consult session")
    after = _query_int(ctx, "after") or 0
    events = ctx.db.scalars(
        select(RoomEvent)
        .where(RoomEvent.session_id == row.id, RoomEvent.seq > after)
        .order_by(RoomEvent.seq)
        .limit(MAX_EVENTS)
    ).all()
    if row.case is not None:
        ctx.audit(
            "consult_events_read",
            resource_type="consult",
            resource_id=row.id,
            patient_id=row.case.patient_id,
            detail={"after": after, "count": len(events)},
        )
    return model_response(
        ConsultEvents(
            session=SessionOut.of(row),
            events=[
                EventOut(
                    seq=event.seq,
                    t_ms=event.t_ms,
                    at=event.at,
                    user_id=event.user_id,
                    kind=event.kind,
                    payload=payload,
                )
                for event in events
                if (payload := _shown(ctx.current_user, event)) is not None
            ],
        )
    )


def rtc_config(ctx: Context) -> Response:
    """Where the signalling server is and the caller's ICE servers (TURN signed for this user)."""
    rtc = ctx.settings.rtc
    url = rtc.signaling_url
    if not url:
        scheme = "wss" if ctx.request.url.scheme == "https" else "ws"
        url = f"{scheme}://{ctx.request.url.hostname}:{ctx.settings.signaling_port}"
    return model_response(
        RtcConfig(
            signaling_url=url,
            ice_servers=ice_servers(rtc, ctx.current_user.id),  # type: ignore[arg-type]  # IceServer dicts
            grace_seconds=rtc.grace_seconds,
        )
    )


routes = [
    api_route("/api/consults", list_consults, access=ROOM_MEMBERS, response=ConsultSessions),
    api_route(
        "/api/consults/{session_id:int}/events",
        consult_events,
        access=ROOM_MEMBERS,
        response=ConsultEvents,
    ),
    api_route("/api/rtc/config", rtc_config, access=ROOM_MEMBERS, response=RtcConfig),
]
