"""Two-way referral (双向转诊) over HTTP: send up from a case, read, check identity, take steps, write
notes, refer down. Each handler parses, calls one service function of `server.referrals` and answers
with its contract (`server.api.schemas.referrals`); the rules are the domain's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel
from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, ApiError, Context, api_route, model_response
from server.api.schemas.referrals import (
    FollowUpPlanIn,
    IdentityCheckIn,
    IdentityCheckResult,
    NoteCreated,
    ReferralDownIn,
    ReferralList,
    ReferralNoteIn,
    ReferralRecord,
    ReferralStepIn,
    ReferralSummary,
    ReferralUpIn,
)
from server.community.models import Role
from server.core.clock import Clock
from server.referrals import identity, service
from server.referrals.models import ReferralDirection, ReferralState, TriageColour
from server.referrals.service import Box, DownLetter, FollowUpPlan, StepInput, UpLetter

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=StrEnum)


def clock(ctx: Context) -> Clock:
    return ctx.clock


def payload_or_empty(ctx: Context, model: type[M]) -> M:
    """The body as `model`; no body at all reads as `{}`."""
    if ctx.body is None:
        ctx.body = {}
    return ctx.payload(model)


def query_choice(ctx: Context, name: str, kind: type[E]) -> E | None:
    raw = ctx.request.query_params.get(name)
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ApiError(400, "invalid_parameter", f"{name} must be one of: {allowed}") from None


def create_referral(ctx: Context) -> Response:
    """A family doctor refers their patient up, from a case whose material travels with the letter."""
    body = ctx.payload(ReferralUpIn)
    letter = UpLetter(
        case_id=body.case_id,
        to_institution_id=body.to_institution_id,
        reason=body.reason,
        diagnosis=body.diagnosis,
        history=body.history,
        treatment=body.treatment,
    )
    record = service.create_referral(ctx.db, ctx.actor, clock(ctx), letter)
    return model_response(ReferralRecord.of(record), status_code=201)


def list_referrals(ctx: Context) -> Response:
    """Incoming (to my institution) or outgoing (from it) referrals, newest first; summaries only."""
    box = ctx.request.query_params.get("box")
    if box is not None and box not in set(Box):
        raise ApiError(400, "invalid_parameter", "box must be incoming or outgoing")
    summaries = service.list_referrals(
        ctx.db,
        ctx.actor,
        clock(ctx),
        box=Box(box) if box else None,
        state=query_choice(ctx, "state", ReferralState),
        direction=query_choice(ctx, "direction", ReferralDirection),
    )
    return model_response(ReferralList(items=[ReferralSummary.of(s) for s in summaries]))


def get_referral(ctx: Context) -> Response:
    """The whole record, once the caller has confirmed the patient's identity (referring doctors need not)."""
    record = service.read_referral(ctx.db, ctx.actor, clock(ctx), ctx.path["referral_id"])
    return model_response(ReferralRecord.of(record))


def check_identity(ctx: Context) -> Response:
    """Compare the number the patient shows with what is stored; every attempt is recorded and audited."""
    body = ctx.payload(IdentityCheckIn)
    check = identity.check_identity(
        ctx.db, ctx.actor, clock(ctx), ctx.path["referral_id"], body.document, body.number
    )
    return model_response(
        IdentityCheckResult(result=check.result, document=check.document, valid_until=check.valid_until)
    )


def take_action(ctx: Context) -> Response:
    """Take a step (receive, book, decline, arrive, admit, treat, discharge, close, cancel)."""
    body = payload_or_empty(ctx, ReferralStepIn)
    given = StepInput(note=body.note, reason=body.reason, slot_id=body.slot_id)
    summary = service.take_step(
        ctx.db, ctx.actor, clock(ctx), ctx.path["referral_id"], ctx.path["action"], given
    )
    return model_response(ReferralSummary.of(summary))


def add_note(ctx: Context) -> Response:
    """A receiving doctor writes the treatment plan or a record note; the referring doctor reads it."""
    body = ctx.payload(ReferralNoteIn)
    note = service.add_note(ctx.db, ctx.actor, clock(ctx), ctx.path["referral_id"], body.kind, body.text)
    return model_response(
        NoteCreated(id=note.id, kind=note.kind, created_at=note.created_at), status_code=201
    )


def follow_up_plan(plan: FollowUpPlanIn) -> FollowUpPlan:
    return FollowUpPlan(
        plan=plan.plan, due_dates=plan.due_dates or [], colour=plan.colour or TriageColour.GREEN
    )


def refer_down(ctx: Context) -> Response:
    """Send a treated or discharged patient back to the referring unit with a discharge and follow-up plan."""
    body = payload_or_empty(ctx, ReferralDownIn)
    letter = DownLetter(
        diagnosis=body.diagnosis,
        discharge_summary=body.discharge_summary,
        follow_up=follow_up_plan(body.follow_up),
        reason=body.reason,
    )
    record = service.refer_down(ctx.db, ctx.actor, clock(ctx), ctx.path["referral_id"], letter)
    return model_response(ReferralRecord.of(record), status_code=201)


DOCTORS = Access.only(Role.REQUESTER, Role.READER, Role.EXPERT)

routes = [
    api_route("/api/referrals", list_referrals, access=Access.only(CLINICAL_ROLES), response=ReferralList),
    api_route(
        "/api/referrals",
        create_referral,
        access=Access.only(Role.REQUESTER),
        methods=["POST"],
        body=ReferralUpIn,
        response=ReferralRecord,
        status=201,
    ),
    api_route(
        "/api/referrals/{referral_id:int}",
        get_referral,
        access=Access.only(CLINICAL_ROLES),
        response=ReferralRecord,
    ),
    api_route(
        "/api/referrals/{referral_id:int}/identity-check",
        check_identity,
        access=Access.only(CLINICAL_ROLES),
        methods=["POST"],
        body=IdentityCheckIn,
        response=IdentityCheckResult,
    ),
    api_route(
        "/api/referrals/{referral_id:int}/actions/{action}",
        take_action,
        access=Access.only(CLINICAL_ROLES),
        methods=["POST"],
        body=ReferralStepIn,
        response=ReferralSummary,
    ),
    api_route(
        "/api/referrals/{referral_id:int}/notes",
        add_note,
        access=DOCTORS,
        methods=["POST"],
        body=ReferralNoteIn,
        response=NoteCreated,
        status=201,
    ),
    api_route(
        "/api/referrals/{referral_id:int}/down",
        refer_down,
        access=DOCTORS,
        methods=["POST"],
        body=ReferralDownIn,
        response=ReferralRecord,
        status=201,
    ),
]
