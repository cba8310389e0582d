"""Login throttling kept in the database, so every API process sees the same counts.

A username is locked after `max_failures` failed logins within the window (since its last success);
an address after four times as many, which stops one client spraying passwords across accounts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from server.auth.models import LoginAttempt
from server.core.orm import utcnow

ADDRESS_FACTOR = 4


# The columns a login is counted by: the username (never null) and the client address (nullable).
_Counted = InstrumentedAttribute[str] | InstrumentedAttribute[str | None]


def _failures_since(
    db: Session, column: _Counted, value: str, since: datetime
) -> tuple[int, datetime | None]:
    last_success = db.scalar(
        select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.succeeded.is_(True))
    )
    start = max(since, last_success) if last_success else since
    count, oldest = db.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(
            column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.at > start
        )
    ).one()
    return count, oldest


def retry_after(
    db: Session, *, username: str, ip: str | None, max_failures: int, window: timedelta
) -> int | None:
    """Seconds the caller must wait before trying again, or None if a login may be tried now."""
    now = utcnow()
    since = now - window
    checks: list[tuple[_Counted, str, int]] = [(LoginAttempt.username, username, max_failures)]
    if ip:
        checks.append((LoginAttempt.ip, ip, max_failures * ADDRESS_FACTOR))
    waits = []
    for column, value, limit in checks:
        count, oldest = _failures_since(db, column, value, since)
        if count >= limit and oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
            waits.append(max(1, int((oldest + window - now).total_seconds()) + 1))
    return max(waits) if waits else None


def record_attempt(db: Session, *, username: str, ip: str | None, succeeded: bool) -> None:
    db.add(LoginAttempt(username=username[:64], ip=ip, succeeded=succeeded))
