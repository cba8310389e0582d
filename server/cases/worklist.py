"""Worklists: the cases a user may see, filtered and sorted, and the case events a live stream sends.

Every step of a case is a `CaseEvent` row, so a stream polls that table for events of cases the user
may see (the same `case_scope`) and needs nothing besides the database. An event carries no patient
data: a client reloads the (audited) worklist when one arrives.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy import case as when
from sqlalchemy.orm import Session, selectinload

from server.access.actor import Actor
from server.access.policy import case_scope
from server.cases.models import Case, CaseEvent, CaseKind, CaseStatus, Urgency
from server.cases.overdue import flag_overdue
from server.cases.workflow import OPEN_STATES, TERMINAL_STATES
from server.community.models import User
from server.core.clock import Clock

MAX_LISTED = 500
# Event ids are handed out at insert but become visible at commit, so a smaller id can appear after a
# larger one was sent. Each poll looks this many ids back and skips those already sent.
LOOKBACK_IDS = 200


class Sort(enum.StrEnum):
    URGENCY = "urgency"  # urgent first, then by due time
    WAITING = "waiting"  # longest waiting first
    CREATED = "created"  # newest first


SORTS: dict[Sort, tuple[Any, ...]] = {
    Sort.URGENCY: (
        when((Case.urgency == Urgency.URGENT, 0), else_=1),
        Case.target_at.asc().nulls_last(),
        Case.id,
    ),
    Sort.WAITING: (Case.submitted_at.asc().nulls_last(), Case.id),
    Sort.CREATED: (Case.created_at.desc(), Case.id.desc()),
}


@dataclass(frozen=True)
class WorklistQuery:
    """Which cases to list: by default every case not yet ended, urgent first."""

    sort: Sort = Sort.URGENCY
    statuses: list[CaseStatus] | None = None
    kinds: list[CaseKind] | None = None
    urgencies: list[Urgency] | None = None
    institution_id: int | None = None
    overdue: bool | None = None
    mine: bool = False  # assigned or escalated to the actor
    asked: Mapping[str, str] = field(default_factory=dict)  # the query as the caller put it (audited)


@dataclass(frozen=True)
class WorklistEntry:
    case: Case
    waiting_seconds: int | None  # since (re)submission, while the case waits on the reading side


def _filters(query: WorklistQuery, me: int) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = [
        Case.status.in_(query.statuses) if query.statuses else Case.status.notin_(TERMINAL_STATES)
    ]
    if query.kinds:
        found.append(Case.kind.in_(query.kinds))
    if query.urgencies:
        found.append(Case.urgency.in_(query.urgencies))
    if query.institution_id is not None:
        found.append(Case.institution_id == query.institution_id)
    if query.overdue is not None:
        found.append(Case.overdue_at.is_not(None) if query.overdue else Case.overdue_at.is_(None))
    if query.mine:
        found.append((Case.assigned_to_id == me) | (Case.escalated_to_id == me))
    return found


def waiting_seconds(item: Case, at: datetime) -> int | None:
    if item.submitted_at is None or item.status not in OPEN_STATES:
        return None
    return max(0, int((at - item.submitted_at).total_seconds()))


def worklist(db: Session, actor: Actor, clock: Clock, query: WorklistQuery) -> list[WorklistEntry]:
    """The cases the actor may see that match `query`, sorted (overdue flags brought up to date first)."""
    at = clock.now()
    flag_overdue(db, at)
    user = actor.person
    items = db.scalars(
        select(Case)
        .where(case_scope(user), *_filters(query, user.id))
        .options(
            selectinload(Case.patient),
            selectinload(Case.institution),
            selectinload(Case.centre),
            selectinload(Case.assigned_to),
            selectinload(Case.escalated_to),
        )
        .order_by(*SORTS[query.sort])
        .limit(MAX_LISTED)
    ).all()
    actor.audit(
        db, "worklist_read", resource_type="case", detail={"count": len(items), "query": dict(query.asked)}
    )
    return [WorklistEntry(item, waiting_seconds(item, at)) for item in items]


# ---- the live stream ---------------------------------------------------------------------------------


def open_stream(db: Session, actor: Actor, last_event_id: str | None) -> int:
    """Start a stream of the actor's case events: the id it resumes after (the client's last, else now)."""
    newest = db.scalar(select(func.max(CaseEvent.id))) or 0
    seen = last_event_id or ""
    after = int(seen) if seen.isdigit() else newest
    actor.audit(db, "worklist_stream_open", resource_type="case", detail={"after_event": after})
    return after


def events_after(db: Session, user: User, floor: int, already_sent: Collection[int]) -> list[Any]:
    """Events after id `floor` of cases `user` may see, in order, without those `already_sent`; each row
    has the event's id, case_id, action, from_status, to_status, at, and its case's status, kind,
    urgency and overdue_at."""
    query = (
        select(
            CaseEvent.id,
            CaseEvent.case_id,
            CaseEvent.action,
            CaseEvent.from_status,
            CaseEvent.to_status,
            CaseEvent.at,
            Case.status,
            Case.kind,
            Case.urgency,
            Case.overdue_at,
        )
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.id > floor, case_scope(user))
        .order_by(CaseEvent.id)
        .limit(LOOKBACK_IDS)
    )
    if already_sent:
        query = query.where(CaseEvent.id.notin_(already_sent))
    return list(db.execute(query).all())


def close_stream(db: Session, user_id: int, reason: str, events_sent: int, seconds: float) -> None:
    """Record in the audit trail how a stream ended and what it sent."""
    Actor(db.get(User, user_id)).audit(
        db,
        "worklist_stream_end",
        resource_type="case",
        detail={"reason": reason, "events_sent": events_sent, "seconds": round(seconds, 1)},
    )
