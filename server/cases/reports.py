"""Reports: a template per kind of case, drafts, signing and amendments with every version kept.

A case's reports are numbered versions. The reader (or the escalation expert) saves drafts into the
newest unsigned version; signing freezes it (signer, time, institution) and bills the service once.
A signed version is never changed again (the model refuses it): an amendment is a new signed version
with its reason. Signed versions print as PDF (`server.cases.report_pdf`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from server.access.actor import Actor
from server.billing.rules import record_completed_service
from server.cases.models import Case, CaseEvent, CaseKind, CaseStatus, NotificationKind, Report, ReportStatus
from server.cases.notifications import notify
from server.cases.report_pdf import PrintedReport, Section, render
from server.cases.service import Step, free_text, move, perform, permitted, relations, visible_case
from server.cases.workflow import Action, Relation
from server.community.models import User
from server.core.clock import Clock
from server.core.errors import Conflict, Invalid, not_found

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


def report_template(kind: CaseKind) -> tuple[Field, ...]:
    """The fields a report of `kind` has, in the order they are written and printed."""
    return TEMPLATES[kind]


def checked_content(kind: CaseKind, content: object, *, complete: bool) -> dict[str, Any]:
    """The content of a report of `kind`, checked against its template; 400 names the faulty field.

    `complete` (signing) also requires every required field to be filled in (409 otherwise).
    """
    if not isinstance(content, dict):
        raise Invalid("invalid_field", "field 'content' must be a JSON object", field="content")
    fields = {f.key: f for f in TEMPLATES[kind]}
    unknown = sorted(set(content) - set(fields))
    if unknown:
        raise Invalid(
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
                raise Invalid("invalid_field", f"'{key}' must be a number", field=f"content.{key}")
        elif not isinstance(value, str) or len(value) > MAX_TEXT:
            raise Invalid(
                "invalid_field",
                f"'{key}' must be text of at most {MAX_TEXT} characters",
                field=f"content.{key}",
            )
        cleaned[key] = value.strip() if isinstance(value, str) else value
    missing = [f.key for f in fields.values() if complete and f.required and not cleaned.get(f.key)]
    if missing:
        raise Conflict("report_incomplete", f"the report lacks {', '.join(missing)}", missing=missing)
    return cleaned


def latest_report(db: Session, case: Case) -> Report | None:
    return db.scalar(select(Report).where(Report.case_id == case.id).order_by(Report.version.desc()).limit(1))


def _next_version(db: Session, case: Case) -> int:
    return (db.scalar(select(func.max(Report.version)).where(Report.case_id == case.id)) or 0) + 1


def save_draft(db: Session, actor: Actor, clock: Clock, case_id: int, content: object) -> Report:
    """Save the report draft of a case under review (a new version after a signed one)."""
    case = visible_case(db, actor, case_id)
    permitted(db, actor, case, Action.WRITE_REPORT)
    cleaned = checked_content(case.kind, content, complete=False)
    draft = latest_report(db, case)
    if draft is None or draft.status == ReportStatus.SIGNED:
        draft = Report(case_id=case.id, version=_next_version(db, case), created_at=clock.now())
        db.add(draft)
    draft.author_id = actor.person.id
    draft.content = cleaned
    db.flush()
    actor.audit(
        db,
        "report_draft_save",
        resource_type="report",
        resource_id=draft.id,
        patient_id=case.patient_id,
        detail={"case_id": case.id, "version": draft.version},
    )
    db.refresh(draft)
    return draft


def _signed(report: Report, signer: User, at: datetime) -> None:
    report.status = ReportStatus.SIGNED
    report.signed_by_id = signer.id
    report.signed_at = at
    report.signed_institution_id = signer.institution_id


def _sign_draft(db: Session, actor: Actor, case: Case, at: datetime) -> Report:
    """Sign the case's current draft; 409 if there is none or it is incomplete. Bills the service."""
    draft = latest_report(db, case)
    if draft is None or draft.status != ReportStatus.DRAFT:
        raise Conflict("no_draft", "there is no report draft to sign; save one first")
    checked_content(case.kind, draft.content, complete=True)
    signer = actor.person
    _signed(draft, signer, at)
    db.flush()
    if signer.institution is not None:  # the service is done: bill it once, at the signer's institution
        record_completed_service(db, case, signer.institution, signer, at)
    return draft


def sign(db: Session, actor: Actor, clock: Clock, case_id: int) -> Step:
    """Sign the draft: the case is reported and its requester told the result is ready (结果反馈)."""
    at = clock.now()

    def work(case: Case, target: CaseStatus) -> list[CaseEvent]:
        report = _sign_draft(db, actor, case, at)
        event = move(
            db,
            actor,
            at,
            case,
            Action.SIGN,
            target,
            detail={"report_version": report.version},
            reported_at=at,
        )
        notify(db, case, NotificationKind.RESULT_READY, at, user_id=case.created_by_id)
        return [event]

    return perform(db, actor, case_id, Action.SIGN, work)


def _amended(db: Session, actor: Actor, case: Case, content: object, reason: str, at: datetime) -> Report:
    """A new signed version replacing the last; the versions before stay as they were signed."""
    if latest_report(db, case) is None:
        raise Conflict("no_report", "the case has no signed report to amend")
    amendment = Report(
        case_id=case.id,
        version=_next_version(db, case),
        author_id=actor.person.id,
        content=checked_content(case.kind, content, complete=True),
        amendment_reason=reason,
        created_at=at,
    )
    _signed(amendment, actor.person, at)
    db.add(amendment)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:  # another amendment took this version number at the same moment
        raise Conflict("conflict", "the report was amended meanwhile; reload and try again") from None
    return amendment


def amend(
    db: Session, actor: Actor, clock: Clock, case_id: int, *, content: object, reason: str | None
) -> Step:
    """A new signed version with its `reason`; the case keeps its state and its requester is told."""
    at = clock.now()

    def work(case: Case, target: CaseStatus) -> list[CaseEvent]:
        why = free_text("reason", reason, required=True)
        if content is None:
            raise Invalid("missing_field", "field 'content' is required", field="content")
        report = _amended(db, actor, case, content, why, at)
        event = move(
            db, actor, at, case, Action.AMEND, target, note=why, detail={"report_version": report.version}
        )
        notify(db, case, NotificationKind.REPORT_AMENDED, at, user_id=case.created_by_id)
        return [event]

    return perform(db, actor, case_id, Action.AMEND, work)


def report_history(db: Session, actor: Actor, case_id: int) -> Sequence[Report]:
    """Every signed version; the unsigned draft too, but only for those reading the case (a requester
    or an administrator never sees a half-written opinion)."""
    case = visible_case(db, actor, case_id)
    query = select(Report).where(Report.case_id == case.id)
    if not relations(db, actor, case) & READING_RELATIONS:
        query = query.where(Report.status == ReportStatus.SIGNED)
    reports = db.scalars(
        query.options(selectinload(Report.author), selectinload(Report.signed_by)).order_by(Report.version)
    ).all()
    actor.audit(db, "report_read", resource_type="case", resource_id=case.id, patient_id=case.patient_id)
    return reports


# ---- printing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintedFile:
    """A signed report version as PDF, with the file name it is offered under."""

    pdf: bytes
    filename: str


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def printed(case: Case, report: Report) -> PrintedReport:
    """What the PDF shows of a signed version: the template's filled-in sections, in template order."""
    assert report.signed_at is not None and report.signed_by is not None, "only signed versions print"
    issuer = report.signed_institution.name if report.signed_institution else case.institution.community.name
    sections = tuple(
        Section(field.label_zh, _text(report.content[field.key]))
        for field in TEMPLATES[case.kind]
        if report.content.get(field.key) not in (None, "")
    )
    patient = case.patient
    return PrintedReport(
        issuing_institution=issuer,
        kind=case.kind,
        case_id=case.id,
        patient_name=patient.name,
        patient_sex=patient.sex,
        patient_birth_date=patient.birth_date,
        patient_id_masked=patient.national_id_masked,
        requesting_institution=case.institution.name,
        clinical_question=case.clinical_question,
        sections=sections,
        signer=report.signed_by.display_name,
        signed_at=report.signed_at,
        version=report.version,
        amendment_reason=report.amendment_reason,
    )


def print_report(db: Session, actor: Actor, case_id: int, version: int) -> PrintedFile:
    """A signed report version as its institution issued it; 409 for a draft. Every print is audited."""
    case = visible_case(db, actor, case_id)
    report = db.scalar(select(Report).where(Report.case_id == case.id, Report.version == version))
    if report is None:
        raise not_found("report version")
    if report.status != ReportStatus.SIGNED:
        raise Conflict("report_not_signed", "only signed report versions can be printed; this one is a draft")
    pdf = render(printed(case, report))
    actor.audit(
        db,
        "report_print",
        resource_type="report",
        resource_id=report.id,
        patient_id=case.patient_id,
        detail={"case_id": case.id, "version": report.version},
    )
    return PrintedFile(pdf, f"report-{case.id}-v{report.version}.pdf")
