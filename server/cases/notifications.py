"""Notifications: the requester told of a result or a return, a centre alerted of an overdue case."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session, selectinload

from server.access.actor import Actor
from server.access.policy import case_scope
from server.cases.models import Case, Notification, NotificationKind
from server.community.models import User
from server.core.clock import Clock
from server.core.errors import Conflict, not_found

MAX_LISTED = 200


def notify(
    db: Session,
    case: Case,
    kind: NotificationKind,
    at: datetime,
    *,
    user_id: int | None = None,
    centre_id: int | None = None,
) -> None:
    """One notification about `case`, to one user or to one reading centre (exactly one of them)."""
    assert (user_id is None) != (centre_id is None), "a notification goes to a user or to a centre"
    db.add(
        Notification(
            case_id=case.id,
            kind=kind,
            created_at=at,
            recipient_user_id=user_id,
            recipient_centre_id=centre_id,
        )
    )


def _addressed_to(user: User) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Notifications for this user: their own, and their centre's; only about cases they may still see."""
    mine = Notification.recipient_user_id == user.id
    centre = false() if user.centre_id is None else Notification.recipient_centre_id == user.centre_id
    return (or_(mine, centre), Notification.case_id.in_(select(Case.id).where(case_scope(user))))


def list_notifications(db: Session, actor: Actor, *, unread_only: bool = False) -> Sequence[Notification]:
    """The newest notifications addressed to the actor (or their centre), unread ones only if asked."""
    query = select(Notification).where(*_addressed_to(actor.person))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    items = db.scalars(
        query.options(selectinload(Notification.case))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(MAX_LISTED)
    ).all()
    actor.audit(
        db,
        "notification_list",
        resource_type="notification",
        detail={"count": len(items), "cases": sorted({n.case_id for n in items})},
    )
    return items


def mark_read(db: Session, actor: Actor, clock: Clock, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read; 404 if it is not theirs, 409 if it was read already."""
    notification = db.scalar(
        select(Notification).where(Notification.id == notification_id, *_addressed_to(actor.person))
    )
    if notification is None:
        raise not_found("notification")
    if notification.read_at is not None:
        raise Conflict("already_read", "this notification was already marked read")
    notification.read_at = clock.now()
    actor.audit(
        db,
        "notification_read",
        resource_type="notification",
        resource_id=notification.id,
        patient_id=notification.case.patient_id,
    )
    return notification
