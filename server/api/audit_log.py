"""The audit log, for auditors: the query is `server.access.audit_log`'s; this handler parses and answers."""

from __future__ import annotations

from starlette.responses import Response

from server.access import audit_log
from server.api.routing import Access, ApiError, Context, api_route, model_response
from server.api.schemas.audit_log import AuditEvent as AuditEventOut
from server.api.schemas.audit_log import AuditEvents
from server.community.models import Role


def _query(ctx: Context) -> audit_log.AuditQuery:
    params = ctx.request.query_params
    before_id = None
    if params.get("before_id"):
        try:
            before_id = int(params["before_id"])
        except ValueError:
            raise ApiError(400, "invalid_query", "before_id must be a whole number") from None
    return audit_log.AuditQuery(
        action=params.get("action") or None,
        resource_type=params.get("resource_type") or None,
        resource_id=params.get("resource_id") or None,
        username=params.get("username") or None,
        outcome=params.get("outcome") or None,
        before_id=before_id,
    )


def list_events(ctx: Context) -> Response:
    events = audit_log.list_events(ctx.db, ctx.actor, _query(ctx))
    return model_response(AuditEvents(items=[AuditEventOut.model_validate(e) for e in events]))


routes = [api_route("/api/audit-events", list_events, access=Access.only(Role.AUDITOR), response=AuditEvents)]
