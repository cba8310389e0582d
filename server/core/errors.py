"""The domain's refusals, shared by every capability and every door.

A service function raises one of these when the rules say no; it never knows which door asked.
Each door maps the class to its own vocabulary in one place: HTTP status codes in
`server.api.errors`, and later HL7 ACK codes and DIMSE statuses beside their doors. `code` is a
stable machine-readable word clients branch on; `detail` says why, for people; `extra` carries
fields a client may need (the field at fault, the current state, when to retry).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the platform's rules refuse."""

    def __init__(self, code: str, detail: str, *, keep_changes: bool = False, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        # Commit what the operation wrote before refusing (a failed identity check is still recorded).
        self.keep_changes = keep_changes
        self.extra = extra


class Invalid(DomainError):
    """The input breaks a rule of its own: a missing or malformed field, a value out of range."""


class NotFound(DomainError):
    """Nothing of that kind exists for this caller (what a caller may not see is not found either)."""


class Unauthenticated(DomainError):
    """The caller could not be told apart from anyone else: wrong credentials, no session."""


class Busy(DomainError):
    """Someone else is changing the thing right now; `retry_after` says when to ask again."""


class Forbidden(DomainError):
    """The caller may not do this, and is told why (refusals that name a resource are `AccessDenied`)."""


class Conflict(DomainError):
    """The thing's current state does not allow this now (another change came first)."""


class Gone(DomainError):
    """It existed but no longer serves (an expired or revoked link)."""


class TooLarge(DomainError):
    """The input is larger than the platform accepts."""


class Unsupported(DomainError):
    """The input is of a kind the platform does not read (a file format, a media type)."""


class Unprocessable(DomainError):
    """The input is of a known kind but cannot be used (a truncated file, a broken checksum)."""


class TooManyAttempts(DomainError):
    """Too many tries in a short time; `retry_after` (seconds) says when to try again."""


class Unavailable(DomainError):
    """A service the operation needs is down; nothing was changed. `retry_after` says when to retry."""


def not_found(what: str) -> NotFound:
    return NotFound("not_found", f"{what} not found")
