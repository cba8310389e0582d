"""`GET /api/cases/{id}/reports/{version}/pdf`: one signed report version, printable, as its institution issued it.

Only signed versions print: a draft is not a report yet (409). Whoever may read the case's reports
may print them, and every print is audited with the patient (`server.cases.reports.print_report`).
"""

from __future__ import annotations

from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, Context, api_route
from server.cases.reports import print_report


def report_pdf(ctx: Context) -> Response:
    """A signed report version as PDF; 409 for a draft."""
    printed = print_report(ctx.db, ctx.actor, ctx.path["case_id"], ctx.path["version"])
    return Response(
        printed.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{printed.filename}"'},
    )


routes = [
    api_route(
        "/api/cases/{case_id:int}/reports/{version:int}/pdf",
        report_pdf,
        access=Access.only(CLINICAL_ROLES),
        produces="application/pdf",
    ),
]
