"""Domain refusals as HTTP answers: the one table from `server.core.errors` to status codes."""

from __future__ import annotations

from server.core import errors

HTTP_STATUS: dict[type[errors.DomainError], int] = {
    errors.Invalid: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.TooLarge: 413,
    errors.Unsupported: 415,
    errors.Unprocessable: 422,
    errors.Busy: 423,
    errors.TooManyAttempts: 429,
    errors.Unavailable: 503,
}


def http_status(error: errors.DomainError) -> int:
    """The status of the most specific class of `error` in the table (400 for a bare `DomainError`)."""
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 400
