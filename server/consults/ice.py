"""The ICE servers handed to a consult peer, with TURN credentials in coturn's REST-API scheme.

coturn (`use-auth-secret`, `static-auth-secret`) accepts `username = "<expiry>:<user id>"` with
`credential = base64(HMAC-SHA1(secret, username))` until the expiry time, so no per-user TURN
account has to exist and a leaked credential stops working by itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from server.core.config import RtcSettings


def turn_credential(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def ice_servers(rtc: RtcSettings, user_id: int, *, now: float | None = None) -> list[dict[str, Any]]:
    """An RTCIceServer list for this user: STUN as configured, TURN signed until now + TTL."""
    servers: list[dict[str, Any]] = []
    if rtc.stun_urls:
        servers.append({"urls": list(rtc.stun_urls)})
    if rtc.turn_urls:
        expiry = int(now if now is not None else time.time()) + rtc.turn_ttl_seconds
        username = f"{expiry}:{user_id}"
        servers.append(
            {
                "urls": list(rtc.turn_urls),
                "username": username,
                "credential": turn_credential(rtc.turn_secret, username),
            }
        )
    return servers
