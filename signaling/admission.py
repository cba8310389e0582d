"""The signalling door of admission (docs/consults.md, "Rooms and roles").

Who may join which room with which role is `server.consults.service`'s rule, the same the consult API
applies: a case room is a live clinical consult (whoever may see the case, never a trainee), a teaching
room is open to the users of the session's community, where trainees observe. Here: the session token
to a user, the domain's refusals to a WebSocket close reason (code 1008), and the transaction (an
audited refusal stays). Runs in a worker thread.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from server.access import audit
from server.access.actor import Actor
from server.access.policy import AccessDenied
from server.auth.sessions import resolve_session
from server.community.models import User
from server.consults import service
from server.consults.service import Admission
from server.core.errors import DomainError

__all__ = ["Admission", "Refused", "admit", "origin_allowed"]


class Refused(Exception):
    """The join is refused; `reason` is the WebSocket close reason (code 1008)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def origin_allowed(origin: str | None, allowed_hosts: set[str]) -> bool:
    """No Origin (a non-browser client) or one whose host name is the API's or this server's own."""
    return origin is None or urlsplit(origin).hostname in allowed_hosts


def _user_of(db: Session, token: str | None) -> User:
    login = resolve_session(db, token) if token else None
    if login is None:
        raise Refused("unauthenticated")
    return login.user


def admit(
    factory: sessionmaker[Session], token: str | None, room: str, ip: str | None, *, watch: bool = False
) -> Admission:
    """Who `token`'s user is in `room` (`server.consults.service.join_room`), or `Refused`; refusals of
    case rooms are audited. `watch`: the live broadcast (HLS), which a case room refuses as `forbidden`."""
    try:
        ref = service.room_named(room)
    except DomainError as error:
        raise Refused(error.code) from None
    with factory() as db:
        user = _user_of(db, token)
        actor = Actor(user, ip=ip)
        try:
            admission = service.join_room(db, actor, ref, watch=watch)
        except AccessDenied as denied:
            db.rollback()
            actor.audit(
                db,
                "access_denied",
                resource_type=denied.resource_type,
                resource_id=denied.resource_id,
                patient_id=denied.patient_id,
                outcome=audit.DENIED,
                detail={"reason": denied.reason},
            )
            db.commit()  # the audited refusal stays
            raise Refused(denied.reason or "forbidden") from None
        except DomainError as error:
            db.commit() if error.keep_changes else db.rollback()
            raise Refused(error.code) from None
        db.commit()
        return admission
