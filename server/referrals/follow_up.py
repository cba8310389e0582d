"""The grassroots doctor's follow-up list (随访): referred-down patients, their plans, due dates and colours.

A patient joins the list when the village or township doctor receives their referral down. Each
entry carries the three-colour triage (三色分级) that says who manages the chronic patient — green at
the village, yellow at the county GP + specialist clinic, red with specialist-alliance guidance —
and every change of colour is kept, with who changed it and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from server.access.actor import Actor
from server.access.policy import follow_up_scope
from server.core.clock import Clock
from server.core.errors import Conflict, Invalid, not_found
from server.referrals.lifecycle import DISCHARGE_TRIAGE_REASON
from server.referrals.models import FollowUpColourChange, FollowUpEntry, Referral, TriageColour
from server.referrals.office import local_today

MAX_LISTED = 500
MAX_REASON = 4000


@dataclass(frozen=True)
class FollowUp:
    """An entry as its reader sees it today: with its next due date."""

    entry: FollowUpEntry
    next_due: str | None


def next_due(entry: FollowUpEntry, today: date) -> str | None:
    """The first due date not before today (ISO strings compare as dates)."""
    return next((d for d in entry.due_dates if d >= today.isoformat()), None)


def start_follow_up(db: Session, clock: Clock, down: Referral) -> FollowUpEntry:
    """Put a received down referral's patient on the unit's list, in the colour the discharging doctor gave."""
    plan = down.follow_up_plan
    colour = TriageColour(plan.get("colour", TriageColour.GREEN))
    at = clock.now()
    entry = FollowUpEntry(
        institution_id=down.to_institution_id,
        patient_id=down.patient_id,
        referral_id=down.id,
        plan=plan.get("plan", ""),
        due_dates=plan.get("due_dates", []),
        colour=colour,
        created_at=at,
    )
    db.add(entry)
    db.flush()
    db.add(
        FollowUpColourChange(
            entry_id=entry.id,
            to_colour=colour,
            reason=DISCHARGE_TRIAGE_REASON,
            changed_by_id=down.created_by_id,
            at=at,
        )
    )
    return entry


def end_follow_up(db: Session, clock: Clock, referral: Referral) -> None:
    """A closed down referral ends its patient's follow-up (the entry leaves the open list)."""
    entry = db.scalar(select(FollowUpEntry).where(FollowUpEntry.referral_id == referral.id))
    if entry is not None and entry.closed_at is None:
        entry.closed_at = clock.now()


def list_follow_up(
    db: Session,
    actor: Actor,
    clock: Clock,
    *,
    colour: TriageColour | None = None,
    include_closed: bool = False,
) -> list[FollowUp]:
    """Open entries of my unit, soonest due first; `colour` filters, `include_closed` shows ended ones too."""
    query = select(FollowUpEntry).where(follow_up_scope(actor.person))
    if colour is not None:
        query = query.where(FollowUpEntry.colour == colour)
    if not include_closed:
        query = query.where(FollowUpEntry.closed_at.is_(None))
    entries = db.scalars(
        query.options(selectinload(FollowUpEntry.patient), selectinload(FollowUpEntry.referral))
        .order_by(FollowUpEntry.id)
        .limit(MAX_LISTED)
    ).all()
    today = local_today(clock)
    shown = sorted(
        (FollowUp(e, next_due(e, today)) for e in entries),
        key=lambda f: (f.next_due is None, f.next_due or ""),
    )
    actor.audit(
        db,
        "follow_up_list",
        resource_type="follow_up",
        detail={"count": len(shown), "colour": colour.value if colour else None},
    )
    return shown


def _visible_entry(db: Session, actor: Actor, entry_id: int) -> FollowUpEntry:
    entry = db.scalar(
        select(FollowUpEntry).where(FollowUpEntry.id == entry_id, follow_up_scope(actor.person))
    )
    if entry is None:
        raise not_found("follow-up entry")
    return entry


def read_follow_up(db: Session, actor: Actor, clock: Clock, entry_id: int) -> FollowUp:
    entry = _visible_entry(db, actor, entry_id)
    actor.audit(
        db, "follow_up_read", resource_type="follow_up", resource_id=entry.id, patient_id=entry.patient_id
    )
    return FollowUp(entry, next_due(entry, local_today(clock)))


def change_colour(
    db: Session, actor: Actor, clock: Clock, entry_id: int, colour: TriageColour, reason: str
) -> FollowUp:
    """Re-triage a patient (e.g. green → yellow when the blood pressure is no longer controlled)."""
    entry = _visible_entry(db, actor, entry_id)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise Invalid("invalid_field", f"'reason' must say why, in 1–{MAX_REASON} characters", field="reason")
    if entry.closed_at is not None:
        raise Conflict("follow_up_closed", "this follow-up has ended")
    if colour == entry.colour:
        raise Conflict("same_colour", f"the patient is already {colour.value}")
    previous = entry.colour
    entry.colour = colour
    db.add(
        FollowUpColourChange(
            entry_id=entry.id,
            from_colour=previous,
            to_colour=colour,
            reason=reason,
            changed_by_id=actor.person.id,
            at=clock.now(),
        )
    )
    db.flush()
    db.refresh(entry)
    actor.audit(
        db,
        "follow_up_colour",
        resource_type="follow_up",
        resource_id=entry.id,
        patient_id=entry.patient_id,
        detail={"from": previous.value, "to": colour.value},
    )
    return FollowUp(entry, next_due(entry, local_today(clock)))
