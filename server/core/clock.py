"""The workflow's notion of "now", one injectable clock, so deadlines can be tested without waiting.

The API reads it from `app.state.clock` (the system clock unless a test or a tool set another);
background tasks use the system clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved: `advance(minutes=5)` or `set(moment)`."""

    def __init__(self, at: datetime) -> None:
        self.set(at)

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a clock keeps aware UTC times")
        self._at = at.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        self._at += timedelta(**delta)
        return self._at

    def now(self) -> datetime:
        return self._at


SYSTEM_CLOCK = SystemClock()

# China Standard Time (北京时间): the time member units keep their books, clinics and printed reports in.
CHINA_TIME = ZoneInfo("Asia/Shanghai")


def app_clock(app: Any) -> Clock:
    """The clock of a running application (a Starlette app with `state`)."""
    return getattr(app.state, "clock", SYSTEM_CLOCK)
