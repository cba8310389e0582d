"""The community administrator's dashboard (数据驾驶舱) over HTTP: the month's indicators as JSON, or CSV.

Only the administrator of a community sees its dashboard; the figures are counts over the whole
community, so the reading, reporting and auditing roles, whose sight is narrower, never do.
"""

from __future__ import annotations

from starlette.responses import Response

from server.api.billing import CSV, csv_download
from server.api.routing import Access, Context, api_route, model_response
from server.api.schemas.dashboard import Dashboard
from server.community.models import Role
from server.dashboard import service

ADMIN = Access.only(Role.ADMIN)


def get_dashboard(ctx: Context) -> Response:
    """The month's indicators with their definitions, targets and chart series (`?month=YYYY-MM`)."""
    month = ctx.request.query_params.get("month") or None
    board = service.dashboard_month(ctx.db, ctx.actor, ctx.clock, month)
    return model_response(Dashboard.of(board))


def export_dashboard(ctx: Context) -> Response:
    """The month's indicators as CSV (`?month=YYYY-MM`), headers in Chinese and English."""
    month = ctx.request.query_params.get("month") or None
    return csv_download(service.export_dashboard(ctx.db, ctx.actor, ctx.clock, month))


routes = [
    api_route("/api/dashboard", get_dashboard, access=ADMIN, response=Dashboard),
    api_route("/api/dashboard.csv", export_dashboard, access=ADMIN, produces=CSV),
]
