"""Who performs a domain operation: a signed-in user or the platform itself, and where from.

Service functions take an `Actor` instead of a request, so the HTTP API, the DIMSE server, the
worker, the signalling server and the demo loader all call them alike, and the audit trail names
the same person whichever door they came through.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from server.access import audit
from server.access.models import AuditEvent
from server.community.models import User


@dataclass(frozen=True)
class Actor:
    user: User | None  # None: the platform itself (routing, sweeps, the demo loader's set-up)
    ip: str | None = None
    user_agent: str | None = None
    # An outside expert's share link the operation came through (the user is then None): the audit
    # trail names the link and its patient, never the token.
    share_link_id: int | None = None
    share_patient_id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(None)

    def through_link(self, link_id: int, patient_id: int | None) -> Actor:
        """This caller, reaching a study through the share link `link_id` of patient `patient_id`."""
        return replace(self, share_link_id=link_id, share_patient_id=patient_id)

    @property
    def person(self) -> User:
        """The user acting; operations only a person may take call this."""
        if self.user is None:
            raise RuntimeError("this operation needs a person, not the platform")
        return self.user

    @property
    def user_id(self) -> int | None:
        return None if self.user is None else self.user.id

    def audit(self, db: Session, action: str, **fields: Any) -> AuditEvent:
        """Record `action` by this actor in the audit trail (same transaction as the change); through a
        share link, with the link (`detail.share_link`) and, unless named, its patient."""
        if self.share_link_id is not None:
            fields["detail"] = {**(fields.get("detail") or {}), "share_link": self.share_link_id}
            fields["patient_id"] = fields.get("patient_id") or self.share_patient_id
        return audit.record(
            db, action=action, user=self.user, ip=self.ip, user_agent=self.user_agent, **fields
        )
