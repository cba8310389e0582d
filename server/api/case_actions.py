"""`POST /api/cases/{id}/actions/{action}`: one step of a case's lifecycle, and the record of every step.

Whether a step is allowed is `server.cases.workflow`'s answer (409 in the wrong state, an audited 403 for
the wrong person). The state then changes with a conditional UPDATE (`... WHERE status = <the state
we checked>`), so of two requests racing for the same step (two readers claiming one case) exactly
one changes the row and the other gets 409. Each step is written as a `CaseEvent` (who, when, from,
to, note) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import selectinload
from starlette.responses import JSONResponse, Response

from server.access.policy import CLINICAL_ROLES
from server.api.cases import case_for_user_json, now, permitted, visible_case
from server.api.notifications import notify
from server.api.reports import amend_report, sign_draft
from server.api.routing import Access, ApiError, Context, api_route, body_field
from server.api.serializers import case_event_json
from server.cases.models import Case, CaseEvent, CaseStatus, NotificationKind
from server.cases.workflow import Action, Relation, TargetTimes, decide, routing_action
from server.community.models import CentreKind, Institution, ReadingCentre, Role, User

MAX_NOTE = 4000


def target_times(ctx: Context) -> TargetTimes:
    """How long cases may wait before they are overdue, as the installation configures it."""
    return TargetTimes(
        urgent=timedelta(minutes=ctx.settings.urgent_target_minutes),
        routine=timedelta(hours=ctx.settings.routine_target_hours),
    )


def move(
    ctx: Context,
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
    at = now(ctx)
    source = case.status
    changed = ctx.db.execute(
        update(Case)
        .where(Case.id == case.id, Case.status == source, *only_if)
        .values(status=target, updated_at=at, **values)
        .execution_options(synchronize_session=False)
    )
    ctx.db.refresh(case)
    if changed.rowcount != 1:
        raise ApiError(
            409,
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
        actor_id=None if by_platform else ctx.current_user.id,
        at=at,
        note=note,
        detail=detail or {},
    )
    ctx.db.add(event)
    return event


def _text(ctx: Context, name: str, *, required: bool = False) -> str:
    """A free-text field of the body (a note, a reason), trimmed; 400 if required and empty, or too long."""
    value = (body_field(ctx, name, str, required=required) or "").strip()
    if required and not value:
        raise ApiError(400, "missing_field", f"field '{name}' is required", field=name)
    if len(value) > MAX_NOTE:
        raise ApiError(400, "invalid_field", f"'{name}' is longer than {MAX_NOTE} characters", field=name)
    return value


def _note(ctx: Context, *, required: bool = False) -> str:
    return _text(ctx, "note", required=required)


def _colleague(ctx: Context, field: str, role: Role, centre_id: int | None = None) -> User:
    """The active user named by `field`, holding `role` (and working at `centre_id`, if given)."""
    user = ctx.db.get(User, body_field(ctx, field, int))
    if user is None or not user.active or user.role != role or (centre_id and user.centre_id != centre_id):
        where = " of this case's reading centre" if centre_id else ""
        raise ApiError(
            400, "invalid_field", f"'{field}' must name an active {role.value}{where}", field=field
        )
    return user


def _centre_for(ctx: Context, case: Case) -> ReadingCentre | None:
    """The reading centre of the case's kind in the requester's medical community (routing by kind)."""
    if case.kind.value not in set(CentreKind):
        return None
    return ctx.db.scalar(
        select(ReadingCentre)
        .join(Institution, ReadingCentre.institution_id == Institution.id)
        .where(
            Institution.community_id == case.institution.community_id,
            ReadingCentre.kind == CentreKind(case.kind.value),
        )
        .order_by(ReadingCentre.id)
        .limit(1)
    )


def _submission_times(ctx: Context, case: Case) -> dict[str, Any]:
    """A (re)submitted case starts waiting now and is due after its urgency's target time."""
    at = now(ctx)
    return {
        "submitted_at": at,
        "target_at": at + target_times(ctx).for_urgency(case.urgency),
        "overdue_at": None,
    }


def _route(ctx: Context, case: Case) -> CaseEvent:
    """After (re)submission: to its addressee (named expert, or the reader who returned it), else its centre."""
    action = routing_action(case.assigned_to_id is not None)
    target = decide(action, case.status, {Relation.SYSTEM})
    if action == Action.ADDRESS:
        assert case.assigned_to_id is not None
        notify(ctx.db, case, NotificationKind.ASSIGNED, now(ctx), user_id=case.assigned_to_id)
        return move(ctx, case, action, target, by_platform=True, claimed_at=now(ctx))
    return move(ctx, case, action, target, by_platform=True, detail={"centre_id": case.centre_id})


def _submit(ctx: Context, case: Case, target: CaseStatus) -> list[CaseEvent]:
    values = _submission_times(ctx, case)
    if body_field(ctx, "expert", int, required=False) is not None:
        values["assigned_to_id"] = _colleague(ctx, "expert", Role.EXPERT).id
    else:
        centre = _centre_for(ctx, case)
        if centre is None:
            raise ApiError(
                400,
                "expert_required",
                f"your medical community has no reading centre for {case.kind.value} cases;"
                " address the case to an expert ('expert')",
                field="expert",
            )
        values["centre_id"] = centre.id
    submitted = move(ctx, case, Action.SUBMIT, target, note=_note(ctx), **values)
    return [submitted, _route(ctx, case)]


def _resubmit(ctx: Context, case: Case, target: CaseStatus) -> list[CaseEvent]:
    resubmitted = move(ctx, case, Action.RESUBMIT, target, note=_note(ctx), **_submission_times(ctx, case))
    return [resubmitted, _route(ctx, case)]


def _claim(ctx: Context, case: Case, target: CaseStatus) -> list[CaseEvent]:
    me = ctx.current_user.id
    only_if = (Case.assigned_to_id.is_(None),)
    return [move(ctx, case, Action.CLAIM, target, only_if=only_if, assigned_to_id=me, claimed_at=now(ctx))]


def _assign(ctx: Context, case: Case, target: CaseStatus) -> list[CaseEvent]:
    if case.centre_id is None:
        raise ApiError(
            409, "not_at_a_centre", "the case is addressed to an expert, not queued at a reading centre"
        )
    assignee = _colleague(ctx, "assignee", Role.READER, centre_id=case.centre_id)
    event = move(
        ctx,
        case,
        Action.ASSIGN,
        target,
        note=_note(ctx),
        detail={"assignee": assignee.id, "previous": case.assigned_to_id},
        assigned_to_id=assignee.id,
        claimed_at=now(ctx),
    )
    notify(ctx.db, case, NotificationKind.ASSIGNED, now(ctx), user_id=assignee.id)
    return [event]


def _start_review(ctx: Context, case: Case, target: CaseStatus) -> list[CaseEvent]:
    return [move(ctx, case, Action.START_REVIEW, target)]


def _return(ctx: Context, case: Case, target: CaseStatus) -> list[CaseEvent]:
    event = move(ctx, case, Action.RETURN, target, note=_note(ctx, required=True))
    notify(ctx.db, case, NotificationKind.RETURNED, now(ctx), user_id=case.created_by_id)
    return [event]


def _escalate(ctx: Context, case: Case, target: CaseStatus) -> list[CaseEvent]:
    expert = _colleague(ctx, "expert", Role.EXPERT)
    if expert.id == ctx.current_user.id:
        raise ApiError(400, "invalid_field", "a second opinion must come from another expert", field="expert")
    event = move(
        ctx,
        case,
        Action.ESCALATE,
        target,
        note=_note(ctx),
        detail={"expert": expert.id},
        escalated_to_id=expert.id,
    )
    notify(ctx.db, case, NotificationKind.ESCALATED, now(ctx), user_id=expert.id)
    return [event]


def _answer(ctx: Context, case: Case, target: CaseStatus) -> list[CaseEvent]:
    return [move(ctx, case, Action.ANSWER, target, note=_note(ctx, required=True))]


def _sign(ctx: Context, case: Case, target: CaseStatus) -> list[CaseEvent]:
    report = sign_draft(ctx, case)
    event = move(
        ctx, case, Action.SIGN, target, detail={"report_version": report.version}, reported_at=now(ctx)
    )
    notify(ctx.db, case, NotificationKind.RESULT_READY, now(ctx), user_id=case.created_by_id)
    return [event]


def _amend(ctx: Context, case: Case, target: CaseStatus) -> list[CaseEvent]:
    reason = _text(ctx, "reason", required=True)
    report = amend_report(ctx, case, body_field(ctx, "content", dict), reason)
    event = move(ctx, case, Action.AMEND, target, note=reason, detail={"report_version": report.version})
    notify(ctx.db, case, NotificationKind.REPORT_AMENDED, now(ctx), user_id=case.created_by_id)
    return [event]


def _close(ctx: Context, case: Case, target: CaseStatus) -> list[CaseEvent]:
    return [move(ctx, case, Action.CLOSE, target, note=_note(ctx), closed_at=now(ctx))]


def _cancel(ctx: Context, case: Case, target: CaseStatus) -> list[CaseEvent]:
    return [move(ctx, case, Action.CANCEL, target, note=_note(ctx), closed_at=now(ctx))]


# The actions a user takes through this endpoint (routing is the platform's; drafts are `PUT .../report`).
PERFORMERS: dict[Action, Callable[[Context, Case, CaseStatus], list[CaseEvent]]] = {
    Action.SUBMIT: _submit,
    Action.RESUBMIT: _resubmit,
    Action.CLAIM: _claim,
    Action.ASSIGN: _assign,
    Action.START_REVIEW: _start_review,
    Action.RETURN: _return,
    Action.ESCALATE: _escalate,
    Action.ANSWER: _answer,
    Action.SIGN: _sign,
    Action.AMEND: _amend,
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
            404,
            "unknown_action",
            f"no action {ctx.path['action']!r}; actions: {', '.join(a.value for a in PERFORMERS)}",
        )
    if ctx.body is None:
        ctx.body = {}
    case = visible_case(ctx)
    source = case.status
    target = permitted(ctx, case, action)
    events = PERFORMERS[action](ctx, case, target)
    ctx.db.flush()
    ctx.audit(
        f"case_{action.value}",
        resource_type="case",
        resource_id=case.id,
        patient_id=case.patient_id,
        detail={"from": source.value, "to": case.status.value},
    )
    return JSONResponse(
        {"case": case_for_user_json(ctx, case), "events": [case_event_json(e) for e in events]}
    )


def list_events(ctx: Context) -> Response:
    case = visible_case(ctx)
    events = ctx.db.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id)
        .options(selectinload(CaseEvent.actor))
        .order_by(CaseEvent.id)
    ).all()
    ctx.audit("case_events_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return JSONResponse({"items": [case_event_json(e) for e in events]})


routes = [
    api_route(
        "/api/cases/{case_id:int}/actions/{action}",
        take_action,
        access=Access.only(CLINICAL_ROLES),
        methods=["POST"],
    ),
    api_route("/api/cases/{case_id:int}/events", list_events, access=Access.only(CLINICAL_ROLES)),
]
