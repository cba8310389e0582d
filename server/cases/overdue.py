"""Urgent cases past their target time: flagged once, and their centre (or their expert) alerted once.

Run by the worker every minute (`workflow.flag_overdue`) and at the start of every case and worklist
read, so a flag never waits for the next sweep. Both may run at the same moment on several processes:
rows another transaction is flagging are skipped (`SKIP LOCKED`), and a case already flagged is never
flagged again, so each overdue case gets exactly one event and one alert.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.cases.models import Case, CaseEvent, NotificationKind, Urgency
from server.cases.notifications import notify
from server.cases.workflow import OPEN_STATES

OVERDUE_EVENT = "overdue"  # a case event that marks the flag; the case keeps its state


def flag_overdue(db: Session, now: datetime) -> list[int]:
    """Flag the urgent open cases whose target time has passed; the ids flagged by this call."""
    candidates = db.scalars(
        select(Case.id)
        .where(
            Case.urgency == Urgency.URGENT,
            Case.status.in_(OPEN_STATES),
            Case.target_at <= now,
            Case.overdue_at.is_(None),
        )
        .order_by(Case.id)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        return []
    flagged = db.scalars(
        update(Case)
        .where(Case.id.in_(candidates), Case.overdue_at.is_(None))
        .values(overdue_at=now)
        .returning(Case.id)
        .execution_options(synchronize_session="fetch")
    ).all()
    for case in db.scalars(select(Case).where(Case.id.in_(flagged)).order_by(Case.id)):
        db.add(
            CaseEvent(
                case_id=case.id,
                action=OVERDUE_EVENT,
                from_status=case.status,
                to_status=case.status,
                at=now,
                detail={"target_at": case.target_at.isoformat() if case.target_at else None},
            )
        )
        if case.centre_id is not None:
            notify(db, case, NotificationKind.OVERDUE, now, centre_id=case.centre_id)
        elif case.assigned_to_id is not None:
            notify(db, case, NotificationKind.OVERDUE, now, user_id=case.assigned_to_id)
    return sorted(flagged)
