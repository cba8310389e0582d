"""The audit log, read by auditors: the newest events first, filtered, a page at a time.

Reading it is itself audited. Who may read it (auditors) is the door's role rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.access.models import AuditEvent

PAGE_SIZE = 200


@dataclass(frozen=True)
class AuditQuery:
    """Events matching every field given (None: any); `before_id` pages back from an earlier answer."""

    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    username: str | None = None
    outcome: str | None = None
    before_id: int | None = None


def list_events(db: Session, actor: Actor, query: AuditQuery) -> Sequence[AuditEvent]:
    """At most `PAGE_SIZE` events matching `query`, newest first."""
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(PAGE_SIZE)
    for value, column in (
        (query.action, AuditEvent.action),
        (query.resource_type, AuditEvent.resource_type),
        (query.resource_id, AuditEvent.resource_id),
        (query.username, AuditEvent.username),
        (query.outcome, AuditEvent.outcome),
    ):
        if value:
            statement = statement.where(column == value)
    if query.before_id is not None:
        statement = statement.where(AuditEvent.id < query.before_id)
    events = db.scalars(statement).all()
    actor.audit(db, "audit_read", detail={"count": len(events)})
    return events
