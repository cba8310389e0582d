"""The community administrator's dashboard (数据驾驶舱): the month's indicators as JSON for charts, or CSV.

Only the administrator of a community sees its dashboard; the figures are counts over the whole
community, so the reading, reporting and auditing roles, whose sight is narrower, never do.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

from starlette.responses import JSONResponse, Response

from server.api.routing import Access, ApiError, Context, api_route
from server.billing.rules import BOOKS_TIMEZONE, BillingError, month_of, parse_month
from server.community.models import Community, Role
from server.core.orm import utcnow
from server.dashboard.indicators import Dashboard, Indicator, Text, dashboard

ADMIN = Access.only(Role.ADMIN)


def _text(text: Text) -> dict[str, str]:
    return {"zh-CN": text.zh, "en": text.en}


def indicator_json(indicator: Indicator) -> dict[str, Any]:
    return {
        "key": indicator.key,
        "name": _text(indicator.name),
        "definition": _text(indicator.definition),
        "unit": indicator.unit,
        "value": indicator.value,
        "target": indicator.target,
        "numerator": indicator.numerator,
        "denominator": indicator.denominator,
        "series": [
            {"key": s.key, "name": _text(s.name), "points": [asdict(p) for p in s.points]}
            for s in indicator.series
        ],
    }


def dashboard_json(board: Dashboard) -> dict[str, Any]:
    return {
        "month": board.month,
        "timezone": str(BOOKS_TIMEZONE),
        "community": {"id": board.community.id, "name": board.community.name},
        "indicators": [indicator_json(indicator) for indicator in board.indicators],
    }


CSV_HEADER = ["指标代码 key", "指标 indicator", "分组 breakdown", "项目 item", "数值 value", "单位 unit",
              "目标 target", "分子 numerator", "分母 denominator", "记录数 records"]  # fmt: skip


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def dashboard_csv(board: Dashboard) -> str:
    """One row per indicator (breakdown 合计 total) and one per chart bar, with a BOM for Chinese Excel."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["医共体 community", board.community.name, "月份 month", board.month])
    writer.writerow(CSV_HEADER)
    for ind in board.indicators:
        name = f"{ind.name.zh} {ind.name.en}"
        writer.writerow([ind.key, name, "合计 total", "", _number(ind.value), ind.unit, _number(ind.target),
                         _number(ind.numerator), _number(ind.denominator), ""])  # fmt: skip
        for series in ind.series:
            for point in series.points:
                writer.writerow([ind.key, name, f"{series.name.zh} {series.name.en}", point.label,
                                 _number(point.value), ind.unit, "", "", "", _number(point.count)])  # fmt: skip
    return out.getvalue()


def requested_month(ctx: Context) -> str:
    """The `?month=YYYY-MM` asked for (default: this month, in China Standard Time); 400 if malformed."""
    month = ctx.request.query_params.get("month") or month_of(utcnow())
    try:
        parse_month(month)
    except BillingError as exc:
        raise ApiError(400, "invalid_query", str(exc)) from None
    return month


def _board(ctx: Context) -> Dashboard:
    """The month asked for of the caller's own community; audited."""
    month = requested_month(ctx)
    community_id = ctx.current_user.community_id
    community = ctx.db.get(Community, community_id) if community_id is not None else None
    if community is None:
        raise ApiError(400, "no_community", "your account belongs to no medical community")
    board = dashboard(ctx.db, community, month)
    ctx.audit("dashboard_read", resource_type="community", resource_id=community.id, detail={"month": month})
    return board


def get_dashboard(ctx: Context) -> Response:
    """The month's indicators with their definitions, targets and chart series (`?month=YYYY-MM`)."""
    return JSONResponse(dashboard_json(_board(ctx)))


def export_dashboard(ctx: Context) -> Response:
    """The month's indicators as CSV (`?month=YYYY-MM`), headers in Chinese and English."""
    board = _board(ctx)
    return Response(
        dashboard_csv(board),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="dashboard-{board.month}.csv"'},
    )


routes = [
    api_route("/api/dashboard", get_dashboard, access=ADMIN),
    api_route("/api/dashboard.csv", export_dashboard, access=ADMIN),
]
