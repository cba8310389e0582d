"""Cases: the requests a member institution opens for a patient (their lifecycle: `case_actions`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from starlette.responses import JSONResponse, Response

from server.access.policy import CLINICAL_ROLES, AccessDenied, case_relations, case_scope, require_case
from server.api.routing import Access, ApiError, Context, api_route, body_field, not_found
from server.api.serializers import case_json
from server.cases.models import Case, CaseKind, CaseStatus, Urgency
from server.cases.overdue import flag_overdue
from server.cases.workflow import Action, actions_for, decide
from server.community.models import Role
from server.core.clock import app_clock
from server.core.lifecycle import NotPermitted
from server.patients.models import Patient

MAX_LISTED = 500


def now(ctx: Context) -> datetime:
    """The workflow's current time for this request (the app's clock, so tests can move it)."""
    return app_clock(ctx.request.app).now()


def visible_case(ctx: Context) -> Case:
    """The case named in the path, if this user may see it (a refusal is audited by the caller's route)."""
    case = ctx.db.get(Case, ctx.path["case_id"])
    if case is None:
        raise not_found("case")
    require_case(ctx.db, ctx.current_user, case)
    return case


class CaseMaterial(Protocol):
    """A row that belongs to one case (an ECG, a slide): seen by exactly those who see the case."""

    case: Case


M = TypeVar("M", bound=CaseMaterial)


def visible_material(ctx: Context, model: type[M], path_key: str, what: str) -> M:
    """The `model` row named by `path_key` in the path, if this user may see its case."""
    row = ctx.db.get(model, ctx.path[path_key])
    if row is None:
        raise not_found(what)
    require_case(ctx.db, ctx.current_user, row.case)
    return row


def permitted(ctx: Context, case: Case, action: Action) -> CaseStatus:
    """The state `action` takes the case to, if this user may take it now; else 409 or an audited 403."""
    try:
        return decide(action, case.status, case_relations(ctx.db, ctx.current_user, case))
    except NotPermitted as refusal:
        raise AccessDenied("case", case.id, case.patient_id, reason=str(refusal)) from None


def case_for_user_json(ctx: Context, case: Case) -> dict[str, Any]:
    """A case with what this user may do with it now."""
    relations = case_relations(ctx.db, ctx.current_user, case)
    return {**case_json(case), "actions": [a.value for a in actions_for(case.status, relations)]}


def list_cases(ctx: Context) -> Response:
    user = ctx.current_user
    flag_overdue(ctx.db, now(ctx))
    cases = ctx.db.scalars(
        select(Case).where(case_scope(user)).order_by(Case.created_at.desc()).limit(MAX_LISTED)
    ).all()
    ctx.audit("case_list", resource_type="case", detail={"count": len(cases)})
    return JSONResponse({"items": [case_json(case) for case in cases]})


def get_case(ctx: Context) -> Response:
    flag_overdue(ctx.db, now(ctx))
    case = visible_case(ctx)
    ctx.audit("case_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return JSONResponse(case_for_user_json(ctx, case))


def _choice(ctx: Context, name: str, enum_type: type, default: object = None):  # type: ignore[no-untyped-def]
    raw = body_field(ctx, name, str, required=default is None)
    if raw is None:
        return default
    try:
        return enum_type(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ApiError(
            400, "invalid_field", f"field '{name}' must be one of: {allowed}", field=name
        ) from None


def _patient_for(ctx: Context) -> Patient:
    """The existing patient named by `patient_id` (own institution only) or a new one from `patient`."""
    user = ctx.current_user
    patient_id = body_field(ctx, "patient_id", int, required=False)
    if patient_id is not None:
        patient = ctx.db.get(Patient, patient_id)
        if patient is None or patient.institution_id != user.institution_id:
            raise not_found("patient")
        return patient
    details = body_field(ctx, "patient", dict)
    name = details.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "missing_field", "field 'patient.name' is required", field="patient.name")
    birth_date = details.get("birth_date")
    try:
        parsed_birth = date.fromisoformat(birth_date) if birth_date else None
    except (TypeError, ValueError):
        raise ApiError(
            400, "invalid_field", "patient.birth_date must be YYYY-MM-DD", field="patient.birth_date"
        ) from None
    sex = details.get("sex")
    if sex not in (None, "M", "F", "O"):
        raise ApiError(400, "invalid_field", "patient.sex must be M, F or O", field="patient.sex")
    patient = Patient(
        institution_id=user.institution_id,
        name=name.strip(),
        sex=sex,
        birth_date=parsed_birth,
        national_id=(details.get("national_id") or None),
        health_card_no=(details.get("health_card_no") or None),
    )
    ctx.db.add(patient)
    ctx.db.flush()
    ctx.audit("patient_create", resource_type="patient", resource_id=patient.id, patient_id=patient.id)
    return patient


def create_case(ctx: Context) -> Response:
    user = ctx.current_user
    if user.institution_id is None:
        raise ApiError(400, "no_institution", "your account belongs to no institution")
    patient = _patient_for(ctx)
    case = Case(
        institution_id=user.institution_id,
        patient=patient,
        created_by_id=user.id,
        kind=_choice(ctx, "kind", CaseKind),
        urgency=_choice(ctx, "urgency", Urgency, Urgency.ROUTINE),
        clinical_question=(body_field(ctx, "clinical_question", str, required=False) or "").strip(),
        created_at=now(ctx),
    )
    ctx.db.add(case)
    ctx.db.flush()
    ctx.audit("case_create", resource_type="case", resource_id=case.id, patient_id=patient.id)
    return JSONResponse(case_for_user_json(ctx, case), status_code=201)


routes = [
    api_route("/api/cases", list_cases, access=Access.only(CLINICAL_ROLES)),
    api_route("/api/cases", create_case, access=Access.only(Role.REQUESTER), methods=["POST"]),
    api_route("/api/cases/{case_id:int}", get_case, access=Access.only(CLINICAL_ROLES)),
]
