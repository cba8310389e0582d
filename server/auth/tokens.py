"""Where a client's session token travels: `Authorization: Bearer` for programs, the cookie for browsers.

Shared by every door that takes a login session (the HTTP API, the signalling server's WebSocket),
so they all read it the same way. Only a token from the cookie needs the CSRF check.
"""

from __future__ import annotations

from collections.abc import Mapping

from server.auth.sessions import SESSION_COOKIE


def session_token(headers: Mapping[str, str], cookies: Mapping[str, str]) -> tuple[str | None, bool]:
    """The session token and whether it came from the cookie."""
    header = headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None, False
    return cookies.get(SESSION_COOKIE), True
