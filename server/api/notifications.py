"""Notifications: the requester told of a result or a return, a centre alerted of an overdue case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session, selectinload
from starlette.responses import JSONResponse, Response

from server.access.policy import CLINICAL_ROLES, case_scope
from server.api.routing import Access, ApiError, Context, api_route, not_found
from server.api.serializers import notification_json
from server.cases.models import Case, Notification, NotificationKind
from server.community.models import User
from server.core.clock import app_clock

MAX_LISTED = 200


def notify(
    db: Session,
    case: Case,
    kind: NotificationKind,
    at: datetime,
    *,
    user_id: int | None = None,
    centre_id: int | None = None,
) -> None:
    """One notification about `case`, to one user or to one reading centre (exactly one of them)."""
    assert (user_id is None) != (centre_id is None), "a notification goes to a user or to a centre"
    db.add(
        Notification(
            case_id=case.id,
            kind=kind,
            created_at=at,
            recipient_user_id=user_id,
            recipient_centre_id=centre_id,
        )
    )


def _addressed_to(user: User):  # type: ignore[no-untyped-def]
    """Notifications for this user: their own, and their centre's; only about cases they may still see."""
    mine = Notification.recipient_user_id == user.id
    centre = false() if user.centre_id is None else Notification.recipient_centre_id == user.centre_id
    return (or_(mine, centre), Notification.case_id.in_(select(Case.id).where(case_scope(user))))


def list_notifications(ctx: Context) -> Response:
    unread_only = ctx.request.query_params.get("unread") in {"1", "true"}
    query = select(Notification).where(*_addressed_to(ctx.current_user))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    items = ctx.db.scalars(
        query.options(selectinload(Notification.case))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(MAX_LISTED)
    ).all()
    ctx.audit(
        "notification_list",
        resource_type="notification",
        detail={"count": len(items), "cases": sorted({n.case_id for n in items})},
    )
    return JSONResponse({"items": [notification_json(n) for n in items]})


def mark_read(ctx: Context) -> Response:
    notification = ctx.db.scalar(
        select(Notification).where(
            Notification.id == ctx.path["notification_id"], *_addressed_to(ctx.current_user)
        )
    )
    if notification is None:
        raise not_found("notification")
    if notification.read_at is not None:
        raise ApiError(409, "already_read", "this notification was already marked read")
    notification.read_at = app_clock(ctx.request.app).now()
    ctx.audit(
        "notification_read",
        resource_type="notification",
        resource_id=notification.id,
        patient_id=notification.case.patient_id,
    )
    return JSONResponse(notification_json(notification))


routes = [
    api_route("/api/notifications", list_notifications, access=Access.only(CLINICAL_ROLES)),
    api_route(
        "/api/notifications/{notification_id:int}/read",
        mark_read,
        access=Access.only(CLINICAL_ROLES),
        methods=["POST"],
    ),
]
