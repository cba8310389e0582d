"""Reports: a template per kind of case, drafts, and every version of a case's report.

Signing and amending are actions of the case (`case_actions`); the rules are `server.cases.reports`'.
"""

from __future__ import annotations

from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, Context, api_route, model_response, not_found
from server.api.schemas.cases import ReportDraftBody, ReportList, ReportOut, ReportTemplate
from server.cases import reports
from server.cases.models import CaseKind


def get_template(ctx: Context) -> Response:
    try:
        kind = CaseKind(ctx.path["kind"])
    except ValueError:
        raise not_found("report template") from None
    return model_response(ReportTemplate.of(kind, reports.report_template(kind)))


def save_draft(ctx: Context) -> Response:
    content = ctx.payload(ReportDraftBody).content
    draft = reports.save_draft(ctx.db, ctx.actor, ctx.clock, ctx.path["case_id"], content)
    return model_response(ReportOut.model_validate(draft))


def report_history(ctx: Context) -> Response:
    """Every signed version; the unsigned draft too, but only for those reading the case (a requester
    or an administrator never sees a half-written opinion)."""
    items = reports.report_history(ctx.db, ctx.actor, ctx.path["case_id"])
    return model_response(ReportList(items=[ReportOut.model_validate(r) for r in items]))


routes = [
    api_route(
        "/api/report-templates/{kind}", get_template, access=Access.signed_in(), response=ReportTemplate
    ),
    api_route(
        "/api/cases/{case_id:int}/reports",
        report_history,
        access=Access.only(CLINICAL_ROLES),
        response=ReportList,
    ),
    api_route(
        "/api/cases/{case_id:int}/report",
        save_draft,
        access=Access.only(CLINICAL_ROLES),
        methods=["PUT"],
        body=ReportDraftBody,
        response=ReportOut,
    ),
]
