"""`GET /api/cases/{id}/reports/{version}/pdf`: one signed report version, printable, as its institution issued it.

Only signed versions print: a draft is not a report yet (409). Whoever may read the case's reports
may print them, and every print is audited with the patient.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.cases import visible_case
from server.api.reports import TEMPLATES
from server.api.routing import Access, ApiError, Context, api_route, not_found
from server.cases.models import Case, Report, ReportStatus
from server.cases.report_pdf import PrintedReport, Section, render


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


def report_pdf(ctx: Context) -> Response:
    """A signed report version as PDF; 409 for a draft."""
    case = visible_case(ctx)
    report = ctx.db.scalar(
        select(Report).where(Report.case_id == case.id, Report.version == ctx.path["version"])
    )
    if report is None:
        raise not_found("report version")
    if report.status != ReportStatus.SIGNED:
        raise ApiError(
            409, "report_not_signed", "only signed report versions can be printed; this one is a draft"
        )
    pdf = render(printed(case, report))
    ctx.audit(
        "report_print",
        resource_type="report",
        resource_id=report.id,
        patient_id=case.patient_id,
        detail={"case_id": case.id, "version": report.version},
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="report-{case.id}-v{report.version}.pdf"'},
    )


routes = [
    api_route(
        "/api/cases/{case_id:int}/reports/{version:int}/pdf", report_pdf, access=Access.only(CLINICAL_ROLES)
    ),
]
