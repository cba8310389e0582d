"""Signalling: who may join a consult room, SDP/ICE relay, bad frames, ICE servers with TURN credentials.

The helpers shared with the other consult tests are in tests/support/consult.py.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aioice.stun import TransactionFailed
from aioice.turn import create_turn_endpoint
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server.access.models import AuditEvent
from server.consults.ice import ice_servers
from server.core.config import RtcSettings, Settings
from signaling.app import create_app
from tests.support.consult import (
    bearer,
    next_of,
    refusal,
    signalling_server,
    user_id_of,
    village_case_id,
    with_rtc,
)
from tests.support.coturn import coturn


@pytest.fixture
def signalling(settings: Settings) -> Iterator[TestClient]:
    with signalling_server(settings) as client:
        yield client


def joins_audited(session_factory: Any, case_id: int) -> int:
    with session_factory() as db:
        return db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "consult_joined", AuditEvent.resource_id == str(case_id))
        )


def test_two_peers_exchange_an_offer(
    signalling, app: Starlette, session_factory: sessionmaker[Session]
) -> None:
    case_id = village_case_id(session_factory)
    joined_before = joins_audited(session_factory, case_id)
    room = f"/ws/rooms/case-{case_id}"
    with (
        signalling.websocket_connect(room, headers=bearer(app, "village")) as village,
        signalling.websocket_connect(room, headers=bearer(app, "radiologist")) as reader,
    ):
        village_welcome = village.receive_json()
        assert village_welcome["role"] == "requester" and village_welcome["room"]["kind"] == "case"
        welcome = reader.receive_json()
        assert welcome["role"] == "host"
        assert [p["display_name"] for p in welcome["peers"]] == ["王村医"]
        assert next_of(village, "peer_joined")["peer_id"] == welcome["peer_id"]
        village_id = village_welcome["peer_id"]
        reader.send_json({"type": "offer", "to": village_id, "sdp": "v=0"})
        assert next_of(village, "leader")["peer_id"] == welcome["peer_id"]  # the first host leads
        relayed = village.receive_json()
        assert relayed == {"type": "offer", "to": village_id, "sdp": "v=0", "from": welcome["peer_id"]}
        candidate = {
            "candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        }
        village.send_json({"type": "ice", "to": welcome["peer_id"], "candidate": candidate})
        assert next_of(reader, "ice")["candidate"] == candidate
        village.send_json({"type": "ice", "to": welcome["peer_id"], "candidate": None})
        assert next_of(reader, "ice")["candidate"] is None  # end of candidates
    assert joins_audited(session_factory, case_id) == joined_before + 2  # joining is access to patient data


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_message"),
        ("[1, 2]", "bad_message"),
        ('{"type": 7}', "bad_message"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "offer", "to": "x"}', "bad_message"),
        ('{"type": "offer", "to": "nobody", "sdp": "v=0"}', "unknown_peer"),
        ('{"type": "chat", "text": ""}', "bad_message"),
        ('{"type": "chat", "text": "' + "字" * 2001 + '"}', "bad_message"),
        ('{"type": "viewer", "event": {"kind": "zap"}}', "bad_message"),
        ('{"type": "viewer", "event": {"kind": "pointer", "x": 2, "y": 0}}', "bad_message"),
        ('{"type": "network", "rtt_ms": -1, "loss": 0, "bitrate_kbps": 1}', "bad_message"),
        ('{"type": "moderate", "action": "end"}', "not_allowed"),
        ('{"type": "recording", "action": "start"}', "not_allowed"),
        ('{"type": "ping", "extra": ' + "1" * 70000 + "}", "bad_message"),
        ('{"type": "chat", "text": "' + "字" * 22000 + '"}', "bad_message"),  # 66 KB in UTF-8
        (b"\x00\xff binary", "bad_message"),
        ("", "bad_message"),
    ],
)
def test_bad_frames_get_an_error_and_the_room_carries_on(
    signalling, app: Starlette, session_factory: sessionmaker[Session], frame, code
) -> None:
    with signalling.websocket_connect(
        f"/ws/rooms/case-{village_case_id(session_factory)}", headers=bearer(app, "village")
    ) as village:
        village.receive_json()
        village.send_bytes(frame) if isinstance(frame, bytes) else village.send_text(frame)
        error = village.receive_json()
        assert error["type"] == "error" and error["error"] == code, error
        assert error["detail"]
        village.send_json({"type": "ping"})
        assert village.receive_json() == {"type": "pong"}


def test_a_trainee_cannot_join_a_live_clinical_consult_room(
    signalling, app: Starlette, session_factory: sessionmaker[Session]
) -> None:
    case_id = village_case_id(session_factory)

    def refusals() -> int:
        with session_factory() as db:
            found = db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "access_denied", AuditEvent.resource_id == f"case-{case_id}")
            )
            assert found is not None
            return found

    before = refusals()
    assert refusal(signalling, f"/ws/rooms/case-{case_id}", bearer(app, "trainee")) == (
        1008,
        "trainee_not_allowed",
    )
    assert refusals() == before + 1


@pytest.mark.parametrize(
    ("room", "username", "reason"),
    [
        ("case-{case}", None, "unauthenticated"),
        ("case-{case}", "township", "forbidden"),
        ("case-{case}", "ecgreader", "forbidden"),
        ("case-987654321", "village", "no_such_room"),
        ("case-abc", "village", "no_such_room"),
        ("teaching-987654321", "village", "no_such_room"),
        ("lobby", "village", "no_such_room"),
    ],
)
def test_outsiders_cannot_join(
    signalling, app: Starlette, session_factory: sessionmaker[Session], room, username, reason
) -> None:
    path = "/ws/rooms/" + room.format(case=village_case_id(session_factory))
    headers = bearer(app, username) if username else {}
    assert refusal(signalling, path, headers) == (1008, reason)


def test_a_foreign_origin_is_refused(
    signalling, app: Starlette, session_factory: sessionmaker[Session]
) -> None:
    path = f"/ws/rooms/case-{village_case_id(session_factory)}"
    headers = {**bearer(app, "village"), "Origin": "https://evil.example"}
    assert refusal(signalling, path, headers) == (1008, "bad_origin")
    with signalling.websocket_connect(path, headers={**headers, "Origin": "http://testserver:8000"}) as ws:
        assert ws.receive_json()["type"] == "welcome"


def test_turn_credentials_verify_as_coturn_computes_them(
    settings: Settings, app: Starlette, session_factory: sessionmaker[Session]
) -> None:
    secret = "coturn-static-auth-secret"
    rtc: dict[str, Any] = {
        "stun_urls": ("stun:turn.example.cn:3478",),
        "turn_urls": ("turn:turn.example.cn:3478?transport=udp", "turns:turn.example.cn:443?transport=tcp"),
        "turn_secret": secret,
        "turn_ttl_seconds": 600,
    }
    with (
        TestClient(create_app(with_rtc(settings, **rtc))) as client,
        client.websocket_connect(
            f"/ws/rooms/case-{village_case_id(session_factory)}", headers=bearer(app, "village")
        ) as ws,
    ):
        welcome = ws.receive_json()
    stun, turn = welcome["ice_servers"]
    assert stun == {"urls": ["stun:turn.example.cn:3478"]}
    assert turn["urls"] == list(rtc["turn_urls"])
    expiry, user_id = turn["username"].split(":")
    assert user_id == str(user_id_of(session_factory, "village"))
    assert 590 <= int(expiry) - time.time() <= 601
    expected = base64.b64encode(hmac.new(secret.encode(), turn["username"].encode(), hashlib.sha1).digest())
    assert turn["credential"] == expected.decode()


def test_a_flood_is_rate_limited_and_the_socket_survives(
    signalling, app: Starlette, session_factory: sessionmaker[Session]
) -> None:
    with signalling.websocket_connect(
        f"/ws/rooms/case-{village_case_id(session_factory)}", headers=bearer(app, "village")
    ) as village:
        village.receive_json()
        for _ in range(400):
            village.send_json({"type": "ping"})
        answers = [village.receive_json() for _ in range(400)]
        limited = [a for a in answers if a.get("error") == "rate_limited"]
        assert limited and answers.count({"type": "pong"}) >= 200  # the burst passes, the flood does not
        time.sleep(0.1)
        village.send_json({"type": "ping"})
        assert village.receive_json() == {"type": "pong"}


async def allocate(port: int, server: dict[str, Any]) -> str:
    """A TURN allocation with the handed-out credentials: 'ok' or coturn's refusal."""
    try:
        transport, _ = await asyncio.wait_for(
            create_turn_endpoint(
                asyncio.DatagramProtocol, ("127.0.0.1", port), server["username"], server["credential"]
            ),
            timeout=5,
        )
    except TransactionFailed as failed:
        return str(failed)
    transport.close()
    return "ok"


def test_coturn_accepts_the_credentials_until_they_expire(tmp_path: Path) -> None:
    with coturn(tmp_path) as turn:
        rtc = RtcSettings(turn_urls=(turn.url,), turn_secret=turn.secret)
        assert asyncio.run(allocate(turn.port, ice_servers(rtc, 42)[0])) == "ok"
        expired = ice_servers(rtc, 42, now=time.time() - 2 * rtc.turn_ttl_seconds)[0]
        assert "401" in asyncio.run(allocate(turn.port, expired))
        forged = ice_servers(dataclasses.replace(rtc, turn_secret="guessed"), 42)[0]
        assert "401" in asyncio.run(allocate(turn.port, forged))
