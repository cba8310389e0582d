"""Notifications: the requester told of a result or a return, a centre alerted of an overdue case.

The rules (who is told, who may read and mark what) are `server.cases.notifications`'.
"""

from __future__ import annotations

from starlette.responses import Response

from server.access.policy import CLINICAL_ROLES
from server.api.routing import NO_CONTENT, Access, Context, api_route, model_response
from server.api.schemas.cases import NotificationList, NotificationOut
from server.cases import notifications


def list_notifications(ctx: Context) -> Response:
    unread_only = ctx.request.query_params.get("unread") in {"1", "true"}
    items = notifications.list_notifications(ctx.db, ctx.actor, unread_only=unread_only)
    return model_response(NotificationList(items=[NotificationOut.of(n) for n in items]))


def mark_read(ctx: Context) -> Response:
    notification = notifications.mark_read(ctx.db, ctx.actor, ctx.clock, ctx.path["notification_id"])
    return model_response(NotificationOut.of(notification))


routes = [
    api_route(
        "/api/notifications",
        list_notifications,
        access=Access.only(CLINICAL_ROLES),
        response=NotificationList,
    ),
    api_route(
        "/api/notifications/{notification_id:int}/read",
        mark_read,
        access=Access.only(CLINICAL_ROLES),
        methods=["POST"],
        consumes=NO_CONTENT,
        response=NotificationOut,
    ),
]
