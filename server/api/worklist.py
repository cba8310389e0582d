"""Worklists: the cases a user may see, filtered and sorted, and a live stream of their changes.

`GET /api/worklist/stream` is a server-sent event stream of the case events the user may see
(`server.cases.worklist.events_after`, polled), so it needs nothing besides the database, on SQLite
and PostgreSQL alike and across API replicas. An event carries no patient data: a client reloads the
(audited) worklist when one arrives. The stream ends when the client goes away, when the login
session ends, and after `MAX_STREAM_SECONDS` (the browser's EventSource reconnects by itself and
resumes after `Last-Event-ID`).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from enum import Enum
from typing import Any, TypeVar

import anyio
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from server.access.policy import CLINICAL_ROLES
from server.api.routing import Access, ApiError, Context, api_route, model_response
from server.api.schemas.cases import StreamCaseState, Worklist, WorklistItem, WorklistStreamEvent
from server.auth.sessions import resolve_session
from server.auth.tokens import session_token
from server.cases import worklist as cases_worklist
from server.cases.models import CaseKind, CaseStatus, Urgency
from server.cases.worklist import LOOKBACK_IDS, Sort, WorklistQuery

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
MAX_STREAM_SECONDS = 300.0

E = TypeVar("E", bound=Enum)


def _choices(ctx: Context, name: str, enum_type: type[E]) -> list[E] | None:
    raw = ctx.request.query_params.get(name)
    if not raw:
        return None
    try:
        return [enum_type(value.strip()) for value in raw.split(",") if value.strip()]
    except ValueError:
        allowed = ", ".join(str(member.value) for member in enum_type)
        raise ApiError(400, "invalid_query", f"'{name}' takes values from: {allowed}", field=name) from None


def _flag(ctx: Context, name: str) -> bool | None:
    raw = ctx.request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw not in {"true", "false"}:
        raise ApiError(400, "invalid_query", f"'{name}' must be true or false", field=name)
    return raw == "true"


def _query(ctx: Context) -> WorklistQuery:
    """The worklist filters of the query string; 400 names a bad one."""
    params = ctx.request.query_params
    sort = params.get("sort", "urgency")
    if sort not in set(Sort):
        raise ApiError(400, "invalid_query", f"'sort' must be one of: {', '.join(Sort)}", field="sort")
    statuses = _choices(ctx, "status", CaseStatus)
    kinds = _choices(ctx, "kind", CaseKind)
    urgencies = _choices(ctx, "urgency", Urgency)
    institution = params.get("institution")
    if institution and not institution.isdigit():
        raise ApiError(400, "invalid_query", "'institution' must be an institution id", field="institution")
    return WorklistQuery(
        sort=Sort(sort),
        statuses=statuses,
        kinds=kinds,
        urgencies=urgencies,
        institution_id=int(institution) if institution else None,
        overdue=_flag(ctx, "overdue"),
        mine=bool(_flag(ctx, "mine")),
        asked=dict(params),
    )


def worklist(ctx: Context) -> Response:
    query = _query(ctx)
    entries = cases_worklist.worklist(ctx.db, ctx.actor, ctx.clock, query)
    return model_response(Worklist(items=[WorklistItem.of_entry(e) for e in entries], sort=query.sort))


def _event_frame(row: Any) -> str:
    data = WorklistStreamEvent(
        event_id=row.id,
        case_id=row.case_id,
        action=row.action,
        from_status=row.from_status,
        to_status=row.to_status,
        at=row.at,
        case=StreamCaseState(
            status=row.status, kind=row.kind, urgency=row.urgency, overdue=row.overdue_at is not None
        ),
    )
    return f"id: {row.id}\nevent: case\ndata: {json.dumps(data.model_dump(mode='json'))}\n\n"


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
            return cases_worklist.events_after(db, login.user, floor, self.sent_recently)

    def mark_sent(self, event_id: int) -> None:
        self.sent += 1
        self.sent_recently.add(event_id)
        self.cursor = max(self.cursor, event_id)
        floor = self.cursor - LOOKBACK_IDS
        self.sent_recently = {i for i in self.sent_recently if i > floor}

    def audit_end(self, reason: str, seconds: float) -> None:
        with self.factory() as db:
            cases_worklist.close_stream(db, self.user_id, reason, self.sent, seconds)
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
    """Server-sent events: `event: case` (data: `WorklistStreamEvent`) for each step of a case the
    caller may see, `event: end` when the login session ends."""
    token, _from_cookie = session_token(ctx.request.headers, ctx.request.cookies)
    assert token is not None and ctx.login is not None  # the route is for signed-in users only
    after = cases_worklist.open_stream(ctx.db, ctx.actor, ctx.request.headers.get("last-event-id"))
    subscription = _Subscription(ctx.request.app.state.session_factory, token, ctx.current_user.id, after)
    return StreamingResponse(
        _stream(subscription),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


routes = [
    api_route("/api/worklist", worklist, access=Access.only(CLINICAL_ROLES), response=Worklist),
    api_route(
        "/api/worklist/stream",
        worklist_stream,
        access=Access.only(CLINICAL_ROLES),
        produces="text/event-stream",
    ),
]
