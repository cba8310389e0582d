"""The referral office (分级诊疗办公室) of an upper institution: its named staff, its slots and its quota.

The office publishes each day's appointment and exam slots (号源); a share of them (30% unless the
institution sets another) is reserved for referrals from its community's grassroots units, and
only that part is booked through the platform. A changed share applies to slots published after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.access.policy import CLINICAL_ROLES, AccessDenied, is_office_member
from server.community.models import Institution, Role, User
from server.core.clock import CHINA_TIME, Clock
from server.core.errors import Conflict, Invalid, not_found
from server.referrals.lifecycle import DEFAULT_RESERVED_SHARE_BP, GRASSROOTS_TIERS, reserved_slots
from server.referrals.models import (
    OfficeDuty,
    ReferralOfficeMember,
    ReferralQuotaPolicy,
    ReferralSlot,
    SlotKind,
)

MAX_DAYS_LISTED = 62
MAX_DAYS_AHEAD = 180
MAX_CAPACITY = 10000
MAX_DEPARTMENT = 100
DEFAULT_DAYS_LISTED = 13  # from today to two weeks on


def local_today(clock: Clock) -> date:
    """Today where the hospitals are (China Standard Time), by `clock`: slots are booked by day."""
    return clock.now().astimezone(CHINA_TIME).date()


def slot_facts(slot: ReferralSlot) -> dict[str, Any]:
    """A slot as the audit trail and the doors show it, with what is left of its reserve."""
    return {
        "id": slot.id,
        "institution_id": slot.institution_id,
        "day": slot.day.isoformat(),
        "kind": slot.kind.value,
        "department": slot.department,
        "capacity": slot.capacity,
        "reserved": slot.reserved,
        "booked": slot.booked,
        "available": slot.reserved - slot.booked,
    }


def community_institution(db: Session, user: User, institution_id: int) -> Institution:
    """An institution of the user's community (others are not found, whoever asks)."""
    institution = db.get(Institution, institution_id)
    if institution is None or institution.community_id != user.community_id:
        raise not_found("institution")
    return institution


def require_office_or_admin(db: Session, user: User, institution: Institution) -> None:
    """Slots and quota are the institution's referral office's to publish, or the community admin's."""
    if user.role == Role.ADMIN or is_office_member(db, user, institution.id):
        return
    raise AccessDenied(
        "institution",
        institution.id,
        reason=f"only the referral office of {institution.name} or an administrator may do this",
    )


def reserved_share_bp(db: Session, institution_id: int) -> int:
    policy = db.get(ReferralQuotaPolicy, institution_id)
    return policy.reserved_share_bp if policy else DEFAULT_RESERVED_SHARE_BP


@dataclass(frozen=True)
class SlotList:
    institution_id: int
    reserved_share_bp: int
    slots: Sequence[ReferralSlot]


def list_slots(
    db: Session,
    actor: Actor,
    clock: Clock,
    institution_id: int,
    *,
    first: date | None = None,
    last: date | None = None,
    kind: SlotKind | None = None,
) -> SlotList:
    """An institution's slots from `first` (today) to `last` (two weeks on), with what is left of the reserve."""
    institution = community_institution(db, actor.person, institution_id)
    first = first or local_today(clock)
    last = last or first + timedelta(days=DEFAULT_DAYS_LISTED)
    if not timedelta(0) <= last - first <= timedelta(days=MAX_DAYS_LISTED):
        raise Invalid("invalid_parameter", f"from..to must span 0–{MAX_DAYS_LISTED} days")
    query = select(ReferralSlot).where(
        ReferralSlot.institution_id == institution.id, ReferralSlot.day >= first, ReferralSlot.day <= last
    )
    if kind is not None:
        query = query.where(ReferralSlot.kind == kind)
    slots = db.scalars(query.order_by(ReferralSlot.day, ReferralSlot.kind, ReferralSlot.department)).all()
    return SlotList(institution.id, reserved_share_bp(db, institution.id), slots)


def publish_slot(
    db: Session,
    actor: Actor,
    clock: Clock,
    institution_id: int,
    day: date,
    kind: SlotKind,
    capacity: int,
    department: str = "",
) -> ReferralSlot:
    """Publish one day's slots of one kind; the grassroots reserve is fixed now, from the current share."""
    user = actor.person
    institution = community_institution(db, user, institution_id)
    require_office_or_admin(db, user, institution)
    if institution.tier in GRASSROOTS_TIERS:
        raise Invalid("not_upper", "slots are published by the upper institutions that receive referrals")
    today = local_today(clock)
    if not today <= day <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise Invalid("invalid_field", f"'day' must be within the next {MAX_DAYS_AHEAD} days", field="day")
    if not 0 < capacity <= MAX_CAPACITY:
        raise Invalid("invalid_field", f"'capacity' must be 1–{MAX_CAPACITY}", field="capacity")
    department = department.strip()[:MAX_DEPARTMENT]
    if db.scalar(
        select(ReferralSlot.id).where(
            ReferralSlot.institution_id == institution.id,
            ReferralSlot.day == day,
            ReferralSlot.kind == kind,
            ReferralSlot.department == department,
        )
    ):
        raise Conflict("already_published", f"{kind.value} slots of {day.isoformat()} are already published")
    slot = ReferralSlot(
        institution_id=institution.id,
        day=day,
        kind=kind,
        department=department,
        capacity=capacity,
        reserved=reserved_slots(capacity, reserved_share_bp(db, institution.id)),
        booked=0,
        published_by_id=user.id,
        published_at=clock.now(),
    )
    db.add(slot)
    db.flush()
    actor.audit(
        db,
        "referral_slot_publish",
        resource_type="referral_slot",
        resource_id=slot.id,
        detail=slot_facts(slot),
    )
    return slot


def set_quota(
    db: Session, actor: Actor, clock: Clock, institution_id: int, share_bp: int
) -> ReferralQuotaPolicy:
    """Set the share of future slots reserved for grassroots referrals, in basis points (3000 = 30%)."""
    user = actor.person
    institution = community_institution(db, user, institution_id)
    require_office_or_admin(db, user, institution)
    if not 0 <= share_bp <= 10000:
        raise Invalid("invalid_field", "'reserved_share_bp' must be 0–10000", field="reserved_share_bp")
    policy = db.get(ReferralQuotaPolicy, institution.id) or ReferralQuotaPolicy(institution_id=institution.id)
    before = policy.reserved_share_bp
    policy.reserved_share_bp, policy.updated_by_id, policy.updated_at = share_bp, user.id, clock.now()
    db.add(policy)
    actor.audit(
        db,
        "referral_quota_set",
        resource_type="institution",
        resource_id=institution.id,
        detail={"from": before, "to": share_bp},
    )
    return policy


def list_office(db: Session, actor: Actor, institution_id: int) -> list[ReferralOfficeMember]:
    """Who staffs an institution's referral office: the names a referring doctor can call."""
    institution = community_institution(db, actor.person, institution_id)
    return list(
        db.scalars(
            select(ReferralOfficeMember)
            .where(ReferralOfficeMember.institution_id == institution.id)
            .order_by(ReferralOfficeMember.duty, ReferralOfficeMember.id)
        )
    )


def add_office_member(
    db: Session,
    actor: Actor,
    clock: Clock,
    institution_id: int,
    user_id: int,
    duty: OfficeDuty = OfficeDuty.STAFF,
) -> ReferralOfficeMember:
    """The community's administrator names an active clinical user of the institution to its office."""
    admin = actor.person
    if admin.role != Role.ADMIN:
        raise AccessDenied(
            "institution", institution_id, reason="only an administrator staffs referral offices"
        )
    institution = community_institution(db, admin, institution_id)
    user = db.get(User, user_id)
    if (
        user is None
        or not user.active
        or user.institution_id != institution.id
        or user.role not in CLINICAL_ROLES
    ):
        raise Invalid(
            "invalid_field",
            f"'user_id' must name an active clinical user of {institution.name}",
            field="user_id",
        )
    if is_office_member(db, user, institution.id):
        raise Conflict("already_member", f"{user.display_name} already staffs this referral office")
    member = ReferralOfficeMember(
        institution_id=institution.id, user_id=user.id, duty=duty, added_by_id=admin.id, added_at=clock.now()
    )
    db.add(member)
    db.flush()
    actor.audit(
        db,
        "referral_office_add",
        resource_type="institution",
        resource_id=institution.id,
        detail={"user_id": user.id, "duty": duty.value},
    )
    return member
