"""Which referral a user may reach, and the sides they stand on for it (`server.access.policy` decides)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.access.policy import AccessDenied, referral_scope, referral_sides
from server.community.models import User
from server.core.errors import not_found
from server.referrals.lifecycle import Side
from server.referrals.models import Referral


def visible_referral(db: Session, user: User, referral_id: int) -> tuple[Referral, frozenset[Side]]:
    """The referral if this user may see it, with the sides they stand on; 404 if none, an audited 403 if not theirs."""
    referral = db.get(Referral, referral_id)
    if referral is None:
        raise not_found("referral")
    if db.scalar(select(Referral.id).where(Referral.id == referral.id, referral_scope(user))) is None:
        raise AccessDenied("referral", referral.id, referral.patient_id)
    return referral, referral_sides(db, user, referral)
