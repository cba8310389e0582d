"""Live consult rooms as operations: who may join which room with which role, which sessions and event
streams a person may read afterwards, and the RTC set-up handed to a peer.

One set of rules for both doors: the HTTP API (`/api/consults`, `/api/rtc/config`) and the signalling
server's admission (`signaling.admission`). A case room is a live clinical consult, joined and read by
whoever may see the case, never by a trainee; a teaching room by the users of the session's
community, where trainees observe. Joining a case room and reading a case consult's stream are reading
patient data, so both are audited; a refused join of a case room is an audited `AccessDenied`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.access.policy import AccessDenied, can_see_case, case_scope
from server.cases.models import Case
from server.community.models import Role, User
from server.consults.ice import ice_servers
from server.consults.models import ConsultSession, RoomEvent
from server.consults.viewer_events import for_observer
from server.core.config import RtcSettings
from server.core.errors import Forbidden, NotFound, not_found
from server.teaching.models import TeachingSession

MAX_SESSIONS = 200
MAX_EVENTS = 5000
ROOM_NAME = re.compile(r"(case|teaching)-([1-9][0-9]{0,8})")

RoomKind = Literal["case", "teaching"]


# ---- rooms and roles -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomRef:
    """A room by its name: `case-<case id>` or `teaching-<teaching session id>`."""

    kind: RoomKind
    number: int

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.number}"


def room_named(name: str) -> RoomRef:
    """The room `name` stands for; `NotFound` (`no_such_room`) if it names none."""
    match = ROOM_NAME.fullmatch(name)
    if match is None:
        raise NotFound("no_such_room", f"no room is named {name!r}")
    kind: RoomKind = "case" if match.group(1) == "case" else "teaching"
    return RoomRef(kind, int(match.group(2)))


@dataclass(frozen=True)
class Admission:
    """The joining user as the room sees them, and the room's binding."""

    user_id: int
    display_name: str
    institution: str
    role: str  # host | requester | participant | observer
    kind: str  # case | teaching
    title: str
    case_id: int | None = None
    teaching_session_id: int | None = None


def case_role(user: User, case: Case) -> str:
    """The assigned reader or escalation expert hosts; until a reader is assigned, the centre's readers do."""
    if user.id in (case.assigned_to_id, case.escalated_to_id):
        return "host"
    unassigned = case.assigned_to_id is None and case.centre_id is not None
    if unassigned and user.role == Role.READER and user.centre_id == case.centre_id:
        return "host"
    if user.institution_id == case.institution_id:
        return "requester"
    return "participant"


def teaching_role(user: User, session: TeachingSession) -> str:
    if user.id == session.host_id:
        return "host"
    return "observer" if user.role == Role.TRAINEE else "participant"


def _case_room_refusal(db: Session, user: User, case: Case) -> str | None:
    """Why `user` may not be in the case's room (live or replayed), or None: trainees never are."""
    if user.role == Role.TRAINEE:
        return "trainee_not_allowed"
    return None if can_see_case(db, user, case) else "forbidden"


def _in_teaching_room(user: User, session: TeachingSession) -> bool:
    return user.community_id is not None and session.community_id == user.community_id


def consult_scope(user: User) -> ColumnElement[bool]:
    """SQL predicate on `ConsultSession`: the sessions this user may see, by the rules of joining
    their rooms (`_case_room_refusal`, `_in_teaching_room`)."""
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


def _admission(user: User, role: str, kind: str, title: str, **binding: int) -> Admission:
    return Admission(
        user_id=user.id,
        display_name=user.display_name,
        institution=user.institution.name if user.institution else "",
        role=role,
        kind=kind,
        title=title,
        **binding,
    )


def admission(db: Session, user: User, room: RoomRef, *, watch: bool = False) -> Admission:
    """Who `user` would be in `room`, and with which role; `watch`: the live broadcast (HLS), which
    only teaching rooms have. Refused: `NotFound` (`no_such_room`), `Forbidden`, or for a case room an
    `AccessDenied` with the reason (`trainee_not_allowed` or `forbidden`), which the door audits."""
    if room.kind == "case" and watch:
        raise Forbidden("forbidden", "a case consult is not broadcast")
    if room.kind == "case":
        case = db.get(Case, room.number)
        if case is None:
            raise NotFound("no_such_room", f"no room is named {room.name!r}")
        reason = _case_room_refusal(db, user, case)
        if reason is not None:
            raise AccessDenied("consult", room.name, case.patient_id, reason=reason)
        title = f"{case.patient.name} · {case.kind.value}"
        return _admission(user, case_role(user, case), "case", title, case_id=case.id)
    session = db.get(TeachingSession, room.number)
    if session is None:
        raise NotFound("no_such_room", f"no room is named {room.name!r}")
    if not _in_teaching_room(user, session):
        raise Forbidden("forbidden", "the teaching session is another community's")
    role = teaching_role(user, session)
    return _admission(user, role, "teaching", session.title, teaching_session_id=session.id)


def consult_role(db: Session, user: User, room: RoomRef) -> str:
    """The role `user` has in `room` (host, requester, participant or observer), or the refusal."""
    return admission(db, user, room).role


def join_room(db: Session, actor: Actor, room: RoomRef, *, watch: bool = False) -> Admission:
    """The actor joins `room` (see `admission`); joining a case room reads patient data: audited."""
    admitted = admission(db, actor.person, room, watch=watch)
    if admitted.case_id is not None:
        case = db.get(Case, admitted.case_id)
        assert case is not None
        actor.audit(
            db, "consult_joined", resource_type="case", resource_id=case.id, patient_id=case.patient_id
        )
    return admitted


# ---- sessions and their event streams -----------------------------------------------------------


def list_sessions(
    db: Session, actor: Actor, *, case_id: int | None = None, teaching_session_id: int | None = None
) -> Sequence[ConsultSession]:
    """The newest consult sessions the actor may see, of one case or teaching session if named."""
    query = select(ConsultSession).where(consult_scope(actor.person))
    if case_id is not None:
        query = query.where(ConsultSession.case_id == case_id)
    if teaching_session_id is not None:
        query = query.where(ConsultSession.teaching_session_id == teaching_session_id)
    return db.scalars(query.order_by(ConsultSession.started_at.desc()).limit(MAX_SESSIONS)).all()


def session_events(
    db: Session, session_id: int, *, after: int = 0, limit: int | None = None
) -> Sequence[RoomEvent]:
    """A session's stored events after `after` (exclusive), in the room's order: what the API replays
    and what the teaching library's preparation copies from."""
    query = (
        select(RoomEvent)
        .where(RoomEvent.session_id == session_id, RoomEvent.seq > after)
        .order_by(RoomEvent.seq)
    )
    return db.scalars(query if limit is None else query.limit(limit)).all()


@dataclass(frozen=True)
class ShownEvent:
    """A room event as the reader is shown it."""

    seq: int
    t_ms: int
    at: datetime
    user_id: int | None
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class EventStream:
    session: ConsultSession
    events: list[ShownEvent]


def _shown(user: User, event: RoomEvent) -> dict[str, Any] | None:
    """A trainee reads a teaching session's viewer events as its observers saw them live."""
    if user.role == Role.TRAINEE and event.kind == "viewer":
        return for_observer(event.payload)
    return event.payload


def read_events(db: Session, actor: Actor, session_id: int, *, after: int = 0) -> EventStream:
    """The stream of a session the actor may see after `after` (exclusive), in `seq` order: viewer events
    and chat as the room saw them (a trainee as an observer did). A case consult's read is audited."""
    user = actor.person
    row = db.scalar(select(ConsultSession).where(ConsultSession.id == session_id, consult_scope(user)))
    if row is None:
        raise not_found("consult session")
    events = session_events(db, row.id, after=after, limit=MAX_EVENTS)
    if row.case is not None:
        actor.audit(
            db,
            "consult_events_read",
            resource_type="consult",
            resource_id=row.id,
            patient_id=row.case.patient_id,
            detail={"after": after, "count": len(events)},
        )
    shown = [
        ShownEvent(event.seq, event.t_ms, event.at, event.user_id, event.kind, payload)
        for event in events
        if (payload := _shown(user, event)) is not None
    ]
    return EventStream(row, shown)


# ---- RTC set-up -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RtcSetup:
    signaling_url: str
    ice_servers: list[dict[str, Any]]
    grace_seconds: int | float


def rtc_config(actor: Actor, rtc: RtcSettings, default_signaling_url: str) -> RtcSetup:
    """Where the signalling server is (as configured, else `default_signaling_url`, the API's host on
    the signalling port) and the actor's ICE servers."""
    return RtcSetup(
        signaling_url=rtc.signaling_url or default_signaling_url,
        ice_servers=ice_servers(rtc, actor.person.id),
        grace_seconds=rtc.grace_seconds,
    )
