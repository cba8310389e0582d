"""The referral office (分级诊疗办公室) of an upper institution: its named staff, its slots and its quota.

The office publishes each day's appointment and exam slots (号源); a share of them (30% unless the
institution sets another) is reserved for referrals from its community's grassroots units, and
only that part is booked through the platform. A changed share applies to slots published after it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from starlette.responses import JSONResponse, Response

from server.access.policy import CLINICAL_ROLES, AccessDenied, is_office_member
from server.api.cases import now
from server.api.routing import Access, ApiError, Context, api_route, body_field, not_found
from server.api.serializers import person_json
from server.billing.rules import BOOKS_TIMEZONE
from server.community.models import Institution, Role, User
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


def local_today(ctx: Context) -> date:
    """Today where the hospitals are (China Standard Time), by the app's clock: slots are booked by day."""
    return now(ctx).astimezone(BOOKS_TIMEZONE).date()


def slot_json(slot: ReferralSlot) -> dict[str, Any]:
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


def community_institution(ctx: Context, institution_id: int) -> Institution:
    """An institution of the caller's community (others are not found, whoever asks)."""
    institution = ctx.db.get(Institution, institution_id)
    if institution is None or institution.community_id != ctx.current_user.community_id:
        raise not_found("institution")
    return institution


def require_office_or_admin(ctx: Context, institution: Institution) -> None:
    """Slots and quota are the institution's referral office's to publish, or the community admin's."""
    user = ctx.current_user
    if user.role == Role.ADMIN or is_office_member(ctx.db, user, institution.id):
        return
    raise AccessDenied(
        "institution",
        institution.id,
        reason=f"only the referral office of {institution.name} or an administrator may do this",
    )


def reserved_share_bp(ctx: Context, institution_id: int) -> int:
    policy = ctx.db.get(ReferralQuotaPolicy, institution_id)
    return policy.reserved_share_bp if policy else DEFAULT_RESERVED_SHARE_BP


def _day_param(raw: str | None, default: date, name: str) -> date:
    if raw is None:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} must be YYYY-MM-DD") from None


def list_slots(ctx: Context) -> Response:
    """An institution's slots from `from` (today) to `to` (two weeks on), with what is left of the reserve."""
    params = ctx.request.query_params
    raw_id = params.get("institution_id", "")
    if not raw_id.isdigit():
        raise ApiError(400, "invalid_parameter", "institution_id is required")
    institution = community_institution(ctx, int(raw_id))
    first = _day_param(params.get("from"), local_today(ctx), "from")
    last = _day_param(params.get("to"), first + timedelta(days=13), "to")
    if not timedelta(0) <= last - first <= timedelta(days=MAX_DAYS_LISTED):
        raise ApiError(400, "invalid_parameter", f"from..to must span 0–{MAX_DAYS_LISTED} days")
    query = select(ReferralSlot).where(
        ReferralSlot.institution_id == institution.id, ReferralSlot.day >= first, ReferralSlot.day <= last
    )
    if "kind" in params:
        try:
            query = query.where(ReferralSlot.kind == SlotKind(params["kind"]))
        except ValueError:
            raise ApiError(400, "invalid_parameter", "unknown slot kind") from None
    slots = ctx.db.scalars(query.order_by(ReferralSlot.day, ReferralSlot.kind, ReferralSlot.department)).all()
    return JSONResponse(
        {
            "institution_id": institution.id,
            "reserved_share_bp": reserved_share_bp(ctx, institution.id),
            "items": [slot_json(s) for s in slots],
        }
    )


def publish_slot(ctx: Context) -> Response:
    """Publish one day's slots of one kind; the grassroots reserve is fixed now, from the current share."""
    institution = community_institution(ctx, body_field(ctx, "institution_id", int))
    require_office_or_admin(ctx, institution)
    if institution.tier in GRASSROOTS_TIERS:
        raise ApiError(
            400, "not_upper", "slots are published by the upper institutions that receive referrals"
        )
    try:
        day = date.fromisoformat(body_field(ctx, "day", str))
        kind = SlotKind(body_field(ctx, "kind", str))
    except ValueError:
        kinds = ", ".join(k.value for k in SlotKind)
        raise ApiError(400, "invalid_field", f"'day' must be YYYY-MM-DD and 'kind' one of: {kinds}") from None
    today = local_today(ctx)
    if not today <= day <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise ApiError(
            400, "invalid_field", f"'day' must be within the next {MAX_DAYS_AHEAD} days", field="day"
        )
    capacity = body_field(ctx, "capacity", int)
    if not 0 < capacity <= MAX_CAPACITY:
        raise ApiError(400, "invalid_field", f"'capacity' must be 1–{MAX_CAPACITY}", field="capacity")
    department = (body_field(ctx, "department", str, required=False) or "").strip()[:100]
    if ctx.db.scalar(
        select(ReferralSlot.id).where(
            ReferralSlot.institution_id == institution.id,
            ReferralSlot.day == day,
            ReferralSlot.kind == kind,
            ReferralSlot.department == department,
        )
    ):
        raise ApiError(
            409, "already_published", f"{kind.value} slots of {day.isoformat()} are already published"
        )
    slot = ReferralSlot(
        institution_id=institution.id,
        day=day,
        kind=kind,
        department=department,
        capacity=capacity,
        reserved=reserved_slots(capacity, reserved_share_bp(ctx, institution.id)),
        booked=0,
        published_by_id=ctx.current_user.id,
        published_at=now(ctx),
    )
    ctx.db.add(slot)
    ctx.db.flush()
    ctx.audit(
        "referral_slot_publish", resource_type="referral_slot", resource_id=slot.id, detail=slot_json(slot)
    )
    return JSONResponse(slot_json(slot), status_code=201)


def set_quota(ctx: Context) -> Response:
    """Set the share of future slots reserved for grassroots referrals, in basis points (3000 = 30%)."""
    institution = community_institution(ctx, ctx.path["institution_id"])
    require_office_or_admin(ctx, institution)
    share = body_field(ctx, "reserved_share_bp", int)
    if not 0 <= share <= 10000:
        raise ApiError(400, "invalid_field", "'reserved_share_bp' must be 0–10000", field="reserved_share_bp")
    policy = ctx.db.get(ReferralQuotaPolicy, institution.id) or ReferralQuotaPolicy(
        institution_id=institution.id
    )
    before = policy.reserved_share_bp
    policy.reserved_share_bp, policy.updated_by_id, policy.updated_at = share, ctx.current_user.id, now(ctx)
    ctx.db.add(policy)
    ctx.audit(
        "referral_quota_set",
        resource_type="institution",
        resource_id=institution.id,
        detail={"from": before, "to": share},
    )
    return JSONResponse({"institution_id": institution.id, "reserved_share_bp": share})


def member_json(member: ReferralOfficeMember) -> dict[str, Any]:
    return {**(person_json(member.user) or {}), "duty": member.duty.value}


def list_office(ctx: Context) -> Response:
    """Who staffs an institution's referral office: the names a referring doctor can call."""
    institution = community_institution(ctx, ctx.path["institution_id"])
    members = ctx.db.scalars(
        select(ReferralOfficeMember)
        .where(ReferralOfficeMember.institution_id == institution.id)
        .order_by(ReferralOfficeMember.duty, ReferralOfficeMember.id)
    ).all()
    return JSONResponse({"institution_id": institution.id, "items": [member_json(m) for m in members]})


def add_office_member(ctx: Context) -> Response:
    institution = community_institution(ctx, ctx.path["institution_id"])
    user = ctx.db.get(User, body_field(ctx, "user_id", int))
    if (
        user is None
        or not user.active
        or user.institution_id != institution.id
        or user.role not in CLINICAL_ROLES
    ):
        raise ApiError(
            400,
            "invalid_field",
            f"'user_id' must name an active clinical user of {institution.name}",
            field="user_id",
        )
    try:
        duty = OfficeDuty(body_field(ctx, "duty", str, required=False) or OfficeDuty.STAFF)
    except ValueError:
        raise ApiError(400, "invalid_field", "'duty' must be head or staff", field="duty") from None
    if is_office_member(ctx.db, user, institution.id):
        raise ApiError(409, "already_member", f"{user.display_name} already staffs this referral office")
    member = ReferralOfficeMember(
        institution_id=institution.id,
        user_id=user.id,
        duty=duty,
        added_by_id=ctx.current_user.id,
        added_at=now(ctx),
    )
    ctx.db.add(member)
    ctx.db.flush()
    ctx.audit(
        "referral_office_add",
        resource_type="institution",
        resource_id=institution.id,
        detail={"user_id": user.id, "duty": duty.value},
    )
    return JSONResponse(member_json(member), status_code=201)


routes = [
    api_route("/api/referral-slots", list_slots, access=Access.only(CLINICAL_ROLES)),
    api_route("/api/referral-slots", publish_slot, access=Access.only(CLINICAL_ROLES), methods=["POST"]),
    api_route(
        "/api/institutions/{institution_id:int}/referral-quota",
        set_quota,
        access=Access.only(CLINICAL_ROLES),
        methods=["PUT"],
    ),
    api_route(
        "/api/institutions/{institution_id:int}/referral-office",
        list_office,
        access=Access.only(CLINICAL_ROLES),
    ),
    api_route(
        "/api/institutions/{institution_id:int}/referral-office",
        add_office_member,
        access=Access.only(Role.ADMIN),
        methods=["POST"],
    ),
]
