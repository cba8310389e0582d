"""Server-side login sessions, shared by HTTP and WebSocket clients.

The client holds a random token (cookie for browsers, `Authorization: Bearer` for programs); the
database holds only its SHA-256, the user, the expiry and the session's CSRF token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from server.auth.models import LoginSession
from server.community.models import User
from server.core.orm import utcnow

SESSION_COOKIE = "telemed_session"
CSRF_HEADER = "x-csrf-token"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(
    db: Session, user: User, *, lifetime: timedelta, ip: str | None, user_agent: str | None
) -> tuple[str, LoginSession]:
    token = secrets.token_urlsafe(32)
    record = LoginSession(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + lifetime,
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    db.add(record)
    db.flush()
    return token, record


def resolve_session(db: Session, token: str, now: datetime | None = None) -> LoginSession | None:
    """The live session for `token`, or None if unknown, expired or its user was deactivated."""
    record = db.get(LoginSession, token_hash(token))
    if record is None:
        return None
    if record.expires_at <= (now or utcnow()) or not record.user.active:
        return None
    return record


def end_session(db: Session, token: str) -> None:
    db.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(token)))


def purge_expired(db: Session) -> int:
    expired = select(LoginSession.token_hash).where(LoginSession.expires_at <= utcnow())
    result = cast(
        "CursorResult[Any]", db.execute(delete(LoginSession).where(LoginSession.token_hash.in_(expired)))
    )
    return result.rowcount or 0
