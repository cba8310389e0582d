"""The consult API: sessions a caller may see, a session's event stream in order (audited), RTC config per role."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server.access.models import AuditEvent
from server.api.app import create_app as create_api
from server.consults.models import ConsultSession
from server.core.config import Settings
from tests.support.consult import (
    bearer,
    new_teaching_session,
    next_of,
    signalling_server,
    user_id_of,
    village_case_id,
    with_rtc,
)


@pytest.fixture(scope="module")
def recorded_consult(
    settings: Settings, app: Starlette, session_factory: sessionmaker[Session]
) -> tuple[int, int]:
    """(case id, session id) of a consult held through the real signalling server: 3 viewer events, 1 chat."""
    case_id = village_case_id(session_factory)
    room = f"/ws/rooms/case-{case_id}"
    with (
        signalling_server(settings) as client,
        client.websocket_connect(room, headers=bearer(app, "radiologist")) as host,
    ):
        session_id = host.receive_json()["room"]["session_id"]
        frames: tuple[dict[str, Any], ...] = (
            {"type": "viewer", "event": {"kind": "open", "target": {"type": "study", "id": "1.2.840.1"}}},
            {"type": "chat", "text": "请看第12层"},
            {"type": "viewer", "event": {"kind": "slice", "index": 12}},
            {"type": "viewer", "event": {"kind": "window", "center": -600, "width": 1500}},
        )
        for frame in frames:
            host.send_json(frame)
            next_of(host, frame["type"])
    return case_id, session_id  # the lifespan's end drained the event writer


def get(client: TestClient, app: Starlette, username: str, path: str):
    return client.get(path, headers=bearer(app, username))


def test_events_are_listed_in_order_and_the_read_is_audited(
    client: TestClient, app: Starlette, session_factory: sessionmaker[Session], recorded_consult
) -> None:
    _case_id, session_id = recorded_consult

    def reads() -> int:
        with session_factory() as db:
            found = db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "consult_events_read", AuditEvent.resource_id == str(session_id))
            )
            assert found is not None
            return found

    before = reads()
    response = get(client, app, "village", f"/api/consults/{session_id}/events")
    assert response.status_code == 200, response.text
    events = response.json()["events"]
    assert [(e["seq"], e["kind"]) for e in events] == [
        (1, "viewer"),
        (2, "chat"),
        (3, "viewer"),
        (4, "viewer"),
    ]
    assert events[1]["payload"] == {"text": "请看第12层"}
    assert events[3]["payload"] == {"kind": "window", "center": -600, "width": 1500}
    assert [e["t_ms"] for e in events] == sorted(e["t_ms"] for e in events)
    assert response.json()["session"]["ended_at"] is not None
    later = get(client, app, "village", f"/api/consults/{session_id}/events?after=2").json()["events"]
    assert [e["seq"] for e in later] == [3, 4]
    assert reads() == before + 2


def test_sessions_are_listed_to_those_who_see_the_case(
    client: TestClient, app: Starlette, recorded_consult
) -> None:
    case_id, session_id = recorded_consult
    listed = get(client, app, "radiologist", f"/api/consults?case_id={case_id}").json()["sessions"]
    assert session_id in [s["id"] for s in listed] and {s["case_id"] for s in listed} == {case_id}
    for outsider in ("township", "trainee", "ecgreader"):
        visible = get(client, app, outsider, "/api/consults").json()["sessions"]
        assert all(s["case_id"] != case_id for s in visible)
        assert get(client, app, outsider, f"/api/consults/{session_id}/events").status_code == 404
    assert get(client, app, "auditor", "/api/consults").status_code == 403


def test_a_trainee_reads_a_teaching_round_without_the_original_ids(
    settings: Settings, client: TestClient, app: Starlette, session_factory: sessionmaker[Session]
) -> None:
    teaching_id = new_teaching_session(session_factory, "读片教学")
    shape = {"type": "line", "points": [[0, 0], [3, 4]]}
    with (
        signalling_server(settings) as signalling,
        signalling.websocket_connect(
            f"/ws/rooms/teaching-{teaching_id}", headers=bearer(app, "radiologist")
        ) as host,
    ):
        session_id = host.receive_json()["room"]["session_id"]
        for event in (
            {"kind": "open", "target": {"type": "study", "id": "1.2.840.77"}},
            {"kind": "annotation_added", "id": "m1", "shape": shape},
            {"kind": "slice", "index": 3},
        ):
            host.send_json({"type": "viewer", "event": event})
            next_of(host, "viewer")
    path = f"/api/consults/{session_id}/events"
    trainee = [e["payload"] for e in get(client, app, "trainee", path).json()["events"]]
    assert trainee == [{"kind": "open", "target": {"type": "study", "id": ""}}, {"kind": "slice", "index": 3}]
    host_view = [e["payload"] for e in get(client, app, "radiologist", path).json()["events"]]
    assert host_view[0]["target"]["id"] == "1.2.840.77" and host_view[1]["shape"] == shape


@pytest.mark.parametrize(
    "query", ["case_id=abc", "case_id=-1", "teaching_session_id=99999999999", "after=1e3"]
)
def test_bad_queries_get_a_400(client: TestClient, app: Starlette, recorded_consult, query) -> None:
    _case_id, session_id = recorded_consult
    path = (
        f"/api/consults/{session_id}/events?{query}"
        if query.startswith("after")
        else f"/api/consults?{query}"
    )
    response = get(client, app, "radiologist", path)
    assert response.status_code == 400 and response.json()["error"] == "invalid_query"


def test_rtc_config_signs_turn_for_the_caller(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    secret = "s3cret-of-coturn"
    rtc = {"turn_urls": ("turn:10.0.0.5:3478?transport=udp",), "turn_secret": secret, "turn_ttl_seconds": 900}
    api = create_api(with_rtc(settings, **rtc))
    with TestClient(api) as client:
        for username in ("village", "trainee", "expert"):
            response = client.get("/api/rtc/config", headers=bearer(api, username))
            assert response.status_code == 200, response.text
            config = response.json()
            assert config["signaling_url"] == f"ws://testserver:{settings.signaling_port}"
            (turn,) = config["ice_servers"]
            expiry, user_id = turn["username"].split(":")
            assert user_id == str(user_id_of(session_factory, username))
            assert 890 <= int(expiry) - time.time() <= 901
            digest = hmac.new(secret.encode(), turn["username"].encode(), hashlib.sha1).digest()
            assert turn["credential"] == base64.b64encode(digest).decode()
        assert client.get("/api/rtc/config", headers=bearer(api, "auditor")).status_code == 403
        assert client.get("/api/rtc/config").status_code == 401


def test_with_nothing_configured_peers_use_host_candidates(client: TestClient, app: Starlette) -> None:
    assert get(client, app, "radiologist", "/api/rtc/config").json()["ice_servers"] == []


def test_a_session_row_per_occupation(session_factory: sessionmaker[Session], recorded_consult) -> None:
    _case_id, session_id = recorded_consult
    with session_factory() as db:
        row = db.get(ConsultSession, session_id)
        assert row is not None and row.ended_at is not None
        assert row.room == f"case-{row.case_id}" and row.started_at <= row.ended_at
