"""Signing in and out: a password checked under login throttling, a login session, both audited.

A username is throttled after too many failed logins within the window, an address after more
(`server.auth.ratelimit`); a throttled or failed login is still recorded, so the refusal keeps its
records (`keep_changes`). How the session token travels (cookie or bearer) is the door's business.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.access import audit
from server.access.actor import Actor
from server.auth import ratelimit
from server.auth.models import LoginSession
from server.auth.passwords import verify_password
from server.auth.sessions import create_session, end_session
from server.community.models import User
from server.core.config import Settings
from server.core.errors import TooManyAttempts, Unauthenticated


class InvalidCredentials(Unauthenticated):
    """Wrong username or password, or a deactivated account (which one is never told)."""


@dataclass(frozen=True)
class SignedIn:
    """A new login session: the token the client keeps, and its record (with the CSRF token)."""

    user: User
    token: str
    session: LoginSession


def login(db: Session, actor: Actor, settings: Settings, username: str, password: str) -> SignedIn:
    """Check `username`'s password (unless throttled: `TooManyAttempts` with `retry_after`) and open a
    session of `settings.session_hours`; `actor` is the anonymous caller (their address counts too)."""
    username = username.strip()
    wait = ratelimit.retry_after(
        db,
        username=username,
        ip=actor.ip,
        max_failures=settings.login_max_failures,
        window=timedelta(seconds=settings.login_window_seconds),
    )
    if wait is not None:
        actor.audit(db, "login", username=username, outcome=audit.DENIED, detail={"reason": "rate_limited"})
        raise TooManyAttempts(
            "too_many_attempts",
            "too many failed logins; try again later",
            retry_after=wait,
            keep_changes=True,
        )

    user = db.scalar(select(User).where(User.username == username))
    valid = verify_password(user.password_hash if user else None, password) and user is not None
    if not valid or user is None or not user.active:
        ratelimit.record_attempt(db, username=username, ip=actor.ip, succeeded=False)
        actor.audit(db, "login", username=username, outcome=audit.FAILED)
        raise InvalidCredentials("invalid_credentials", "wrong username or password", keep_changes=True)

    ratelimit.record_attempt(db, username=username, ip=actor.ip, succeeded=True)
    token, session = create_session(
        db,
        user,
        lifetime=timedelta(hours=settings.session_hours),
        ip=actor.ip,
        user_agent=actor.user_agent,
    )
    replace(actor, user=user).audit(db, "login")
    return SignedIn(user, token, session)


def logout(db: Session, actor: Actor, token: str | None) -> None:
    """End the session `token` names (if any) and record the logout."""
    if token:
        end_session(db, token)
    actor.audit(db, "logout")
