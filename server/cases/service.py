"""Cases: opened by a member institution for a patient, read by those who stand in a relation to them,
and moved through their lifecycle (`server.cases.workflow`) one step at a time.

Whether a step is allowed is the lifecycle's answer (409 in the wrong state, an audited 403 for the
wrong person). The state then changes with a conditional UPDATE (`... WHERE status = <the state we
checked>`), so of two requests racing for the same step (two readers claiming one case) exactly one
changes the row and the other gets 409 `conflict`. Each step is written as a `CaseEvent` (who, when,
from, to, note) in the same transaction. Report steps (sign, amend) are in `server.cases.reports`;
the one entry point for a person's action by name is `server.cases.actions.take_action`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, selectinload

from server.access.actor import Actor
from server.access.policy import AccessDenied, case_relations, case_scope, require_case
from server.cases.models import Case, CaseEvent, CaseKind, CaseStatus, NotificationKind, Urgency
from server.cases.notifications import notify
from server.cases.overdue import flag_overdue
from server.cases.workflow import Action, Relation, TargetTimes, actions_for, decide, routing_action
from server.community.models import CentreKind, Institution, ReadingCentre, Role, User
from server.core.clock import Clock
from server.core.errors import Conflict, Invalid, not_found
from server.core.lifecycle import NotPermitted
from server.core.text import trimmed_text
from server.patients.models import Patient

MAX_LISTED = 500
MAX_NOTE = 4000


@dataclass(frozen=True)
class NewPatient:
    """A patient registered with a new case, at the requester's institution."""

    name: str
    sex: str | None = None  # M, F or O
    birth_date: date | None = None
    national_id: str | None = None
    health_card_no: str | None = None


@dataclass(frozen=True)
class NewCase:
    """A case to open: for the existing patient `patient_id` (own institution only), else for `patient`."""

    kind: CaseKind
    urgency: Urgency = Urgency.ROUTINE
    clinical_question: str = ""
    patient_id: int | None = None
    patient: NewPatient | None = None


@dataclass(frozen=True)
class CaseView:
    """A case with what the actor may do with it now (the UI's buttons)."""

    case: Case
    actions: list[Action]


@dataclass(frozen=True)
class Step:
    """A case after a person's action, with the events the action wrote (its own and the routing's)."""

    case: Case
    actions: list[Action]
    events: list[CaseEvent]


# ---- seeing a case ---------------------------------------------------------------------------------


def visible_case(db: Session, actor: Actor, case_id: int) -> Case:
    """The case `case_id`, if the actor may see it (404 if none; an audited 403 if not theirs)."""
    case = db.get(Case, case_id)
    if case is None:
        raise not_found("case")
    require_case(db, actor.person, case)
    return case


class CaseMaterial(Protocol):
    """A row that belongs to one case (an ECG, a slide): seen by exactly those who see the case."""

    id: int
    case: Case


M = TypeVar("M", bound=CaseMaterial)


def visible_material(db: Session, actor: Actor, model: type[M], row_id: int, what: str) -> M:
    """The `model` row `row_id`, if the actor may see its case."""
    row = db.get(model, row_id)
    if row is None:
        raise not_found(what)
    require_case(db, actor.person, row.case)
    return row


def materials_of(db: Session, actor: Actor, model: type[M], case_id: int, resource: str) -> list[M]:
    """The case's `model` rows (its ECGs, its slides) in the order they came; the listing is audited."""
    case = visible_case(db, actor, case_id)
    rows: list[M] = sorted(db.scalars(select(model).filter_by(case_id=case.id)), key=lambda row: row.id)
    actor.audit(
        db, f"{resource}_list_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id
    )
    return rows


def audit_material_read(db: Session, actor: Actor, row: CaseMaterial, resource: str, part: str) -> None:
    """Record that the actor read `part` of a case's material (the record, a page, a tile...)."""
    actor.audit(
        db,
        f"{resource}_read",
        resource_type=resource,
        resource_id=row.id,
        patient_id=row.case.patient_id,
        detail={"part": part},
    )


def relations(db: Session, actor: Actor, case: Case) -> frozenset[Relation]:
    return case_relations(db, actor.person, case)


def available_actions(db: Session, actor: Actor, case: Case) -> list[Action]:
    """What the actor may do with the case now."""
    return actions_for(case.status, relations(db, actor, case))


def permitted(db: Session, actor: Actor, case: Case, action: Action) -> CaseStatus:
    """The state `action` takes the case to, if the actor may take it now; else 409 or an audited 403."""
    try:
        return decide(action, case.status, relations(db, actor, case))
    except NotPermitted as refusal:
        raise AccessDenied("case", case.id, case.patient_id, reason=str(refusal)) from None


def list_cases(db: Session, actor: Actor, clock: Clock) -> Sequence[Case]:
    """The newest cases the actor may see (overdue flags brought up to date first)."""
    flag_overdue(db, clock.now())
    cases = db.scalars(
        select(Case).where(case_scope(actor.person)).order_by(Case.created_at.desc()).limit(MAX_LISTED)
    ).all()
    actor.audit(db, "case_list", resource_type="case", detail={"count": len(cases)})
    return cases


def read_case(db: Session, actor: Actor, clock: Clock, case_id: int) -> CaseView:
    """One case the actor may see, with what they may do with it now."""
    flag_overdue(db, clock.now())
    case = visible_case(db, actor, case_id)
    actor.audit(db, "case_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return CaseView(case, available_actions(db, actor, case))


def list_events(db: Session, actor: Actor, case_id: int) -> Sequence[CaseEvent]:
    """Every step of a case the actor may see, in order."""
    case = visible_case(db, actor, case_id)
    events = db.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id)
        .options(selectinload(CaseEvent.actor))
        .order_by(CaseEvent.id)
    ).all()
    actor.audit(db, "case_events_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return events


# ---- opening a case --------------------------------------------------------------------------------


def _patient_for(db: Session, actor: Actor, new: NewCase) -> Patient:
    """The existing patient named by `patient_id` (own institution only) or a new one from `patient`."""
    user = actor.person
    if new.patient_id is not None:
        patient = db.get(Patient, new.patient_id)
        if patient is None or patient.institution_id != user.institution_id:
            raise not_found("patient")
        return patient
    if new.patient is None:
        raise Invalid("missing_field", "field 'patient' is required", field="patient")
    details = new.patient
    if not details.name.strip():
        raise Invalid("missing_field", "field 'patient.name' is required", field="patient.name")
    if details.sex not in (None, "M", "F", "O"):
        raise Invalid("invalid_field", "patient.sex must be M, F or O", field="patient.sex")
    patient = Patient(
        institution_id=user.institution_id,
        name=details.name.strip(),
        sex=details.sex,
        birth_date=details.birth_date,
        national_id=details.national_id or None,
        health_card_no=details.health_card_no or None,
    )
    db.add(patient)
    db.flush()
    actor.audit(db, "patient_create", resource_type="patient", resource_id=patient.id, patient_id=patient.id)
    return patient


def create_case(db: Session, actor: Actor, clock: Clock, new: NewCase) -> CaseView:
    """A draft case of the actor's institution (a requester's), for an existing or a new patient."""
    user = actor.person
    if user.institution_id is None:
        raise Invalid("no_institution", "your account belongs to no institution")
    patient = _patient_for(db, actor, new)
    case = Case(
        institution_id=user.institution_id,
        patient=patient,
        created_by_id=user.id,
        kind=new.kind,
        urgency=new.urgency,
        clinical_question=new.clinical_question.strip(),
        created_at=clock.now(),
    )
    db.add(case)
    db.flush()
    actor.audit(db, "case_create", resource_type="case", resource_id=case.id, patient_id=patient.id)
    return CaseView(case, available_actions(db, actor, case))


# ---- moving a case ---------------------------------------------------------------------------------


def move(
    db: Session,
    actor: Actor,
    at: datetime,
    case: Case,
    action: Action,
    target: CaseStatus,
    *,
    by_platform: bool = False,
    note: str = "",
    detail: dict[str, Any] | None = None,
    only_if: tuple[ColumnElement[bool], ...] = (),
    **values: Any,
) -> CaseEvent:
    """Change the case from the state it was checked in to `target`, atomically, and record the step."""
    source = case.status
    changed: CursorResult[Any] = db.execute(  # type: ignore[assignment]  # an UPDATE's result is a cursor result
        update(Case)
        .where(Case.id == case.id, Case.status == source, *only_if)
        .values(status=target, updated_at=at, **values)
        .execution_options(synchronize_session=False)
    )
    db.refresh(case)
    if changed.rowcount != 1:
        raise Conflict(
            "conflict",
            f"the case changed meanwhile: it is now {case.status.value}"
            + (f", taken by {case.assigned_to.display_name}" if case.assigned_to else ""),
            action=action.value,
            state=case.status.value,
        )
    event = CaseEvent(
        case_id=case.id,
        action=action.value,
        from_status=source,
        to_status=target,
        actor_id=None if by_platform else actor.user_id,
        at=at,
        note=note,
        detail=detail or {},
    )
    db.add(event)
    return event


def perform(
    db: Session,
    actor: Actor,
    case_id: int,
    action: Action,
    work: Callable[[Case, CaseStatus], list[CaseEvent]],
) -> Step:
    """One person's action on a case they may see: checked against the lifecycle, done by `work`
    (given the case and the state the action leads to), audited."""
    case = visible_case(db, actor, case_id)
    source = case.status
    target = permitted(db, actor, case, action)
    events = work(case, target)
    db.flush()
    actor.audit(
        db,
        f"case_{action.value}",
        resource_type="case",
        resource_id=case.id,
        patient_id=case.patient_id,
        detail={"from": source.value, "to": case.status.value},
    )
    return Step(case, available_actions(db, actor, case), events)


def free_text(name: str, value: str | None, *, required: bool = False) -> str:
    """A free-text field of a case step (a note, a reason)."""
    return trimmed_text(name, value, MAX_NOTE, required=required)


def colleague(db: Session, field: str, user_id: int | None, role: Role, centre_id: int | None = None) -> User:
    """The active user `user_id` (named by `field`), holding `role` (and working at `centre_id`, if given)."""
    if user_id is None:
        raise Invalid("missing_field", f"field '{field}' is required", field=field)
    user = db.get(User, user_id)
    if user is None or not user.active or user.role != role or (centre_id and user.centre_id != centre_id):
        where = " of this case's reading centre" if centre_id else ""
        raise Invalid("invalid_field", f"'{field}' must name an active {role.value}{where}", field=field)
    return user


def centre_for(db: Session, case: Case) -> ReadingCentre | None:
    """The reading centre of the case's kind in the requester's medical community (routing by kind)."""
    if case.kind.value not in set(CentreKind):
        return None
    return db.scalar(
        select(ReadingCentre)
        .join(Institution, ReadingCentre.institution_id == Institution.id)
        .where(
            Institution.community_id == case.institution.community_id,
            ReadingCentre.kind == CentreKind(case.kind.value),
        )
        .order_by(ReadingCentre.id)
        .limit(1)
    )


def _submission_times(case: Case, at: datetime, targets: TargetTimes) -> dict[str, Any]:
    """A (re)submitted case starts waiting now and is due after its urgency's target time."""
    return {"submitted_at": at, "target_at": at + targets.for_urgency(case.urgency), "overdue_at": None}


def _route(db: Session, actor: Actor, at: datetime, case: Case) -> CaseEvent:
    """After (re)submission: to its addressee (named expert, or the reader who returned it), else its centre."""
    action = routing_action(case.assigned_to_id is not None)
    target = decide(action, case.status, {Relation.SYSTEM})
    if action == Action.ADDRESS:
        assert case.assigned_to_id is not None
        notify(db, case, NotificationKind.ASSIGNED, at, user_id=case.assigned_to_id)
        return move(db, actor, at, case, action, target, by_platform=True, claimed_at=at)
    return move(db, actor, at, case, action, target, by_platform=True, detail={"centre_id": case.centre_id})


def submit(
    db: Session,
    actor: Actor,
    clock: Clock,
    case_id: int,
    *,
    targets: TargetTimes,
    note: str | None = None,
    expert_id: int | None = None,
) -> Step:
    """Submit a draft: addressed to the expert `expert_id`, else queued at the centre of its kind."""
    at = clock.now()

    def work(case: Case, target: CaseStatus) -> list[CaseEvent]:
        values = _submission_times(case, at, targets)
        if expert_id is not None:
            values["assigned_to_id"] = colleague(db, "expert", expert_id, Role.EXPERT).id
        else:
            centre = centre_for(db, case)
            if centre is None:
                raise Invalid(
                    "expert_required",
                    f"your medical community has no reading centre for {case.kind.value} cases;"
                    " address the case to an expert ('expert')",
                    field="expert",
                )
            values["centre_id"] = centre.id
        submitted = move(db, actor, at, case, Action.SUBMIT, target, note=free_text("note", note), **values)
        return [submitted, _route(db, actor, at, case)]

    return perform(db, actor, case_id, Action.SUBMIT, work)


def resubmit(
    db: Session, actor: Actor, clock: Clock, case_id: int, *, targets: TargetTimes, note: str | None = None
) -> Step:
    """Send a returned case back, to the reader who returned it (or its centre's queue); the clock restarts."""
    at = clock.now()

    def work(case: Case, target: CaseStatus) -> list[CaseEvent]:
        text = free_text("note", note)
        resubmitted = move(
            db, actor, at, case, Action.RESUBMIT, target, note=text, **_submission_times(case, at, targets)
        )
        return [resubmitted, _route(db, actor, at, case)]

    return perform(db, actor, case_id, Action.RESUBMIT, work)


def claim(db: Session, actor: Actor, clock: Clock, case_id: int) -> Step:
    """A centre's reader takes a queued case; of two racing, one wins and the other gets 409."""
    at = clock.now()

    def work(case: Case, target: CaseStatus) -> list[CaseEvent]:
        only_if = (Case.assigned_to_id.is_(None),)
        return [
            move(
                db,
                actor,
                at,
                case,
                Action.CLAIM,
                target,
                only_if=only_if,
                assigned_to_id=actor.user_id,
                claimed_at=at,
            )
        ]

    return perform(db, actor, case_id, Action.CLAIM, work)


def assign(
    db: Session, actor: Actor, clock: Clock, case_id: int, *, assignee_id: int | None, note: str | None = None
) -> Step:
    """The centre's dispatcher (or an administrator) gives a case to a reader of the centre."""
    at = clock.now()

    def work(case: Case, target: CaseStatus) -> list[CaseEvent]:
        if case.centre_id is None:
            raise Conflict(
                "not_at_a_centre", "the case is addressed to an expert, not queued at a reading centre"
            )
        assignee = colleague(db, "assignee", assignee_id, Role.READER, centre_id=case.centre_id)
        event = move(
            db,
            actor,
            at,
            case,
            Action.ASSIGN,
            target,
            note=free_text("note", note),
            detail={"assignee": assignee.id, "previous": case.assigned_to_id},
            assigned_to_id=assignee.id,
            claimed_at=at,
        )
        notify(db, case, NotificationKind.ASSIGNED, at, user_id=assignee.id)
        return [event]

    return perform(db, actor, case_id, Action.ASSIGN, work)


def start_review(db: Session, actor: Actor, clock: Clock, case_id: int) -> Step:
    at = clock.now()
    return perform(
        db,
        actor,
        case_id,
        Action.START_REVIEW,
        lambda case, target: [move(db, actor, at, case, Action.START_REVIEW, target)],
    )


def return_case(db: Session, actor: Actor, clock: Clock, case_id: int, *, note: str | None) -> Step:
    """退回补充: back to the requester, who is told why (`note`, required)."""
    at = clock.now()

    def work(case: Case, target: CaseStatus) -> list[CaseEvent]:
        event = move(db, actor, at, case, Action.RETURN, target, note=free_text("note", note, required=True))
        notify(db, case, NotificationKind.RETURNED, at, user_id=case.created_by_id)
        return [event]

    return perform(db, actor, case_id, Action.RETURN, work)


def escalate(
    db: Session, actor: Actor, clock: Clock, case_id: int, *, expert_id: int | None, note: str | None = None
) -> Step:
    """Ask another expert (`expert_id`) for a second opinion."""
    at = clock.now()

    def work(case: Case, target: CaseStatus) -> list[CaseEvent]:
        expert = colleague(db, "expert", expert_id, Role.EXPERT)
        if expert.id == actor.user_id:
            raise Invalid("invalid_field", "a second opinion must come from another expert", field="expert")
        event = move(
            db,
            actor,
            at,
            case,
            Action.ESCALATE,
            target,
            note=free_text("note", note),
            detail={"expert": expert.id},
            escalated_to_id=expert.id,
        )
        notify(db, case, NotificationKind.ESCALATED, at, user_id=expert.id)
        return [event]

    return perform(db, actor, case_id, Action.ESCALATE, work)


def answer(db: Session, actor: Actor, clock: Clock, case_id: int, *, note: str | None) -> Step:
    """The escalation expert gives the second opinion (`note`, required) back to the reader."""
    at = clock.now()
    return perform(
        db,
        actor,
        case_id,
        Action.ANSWER,
        lambda case, target: [
            move(db, actor, at, case, Action.ANSWER, target, note=free_text("note", note, required=True))
        ],
    )


def close(db: Session, actor: Actor, clock: Clock, case_id: int, *, note: str | None = None) -> Step:
    """结果反馈: the requester has the result."""
    at = clock.now()
    return perform(
        db,
        actor,
        case_id,
        Action.CLOSE,
        lambda case, target: [
            move(db, actor, at, case, Action.CLOSE, target, note=free_text("note", note), closed_at=at)
        ],
    )


def cancel(db: Session, actor: Actor, clock: Clock, case_id: int, *, note: str | None = None) -> Step:
    """Withdraw a case before it is reported."""
    at = clock.now()
    return perform(
        db,
        actor,
        case_id,
        Action.CANCEL,
        lambda case, target: [
            move(db, actor, at, case, Action.CANCEL, target, note=free_text("note", note), closed_at=at)
        ],
    )
