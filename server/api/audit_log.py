"""The audit log, for auditors."""

from __future__ import annotations

from sqlalchemy import select
from starlette.responses import Response

from server.access.models import AuditEvent
from server.api.routing import Access, ApiError, Context, api_route, model_response
from server.api.schemas.audit_log import AuditEvent as AuditEventOut
from server.api.schemas.audit_log import AuditEvents
from server.community.models import Role

PAGE_SIZE = 200


def list_events(ctx: Context) -> Response:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(PAGE_SIZE)
    params = ctx.request.query_params
    for name, column in (
        ("action", AuditEvent.action),
        ("resource_type", AuditEvent.resource_type),
        ("resource_id", AuditEvent.resource_id),
        ("username", AuditEvent.username),
        ("outcome", AuditEvent.outcome),
    ):
        if params.get(name):
            query = query.where(column == params[name])
    if params.get("before_id"):
        try:
            query = query.where(AuditEvent.id < int(params["before_id"]))
        except ValueError:
            raise ApiError(400, "invalid_query", "before_id must be a whole number") from None
    events = ctx.db.scalars(query).all()
    ctx.audit("audit_read", detail={"count": len(events)})
    return model_response(AuditEvents(items=[AuditEventOut.model_validate(e) for e in events]))


routes = [api_route("/api/audit-events", list_events, access=Access.only(Role.AUDITOR), response=AuditEvents)]
