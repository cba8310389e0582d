"""The referral office (分级诊疗办公室) over HTTP: an upper institution's slots, its grassroots quota and
its named staff. Each handler parses, calls one service function of `server.referrals.office` and
answers with its contract (`server.api.schemas.referrals`).
"""

from __future__ import annotations

from datetime import date

from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, ApiError, Context, api_route, model_response
from server.api.schemas.referrals import (
    OfficeList,
    OfficeMember,
    OfficeMemberIn,
    Quota,
    QuotaIn,
    Slot,
    SlotIn,
    SlotList,
)
from server.community.models import Role
from server.referrals import office
from server.referrals.models import OfficeDuty, SlotKind


def _day_param(ctx: Context, name: str) -> date | None:
    raw = ctx.request.query_params.get(name)
    if raw is None:
        return None
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
    first, last = _day_param(ctx, "from"), _day_param(ctx, "to")
    try:
        kind = SlotKind(params["kind"]) if "kind" in params else None
    except ValueError:
        raise ApiError(400, "invalid_parameter", "unknown slot kind") from None
    listed = office.list_slots(ctx.db, ctx.actor, ctx.clock, int(raw_id), first=first, last=last, kind=kind)
    return model_response(SlotList.of(listed))


def publish_slot(ctx: Context) -> Response:
    """Publish one day's slots of one kind; the grassroots reserve is fixed now, from the current share."""
    body = ctx.payload(SlotIn)
    slot = office.publish_slot(
        ctx.db,
        ctx.actor,
        ctx.clock,
        body.institution_id,
        body.day,
        body.kind,
        body.capacity,
        body.department or "",
    )
    return model_response(Slot.of(slot), status_code=201)


def set_quota(ctx: Context) -> Response:
    """Set the share of future slots reserved for grassroots referrals, in basis points (3000 = 30%)."""
    body = ctx.payload(QuotaIn)
    policy = office.set_quota(
        ctx.db, ctx.actor, ctx.clock, ctx.path["institution_id"], body.reserved_share_bp
    )
    return model_response(
        Quota(institution_id=policy.institution_id, reserved_share_bp=policy.reserved_share_bp)
    )


def list_office(ctx: Context) -> Response:
    """Who staffs an institution's referral office: the names a referring doctor can call."""
    institution_id = ctx.path["institution_id"]
    members = office.list_office(ctx.db, ctx.actor, institution_id)
    return model_response(
        OfficeList(institution_id=institution_id, items=[OfficeMember.of(m) for m in members])
    )


def add_office_member(ctx: Context) -> Response:
    """Name an active clinical user of the institution to its referral office (head or staff)."""
    body = ctx.payload(OfficeMemberIn)
    member = office.add_office_member(
        ctx.db,
        ctx.actor,
        ctx.clock,
        ctx.path["institution_id"],
        body.user_id,
        body.duty or OfficeDuty.STAFF,
    )
    return model_response(OfficeMember.of(member), status_code=201)


routes = [
    api_route("/api/referral-slots", list_slots, access=Access.only(CLINICAL_ROLES), response=SlotList),
    api_route(
        "/api/referral-slots",
        publish_slot,
        access=Access.only(CLINICAL_ROLES),
        methods=["POST"],
        body=SlotIn,
        response=Slot,
        status=201,
    ),
    api_route(
        "/api/institutions/{institution_id:int}/referral-quota",
        set_quota,
        access=Access.only(CLINICAL_ROLES),
        methods=["PUT"],
        body=QuotaIn,
        response=Quota,
    ),
    api_route(
        "/api/institutions/{institution_id:int}/referral-office",
        list_office,
        access=Access.only(CLINICAL_ROLES),
        response=OfficeList,
    ),
    api_route(
        "/api/institutions/{institution_id:int}/referral-office",
        add_office_member,
        access=Access.only(Role.ADMIN),
        methods=["POST"],
        body=OfficeMemberIn,
        response=OfficeMember,
        status=201,
    ),
]
