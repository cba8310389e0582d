"""Append-only audit trail of access to patient data and of security events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.access.models import AuditEvent
from server.community.models import User

OK = "ok"
DENIED = "denied"
FAILED = "failed"


def record(
    db: Session,
    *,
    action: str,
    user: User | None = None,
    username: str | None = None,
    resource_type: str | None = None,
    resource_id: object = None,
    patient_id: int | None = None,
    outcome: str = OK,
    ip: str | None = None,
    user_agent: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        user_id=user.id if user else None,
        username=user.username if user else username,
        role=user.role.value if user else None,
        action=action,
        resource_type=resource_type,
        resource_id=None if resource_id is None else str(resource_id)[:64],
        patient_id=patient_id,
        outcome=outcome,
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
        detail=detail or {},
    )
    db.add(event)
    return event
