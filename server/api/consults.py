"""Live consult sessions and their event streams (for replay), and the RTC configuration of the caller.

The rules are `server.consults.service`'s, the same the signalling server admits by: a case's consult
is seen by whoever sees the case (trainees never); a teaching session's by the users of its community.
These handlers parse, call it once and answer.
"""

from __future__ import annotations

from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import MAX_INT, Access, ApiError, Context, api_route, model_response
from server.api.schemas.consults import ConsultEvents, ConsultSessions, RtcConfig
from server.api.schemas.consults import ConsultSession as SessionOut
from server.api.schemas.consults import RoomEvent as EventOut
from server.community.models import Role
from server.consults import service

ROOM_MEMBERS = Access.only(CLINICAL_ROLES, Role.TRAINEE)


def _query_int(ctx: Context, name: str) -> int | None:
    raw = ctx.request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) > MAX_INT:
        raise ApiError(400, "invalid_query", f"query '{name}' must be a non-negative integer", field=name)
    return int(raw)


def list_consults(ctx: Context) -> Response:
    case_id, teaching_id = _query_int(ctx, "case_id"), _query_int(ctx, "teaching_session_id")
    rows = service.list_sessions(ctx.db, ctx.actor, case_id=case_id, teaching_session_id=teaching_id)
    return model_response(ConsultSessions(sessions=[SessionOut.of(row) for row in rows]))


def consult_events(ctx: Context) -> Response:
    """The stream after `after` (exclusive), in `seq` order: viewer events and chat as the room saw them."""
    after = _query_int(ctx, "after") or 0
    stream = service.read_events(ctx.db, ctx.actor, ctx.path["session_id"], after=after)
    return model_response(
        ConsultEvents(
            session=SessionOut.of(stream.session),
            events=[
                EventOut(
                    seq=event.seq,
                    t_ms=event.t_ms,
                    at=event.at,
                    user_id=event.user_id,
                    kind=event.kind,
                    payload=event.payload,
                )
                for event in stream.events
            ],
        )
    )


def rtc_config(ctx: Context) -> Response:
    """Where the signalling server is and the caller's ICE servers (TURN signed for this user)."""
    scheme = "wss" if ctx.request.url.scheme == "https" else "ws"
    default_url = f"{scheme}://{ctx.request.url.hostname}:{ctx.settings.signaling_port}"
    setup = service.rtc_config(ctx.actor, ctx.settings.rtc, default_url)
    return model_response(
        RtcConfig(
            signaling_url=setup.signaling_url,
            ice_servers=setup.ice_servers,  # type: ignore[arg-type]  # IceServer dicts
            grace_seconds=setup.grace_seconds,
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
