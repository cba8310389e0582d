"""Contracts of teaching sessions, attendance and outreach days (`server/api/teaching.py`) and of the
teaching timetable (`server/api/teaching_schedule.py`)."""

from __future__ import annotations

from datetime import date

from pydantic import StrictStr

from server.api.schemas.common import Contract, Timestamp
from server.api.schemas.directory import Int32, IsoDate, Moment, NamedRef, Person
from server.teaching.models import TeachingKind
from server.teaching.service import ScheduledSession


class SessionBody(Contract):
    """A session to schedule, or one already held (`held_at`); at the host's institution unless named."""

    title: StrictStr
    kind: TeachingKind
    host_id: Int32
    scheduled_at: Moment  # ISO 8601 with its UTC offset
    held_at: Moment | None = None
    institution_id: Int32 | None = None


class HeldBody(Contract):
    """When the session took place (default: now)."""

    held_at: Moment | None = None


class AttendanceBody(Contract):
    """A trainee's attendance: first joined, last left (None: still there)."""

    joined_at: Moment
    left_at: Moment | None = None


class Attendance(Contract):
    trainee: Person
    joined_at: Timestamp
    left_at: Timestamp | None


class TeachingSessionEntry(Contract):
    id: int
    title: str
    kind: TeachingKind
    host: Person
    institution: NamedRef
    scheduled_at: Timestamp
    held_at: Timestamp | None
    attendance: list[Attendance]


class TeachingSessionList(Contract):
    items: list[TeachingSessionEntry]


class OutreachBody(Contract):
    """A day (YYYY-MM-DD, China Standard Time) a reader or expert worked at another member institution."""

    specialist_id: Int32
    host_institution_id: Int32
    day: IsoDate
    note: StrictStr | None = None


class OutreachDayEntry(Contract):
    id: int
    specialist: Person
    host_institution: NamedRef
    day: date
    note: str


class OutreachDayList(Contract):
    items: list[OutreachDayEntry]


class ScheduledSessionEntry(Contract):
    """A session of the community's timetable; `in_library` once its recording is published."""

    id: int
    title: str
    kind: TeachingKind
    host: Person
    institution: str  # the hosting institution's name
    scheduled_at: Timestamp
    held_at: Timestamp | None
    in_library: bool

    @classmethod
    def of(cls, scheduled: ScheduledSession) -> ScheduledSessionEntry:
        session = scheduled.session
        return cls(
            id=session.id,
            title=session.title,
            kind=session.kind,
            host=Person.model_validate(session.host),
            institution=session.institution.name,
            scheduled_at=session.scheduled_at,
            held_at=session.held_at,
            in_library=scheduled.in_library,
        )


class Timetable(Contract):
    sessions: list[ScheduledSessionEntry]
