"""Who may join which room, and with what role (docs/consults.md, "Rooms and roles").

A case room is a live clinical consult: whoever `can_see_case` allows, never a trainee. A teaching
room is open to the users of the session's community; trainees observe. Runs in a worker thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from server.access import audit
from server.access.policy import can_see_case
from server.auth.sessions import resolve_session
from server.cases.models import Case
from server.community.models import Role, User
from server.teaching.models import TeachingSession

ROOM_NAME = re.compile(r"(case|teaching)-([1-9][0-9]{0,8})")


class Refused(Exception):
    """The join is refused; `reason` is the WebSocket close reason (code 1008)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def origin_allowed(origin: str | None, allowed_hosts: set[str]) -> bool:
    """No Origin (a non-browser client) or one whose host name is the API's or this server's own."""
    return origin is None or urlsplit(origin).hostname in allowed_hosts


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


def _user_of(db: Session, token: str | None) -> User:
    login = resolve_session(db, token) if token else None
    if login is None:
        raise Refused("unauthenticated")
    return login.user


def _case_admission(db: Session, user: User, case_id: int, ip: str | None) -> Admission:
    case = db.get(Case, case_id)
    if case is None:
        raise Refused("no_such_room")
    if user.role == Role.TRAINEE or not can_see_case(db, user, case):
        reason = "trainee_not_allowed" if user.role == Role.TRAINEE else "forbidden"
        audit.record(
            db, action="access_denied", user=user, resource_type="consult", resource_id=f"case-{case.id}",
            patient_id=case.patient_id, outcome=audit.DENIED, ip=ip, detail={"reason": reason},
        )  # fmt: skip
        raise Refused(reason)
    audit.record(
        db, action="consult_joined", user=user, resource_type="case", resource_id=case.id,
        patient_id=case.patient_id, ip=ip,
    )  # fmt: skip
    return Admission(
        user_id=user.id,
        display_name=user.display_name,
        institution=user.institution.name if user.institution else "",
        role=case_role(user, case),
        kind="case",
        title=f"{case.patient.name} · {case.kind.value}",
        case_id=case.id,
    )


def _teaching_admission(db: Session, user: User, session_id: int) -> Admission:
    session = db.get(TeachingSession, session_id)
    if session is None:
        raise Refused("no_such_room")
    if session.community_id != user.community_id:
        raise Refused("forbidden")
    return Admission(
        user_id=user.id,
        display_name=user.display_name,
        institution=user.institution.name if user.institution else "",
        role=teaching_role(user, session),
        kind="teaching",
        title=session.title,
        teaching_session_id=session.id,
    )


def admit(
    factory: sessionmaker[Session], token: str | None, room: str, ip: str | None, *, watch: bool = False
) -> Admission:
    """Who `token`'s user is in `room`, or `Refused`; refusals of case rooms are audited. `watch`: the
    live broadcast (HLS), which only teaching rooms have: a case room refuses it as `forbidden`."""
    match = ROOM_NAME.fullmatch(room)
    if match is None:
        raise Refused("no_such_room")
    kind, number = match.group(1), int(match.group(2))
    with factory() as db:
        try:
            user = _user_of(db, token)
            if kind == "case" and watch:
                raise Refused("forbidden")
            if kind == "case":
                admission = _case_admission(db, user, number, ip)
            else:
                admission = _teaching_admission(db, user, number)
        except Refused:
            db.commit()  # the audited refusal stays
            raise
        db.commit()
        return admission
