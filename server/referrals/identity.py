"""Identity checks before a referred patient's record opens (核验身份), and their throttling.

Anyone may see a referral's summary who may see the referral at all (the patient's name masked).
Its record — letter, identifiers, attached material, notes — the referring doctors read freely;
everyone else must first confirm the patient's identity (`check_identity`), and then for
`server.patients.identity.CHECK_VALIDITY` only. The comparison itself is `server.patients.identity`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.access import audit
from server.access.actor import Actor
from server.access.policy import needs_identity_check
from server.core.clock import Clock
from server.core.errors import Conflict, Forbidden, Invalid, TooManyAttempts
from server.patients.identity import (
    CHECK_VALIDITY,
    InvalidIdentifier,
    compare,
    stored_identifier,
)
from server.patients.models import IdentityDocument, IdentityResult
from server.referrals.lifecycle import Side
from server.referrals.models import IdentityCheck, Referral
from server.referrals.visibility import visible_referral

MAX_FAILED_CHECKS = 5  # per user and referral within CHECK_VALIDITY: typing, not guessing


def valid_check(db: Session, user_id: int, referral_id: int, now: datetime) -> IdentityCheck | None:
    """The user's latest matched check of this referral's patient that is still valid at `now`."""
    return db.scalar(
        select(IdentityCheck)
        .where(
            IdentityCheck.user_id == user_id,
            IdentityCheck.referral_id == referral_id,
            IdentityCheck.result == IdentityResult.MATCHED,
            IdentityCheck.valid_until > now,
        )
        .order_by(IdentityCheck.valid_until.desc())
        .limit(1)
    )


def require_identity(
    db: Session, actor: Actor, clock: Clock, referral: Referral, sides: frozenset[Side]
) -> datetime | None:
    """Until when this user's identity check of the patient holds; an audited 403 if they need one and lack it.

    Call it before writing anything: the refusal keeps the transaction's changes (its audit event).
    """
    if not needs_identity_check(referral.direction, sides):
        return None
    check = valid_check(db, actor.person.id, referral.id, clock.now())
    if check is not None:
        return check.valid_until
    actor.audit(
        db,
        "access_denied",
        resource_type="referral",
        resource_id=referral.id,
        patient_id=referral.patient_id,
        outcome=audit.DENIED,
        detail={"reason": "identity_check_required"},
    )
    raise Forbidden(
        "identity_check_required",
        "confirm the patient's identity first: enter their national ID or health-card number"
        f" (POST /api/referrals/{referral.id}/identity-check)",
        keep_changes=True,
    )


def identity_check_required(
    db: Session, actor: Actor, clock: Clock, referral: Referral, sides: frozenset[Side]
) -> bool:
    """Whether this user would be asked to confirm the patient's identity before opening the record now."""
    return (
        needs_identity_check(referral.direction, sides)
        and valid_check(db, actor.person.id, referral.id, clock.now()) is None
    )


def check_identity(
    db: Session, actor: Actor, clock: Clock, referral_id: int, document: IdentityDocument, number: str
) -> IdentityCheck:
    """Compare the number the patient shows with what is stored; record and audit every attempt.

    A malformed number (400) or a mismatch (403) is refused with the attempt kept; after
    `MAX_FAILED_CHECKS` failures within `CHECK_VALIDITY` the user must ask the office instead (429).
    """
    user = actor.person
    referral, _sides = visible_referral(db, user, referral_id)
    at = clock.now()
    failures = db.scalar(
        select(func.count())
        .select_from(IdentityCheck)
        .where(
            IdentityCheck.user_id == user.id,
            IdentityCheck.referral_id == referral.id,
            IdentityCheck.result != IdentityResult.MATCHED,
            IdentityCheck.at > at - CHECK_VALIDITY,
        )
    )
    if failures is not None and failures >= MAX_FAILED_CHECKS:
        raise TooManyAttempts(
            "too_many_identity_checks",
            f"{failures} failed identity checks of this patient; ask the referral office to confirm the documents",
        )
    patient = referral.patient
    if stored_identifier(patient, document) is None:
        other = "health-card number" if document == IdentityDocument.NATIONAL_ID else "national ID"
        raise Conflict(
            "no_stored_identifier",
            f"no {document.value.replace('_', ' ')} is on record for this patient; check the {other} instead",
        )
    reason = None
    try:
        result = compare(patient, document, number)
    except InvalidIdentifier as invalid:
        result, reason = IdentityResult.INVALID, str(invalid)
    matched = result == IdentityResult.MATCHED
    check = IdentityCheck(
        referral_id=referral.id,
        user_id=user.id,
        document=document,
        result=result,
        at=at,
        valid_until=at + CHECK_VALIDITY if matched else None,
    )
    db.add(check)
    actor.audit(
        db,
        "identity_check",
        resource_type="referral",
        resource_id=referral.id,
        patient_id=patient.id,
        outcome=audit.OK if matched else audit.DENIED,
        detail={"document": document.value, "result": result.value},
    )
    if result == IdentityResult.INVALID:
        raise Invalid("invalid_identifier", reason or "invalid number", keep_changes=True, field="number")
    if result == IdentityResult.MISMATCH:
        raise Forbidden(
            "identity_mismatch",
            f"this {document.value.replace('_', ' ')} does not match the patient the referral names;"
            " the record stays closed",
            keep_changes=True,
        )
    return check
