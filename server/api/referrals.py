"""Two-way referral (双向转诊): send up from a case, receive, book, decline, treat, refer down, close.

Who may take which step is `server.referrals.lifecycle`' answer (409 in the wrong state, an audited 403 for
the wrong person); the state changes with a conditional UPDATE, as a case's do. Booking takes one
slot from the grassroots-reserved quota with `UPDATE ... SET booked = booked + 1 WHERE booked <
reserved`, so of two bookings racing for the last slot exactly one wins.

Anyone may see a referral's summary who may see the referral at all (the patient's name masked).
Its record — letter, identifiers, attached material, notes — the referring doctors read freely;
everyone else must first confirm the patient's identity (`POST .../identity-check`), and then for
`server.patients.identity.CHECK_VALIDITY` only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from starlette.responses import JSONResponse, Response

from server.access import audit
from server.access.policy import (
    CLINICAL_ROLES,
    AccessDenied,
    needs_identity_check,
    referral_scope,
    referral_sides,
    require_case,
)
from server.api.cases import now
from server.api.follow_up import start_follow_up
from server.api.referral_office import local_today, slot_json
from server.api.routing import Access, ApiError, Context, api_route, body_field, not_found
from server.api.serializers import institution_json, person_json, report_json
from server.cases.models import Case, Report, ReportStatus
from server.community.models import Institution, Role
from server.core.lifecycle import NotPermitted
from server.dicom.models import DicomSeries, DicomStudy
from server.patients.identity import (
    CHECK_VALIDITY,
    InvalidIdentifier,
    compare,
    stored_identifier,
    valid_check,
)
from server.referrals.lifecycle import (
    GRASSROOTS_TIERS,
    OPEN_STATES,
    Action,
    Side,
    actions_for,
    decide,
    is_upward,
    priority_flags,
)
from server.referrals.models import (
    FollowUpEntry,
    IdentityCheck,
    IdentityDocument,
    IdentityResult,
    Referral,
    ReferralDirection,
    ReferralEvent,
    ReferralNote,
    ReferralNoteKind,
    ReferralSlot,
    ReferralState,
    TriageColour,
)

MAX_TEXT = 20000
MAX_LISTED = 500
MAX_FAILED_CHECKS = 5  # per user and referral within CHECK_VALIDITY: typing, not guessing
# Steps the office and the referring doctors take on the summary alone; every other step needs the record.
WITHOUT_RECORD = frozenset({Action.RECEIVE, Action.BOOK, Action.DECLINE, Action.CANCEL})


def text_field(ctx: Context, name: str, *, required: bool = False) -> str:
    value = (body_field(ctx, name, str, required=required) or "").strip()
    if required and not value:
        raise ApiError(400, "missing_field", f"field '{name}' is required", field=name)
    if len(value) > MAX_TEXT:
        raise ApiError(400, "invalid_field", f"'{name}' is longer than {MAX_TEXT} characters", field=name)
    return value


def choice(ctx: Context, name: str, enum_type: type, *, required: bool = True) -> Any:
    raw = body_field(ctx, name, str, required=required)
    if raw is None:
        return None
    try:
        return enum_type(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ApiError(
            400, "invalid_field", f"field '{name}' must be one of: {allowed}", field=name
        ) from None


def visible_referral(ctx: Context) -> tuple[Referral, frozenset[Side]]:
    """The referral in the path if this user may see it, with the sides they stand on."""
    referral = ctx.db.get(Referral, ctx.path["referral_id"])
    if (
        referral is None
        or ctx.db.scalar(
            select(Referral.id).where(Referral.id == referral.id, referral_scope(ctx.current_user))
        )
        is None
    ):
        if referral is not None:
            raise AccessDenied("referral", referral.id, referral.patient_id)
        raise not_found("referral")
    return referral, referral_sides(ctx.db, ctx.current_user, referral)


def require_identity(ctx: Context, referral: Referral, sides: frozenset[Side]) -> datetime | None:
    """Until when this user's identity check of the patient holds; an audited 403 if they need one and lack it.

    Call it before writing anything: the refusal keeps the transaction's changes (its audit event).
    """
    if not needs_identity_check(referral.direction, sides):
        return None
    check = valid_check(ctx.db, ctx.current_user.id, referral.id, now(ctx))
    if check is not None:
        return check.valid_until
    ctx.audit(
        "access_denied",
        resource_type="referral",
        resource_id=referral.id,
        patient_id=referral.patient_id,
        outcome=audit.DENIED,
        detail={"reason": "identity_check_required", "path": ctx.request.url.path},
    )
    raise ApiError(
        403,
        "identity_check_required",
        "confirm the patient's identity first: enter their national ID or health-card number"
        f" (POST /api/referrals/{referral.id}/identity-check)",
        keep_changes=True,
    )


def masked_name(name: str) -> str:
    """张秀英 → 张*英, 李明 → 李*: recognisable to the office, not a record."""
    if len(name) <= 1:
        return name
    return name[0] + "*" * max(1, len(name) - 2) + (name[-1] if len(name) > 2 else "")


def summary_json(ctx: Context, referral: Referral, sides: frozenset[Side]) -> dict[str, Any]:
    patient = referral.patient
    return {
        "id": referral.id,
        "direction": referral.direction.value,
        "state": referral.state.value,
        "parent_id": referral.parent_id,
        "from_institution": institution_json(referral.from_institution),
        "to_institution": institution_json(referral.to_institution),
        "patient": {"name_masked": masked_name(patient.name), "sex": patient.sex},
        "priority": referral.priority,
        "slot": slot_json(referral.slot) if referral.slot else None,
        "decline_reason": referral.decline_reason,
        "created_by": person_json(referral.created_by),
        "created_at": referral.created_at.isoformat(),
        "updated_at": referral.updated_at.isoformat(),
        "closed_at": referral.closed_at.isoformat() if referral.closed_at else None,
        "sides": sorted(side.value for side in sides),
        "actions": [a.value for a in actions_for(referral.direction, referral.state, sides)],
        "identity_check_required": needs_identity_check(referral.direction, sides)
        and valid_check(ctx.db, ctx.current_user.id, referral.id, now(ctx)) is None,
    }


def material_json(ctx: Context, case: Case) -> dict[str, Any]:
    """What the source case carries: its studies and its signed reports (the latest version of each)."""
    studies = ctx.db.scalars(
        select(DicomStudy).where(DicomStudy.case_id == case.id).order_by(DicomStudy.id)
    ).all()
    modalities: dict[int, set[str]] = {s.id: set() for s in studies}
    for study_id, modality in ctx.db.execute(
        select(DicomSeries.study_id, DicomSeries.modality)
        .where(DicomSeries.study_id.in_(modalities))
        .distinct()
    ):
        modalities[study_id].add(modality)
    report = ctx.db.scalar(
        select(Report)
        .where(Report.case_id == case.id, Report.status == ReportStatus.SIGNED)
        .order_by(Report.version.desc())
        .limit(1)
    )
    return {
        "case": {"id": case.id, "kind": case.kind.value, "clinical_question": case.clinical_question},
        "studies": [
            {
                "study_uid": s.study_uid,
                "study_date": s.study_date,
                "description": s.description,
                "modalities": sorted(filter(None, modalities[s.id])),
            }
            for s in studies
        ],
        "report": report_json(report) if report else None,
    }


def record_json(
    ctx: Context, referral: Referral, sides: frozenset[Side], checked_until: datetime | None
) -> dict[str, Any]:
    """The whole referral: summary, letter, identifiers, material, notes and history."""
    patient = referral.patient
    notes = ctx.db.scalars(
        select(ReferralNote).where(ReferralNote.referral_id == referral.id).order_by(ReferralNote.id)
    ).all()
    events = ctx.db.scalars(
        select(ReferralEvent).where(ReferralEvent.referral_id == referral.id).order_by(ReferralEvent.id)
    ).all()
    down = ctx.db.scalar(
        select(Referral.id).where(Referral.parent_id == referral.id).order_by(Referral.id.desc()).limit(1)
    )
    return {
        **summary_json(ctx, referral, sides),
        "identity_checked_until": checked_until.isoformat() if checked_until else None,
        "patient": {
            "id": patient.id,
            "name": patient.name,
            "sex": patient.sex,
            "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
            "national_id": patient.national_id,
            "health_card_no": patient.health_card_no,
        },
        "letter": {
            "reason": referral.reason,
            "diagnosis": referral.diagnosis,
            "history": referral.history,
            "treatment": referral.treatment,
        },
        "material": material_json(ctx, referral.case),
        "discharge_summary": referral.discharge_summary,
        "follow_up_plan": referral.follow_up_plan,
        "down_referral_id": down,
        "notes": [
            {
                "id": n.id,
                "kind": n.kind.value,
                "text": n.text,
                "author": person_json(n.author),
                "created_at": n.created_at.isoformat(),
            }
            for n in notes
        ],
        "events": [
            {
                "action": e.action,
                "from_state": e.from_state.value if e.from_state else None,
                "to_state": e.to_state.value,
                "actor": person_json(e.actor),
                "at": e.at.isoformat(),
                "note": e.note,
            }
            for e in events
        ],
    }


def record_event(
    ctx: Context, referral: Referral, action: str, source: ReferralState | None, note: str = ""
) -> None:
    ctx.db.add(
        ReferralEvent(
            referral_id=referral.id,
            action=action,
            from_state=source,
            to_state=referral.state,
            actor_id=ctx.current_user.id,
            at=now(ctx),
            note=note,
        )
    )


def move(
    ctx: Context, referral: Referral, action: Action, target: ReferralState, note: str = "", **values: Any
) -> None:
    """From the state it was checked in to `target`, atomically (409 if someone moved it meanwhile)."""
    source = referral.state
    changed = ctx.db.execute(
        update(Referral)
        .where(Referral.id == referral.id, Referral.state == source)
        .values(state=target, updated_at=now(ctx), **values)
        .execution_options(synchronize_session=False)
    )
    ctx.db.refresh(referral)
    if changed.rowcount != 1:
        raise ApiError(
            409,
            "conflict",
            f"the referral changed meanwhile: it is now {referral.state.value}",
            action=action.value,
            state=referral.state.value,
        )
    record_event(ctx, referral, action.value, source, note)


def permitted(referral: Referral, action: Action, sides: frozenset[Side]) -> ReferralState:
    try:
        return decide(referral.direction, action, referral.state, sides)
    except NotPermitted as refusal:
        raise AccessDenied("referral", referral.id, referral.patient_id, reason=str(refusal)) from None


# --- creating a referral up -------------------------------------------------------------------------


def create_referral(ctx: Context) -> Response:
    """A family doctor refers their patient up, from a case whose material travels with the letter."""
    user = ctx.current_user
    case = ctx.db.get(Case, body_field(ctx, "case_id", int))
    if case is None:
        raise not_found("case")
    require_case(ctx.db, user, case)
    target = ctx.db.get(Institution, body_field(ctx, "to_institution_id", int))
    source = user.institution
    if target is None or source is None or target.community_id != source.community_id:
        raise ApiError(400, "invalid_field", "'to_institution_id' must name an institution of your community")
    if not is_upward(source, target):
        raise ApiError(
            400, "not_upward", f"{target.name} is not above {source.name}; refer up to a higher tier"
        )
    patient = case.patient
    if not (patient.national_id or patient.health_card_no):
        raise ApiError(
            400,
            "patient_identifier_required",
            "the receiving hospital checks the patient's identity: record their national ID or health-card number",
        )
    if ctx.db.scalar(
        select(Referral.id).where(
            Referral.case_id == case.id,
            Referral.direction == ReferralDirection.UP,
            Referral.state.in_(OPEN_STATES),
        )
    ):
        raise ApiError(409, "already_referred", "this case already has an open referral up")
    at = now(ctx)
    referral = Referral(
        direction=ReferralDirection.UP,
        state=ReferralState.SENT,
        case=case,
        patient=patient,
        from_institution=source,
        to_institution=target,
        created_by=user,
        created_at=at,
        updated_at=at,
        reason=text_field(ctx, "reason", required=True),
        diagnosis=text_field(ctx, "diagnosis", required=True),
        history=text_field(ctx, "history"),
        treatment=text_field(ctx, "treatment"),
        priority=priority_flags(user, patient),
    )
    ctx.db.add(referral)
    ctx.db.flush()
    record_event(ctx, referral, "send", None)
    ctx.audit(
        "referral_create",
        resource_type="referral",
        resource_id=referral.id,
        patient_id=patient.id,
        detail={"case_id": case.id, "to_institution_id": target.id, "priority": referral.priority},
    )
    sides = referral_sides(ctx.db, user, referral)
    return JSONResponse(record_json(ctx, referral, sides, None), status_code=201)


# --- reading ----------------------------------------------------------------------------------------


def list_referrals(ctx: Context) -> Response:
    """Incoming (to my institution) or outgoing (from it) referrals, newest first; summaries only."""
    user = ctx.current_user
    params = ctx.request.query_params
    query = select(Referral).where(referral_scope(user))
    box = params.get("box")
    if box == "incoming":
        query = query.where(Referral.to_institution_id == user.institution_id)
    elif box == "outgoing":
        query = query.where(Referral.from_institution_id == user.institution_id)
    elif box is not None:
        raise ApiError(400, "invalid_parameter", "box must be incoming or outgoing")
    for name, column, enum_type in (
        ("state", Referral.state, ReferralState),
        ("direction", Referral.direction, ReferralDirection),
    ):
        if name in params:
            try:
                query = query.where(column == enum_type(params[name]))
            except ValueError:
                allowed = ", ".join(m.value for m in enum_type)
                raise ApiError(400, "invalid_parameter", f"{name} must be one of: {allowed}") from None
    referrals = ctx.db.scalars(
        query.order_by(Referral.created_at.desc(), Referral.id.desc()).limit(MAX_LISTED)
    ).all()
    ctx.audit(
        "referral_list",
        resource_type="referral",
        detail={"count": len(referrals), "referrals": [r.id for r in referrals]},
    )
    return JSONResponse({"items": [summary_json(ctx, r, referral_sides(ctx.db, user, r)) for r in referrals]})


def get_referral(ctx: Context) -> Response:
    referral, sides = visible_referral(ctx)
    checked_until = require_identity(ctx, referral, sides)
    ctx.audit(
        "referral_read", resource_type="referral", resource_id=referral.id, patient_id=referral.patient_id
    )
    return JSONResponse(record_json(ctx, referral, sides, checked_until))


# --- identity check ---------------------------------------------------------------------------------


def check_identity(ctx: Context) -> Response:
    """Compare the number the patient shows with what is stored; record and audit every attempt."""
    referral, _sides = visible_referral(ctx)
    document = choice(ctx, "document", IdentityDocument)
    typed = body_field(ctx, "number", str)
    at = now(ctx)
    failures = ctx.db.scalar(
        select(func.count())
        .select_from(IdentityCheck)
        .where(
            IdentityCheck.user_id == ctx.current_user.id,
            IdentityCheck.referral_id == referral.id,
            IdentityCheck.result != IdentityResult.MATCHED,
            IdentityCheck.at > at - CHECK_VALIDITY,
        )
    )
    if failures >= MAX_FAILED_CHECKS:
        raise ApiError(
            429,
            "too_many_identity_checks",
            f"{failures} failed identity checks of this patient; ask the referral office to confirm the documents",
        )
    patient = referral.patient
    if stored_identifier(patient, document) is None:
        other = "health-card number" if document == IdentityDocument.NATIONAL_ID else "national ID"
        raise ApiError(
            409,
            "no_stored_identifier",
            f"no {document.value.replace('_', ' ')} is on record for this patient; check the {other} instead",
        )
    reason = None
    try:
        result = compare(patient, document, typed)
    except InvalidIdentifier as invalid:
        result, reason = IdentityResult.INVALID, str(invalid)
    matched = result == IdentityResult.MATCHED
    check = IdentityCheck(
        referral_id=referral.id,
        user_id=ctx.current_user.id,
        document=document,
        result=result,
        at=at,
        valid_until=at + CHECK_VALIDITY if matched else None,
    )
    ctx.db.add(check)
    ctx.audit(
        "identity_check",
        resource_type="referral",
        resource_id=referral.id,
        patient_id=patient.id,
        outcome=audit.OK if matched else audit.DENIED,
        detail={"document": document.value, "result": result.value},
    )
    if result == IdentityResult.INVALID:
        raise ApiError(
            400, "invalid_identifier", reason or "invalid number", keep_changes=True, field="number"
        )
    if result == IdentityResult.MISMATCH:
        raise ApiError(
            403,
            "identity_mismatch",
            f"this {document.value.replace('_', ' ')} does not match the patient the referral names;"
            " the record stays closed",
            keep_changes=True,
        )
    return JSONResponse(
        {"result": result.value, "document": document.value, "valid_until": check.valid_until.isoformat()}
    )


# --- steps ------------------------------------------------------------------------------------------


Performer = Callable[[Context, Referral, ReferralState], None]


def _book(ctx: Context, referral: Referral, target: ReferralState) -> None:
    slot = ctx.db.get(ReferralSlot, body_field(ctx, "slot_id", int))
    if slot is None or slot.institution_id != referral.to_institution_id:
        raise ApiError(
            400, "invalid_field", "'slot_id' must name a slot of the receiving institution", field="slot_id"
        )
    if slot.day < local_today(ctx):
        raise ApiError(409, "slot_past", f"the slot of {slot.day.isoformat()} is in the past")
    source = referral.from_institution
    if source.tier not in GRASSROOTS_TIERS or source.community_id != referral.to_institution.community_id:
        raise ApiError(
            409,
            "not_grassroots",
            "the reserved quota is for referrals from this community's grassroots units",
        )
    taken = ctx.db.execute(
        update(ReferralSlot)
        .where(ReferralSlot.id == slot.id, ReferralSlot.booked < ReferralSlot.reserved)
        .values(booked=ReferralSlot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise ApiError(
            409,
            "quota_exhausted",
            f"the {slot.reserved} slots reserved for grassroots referrals on {slot.day.isoformat()} are all booked",
            slot_id=slot.id,
        )
    move(
        ctx,
        referral,
        Action.BOOK,
        target,
        slot_id=slot.id,
        booked_by_id=ctx.current_user.id,
        booked_at=now(ctx),
    )
    ctx.db.refresh(slot)  # the answer shows what is left of the reserve


def _decline(ctx: Context, referral: Referral, target: ReferralState) -> None:
    reason = text_field(ctx, "reason", required=True)
    move(ctx, referral, Action.DECLINE, target, note=reason, decline_reason=reason)


def _cancel(ctx: Context, referral: Referral, target: ReferralState) -> None:
    slot_id = referral.slot_id
    move(ctx, referral, Action.CANCEL, target, note=text_field(ctx, "note"), closed_at=now(ctx))
    if slot_id is not None:  # give the reserved slot back to the next grassroots patient
        ctx.db.execute(
            update(ReferralSlot)
            .where(ReferralSlot.id == slot_id, ReferralSlot.booked > 0)
            .values(booked=ReferralSlot.booked - 1)
            .execution_options(synchronize_session=False)
        )
        ctx.db.expire(referral.slot)


def _receive(ctx: Context, referral: Referral, target: ReferralState) -> None:
    move(ctx, referral, Action.RECEIVE, target, note=text_field(ctx, "note"))
    if referral.direction == ReferralDirection.DOWN:
        start_follow_up(ctx, referral)
        close_up_loop(ctx, referral)


def _close(ctx: Context, referral: Referral, target: ReferralState) -> None:
    move(ctx, referral, Action.CLOSE, target, note=text_field(ctx, "note"), closed_at=now(ctx))
    entry = ctx.db.scalar(select(FollowUpEntry).where(FollowUpEntry.referral_id == referral.id))
    if entry is not None and entry.closed_at is None:
        entry.closed_at = now(ctx)


def _plain(action: Action) -> Performer:
    """A step that only moves the referral, with an optional note."""

    def perform(ctx: Context, referral: Referral, target: ReferralState) -> None:
        move(ctx, referral, action, target, note=text_field(ctx, "note"))

    return perform


PERFORMERS: dict[Action, Performer] = {
    Action.RECEIVE: _receive,
    Action.BOOK: _book,
    Action.DECLINE: _decline,
    Action.ARRIVE: _plain(Action.ARRIVE),
    Action.ADMIT: _plain(Action.ADMIT),
    Action.TREAT: _plain(Action.TREAT),
    Action.DISCHARGE: _plain(Action.DISCHARGE),
    Action.CLOSE: _close,
    Action.CANCEL: _cancel,
}


def take_action(ctx: Context) -> Response:
    try:
        action = Action(ctx.path["action"])
    except ValueError:
        action = None
    if action not in PERFORMERS:
        raise ApiError(
            404, "unknown_action", f"no action {ctx.path['action']!r}; actions: {', '.join(PERFORMERS)}"
        )
    if ctx.body is None:
        ctx.body = {}
    referral, sides = visible_referral(ctx)
    source = referral.state
    target = permitted(referral, action, sides)
    if action not in WITHOUT_RECORD:
        require_identity(ctx, referral, sides)
    PERFORMERS[action](ctx, referral, target)
    ctx.db.flush()
    ctx.audit(
        f"referral_{action.value}",
        resource_type="referral",
        resource_id=referral.id,
        patient_id=referral.patient_id,
        detail={"from": source.value, "to": referral.state.value},
    )
    return JSONResponse(summary_json(ctx, referral, sides))


# --- written upstairs -------------------------------------------------------------------------------

NOTE_STATES = frozenset(
    {
        ReferralState.RECEIVED,
        ReferralState.BOOKED,
        ReferralState.ARRIVED,
        ReferralState.ADMITTED,
        ReferralState.TREATED,
        ReferralState.DISCHARGED,
    }
)


def add_note(ctx: Context) -> Response:
    """A receiving doctor writes the treatment plan or a record note; the referring doctor reads it."""
    referral, sides = visible_referral(ctx)
    if Side.RECEIVER not in sides or referral.direction != ReferralDirection.UP:
        raise AccessDenied(
            "referral",
            referral.id,
            referral.patient_id,
            reason="only doctors of the receiving hospital write its treatment plan and record notes",
        )
    if referral.state not in NOTE_STATES:
        raise ApiError(409, "illegal_transition", f"no notes on a referral that is {referral.state.value}")
    require_identity(ctx, referral, sides)
    note = ReferralNote(
        referral_id=referral.id,
        author_id=ctx.current_user.id,
        kind=choice(ctx, "kind", ReferralNoteKind),
        text=text_field(ctx, "text", required=True),
        created_at=now(ctx),
    )
    ctx.db.add(note)
    ctx.db.flush()
    ctx.audit(
        "referral_note_create",
        resource_type="referral",
        resource_id=referral.id,
        patient_id=referral.patient_id,
        detail={"note_id": note.id, "kind": note.kind.value},
    )
    return JSONResponse(
        {"id": note.id, "kind": note.kind.value, "created_at": note.created_at.isoformat()}, status_code=201
    )


# --- referral down ----------------------------------------------------------------------------------


def _follow_up_plan(ctx: Context) -> dict[str, Any]:
    plan = body_field(ctx, "follow_up", dict)
    text = plan.get("plan")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "missing_field", "field 'follow_up.plan' is required", field="follow_up.plan")
    due = plan.get("due_dates") or []
    try:
        dates = sorted({date.fromisoformat(d).isoformat() for d in due}) if isinstance(due, list) else None
    except (TypeError, ValueError):
        dates = None
    if dates is None:
        raise ApiError(
            400,
            "invalid_field",
            "follow_up.due_dates must be a list of YYYY-MM-DD",
            field="follow_up.due_dates",
        )
    try:
        colour = TriageColour(plan.get("colour") or TriageColour.GREEN)
    except ValueError:
        raise ApiError(
            400, "invalid_field", "follow_up.colour must be green, yellow or red", field="follow_up.colour"
        ) from None
    return {"plan": text.strip()[:MAX_TEXT], "due_dates": dates, "colour": colour.value}


def refer_down(ctx: Context) -> Response:
    """Send a treated or discharged patient back to the referring unit with a discharge and follow-up plan."""
    if ctx.body is None:
        ctx.body = {}
    up, sides = visible_referral(ctx)
    if up.direction != ReferralDirection.UP:
        raise ApiError(409, "illegal_transition", "only a referral up can be answered with a referral down")
    permitted(up, Action.REFER_DOWN, sides)
    require_identity(ctx, up, sides)
    if ctx.db.scalar(
        select(Referral.id).where(Referral.parent_id == up.id, Referral.state != ReferralState.CANCELLED)
    ):
        raise ApiError(409, "already_referred_down", "this patient was already referred down")
    at = now(ctx)
    down = Referral(
        direction=ReferralDirection.DOWN,
        state=ReferralState.SENT,
        case_id=up.case_id,
        parent=up,
        patient_id=up.patient_id,
        from_institution_id=up.to_institution_id,
        to_institution_id=up.from_institution_id,
        created_by=ctx.current_user,
        created_at=at,
        updated_at=at,
        reason=text_field(ctx, "reason"),
        diagnosis=text_field(ctx, "diagnosis", required=True),
        discharge_summary=text_field(ctx, "discharge_summary", required=True),
        follow_up_plan=_follow_up_plan(ctx),
    )
    ctx.db.add(down)
    ctx.db.flush()
    record_event(ctx, down, "send", None)
    record_event(ctx, up, Action.REFER_DOWN.value, up.state, f"referral down {down.id}")
    ctx.audit(
        "referral_refer_down",
        resource_type="referral",
        resource_id=up.id,
        patient_id=up.patient_id,
        detail={"down_referral_id": down.id},
    )
    down_sides = referral_sides(ctx.db, ctx.current_user, down)
    return JSONResponse(record_json(ctx, down, down_sides, None), status_code=201)


def close_up_loop(ctx: Context, down: Referral) -> None:
    """The grassroots unit has its patient back: the up referral this down referral answers is closed."""
    up = down.parent
    if up is None or up.state not in {ReferralState.TREATED, ReferralState.DISCHARGED}:
        return
    source, at = up.state, now(ctx)
    closed = ctx.db.execute(
        update(Referral)
        .where(Referral.id == up.id, Referral.state == source)
        .values(state=ReferralState.CLOSED, closed_at=at, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    ctx.db.refresh(up)
    if closed.rowcount == 1:
        record_event(ctx, up, Action.CLOSE.value, source, f"received back by {down.to_institution.name}")


routes = [
    api_route("/api/referrals", list_referrals, access=Access.only(CLINICAL_ROLES)),
    api_route("/api/referrals", create_referral, access=Access.only(Role.REQUESTER), methods=["POST"]),
    api_route("/api/referrals/{referral_id:int}", get_referral, access=Access.only(CLINICAL_ROLES)),
    api_route(
        "/api/referrals/{referral_id:int}/identity-check",
        check_identity,
        access=Access.only(CLINICAL_ROLES),
        methods=["POST"],
    ),
    api_route(
        "/api/referrals/{referral_id:int}/actions/{action}",
        take_action,
        access=Access.only(CLINICAL_ROLES),
        methods=["POST"],
    ),
    api_route(
        "/api/referrals/{referral_id:int}/notes",
        add_note,
        access=Access.only(Role.REQUESTER, Role.READER, Role.EXPERT),
        methods=["POST"],
    ),
    api_route(
        "/api/referrals/{referral_id:int}/down",
        refer_down,
        access=Access.only(Role.REQUESTER, Role.READER, Role.EXPERT),
        methods=["POST"],
    ),
]
