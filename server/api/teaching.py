"""Teaching sessions with their attendance, and specialists' outreach days: recorded by the administrator.

These are the community's own records of the work the dashboard counts (教学 and 专家下沉). The live
teaching rooms and their recordings, when they come, attach to a `TeachingSession` and fill in
`held_at` and the attendance themselves; until then the administrator records them here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from starlette.responses import JSONResponse, Response

from server.api.dashboard import requested_month
from server.api.routing import Access, ApiError, Context, api_route, body_field, not_found
from server.api.serializers import person_json
from server.billing.rules import parse_month
from server.community.models import Institution, Role, User
from server.core.orm import utcnow
from server.dashboard.models import OutreachDay
from server.teaching.models import TeachingAttendance, TeachingKind, TeachingSession

ADMIN = Access.only(Role.ADMIN)
SPECIALIST_ROLES = frozenset({Role.READER, Role.EXPERT})
MAX_TITLE = 200
MAX_NOTE = 4000


def _moment(ctx: Context, name: str, *, required: bool = True) -> datetime | None:
    """An ISO 8601 time with its UTC offset (a time without one names no moment): 400 otherwise."""
    raw = body_field(ctx, name, str, required=required)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ApiError(
            400, "invalid_field", f"'{name}' must be an ISO 8601 time with its UTC offset", field=name
        )
    return moment


def _text(ctx: Context, name: str, limit: int, *, required: bool) -> str:
    value = (body_field(ctx, name, str, required=required) or "").strip()
    if required and not value:
        raise ApiError(400, "missing_field", f"field '{name}' is required", field=name)
    if len(value) > limit:
        raise ApiError(400, "invalid_field", f"'{name}' is longer than {limit} characters", field=name)
    return value


def _member(ctx: Context, name: str, roles: frozenset[Role] | None = None) -> User:
    """The active user of the caller's community named by the body field `name` (holding one of `roles`)."""
    user = ctx.db.get(User, body_field(ctx, name, int))
    if (
        user is None
        or not user.active
        or user.community_id != _community_id(ctx)
        or (roles is not None and user.role not in roles)
    ):
        which = f" ({', '.join(sorted(r.value for r in roles))})" if roles else ""
        raise ApiError(
            400, "invalid_field", f"'{name}' must name an active user of your community{which}", field=name
        )
    return user


def _community_id(ctx: Context) -> int:
    community_id = ctx.current_user.community_id
    if community_id is None:
        raise ApiError(400, "no_community", "your account belongs to no medical community")
    return community_id


def _institution(ctx: Context, name: str) -> Institution:
    institution = ctx.db.get(Institution, body_field(ctx, name, int))
    if institution is None or institution.community_id != _community_id(ctx):
        raise ApiError(
            400, "invalid_field", f"'{name}' must name an institution of your community", field=name
        )
    return institution


def session_json(session: TeachingSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "title": session.title,
        "kind": session.kind.value,
        "host": person_json(session.host),
        "institution": {"id": session.institution.id, "name": session.institution.name},
        "scheduled_at": session.scheduled_at.isoformat(),
        "held_at": session.held_at.isoformat() if session.held_at else None,
        "attendance": [
            {
                "trainee": person_json(a.trainee),
                "joined_at": a.joined_at.isoformat(),
                "left_at": a.left_at.isoformat() if a.left_at else None,
            }
            for a in session.attendance
        ],
    }


def list_sessions(ctx: Context) -> Response:
    """The community's teaching sessions scheduled or held in the month (`?month=YYYY-MM`)."""
    start, end = parse_month(requested_month(ctx))
    sessions = ctx.db.scalars(
        select(TeachingSession)
        .where(
            TeachingSession.community_id == _community_id(ctx),
            or_(
                (TeachingSession.scheduled_at >= start) & (TeachingSession.scheduled_at < end),
                (TeachingSession.held_at >= start) & (TeachingSession.held_at < end),
            ),
        )
        .options(selectinload(TeachingSession.attendance).selectinload(TeachingAttendance.trainee))
        .order_by(TeachingSession.scheduled_at, TeachingSession.id)
    ).all()
    return JSONResponse({"items": [session_json(session) for session in sessions]})


def create_session(ctx: Context) -> Response:
    """Schedule a teaching session (or record one already held, with `held_at`)."""
    try:
        kind = TeachingKind(body_field(ctx, "kind", str))
    except ValueError:
        raise ApiError(
            400, "invalid_field", f"kind must be one of: {', '.join(TeachingKind)}", field="kind"
        ) from None
    host = _member(ctx, "host_id")
    institution_id = host.institution_id
    if body_field(ctx, "institution_id", int, required=False) is not None:
        institution_id = _institution(ctx, "institution_id").id
    session = TeachingSession(
        community_id=_community_id(ctx),
        title=_text(ctx, "title", MAX_TITLE, required=True),
        kind=kind,
        host_id=host.id,
        institution_id=institution_id,
        scheduled_at=_moment(ctx, "scheduled_at"),
        held_at=_moment(ctx, "held_at", required=False),
        created_by_id=ctx.current_user.id,
    )
    ctx.db.add(session)
    ctx.db.flush()
    ctx.audit("teaching_session_create", resource_type="teaching_session", resource_id=session.id)
    ctx.db.refresh(session)
    return JSONResponse(session_json(session), status_code=201)


def _session(ctx: Context) -> TeachingSession:
    session = ctx.db.get(TeachingSession, ctx.path["session_id"])
    if session is None or session.community_id != _community_id(ctx):
        raise not_found("teaching session")
    return session


def mark_held(ctx: Context) -> Response:
    """Record that the session took place (`held_at`, default now); 409 if it already was recorded."""
    session = _session(ctx)
    if session.held_at is not None:
        raise ApiError(
            409, "already_held", f"the session was recorded as held at {session.held_at.isoformat()}"
        )
    if ctx.body is None:
        ctx.body = {}
    session.held_at = _moment(ctx, "held_at", required=False) or utcnow()
    ctx.db.flush()
    ctx.db.refresh(session)
    ctx.audit("teaching_session_held", resource_type="teaching_session", resource_id=session.id)
    return JSONResponse(session_json(session))


def record_attendance(ctx: Context) -> Response:
    """Record (or correct) one trainee's attendance of a held session: first joined, last left."""
    session = _session(ctx)
    if session.held_at is None:
        raise ApiError(409, "not_held", "record the session as held before its attendance")
    trainee = ctx.db.get(User, ctx.path["trainee_id"])
    if trainee is None or trainee.community_id != _community_id(ctx):
        raise not_found("trainee")
    if trainee.id == session.host_id:
        raise ApiError(400, "invalid_trainee", "the session's host does not attend it as a trainee")
    joined_at = _moment(ctx, "joined_at")
    left_at = _moment(ctx, "left_at", required=False)
    if left_at is not None and joined_at is not None and left_at < joined_at:
        raise ApiError(400, "invalid_field", "'left_at' is before 'joined_at'", field="left_at")
    attendance = ctx.db.scalar(
        select(TeachingAttendance).where(
            TeachingAttendance.session_id == session.id, TeachingAttendance.trainee_id == trainee.id
        )
    )
    if attendance is None:
        attendance = TeachingAttendance(session_id=session.id, trainee_id=trainee.id)
    attendance.joined_at, attendance.left_at = joined_at, left_at
    try:
        with ctx.db.begin_nested():  # (the savepoint begins with a flush: add the row inside it)
            ctx.db.add(attendance)
            ctx.db.flush()
    except IntegrityError:  # the same attendance was recorded at the same moment
        raise ApiError(
            409, "conflict", "this attendance was recorded meanwhile; reload and try again"
        ) from None
    ctx.audit(
        "teaching_attendance_record",
        resource_type="teaching_session",
        resource_id=session.id,
        detail={"trainee_id": trainee.id},
    )
    ctx.db.refresh(session)
    return JSONResponse(session_json(session))


def outreach_json(day: OutreachDay) -> dict[str, Any]:
    return {
        "id": day.id,
        "specialist": person_json(day.specialist),
        "host_institution": {"id": day.host_institution.id, "name": day.host_institution.name},
        "day": day.day.isoformat(),
        "note": day.note,
    }


def list_outreach(ctx: Context) -> Response:
    """The month's outreach days at the community's institutions (`?month=YYYY-MM`)."""
    start, end = parse_month(requested_month(ctx))
    days = ctx.db.scalars(
        select(OutreachDay)
        .join(Institution, Institution.id == OutreachDay.host_institution_id)
        .where(
            Institution.community_id == _community_id(ctx),
            OutreachDay.day >= start.date(),
            OutreachDay.day < end.date(),
        )
        .order_by(OutreachDay.day, OutreachDay.id)
    ).all()
    return JSONResponse({"items": [outreach_json(day) for day in days]})


def record_outreach(ctx: Context) -> Response:
    """Record a day a specialist worked at another member institution; 409 if that day is recorded already."""
    specialist = _member(ctx, "specialist_id", SPECIALIST_ROLES)
    host = _institution(ctx, "host_institution_id")
    if host.id == specialist.institution_id:
        raise ApiError(
            400,
            "invalid_field",
            "an outreach day is spent at another institution",
            field="host_institution_id",
        )
    try:
        day = date.fromisoformat(body_field(ctx, "day", str))
    except ValueError:
        raise ApiError(400, "invalid_field", "'day' must be YYYY-MM-DD", field="day") from None
    outreach = OutreachDay(
        specialist_id=specialist.id,
        host_institution_id=host.id,
        day=day,
        note=_text(ctx, "note", MAX_NOTE, required=False),
        created_by_id=ctx.current_user.id,
    )
    try:
        with ctx.db.begin_nested():  # (the savepoint begins with a flush: add the row inside it)
            ctx.db.add(outreach)
            ctx.db.flush()
    except IntegrityError:
        raise ApiError(
            409, "conflict", f"{specialist.display_name}'s outreach on {day.isoformat()} is recorded already"
        ) from None
    ctx.audit("outreach_day_record", resource_type="outreach_day", resource_id=outreach.id)
    ctx.db.refresh(outreach)
    return JSONResponse(outreach_json(outreach), status_code=201)


SESSION = "/api/teaching-sessions/{session_id:int}"

routes = [
    api_route("/api/teaching-sessions", list_sessions, access=ADMIN),
    api_route("/api/teaching-sessions", create_session, access=ADMIN, methods=["POST"]),
    api_route(SESSION + "/held", mark_held, access=ADMIN, methods=["POST"]),
    api_route(SESSION + "/attendance/{trainee_id:int}", record_attendance, access=ADMIN, methods=["PUT"]),
    api_route("/api/outreach-days", list_outreach, access=ADMIN),
    api_route("/api/outreach-days", record_outreach, access=ADMIN, methods=["POST"]),
]
