"""Contracts of `server.api.audit_log`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from server.api.schemas.common import Contract, Timestamp


class AuditEvent(Contract):
    id: int
    at: Timestamp
    username: str | None
    role: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    patient_id: int | None
    outcome: str
    ip: str | None
    detail: dict[str, Any] | None


class AuditEvents(BaseModel):
    items: list[AuditEvent]
