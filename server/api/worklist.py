"""Worklists: the cases a user may see, filtered and sorted, and a live stream of their changes.

`GET /api/worklist/stream` is a server-sent event stream. Every step of a case is a `CaseEvent` row,
so the stream polls that table for events of cases the user may see (the same `case_scope`) and
needs nothing besides the database, on SQLite and PostgreSQL alike and across API replicas. An event
carries no patient data: a client reloads the (audited) worklist when one arrives. The stream ends
when the client goes away, when the login session ends, and after `MAX_STREAM_SECONDS` (the browser's
EventSource reconnects by itself and resumes after `Last-Event-ID`).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response, StreamingResponse

from server.access import audit
from server.access.policy import CLINICAL_ROLES, case_scope
from server.api.cases import now
from server.api.routing import Access, ApiError, Context, api_route
from server.api.serializers import case_json
from server.auth.sessions import resolve_session
from server.auth.tokens import session_token
from server.cases.models import Case, CaseEvent, CaseKind, CaseStatus, Urgency
from server.cases.overdue import flag_overdue
from server.cases.workflow import OPEN_STATES, TERMINAL_STATES
from server.community.models import User

MAX_LISTED = 500
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
MAX_STREAM_SECONDS = 300.0
# Event ids are handed out at insert but become visible at commit, so a smaller id can appear after a
# larger one was sent. Each poll looks this many ids back and skips those already sent.
LOOKBACK_IDS = 200

SORTS = {
    "urgency": (
        case((Case.urgency == Urgency.URGENT, 0), else_=1),
        Case.target_at.asc().nulls_last(),
        Case.id,
    ),
    "waiting": (Case.submitted_at.asc().nulls_last(), Case.id),
    "created": (Case.created_at.desc(), Case.id.desc()),
}


def _choices(ctx: Context, name: str, enum_type: type) -> list[Any] | None:
    raw = ctx.request.query_params.get(name)
    if not raw:
        return None
    try:
        return [enum_type(value.strip()) for value in raw.split(",") if value.strip()]
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ApiError(400, "invalid_query", f"'{name}' takes values from: {allowed}", field=name) from None


def _flag(ctx: Context, name: str) -> bool | None:
    raw = ctx.request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw not in {"true", "false"}:
        raise ApiError(400, "invalid_query", f"'{name}' must be true or false", field=name)
    return raw == "true"


def _filtered(ctx: Context, query: Select[tuple[Case]]) -> Select[tuple[Case]]:
    """Apply the worklist filters of the query string; 400 names a bad one."""
    statuses = _choices(ctx, "status", CaseStatus)
    query = query.where(Case.status.in_(statuses) if statuses else Case.status.notin_(TERMINAL_STATES))
    if kinds := _choices(ctx, "kind", CaseKind):
        query = query.where(Case.kind.in_(kinds))
    if urgencies := _choices(ctx, "urgency", Urgency):
        query = query.where(Case.urgency.in_(urgencies))
    institution = ctx.request.query_params.get("institution")
    if institution:
        if not institution.isdigit():
            raise ApiError(
                400, "invalid_query", "'institution' must be an institution id", field="institution"
            )
        query = query.where(Case.institution_id == int(institution))
    overdue = _flag(ctx, "overdue")
    if overdue is not None:
        query = query.where(Case.overdue_at.is_not(None) if overdue else Case.overdue_at.is_(None))
    if _flag(ctx, "mine"):
        me = ctx.current_user.id
        query = query.where((Case.assigned_to_id == me) | (Case.escalated_to_id == me))
    return query


def _waiting_seconds(item: Case, at: datetime) -> int | None:
    if item.submitted_at is None or item.status not in OPEN_STATES:
        return None
    return max(0, int((at - item.submitted_at).total_seconds()))


def worklist(ctx: Context) -> Response:
    sort = ctx.request.query_params.get("sort", "urgency")
    if sort not in SORTS:
        raise ApiError(400, "invalid_query", f"'sort' must be one of: {', '.join(SORTS)}", field="sort")
    at = now(ctx)
    flag_overdue(ctx.db, at)
    query = _filtered(ctx, select(Case).where(case_scope(ctx.current_user)))
    items = ctx.db.scalars(
        query.options(
            selectinload(Case.patient),
            selectinload(Case.institution),
            selectinload(Case.centre),
            selectinload(Case.assigned_to),
            selectinload(Case.escalated_to),
        )
        .order_by(*SORTS[sort])
        .limit(MAX_LISTED)
    ).all()
    ctx.audit(
        "worklist_read",
        resource_type="case",
        detail={"count": len(items), "query": dict(ctx.request.query_params)},
    )
    return JSONResponse(
        {"items": [{**case_json(c), "waiting_seconds": _waiting_seconds(c, at)} for c in items], "sort": sort}
    )


def _event_frame(row: Any) -> str:
    data = {
        "event_id": row.id,
        "case_id": row.case_id,
        "action": row.action,
        "from_status": row.from_status.value,
        "to_status": row.to_status.value,
        "at": row.at.isoformat(),
        "case": {
            "status": row.status.value,
            "kind": row.kind.value,
            "urgency": row.urgency.value,
            "overdue": row.overdue_at is not None,
        },
    }
    return f"id: {row.id}\nevent: case\ndata: {json.dumps(data)}\n\n"


class _Subscription:
    """One open stream: who it is for, and which events it has sent."""

    def __init__(self, factory: sessionmaker[Session], token: str, user_id: int, after: int) -> None:
        self.factory = factory
        self.token = token
        self.user_id = user_id
        self.start = after
        self.cursor = after
        self.sent_recently: set[int] = set()
        self.sent = 0

    def poll(self) -> list[Any] | None:
        """New events the user may see, in order; None once the login session is no longer valid."""
        with self.factory() as db:
            login = resolve_session(db, self.token)
            if login is None or login.user_id != self.user_id:
                return None
            floor = max(self.start, self.cursor - LOOKBACK_IDS)
            query = (
                select(
                    CaseEvent.id,
                    CaseEvent.case_id,
                    CaseEvent.action,
                    CaseEvent.from_status,
                    CaseEvent.to_status,
                    CaseEvent.at,
                    Case.status,
                    Case.kind,
                    Case.urgency,
                    Case.overdue_at,
                )
                .join(Case, Case.id == CaseEvent.case_id)
                .where(CaseEvent.id > floor, case_scope(login.user))
                .order_by(CaseEvent.id)
                .limit(LOOKBACK_IDS)
            )
            if self.sent_recently:
                query = query.where(CaseEvent.id.notin_(self.sent_recently))
            return list(db.execute(query).all())

    def mark_sent(self, event_id: int) -> None:
        self.sent += 1
        self.sent_recently.add(event_id)
        self.cursor = max(self.cursor, event_id)
        floor = self.cursor - LOOKBACK_IDS
        self.sent_recently = {i for i in self.sent_recently if i > floor}

    def audit_end(self, reason: str, seconds: float) -> None:
        with self.factory() as db:
            audit.record(
                db,
                action="worklist_stream_end",
                user=db.get(User, self.user_id),
                resource_type="case",
                detail={"reason": reason, "events_sent": self.sent, "seconds": round(seconds, 1)},
            )
            db.commit()


async def _stream(subscription: _Subscription) -> AsyncIterator[str]:
    started = time.monotonic()
    last_write = started
    reason = "client_closed"
    try:
        yield "retry: 2000\n\n"
        while True:
            events = await run_in_threadpool(subscription.poll)
            if events is None:
                reason = "session_ended"
                yield 'event: end\ndata: {"reason": "session_ended"}\n\n'
                return
            for row in events:
                yield _event_frame(row)
                subscription.mark_sent(row.id)
                last_write = time.monotonic()
            if time.monotonic() - started > MAX_STREAM_SECONDS:
                reason = "max_age"
                return
            if time.monotonic() - last_write > HEARTBEAT_SECONDS:
                yield ": keepalive\n\n"
                last_write = time.monotonic()
            await anyio.sleep(POLL_SECONDS)
    finally:
        with anyio.CancelScope(shield=True):  # runs when the client went away and the stream is cancelled
            await run_in_threadpool(subscription.audit_end, reason, time.monotonic() - started)


def worklist_stream(ctx: Context) -> Response:
    token, _from_cookie = session_token(ctx.request.headers, ctx.request.cookies)
    assert token is not None and ctx.login is not None  # the route is for signed-in users only
    last_seen = ctx.request.headers.get("last-event-id", "")
    newest = ctx.db.scalar(select(func.max(CaseEvent.id))) or 0
    after = int(last_seen) if last_seen.isdigit() else newest  # resume after the last event the client saw
    ctx.audit("worklist_stream_open", resource_type="case", detail={"after_event": after})
    subscription = _Subscription(ctx.request.app.state.session_factory, token, ctx.current_user.id, after)
    return StreamingResponse(
        _stream(subscription),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


routes = [
    api_route("/api/worklist", worklist, access=Access.only(CLINICAL_ROLES)),
    api_route("/api/worklist/stream", worklist_stream, access=Access.only(CLINICAL_ROLES)),
]
