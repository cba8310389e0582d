"""Two-way referral (双向转诊): send up from a case, receive, book, decline, treat, refer down, close.

Who may take which step is `server.referrals.lifecycle`' answer (409 in the wrong state, an audited 403
for the wrong person); the state changes with a conditional UPDATE, as a case's do. Booking takes one
slot from the grassroots-reserved quota with `UPDATE ... SET booked = booked + 1 WHERE booked <
reserved`, so of two bookings racing for the last slot exactly one wins.

Every operation is a function `(db, actor, clock, ...)`; the steps a person takes by name (the
actions endpoint, the demo loader) go through `STEPS`, one performer per action.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.access.policy import AccessDenied, referral_scope, referral_sides, require_case
from server.cases.models import Case, Report, ReportStatus
from server.community.models import Institution
from server.core.clock import Clock
from server.core.errors import Conflict, Invalid, not_found
from server.core.lifecycle import Dispatcher, NotPermitted
from server.core.text import trimmed_text
from server.dicom.models import DicomSeries, DicomStudy
from server.referrals.follow_up import end_follow_up, start_follow_up
from server.referrals.identity import identity_check_required, require_identity
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
    Referral,
    ReferralDirection,
    ReferralEvent,
    ReferralNote,
    ReferralNoteKind,
    ReferralSlot,
    ReferralState,
    TriageColour,
)
from server.referrals.office import local_today
from server.referrals.visibility import visible_referral

MAX_TEXT = 20000
MAX_LISTED = 500
# Steps the office and the referring doctors take on the summary alone; every other step needs the record.
WITHOUT_RECORD = frozenset({Action.RECEIVE, Action.BOOK, Action.DECLINE, Action.CANCEL})
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


class Box(enum.StrEnum):
    INCOMING = "incoming"  # sent to my institution
    OUTGOING = "outgoing"  # sent from it


# --- what the doors show ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralSummary:
    """What anyone who may see the referral sees: no record, and what this user may do now."""

    referral: Referral
    sides: frozenset[Side]
    actions: list[Action]
    identity_check_required: bool


@dataclass(frozen=True)
class StudyMaterial:
    study: DicomStudy
    modalities: list[str]


@dataclass(frozen=True)
class ReferralRecord:
    """The whole referral: summary, letter, identifiers, the source case's material, notes and history."""

    summary: ReferralSummary
    checked_until: datetime | None
    case: Case
    studies: list[StudyMaterial]
    report: Report | None
    notes: Sequence[ReferralNote]
    events: Sequence[ReferralEvent]
    down_referral_id: int | None


def masked_name(name: str) -> str:
    """张秀英 → 张*英, 李明 → 李*: recognisable to the office, not a record."""
    if len(name) <= 1:
        return name
    return name[0] + "*" * max(1, len(name) - 2) + (name[-1] if len(name) > 2 else "")


def _summary(
    db: Session, actor: Actor, clock: Clock, referral: Referral, sides: frozenset[Side]
) -> ReferralSummary:
    return ReferralSummary(
        referral,
        sides,
        actions_for(referral.direction, referral.state, sides),
        identity_check_required(db, actor, clock, referral, sides),
    )


def _material(db: Session, case: Case) -> tuple[list[StudyMaterial], Report | None]:
    """What the source case carries: its studies and its signed report (the latest version)."""
    studies = db.scalars(
        select(DicomStudy).where(DicomStudy.case_id == case.id).order_by(DicomStudy.id)
    ).all()
    modalities: dict[int, set[str]] = {s.id: set() for s in studies}
    for study_id, modality in db.execute(
        select(DicomSeries.study_id, DicomSeries.modality)
        .where(DicomSeries.study_id.in_(modalities))
        .distinct()
    ):
        modalities[study_id].add(modality)
    report = db.scalar(
        select(Report)
        .where(Report.case_id == case.id, Report.status == ReportStatus.SIGNED)
        .order_by(Report.version.desc())
        .limit(1)
    )
    return [StudyMaterial(s, sorted(filter(None, modalities[s.id]))) for s in studies], report


def _record(
    db: Session,
    actor: Actor,
    clock: Clock,
    referral: Referral,
    sides: frozenset[Side],
    checked_until: datetime | None,
) -> ReferralRecord:
    studies, report = _material(db, referral.case)
    return ReferralRecord(
        summary=_summary(db, actor, clock, referral, sides),
        checked_until=checked_until,
        case=referral.case,
        studies=studies,
        report=report,
        notes=db.scalars(
            select(ReferralNote).where(ReferralNote.referral_id == referral.id).order_by(ReferralNote.id)
        ).all(),
        events=db.scalars(
            select(ReferralEvent).where(ReferralEvent.referral_id == referral.id).order_by(ReferralEvent.id)
        ).all(),
        down_referral_id=db.scalar(
            select(Referral.id).where(Referral.parent_id == referral.id).order_by(Referral.id.desc()).limit(1)
        ),
    )


# --- rules shared by the steps ----------------------------------------------------------------------


def letter_text(name: str, value: str | None, *, required: bool = False) -> str:
    """A text of the referral letter."""
    return trimmed_text(name, value, MAX_TEXT, required=required)


def _rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE changed (its result is a cursor's)."""
    return cast(CursorResult[Any], result).rowcount


def _record_event(
    db: Session,
    actor: Actor,
    clock: Clock,
    referral: Referral,
    action: str,
    source: ReferralState | None,
    note: str = "",
) -> None:
    db.add(
        ReferralEvent(
            referral_id=referral.id,
            action=action,
            from_state=source,
            to_state=referral.state,
            actor_id=actor.user_id,
            at=clock.now(),
            note=note,
        )
    )


def _move(
    db: Session,
    actor: Actor,
    clock: Clock,
    referral: Referral,
    action: Action,
    target: ReferralState,
    note: str = "",
    **values: Any,
) -> None:
    """From the state it was checked in to `target`, atomically (409 if someone moved it meanwhile)."""
    source = referral.state
    changed = db.execute(
        update(Referral)
        .where(Referral.id == referral.id, Referral.state == source)
        .values(state=target, updated_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    db.refresh(referral)
    if _rowcount(changed) != 1:
        raise Conflict(
            "conflict",
            f"the referral changed meanwhile: it is now {referral.state.value}",
            action=action.value,
            state=referral.state.value,
        )
    _record_event(db, actor, clock, referral, action.value, source, note)


def _permitted(referral: Referral, action: Action, sides: frozenset[Side]) -> ReferralState:
    """The state `action` leads to; 409 in the wrong state, an audited 403 for the wrong person."""
    try:
        return decide(referral.direction, action, referral.state, sides)
    except NotPermitted as refusal:
        raise AccessDenied("referral", referral.id, referral.patient_id, reason=str(refusal)) from None


Performer = Callable[[Session, Actor, Clock, Referral, ReferralState], None]


def _step(
    db: Session, actor: Actor, clock: Clock, referral_id: int, action: Action, perform: Performer
) -> ReferralSummary:
    """One step a person takes: seen, permitted, identity confirmed if the step needs the record, done, audited."""
    referral, sides = visible_referral(db, actor.person, referral_id)
    source = referral.state
    target = _permitted(referral, action, sides)
    if action not in WITHOUT_RECORD:
        require_identity(db, actor, clock, referral, sides)
    perform(db, actor, clock, referral, target)
    db.flush()
    actor.audit(
        db,
        f"referral_{action.value}",
        resource_type="referral",
        resource_id=referral.id,
        patient_id=referral.patient_id,
        detail={"from": source.value, "to": referral.state.value},
    )
    return _summary(db, actor, clock, referral, sides)


def _plain(action: Action, note: str | None) -> Performer:
    """A step that only moves the referral, with an optional note."""

    def perform(db: Session, actor: Actor, clock: Clock, referral: Referral, target: ReferralState) -> None:
        _move(db, actor, clock, referral, action, target, note=letter_text("note", note))

    return perform


# --- creating a referral up -------------------------------------------------------------------------


@dataclass(frozen=True)
class UpLetter:
    """The letter (转诊单) a family doctor sends up with a case's material."""

    case_id: int
    to_institution_id: int
    reason: str | None
    diagnosis: str | None
    history: str | None = None
    treatment: str | None = None


def create_referral(db: Session, actor: Actor, clock: Clock, letter: UpLetter) -> ReferralRecord:
    """A family doctor refers their patient up, from a case whose material travels with the letter."""
    user = actor.person
    case = db.get(Case, letter.case_id)
    if case is None:
        raise not_found("case")
    require_case(db, user, case)
    target = db.get(Institution, letter.to_institution_id)
    source = user.institution
    if target is None or source is None or target.community_id != source.community_id:
        raise Invalid("invalid_field", "'to_institution_id' must name an institution of your community")
    if not is_upward(source, target):
        raise Invalid("not_upward", f"{target.name} is not above {source.name}; refer up to a higher tier")
    patient = case.patient
    if not (patient.national_id or patient.health_card_no):
        raise Invalid(
            "patient_identifier_required",
            "the receiving hospital checks the patient's identity: record their national ID or health-card number",
        )
    if db.scalar(
        select(Referral.id).where(
            Referral.case_id == case.id,
            Referral.direction == ReferralDirection.UP,
            Referral.state.in_(OPEN_STATES),
        )
    ):
        raise Conflict("already_referred", "this case already has an open referral up")
    at = clock.now()
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
        reason=letter_text("reason", letter.reason, required=True),
        diagnosis=letter_text("diagnosis", letter.diagnosis, required=True),
        history=letter_text("history", letter.history),
        treatment=letter_text("treatment", letter.treatment),
        priority=priority_flags(user, patient),
    )
    db.add(referral)
    db.flush()
    _record_event(db, actor, clock, referral, "send", None)
    actor.audit(
        db,
        "referral_create",
        resource_type="referral",
        resource_id=referral.id,
        patient_id=patient.id,
        detail={"case_id": case.id, "to_institution_id": target.id, "priority": referral.priority},
    )
    return _record(db, actor, clock, referral, referral_sides(db, user, referral), None)


# --- reading ----------------------------------------------------------------------------------------


def list_referrals(
    db: Session,
    actor: Actor,
    clock: Clock,
    *,
    box: Box | None = None,
    state: ReferralState | None = None,
    direction: ReferralDirection | None = None,
) -> list[ReferralSummary]:
    """Incoming (to my institution) or outgoing (from it) referrals, newest first; summaries only."""
    user = actor.person
    query = select(Referral).where(referral_scope(user))
    if box == Box.INCOMING:
        query = query.where(Referral.to_institution_id == user.institution_id)
    elif box == Box.OUTGOING:
        query = query.where(Referral.from_institution_id == user.institution_id)
    if state is not None:
        query = query.where(Referral.state == state)
    if direction is not None:
        query = query.where(Referral.direction == direction)
    referrals = db.scalars(
        query.order_by(Referral.created_at.desc(), Referral.id.desc()).limit(MAX_LISTED)
    ).all()
    actor.audit(
        db,
        "referral_list",
        resource_type="referral",
        detail={"count": len(referrals), "referrals": [r.id for r in referrals]},
    )
    return [_summary(db, actor, clock, r, referral_sides(db, user, r)) for r in referrals]


def read_referral(db: Session, actor: Actor, clock: Clock, referral_id: int) -> ReferralRecord:
    """The record, once this user has confirmed the patient's identity (the referring doctors need not)."""
    referral, sides = visible_referral(db, actor.person, referral_id)
    checked_until = require_identity(db, actor, clock, referral, sides)
    actor.audit(
        db, "referral_read", resource_type="referral", resource_id=referral.id, patient_id=referral.patient_id
    )
    return _record(db, actor, clock, referral, sides, checked_until)


# --- steps ------------------------------------------------------------------------------------------


def receive(
    db: Session, actor: Actor, clock: Clock, referral_id: int, note: str | None = None
) -> ReferralSummary:
    """The office takes note of a referral up; the grassroots doctor takes a patient back down (and
    the patient joins their follow-up list, and the up referral's loop is closed)."""

    def perform(db: Session, actor: Actor, clock: Clock, referral: Referral, target: ReferralState) -> None:
        _move(db, actor, clock, referral, Action.RECEIVE, target, note=letter_text("note", note))
        if referral.direction == ReferralDirection.DOWN:
            start_follow_up(db, clock, referral)
            _close_up_loop(db, actor, clock, referral)

    return _step(db, actor, clock, referral_id, Action.RECEIVE, perform)


def book(db: Session, actor: Actor, clock: Clock, referral_id: int, slot_id: int) -> ReferralSummary:
    """The office books a received referral into a slot of the grassroots reserve (409 once it is all taken)."""

    def perform(db: Session, actor: Actor, clock: Clock, referral: Referral, target: ReferralState) -> None:
        slot = db.get(ReferralSlot, slot_id)
        if slot is None or slot.institution_id != referral.to_institution_id:
            raise Invalid(
                "invalid_field", "'slot_id' must name a slot of the receiving institution", field="slot_id"
            )
        if slot.day < local_today(clock):
            raise Conflict("slot_past", f"the slot of {slot.day.isoformat()} is in the past")
        source = referral.from_institution
        if source.tier not in GRASSROOTS_TIERS or source.community_id != referral.to_institution.community_id:
            raise Conflict(
                "not_grassroots", "the reserved quota is for referrals from this community's grassroots units"
            )
        taken = db.execute(
            update(ReferralSlot)
            .where(ReferralSlot.id == slot.id, ReferralSlot.booked < ReferralSlot.reserved)
            .values(booked=ReferralSlot.booked + 1)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(taken) != 1:
            raise Conflict(
                "quota_exhausted",
                f"the {slot.reserved} slots reserved for grassroots referrals on {slot.day.isoformat()}"
                " are all booked",
                slot_id=slot.id,
            )
        _move(
            db,
            actor,
            clock,
            referral,
            Action.BOOK,
            target,
            slot_id=slot.id,
            booked_by_id=actor.person.id,
            booked_at=clock.now(),
        )
        db.refresh(slot)  # the answer shows what is left of the reserve

    return _step(db, actor, clock, referral_id, Action.BOOK, perform)


def decline(db: Session, actor: Actor, clock: Clock, referral_id: int, reason: str | None) -> ReferralSummary:
    """The office declines a referral up, saying why (the reason is required)."""

    def perform(db: Session, actor: Actor, clock: Clock, referral: Referral, target: ReferralState) -> None:
        why = letter_text("reason", reason, required=True)
        _move(db, actor, clock, referral, Action.DECLINE, target, note=why, decline_reason=why)

    return _step(db, actor, clock, referral_id, Action.DECLINE, perform)


def arrive(
    db: Session, actor: Actor, clock: Clock, referral_id: int, note: str | None = None
) -> ReferralSummary:
    """The booked patient has arrived at the receiving hospital."""
    return _step(db, actor, clock, referral_id, Action.ARRIVE, _plain(Action.ARRIVE, note))


def admit(
    db: Session, actor: Actor, clock: Clock, referral_id: int, note: str | None = None
) -> ReferralSummary:
    """The arrived patient is admitted."""
    return _step(db, actor, clock, referral_id, Action.ADMIT, _plain(Action.ADMIT, note))


def treat(
    db: Session, actor: Actor, clock: Clock, referral_id: int, note: str | None = None
) -> ReferralSummary:
    """The arrived patient's outpatient care is finished."""
    return _step(db, actor, clock, referral_id, Action.TREAT, _plain(Action.TREAT, note))


def discharge(
    db: Session, actor: Actor, clock: Clock, referral_id: int, note: str | None = None
) -> ReferralSummary:
    """The admitted patient is discharged."""
    return _step(db, actor, clock, referral_id, Action.DISCHARGE, _plain(Action.DISCHARGE, note))


def close(
    db: Session, actor: Actor, clock: Clock, referral_id: int, note: str | None = None
) -> ReferralSummary:
    """A treated or discharged referral up, or a received referral down (ending its follow-up), is closed."""

    def perform(db: Session, actor: Actor, clock: Clock, referral: Referral, target: ReferralState) -> None:
        _move(
            db,
            actor,
            clock,
            referral,
            Action.CLOSE,
            target,
            note=letter_text("note", note),
            closed_at=clock.now(),
        )
        end_follow_up(db, clock, referral)

    return _step(db, actor, clock, referral_id, Action.CLOSE, perform)


def cancel(
    db: Session, actor: Actor, clock: Clock, referral_id: int, note: str | None = None
) -> ReferralSummary:
    """The sender withdraws the referral; a booked slot goes back to the grassroots reserve."""

    def perform(db: Session, actor: Actor, clock: Clock, referral: Referral, target: ReferralState) -> None:
        slot_id = referral.slot_id
        _move(
            db,
            actor,
            clock,
            referral,
            Action.CANCEL,
            target,
            note=letter_text("note", note),
            closed_at=clock.now(),
        )
        if slot_id is not None:  # give the reserved slot back to the next grassroots patient
            db.execute(
                update(ReferralSlot)
                .where(ReferralSlot.id == slot_id, ReferralSlot.booked > 0)
                .values(booked=ReferralSlot.booked - 1)
                .execution_options(synchronize_session=False)
            )
            if referral.slot is not None:
                db.expire(referral.slot)

    return _step(db, actor, clock, referral_id, Action.CANCEL, perform)


@dataclass(frozen=True)
class StepInput:
    """What a person may send with a step: a note, a decline's reason, a booking's slot."""

    note: str | None = None
    reason: str | None = None
    slot_id: int | None = None


StepPerformer = Callable[[Session, Actor, Clock, int, StepInput], ReferralSummary]


def _noted(step: Callable[[Session, Actor, Clock, int, str | None], ReferralSummary]) -> StepPerformer:
    def perform(
        db: Session, actor: Actor, clock: Clock, referral_id: int, given: StepInput
    ) -> ReferralSummary:
        return step(db, actor, clock, referral_id, given.note)

    return perform


def _book_step(
    db: Session, actor: Actor, clock: Clock, referral_id: int, given: StepInput
) -> ReferralSummary:
    if given.slot_id is None:
        raise Invalid("missing_field", "field 'slot_id' is required", field="slot_id")
    return book(db, actor, clock, referral_id, given.slot_id)


def _decline_step(
    db: Session, actor: Actor, clock: Clock, referral_id: int, given: StepInput
) -> ReferralSummary:
    return decline(db, actor, clock, referral_id, given.reason)


# The steps a person takes by name (`POST /api/referrals/{id}/actions/{action}`); a referral down is
# sent with its own letter and plan (`refer_down`), so it is not among them.
STEPS: Dispatcher[Action, ReferralSummary] = Dispatcher(
    "referral",
    Action,
    {
        Action.RECEIVE: _noted(receive),
        Action.BOOK: _book_step,
        Action.DECLINE: _decline_step,
        Action.ARRIVE: _noted(arrive),
        Action.ADMIT: _noted(admit),
        Action.TREAT: _noted(treat),
        Action.DISCHARGE: _noted(discharge),
        Action.CLOSE: _noted(close),
        Action.CANCEL: _noted(cancel),
    },
)


def take_step(
    db: Session, actor: Actor, clock: Clock, referral_id: int, action: str, given: StepInput
) -> ReferralSummary:
    """The step called `action` (404 `unknown_action` if there is none), with what came with it."""
    return STEPS.performer(STEPS.action(action))(db, actor, clock, referral_id, given)


# --- written upstairs -------------------------------------------------------------------------------


def add_note(
    db: Session, actor: Actor, clock: Clock, referral_id: int, kind: ReferralNoteKind, text: str | None
) -> ReferralNote:
    """A receiving doctor writes the treatment plan or a record note; the referring doctor reads it."""
    referral, sides = visible_referral(db, actor.person, referral_id)
    if Side.RECEIVER not in sides or referral.direction != ReferralDirection.UP:
        raise AccessDenied(
            "referral",
            referral.id,
            referral.patient_id,
            reason="only doctors of the receiving hospital write its treatment plan and record notes",
        )
    if referral.state not in NOTE_STATES:
        raise Conflict("illegal_transition", f"no notes on a referral that is {referral.state.value}")
    require_identity(db, actor, clock, referral, sides)
    note = ReferralNote(
        referral_id=referral.id,
        author_id=actor.person.id,
        kind=kind,
        text=letter_text("text", text, required=True),
        created_at=clock.now(),
    )
    db.add(note)
    db.flush()
    actor.audit(
        db,
        "referral_note_create",
        resource_type="referral",
        resource_id=referral.id,
        patient_id=referral.patient_id,
        detail={"note_id": note.id, "kind": note.kind.value},
    )
    return note


# --- referral down ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpPlan:
    """What the grassroots doctor follows: the plan, its due dates and the patient's triage colour."""

    plan: str
    due_dates: list[date] = field(default_factory=list)
    colour: TriageColour = TriageColour.GREEN


@dataclass(frozen=True)
class DownLetter:
    """A discharge summary and a follow-up plan, sent back down with the patient."""

    diagnosis: str | None
    discharge_summary: str | None
    follow_up: FollowUpPlan
    reason: str | None = None


def _plan(plan: FollowUpPlan) -> dict[str, Any]:
    text = plan.plan.strip()
    if not text:
        raise Invalid("missing_field", "field 'follow_up.plan' is required", field="follow_up.plan")
    return {
        "plan": text[:MAX_TEXT],
        "due_dates": sorted({d.isoformat() for d in plan.due_dates}),
        "colour": plan.colour.value,
    }


def refer_down(
    db: Session, actor: Actor, clock: Clock, referral_id: int, letter: DownLetter
) -> ReferralRecord:
    """Send a treated or discharged patient back to the referring unit with a discharge and follow-up plan."""
    user = actor.person
    up, sides = visible_referral(db, user, referral_id)
    if up.direction != ReferralDirection.UP:
        raise Conflict("illegal_transition", "only a referral up can be answered with a referral down")
    _permitted(up, Action.REFER_DOWN, sides)
    require_identity(db, actor, clock, up, sides)
    if db.scalar(
        select(Referral.id).where(Referral.parent_id == up.id, Referral.state != ReferralState.CANCELLED)
    ):
        raise Conflict("already_referred_down", "this patient was already referred down")
    at = clock.now()
    down = Referral(
        direction=ReferralDirection.DOWN,
        state=ReferralState.SENT,
        case_id=up.case_id,
        parent=up,
        patient_id=up.patient_id,
        from_institution_id=up.to_institution_id,
        to_institution_id=up.from_institution_id,
        created_by=user,
        created_at=at,
        updated_at=at,
        reason=letter_text("reason", letter.reason),
        diagnosis=letter_text("diagnosis", letter.diagnosis, required=True),
        discharge_summary=letter_text("discharge_summary", letter.discharge_summary, required=True),
        follow_up_plan=_plan(letter.follow_up),
    )
    db.add(down)
    db.flush()
    _record_event(db, actor, clock, down, "send", None)
    _record_event(db, actor, clock, up, Action.REFER_DOWN.value, up.state, f"referral down {down.id}")
    actor.audit(
        db,
        "referral_refer_down",
        resource_type="referral",
        resource_id=up.id,
        patient_id=up.patient_id,
        detail={"down_referral_id": down.id},
    )
    return _record(db, actor, clock, down, referral_sides(db, user, down), None)


def _close_up_loop(db: Session, actor: Actor, clock: Clock, down: Referral) -> None:
    """The grassroots unit has its patient back: the up referral this down referral answers is closed."""
    up = down.parent
    if up is None or up.state not in {ReferralState.TREATED, ReferralState.DISCHARGED}:
        return
    source, at = up.state, clock.now()
    closed = db.execute(
        update(Referral)
        .where(Referral.id == up.id, Referral.state == source)
        .values(state=ReferralState.CLOSED, closed_at=at, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    db.refresh(up)
    if _rowcount(closed) == 1:
        _record_event(
            db, actor, clock, up, Action.CLOSE.value, source, f"received back by {down.to_institution.name}"
        )
