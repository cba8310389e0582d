"""Teaching sessions (教学), their attendance, and the community's teaching timetable, as operations.

The administrator records sessions and who attended them: the community's own record of the
teaching the dashboard counts. Live teaching rooms and their recordings attach to a session by its
id. Members read the timetable (教学安排): what is on now and soon, so a trainee finds the live
broadcast and a specialist the room without knowing a session id. The teaching library (the
de-identified copies) is not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import false, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from server.access.actor import Actor
from server.billing.rules import parse_month
from server.billing.service import checked_month
from server.community.directory import community_of, institution_of, member_of
from server.community.models import User
from server.core.clock import Clock
from server.core.errors import Conflict, Invalid, not_found
from server.core.text import trimmed_text
from server.teaching.models import TeachingAttendance, TeachingItem, TeachingKind, TeachingSession

MAX_TITLE = 200
# A round scheduled this long ago may still be running; one further ahead is not "soon".
STILL_ON = timedelta(hours=12)
AHEAD = timedelta(days=14)
MAX_SCHEDULED = 100


def list_sessions(db: Session, actor: Actor, clock: Clock, month: str | None) -> list[TeachingSession]:
    """The community's teaching sessions scheduled or held in the month (this month by default)."""
    start, end = parse_month(checked_month(month, clock))
    return list(
        db.scalars(
            select(TeachingSession)
            .where(
                TeachingSession.community_id == community_of(actor),
                or_(
                    (TeachingSession.scheduled_at >= start) & (TeachingSession.scheduled_at < end),
                    (TeachingSession.held_at >= start) & (TeachingSession.held_at < end),
                ),
            )
            .options(selectinload(TeachingSession.attendance).selectinload(TeachingAttendance.trainee))
            .order_by(TeachingSession.scheduled_at, TeachingSession.id)
        )
    )


@dataclass(frozen=True)
class NewSession:
    """A session to schedule (or one already held, with `held_at`); it takes place at the host's
    institution unless another institution of the community is named."""

    title: str
    kind: TeachingKind
    host_id: int
    scheduled_at: datetime
    held_at: datetime | None = None
    institution_id: int | None = None


def create_session(db: Session, actor: Actor, clock: Clock, new: NewSession) -> TeachingSession:
    """Schedule a teaching session of the caller's community (or record one already held)."""
    community_id = community_of(actor)
    host = member_of(db, community_id, new.host_id, "host_id")
    institution_id = host.institution_id
    if new.institution_id is not None:
        institution_id = institution_of(db, community_id, new.institution_id, "institution_id").id
    session = TeachingSession(
        community_id=community_id,
        title=trimmed_text("title", new.title, MAX_TITLE, required=True),
        kind=new.kind,
        host_id=host.id,
        institution_id=institution_id,
        scheduled_at=new.scheduled_at,
        held_at=new.held_at,
        created_by_id=actor.person.id,
    )
    db.add(session)
    db.flush()
    actor.audit(db, "teaching_session_create", resource_type="teaching_session", resource_id=session.id)
    db.refresh(session)
    return session


def _session(db: Session, actor: Actor, session_id: int) -> TeachingSession:
    session = db.get(TeachingSession, session_id)
    if session is None or session.community_id != community_of(actor):
        raise not_found("teaching session")
    return session


def mark_held(
    db: Session, actor: Actor, clock: Clock, session_id: int, held_at: datetime | None = None
) -> TeachingSession:
    """Record that the session took place (at `held_at`, default now); `Conflict` if it already was."""
    session = _session(db, actor, session_id)
    if session.held_at is not None:
        raise Conflict("already_held", f"the session was recorded as held at {session.held_at.isoformat()}")
    session.held_at = held_at or clock.now()
    db.flush()
    db.refresh(session)
    actor.audit(db, "teaching_session_held", resource_type="teaching_session", resource_id=session.id)
    return session


def record_attendance(
    db: Session,
    actor: Actor,
    clock: Clock,
    session_id: int,
    trainee_id: int,
    joined_at: datetime,
    left_at: datetime | None = None,
) -> TeachingSession:
    """Record (or correct) one trainee's attendance of a held session: first joined, last left."""
    session = _session(db, actor, session_id)
    if session.held_at is None:
        raise Conflict("not_held", "record the session as held before its attendance")
    trainee = db.get(User, trainee_id)
    if trainee is None or trainee.community_id != session.community_id:
        raise not_found("trainee")
    if trainee.id == session.host_id:
        raise Invalid("invalid_trainee", "the session's host does not attend it as a trainee")
    if left_at is not None and left_at < joined_at:
        raise Invalid("invalid_field", "'left_at' is before 'joined_at'", field="left_at")
    attendance = db.scalar(
        select(TeachingAttendance).where(
            TeachingAttendance.session_id == session.id, TeachingAttendance.trainee_id == trainee.id
        )
    )
    if attendance is None:
        attendance = TeachingAttendance(session_id=session.id, trainee_id=trainee.id)
    attendance.joined_at, attendance.left_at = joined_at, left_at
    try:
        with db.begin_nested():  # (the savepoint begins with a flush: add the row inside it)
            db.add(attendance)
            db.flush()
    except IntegrityError:  # the same attendance was recorded at the same moment
        raise Conflict("conflict", "this attendance was recorded meanwhile; reload and try again") from None
    actor.audit(
        db,
        "teaching_attendance_record",
        resource_type="teaching_session",
        resource_id=session.id,
        detail={"trainee_id": trainee.id},
    )
    db.refresh(session)
    return session


@dataclass(frozen=True)
class ScheduledSession:
    session: TeachingSession
    in_library: bool  # its recording is published in the teaching library


def timetable(db: Session, actor: Actor, clock: Clock) -> list[ScheduledSession]:
    """Sessions of the caller's community scheduled from 12 h ago to 14 days ahead, soonest first."""
    community_id, now = actor.person.community_id, clock.now()
    community = TeachingSession.community_id == community_id if community_id is not None else false()
    sessions = db.scalars(
        select(TeachingSession)
        .where(community, TeachingSession.scheduled_at.between(now - STILL_ON, now + AHEAD))
        .options(selectinload(TeachingSession.host), selectinload(TeachingSession.institution))
        .order_by(TeachingSession.scheduled_at, TeachingSession.id)
        .limit(MAX_SCHEDULED)
    ).all()
    published = set(
        db.scalars(
            select(TeachingItem.teaching_session_id).where(
                TeachingItem.teaching_session_id.in_([s.id for s in sessions])
            )
        )
    )
    return [ScheduledSession(session, session.id in published) for session in sessions]
