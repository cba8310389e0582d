"""Reports: a template per kind of case, drafts, signing and amendments with every version kept.

A case's reports are numbered versions. The reader (or the escalation expert) saves drafts into the
newest unsigned version; signing freezes it (signer, time, institution). A signed version is never
changed again (the model refuses it): an amendment is a new signed version with its reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from starlette.responses import JSONResponse, Response

from server.access.policy import CLINICAL_ROLES, case_relations
from server.api.cases import now, permitted, visible_case
from server.api.routing import Access, ApiError, Context, api_route, body_field, not_found
from server.api.serializers import report_json
from server.billing.rules import record_completed_service
from server.cases.models import Case, CaseKind, Report, ReportStatus
from server.cases.workflow import Action, Relation
from server.community.models import User

MAX_TEXT = 20_000
# Who works on the report and so may see its draft.
READING_RELATIONS = frozenset({Relation.CENTRE_READER, Relation.ASSIGNEE, Relation.ESCALATION_EXPERT})


@dataclass(frozen=True)
class Field:
    key: str
    label_zh: str
    label_en: str
    type: str = "text"  # text | number
    required: bool = True


_CONSULT = (
    Field("opinion", "会诊意见", "Opinion"),
    Field("plan", "处理建议", "Plan"),
)

TEMPLATES: dict[CaseKind, tuple[Field, ...]] = {
    CaseKind.IMAGING: (
        Field("findings", "影像所见", "Findings"),
        Field("impression", "诊断意见", "Impression"),
    ),
    CaseKind.ECG: (
        Field("rhythm", "节律", "Rhythm"),
        Field("heart_rate", "心率 (次/分)", "Heart rate (bpm)", "number"),
        Field("pr_ms", "PR 间期 (ms)", "PR interval (ms)", "number", required=False),
        Field("qrs_ms", "QRS 时限 (ms)", "QRS duration (ms)", "number", required=False),
        Field("qt_ms", "QT 间期 (ms)", "QT interval (ms)", "number", required=False),
        Field("qtc_ms", "QTc (ms)", "QTc (ms)", "number", required=False),
        Field("axis_deg", "电轴 (°)", "Axis (°)", "number", required=False),
        Field("interpretation", "心电图诊断", "Interpretation"),
    ),
    CaseKind.PATHOLOGY: (
        Field("macroscopic", "大体所见", "Macroscopic"),
        Field("microscopic", "镜下所见", "Microscopic"),
        Field("diagnosis", "病理诊断", "Diagnosis"),
    ),
    CaseKind.CONSULT: _CONSULT,
    CaseKind.MDT: _CONSULT,
    CaseKind.REFERRAL: _CONSULT,
}


def _kind(ctx: Context) -> CaseKind:
    try:
        return CaseKind(ctx.path["kind"])
    except ValueError:
        raise not_found("report template") from None


def get_template(ctx: Context) -> Response:
    kind = _kind(ctx)
    return JSONResponse({"kind": kind.value, "fields": [asdict(f) for f in TEMPLATES[kind]]})


def checked_content(kind: CaseKind, content: Any, *, complete: bool) -> dict[str, Any]:
    """The content of a report of `kind`, checked against its template; 400 names the faulty field.

    `complete` (signing) also requires every required field to be filled in.
    """
    if not isinstance(content, dict):
        raise ApiError(400, "invalid_field", "field 'content' must be a JSON object", field="content")
    fields = {f.key: f for f in TEMPLATES[kind]}
    unknown = sorted(set(content) - set(fields))
    if unknown:
        raise ApiError(
            400,
            "invalid_field",
            f"a {kind.value} report has no field {unknown[0]!r} (fields: {', '.join(fields)})",
            field=f"content.{unknown[0]}",
        )
    cleaned: dict[str, Any] = {}
    for key, value in content.items():
        spec = fields[key]
        if value is None or value == "":
            continue
        if spec.type == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ApiError(400, "invalid_field", f"'{key}' must be a number", field=f"content.{key}")
        elif not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ApiError(
                400,
                "invalid_field",
                f"'{key}' must be text of at most {MAX_TEXT} characters",
                field=f"content.{key}",
            )
        cleaned[key] = value.strip() if isinstance(value, str) else value
    missing = [f.key for f in fields.values() if complete and f.required and not cleaned.get(f.key)]
    if missing:
        raise ApiError(409, "report_incomplete", f"the report lacks {', '.join(missing)}", missing=missing)
    return cleaned


def latest_report(ctx: Context, case: Case) -> Report | None:
    return ctx.db.scalar(
        select(Report).where(Report.case_id == case.id).order_by(Report.version.desc()).limit(1)
    )


def _next_version(ctx: Context, case: Case) -> int:
    return (ctx.db.scalar(select(func.max(Report.version)).where(Report.case_id == case.id)) or 0) + 1


def save_draft(ctx: Context) -> Response:
    case = visible_case(ctx)
    permitted(ctx, case, Action.WRITE_REPORT)
    content = checked_content(case.kind, body_field(ctx, "content", dict), complete=False)
    draft = latest_report(ctx, case)
    if draft is None or draft.status == ReportStatus.SIGNED:
        draft = Report(case_id=case.id, version=_next_version(ctx, case), created_at=now(ctx))
        ctx.db.add(draft)
    draft.author_id = ctx.current_user.id
    draft.content = content
    ctx.db.flush()
    ctx.audit(
        "report_draft_save",
        resource_type="report",
        resource_id=draft.id,
        patient_id=case.patient_id,
        detail={"case_id": case.id, "version": draft.version},
    )
    ctx.db.refresh(draft)
    return JSONResponse(report_json(draft))


def _signed(report: Report, signer: User, at: datetime) -> None:
    report.status = ReportStatus.SIGNED
    report.signed_by_id = signer.id
    report.signed_at = at
    report.signed_institution_id = signer.institution_id


def sign_draft(ctx: Context, case: Case) -> Report:
    """Sign the case's current draft; 409 if there is none or it is incomplete."""
    draft = latest_report(ctx, case)
    if draft is None or draft.status != ReportStatus.DRAFT:
        raise ApiError(409, "no_draft", "there is no report draft to sign; save one first")
    checked_content(case.kind, draft.content, complete=True)
    signer = ctx.current_user
    _signed(draft, signer, now(ctx))
    ctx.db.flush()
    if signer.institution is not None:  # the service is done: bill it once, at the signer's institution
        record_completed_service(ctx.db, case, signer.institution, signer, now(ctx))
    return draft


def amend_report(ctx: Context, case: Case, content: Any, reason: str) -> Report:
    """A new signed version replacing the last; the versions before stay as they were signed."""
    if latest_report(ctx, case) is None:
        raise ApiError(409, "no_report", "the case has no signed report to amend")
    amendment = Report(
        case_id=case.id,
        version=_next_version(ctx, case),
        author_id=ctx.current_user.id,
        content=checked_content(case.kind, content, complete=True),
        amendment_reason=reason,
        created_at=now(ctx),
    )
    _signed(amendment, ctx.current_user, now(ctx))
    ctx.db.add(amendment)
    try:
        with ctx.db.begin_nested():
            ctx.db.flush()
    except IntegrityError:  # another amendment took this version number at the same moment
        raise ApiError(409, "conflict", "the report was amended meanwhile; reload and try again") from None
    return amendment


def report_history(ctx: Context) -> Response:
    """Every signed version; the unsigned draft too, but only for those reading the case (a requester
    or an administrator never sees a half-written opinion)."""
    case = visible_case(ctx)
    query = select(Report).where(Report.case_id == case.id)
    if not case_relations(ctx.db, ctx.current_user, case) & READING_RELATIONS:
        query = query.where(Report.status == ReportStatus.SIGNED)
    reports = ctx.db.scalars(
        query.options(selectinload(Report.author), selectinload(Report.signed_by)).order_by(Report.version)
    ).all()
    ctx.audit("report_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return JSONResponse({"items": [report_json(r) for r in reports]})


routes = [
    api_route("/api/report-templates/{kind}", get_template, access=Access.signed_in()),
    api_route("/api/cases/{case_id:int}/reports", report_history, access=Access.only(CLINICAL_ROLES)),
    api_route(
        "/api/cases/{case_id:int}/report", save_draft, access=Access.only(CLINICAL_ROLES), methods=["PUT"]
    ),
]
