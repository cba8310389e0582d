"""The grassroots doctor's follow-up list (随访): referred-down patients, their plans, due dates and colours.

A patient joins the list when the village or township doctor receives their referral down. Each
entry carries the three-colour triage (三色分级) that says who manages the chronic patient — green at
the village, yellow at the county GP + specialist clinic, red with specialist-alliance guidance —
and every change of colour is kept, with who changed it and why.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from starlette.responses import JSONResponse, Response

from server.access.policy import follow_up_scope
from server.api.cases import now
from server.api.referral_office import local_today
from server.api.routing import Access, ApiError, Context, api_route, body_field, not_found
from server.api.serializers import institution_json, person_json
from server.community.models import Role
from server.referrals.lifecycle import DISCHARGE_TRIAGE_REASON, TRIAGE_MEANINGS
from server.referrals.models import FollowUpColourChange, FollowUpEntry, Referral, TriageColour

MAX_LISTED = 500
MAX_REASON = 4000


def colour_json(colour: TriageColour) -> dict[str, str]:
    zh, en = TRIAGE_MEANINGS[colour]
    return {"code": colour.value, "meaning_zh": zh, "meaning_en": en}


def next_due(entry: FollowUpEntry, today: date) -> str | None:
    """The first due date not before today (ISO strings compare as dates)."""
    return next((d for d in entry.due_dates if d >= today.isoformat()), None)


def entry_json(entry: FollowUpEntry, today: date, *, history: bool = False) -> dict[str, Any]:
    referral = entry.referral
    patient = entry.patient
    shown: dict[str, Any] = {
        "id": entry.id,
        "patient": {
            "id": patient.id,
            "name": patient.name,
            "sex": patient.sex,
            "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
            "national_id_masked": patient.national_id_masked,
        },
        "colour": colour_json(entry.colour),
        "plan": entry.plan,
        "due_dates": entry.due_dates,
        "next_due": next_due(entry, today),
        "referral": {
            "id": referral.id,
            "from_institution": institution_json(referral.from_institution),
            "diagnosis": referral.diagnosis,
            "discharge_summary": referral.discharge_summary,
        },
        "created_at": entry.created_at.isoformat(),
        "closed_at": entry.closed_at.isoformat() if entry.closed_at else None,
    }
    if history:
        shown["colour_history"] = [
            {
                "from": c.from_colour.value if c.from_colour else None,
                "to": c.to_colour.value,
                "reason": c.reason,
                "by": person_json(c.changed_by),
                "at": c.at.isoformat(),
            }
            for c in entry.colour_changes
        ]
    return shown


def start_follow_up(ctx: Context, down: Referral) -> FollowUpEntry:
    """Put a received down referral's patient on the unit's list, in the colour the discharging doctor gave."""
    plan = down.follow_up_plan
    colour = TriageColour(plan.get("colour", TriageColour.GREEN))
    at = now(ctx)
    entry = FollowUpEntry(
        institution_id=down.to_institution_id,
        patient_id=down.patient_id,
        referral_id=down.id,
        plan=plan.get("plan", ""),
        due_dates=plan.get("due_dates", []),
        colour=colour,
        created_at=at,
    )
    ctx.db.add(entry)
    ctx.db.flush()
    ctx.db.add(
        FollowUpColourChange(
            entry_id=entry.id,
            to_colour=colour,
            reason=DISCHARGE_TRIAGE_REASON,
            changed_by_id=down.created_by_id,
            at=at,
        )
    )
    return entry


def _colour_param(raw: str | None) -> TriageColour | None:
    if raw is None:
        return None
    try:
        return TriageColour(raw)
    except ValueError:
        raise ApiError(400, "invalid_parameter", "colour must be green, yellow or red") from None


def list_follow_up(ctx: Context) -> Response:
    """Open entries of my unit, by next due date; `colour=red` filters, `closed=1` shows ended ones too."""
    params = ctx.request.query_params
    query = select(FollowUpEntry).where(follow_up_scope(ctx.current_user))
    colour = _colour_param(params.get("colour"))
    if colour is not None:
        query = query.where(FollowUpEntry.colour == colour)
    if params.get("closed") not in {"1", "true"}:
        query = query.where(FollowUpEntry.closed_at.is_(None))
    entries = ctx.db.scalars(
        query.options(selectinload(FollowUpEntry.patient), selectinload(FollowUpEntry.referral))
        .order_by(FollowUpEntry.id)
        .limit(MAX_LISTED)
    ).all()
    today = local_today(ctx)
    shown = sorted(
        (entry_json(e, today) for e in entries), key=lambda e: (e["next_due"] is None, e["next_due"])
    )
    ctx.audit(
        "follow_up_list",
        resource_type="follow_up",
        detail={"count": len(shown), "colour": colour.value if colour else None},
    )
    return JSONResponse({"items": shown, "colours": [colour_json(c) for c in TriageColour]})


def visible_entry(ctx: Context) -> FollowUpEntry:
    entry = ctx.db.scalar(
        select(FollowUpEntry).where(
            FollowUpEntry.id == ctx.path["entry_id"], follow_up_scope(ctx.current_user)
        )
    )
    if entry is None:
        raise not_found("follow-up entry")
    return entry


def get_entry(ctx: Context) -> Response:
    entry = visible_entry(ctx)
    ctx.audit("follow_up_read", resource_type="follow_up", resource_id=entry.id, patient_id=entry.patient_id)
    return JSONResponse(entry_json(entry, local_today(ctx), history=True))


def change_colour(ctx: Context) -> Response:
    """Re-triage a patient (e.g. green → yellow when the blood pressure is no longer controlled)."""
    entry = visible_entry(ctx)
    try:
        colour = TriageColour(body_field(ctx, "colour", str))
    except ValueError:
        raise ApiError(400, "invalid_field", "colour must be green, yellow or red", field="colour") from None
    reason = (body_field(ctx, "reason", str) or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise ApiError(
            400, "invalid_field", f"'reason' must say why, in 1–{MAX_REASON} characters", field="reason"
        )
    if entry.closed_at is not None:
        raise ApiError(409, "follow_up_closed", "this follow-up has ended")
    if colour == entry.colour:
        raise ApiError(409, "same_colour", f"the patient is already {colour.value}")
    previous = entry.colour
    entry.colour = colour
    ctx.db.add(
        FollowUpColourChange(
            entry_id=entry.id,
            from_colour=previous,
            to_colour=colour,
            reason=reason,
            changed_by_id=ctx.current_user.id,
            at=now(ctx),
        )
    )
    ctx.db.flush()
    ctx.db.refresh(entry)
    ctx.audit(
        "follow_up_colour",
        resource_type="follow_up",
        resource_id=entry.id,
        patient_id=entry.patient_id,
        detail={"from": previous.value, "to": colour.value},
    )
    return JSONResponse(entry_json(entry, local_today(ctx), history=True))


routes = [
    api_route("/api/follow-up", list_follow_up, access=Access.only(Role.REQUESTER, Role.ADMIN)),
    api_route("/api/follow-up/{entry_id:int}", get_entry, access=Access.only(Role.REQUESTER, Role.ADMIN)),
    api_route(
        "/api/follow-up/{entry_id:int}/colour",
        change_colour,
        access=Access.only(Role.REQUESTER),
        methods=["POST"],
    ),
]
