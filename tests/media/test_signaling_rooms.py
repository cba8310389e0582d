"""Live rooms: roles, waiting room, leader and viewer stream, late joiners, reconnection, moderation, recording."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server.consults.models import ConsultSession, RoomEvent
from server.core.config import Settings
from signaling.app import create_app
from signaling.rooms import Peer, Room
from tests.support.consult import (
    bearer,
    new_teaching_session,
    next_of,
    refusal,
    signalling_server,
    village_case_id,
    with_rtc,
)


@dataclass(eq=False)
class FramesPeer(Peer):
    """A server-side member that keeps what it is sent, as the recorder's peer would read it."""

    frames: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, message: dict[str, Any]) -> None:
        self.frames.append(message)


@pytest.fixture(scope="module")
def teaching_room(session_factory: sessionmaker[Session], demo: None) -> str:
    return f"/ws/rooms/teaching-{new_teaching_session(session_factory, '胸部CT教学查房')}"


@pytest.fixture
def signalling(settings: Settings):
    with signalling_server(settings) as client:
        yield client


@pytest.fixture
def case_room(session_factory: sessionmaker[Session]) -> str:
    return f"/ws/rooms/case-{village_case_id(session_factory)}"


def connect(client: Any, app: Any, room: str, username: str, query: str = "") -> Any:
    return client.websocket_connect(room + query, headers=bearer(app, username))


def test_roles_follow_the_room_kind(signalling, app: Starlette, case_room, teaching_room) -> None:
    with connect(signalling, app, teaching_room, "radiologist") as host:
        welcome = host.receive_json()
        assert (welcome["role"], welcome["room"]["kind"], welcome["room"]["title"]) == (
            "host",
            "teaching",
            "胸部CT教学查房",
        )
        with (
            connect(signalling, app, teaching_room, "village") as village,
            connect(signalling, app, teaching_room, "trainee") as trainee,
        ):
            assert village.receive_json()["role"] == "participant"
            observer = trainee.receive_json()
            assert observer["role"] == "observer"
            # an observer receives only: no offers to browsers, no viewer events; chat is fine
            trainee.send_json({"type": "offer", "to": welcome["peer_id"], "sdp": "v=0"})
            assert next_of(trainee, "error")["error"] == "not_allowed"
            trainee.send_json({"type": "viewer", "event": {"kind": "pointer", "x": 0.5, "y": 0.5}})
            assert next_of(trainee, "error")["error"] == "not_allowed"
            trainee.send_json({"type": "chat", "text": "老师好"})
            line = next_of(host, "chat")
            assert (line["display_name"], line["text"], line["from"]) == (
                "刘学员",
                "老师好",
                observer["peer_id"],
            )


def test_trainees_see_what_is_shown_but_never_the_original_ids(
    signalling, app: Starlette, teaching_room
) -> None:
    """The UIDs of an original study lead to the patient: observers get the kind of material only."""
    shape = {"type": "line", "points": [[0, 0], [5, 5]], "image": "1.2.826.0.1.3680043.8.498.77"}
    with (
        connect(signalling, app, teaching_room, "radiologist") as host,
        connect(signalling, app, teaching_room, "village") as village,
        connect(signalling, app, teaching_room, "trainee") as trainee,
    ):
        host.receive_json(), village.receive_json(), trainee.receive_json()
        for event in (
            {"kind": "open", "target": {"type": "study", "id": "1.2.826.0.1.3680043.8.498.76"}},
            {"kind": "annotation_added", "id": "m1", "shape": shape},
            {"kind": "slice", "index": 4},
        ):
            host.send_json({"type": "viewer", "event": event})
        participant = [next_of(village, "viewer")["event"] for _ in range(3)]
        assert participant[0]["target"]["id"].endswith("76") and participant[1]["shape"] == shape
        seen = [next_of(trainee, "viewer")["event"] for _ in range(2)]
        assert seen == [
            {"kind": "open", "target": {"type": "study", "id": ""}},
            {"kind": "slice", "index": 4},
        ]
        with connect(signalling, app, teaching_room, "trainee") as late:
            state = late.receive_json()["state"]
        assert (state["open"], state["slice"], state["annotations"]) == ({"type": "study", "id": ""}, 4, {})


def test_a_case_requester_waits_in_the_room(signalling, app: Starlette, case_room) -> None:
    with connect(signalling, app, case_room, "village") as village:
        assert village.receive_json()["role"] == "requester"  # the village doctor waits *in* the room


def test_a_case_participant_waits_until_a_host_admits_or_denies(
    signalling, app: Starlette, case_room
) -> None:
    with connect(signalling, app, case_room, "radiologist") as host:
        host_id = host.receive_json()["peer_id"]
        with connect(signalling, app, case_room, "dispatcher") as dispatcher:
            waiting = dispatcher.receive_json()
            assert waiting["type"] == "waiting" and waiting["resume_token"]
            listed = next_of(host, "waiting_list")
            assert [p["display_name"] for p in listed["peers"]] == ["赵调度"]
            dispatcher.send_json({"type": "offer", "to": host_id, "sdp": "v=0"})
            assert dispatcher.receive_json()["error"] == "waiting"  # no SDP before admission
            host.send_json({"type": "admit", "peer_id": waiting["peer_id"]})
            welcome = dispatcher.receive_json()
            assert welcome["type"] == "welcome" and welcome["role"] == "participant"
            assert next_of(host, "peer_joined")["display_name"] == "赵调度"
            assert next_of(host, "waiting_list")["peers"] == []
        with connect(signalling, app, case_room, "admin") as admin:
            waiting = admin.receive_json()
            host.send_json({"type": "deny", "peer_id": waiting["peer_id"]})
            assert admin.receive_json() == {"type": "denied"}
            with pytest.raises(WebSocketDisconnect) as closed:
                admin.receive_json()
            assert (closed.value.code, closed.value.reason) == (1008, "denied")


def test_leader_hand_over_and_the_viewer_stream(
    signalling, app: Starlette, case_room, session_factory: sessionmaker[Session]
) -> None:
    with connect(signalling, app, case_room, "village") as village:
        village_welcome = village.receive_json()
        assert village_welcome["room"]["leader"] == village_welcome["peer_id"]  # first joiner leads
        with connect(signalling, app, case_room, "radiologist") as host:
            welcome = host.receive_json()
            assert welcome["room"]["leader"] == welcome["peer_id"]  # until the first host arrives
            opened = {"kind": "open", "target": {"type": "study", "id": "1.2.3"}}
            village.send_json({"type": "viewer", "event": opened})
            assert next_of(village, "error")["error"] == "not_leader"
            host.send_json({"type": "viewer", "event": opened})
            host.send_json({"type": "viewer", "event": {"kind": "slice", "index": 12}})
            first, second = next_of(village, "viewer"), next_of(village, "viewer")
            assert (first["seq"], second["seq"]) == (1, 2)
            assert 0 <= first["t_ms"] <= second["t_ms"] and first["from"] == welcome["peer_id"]
            assert [next_of(host, "viewer")["seq"] for _ in range(2)] == [1, 2]  # the sender sees its seq
            village.send_json({"type": "viewer", "event": {"kind": "pointer", "x": 0.25, "y": 0.75}})
            assert next_of(host, "viewer")["event"] == {"kind": "pointer", "x": 0.25, "y": 0.75}
            host.send_json({"type": "leader", "to": village_welcome["peer_id"]})
            assert next_of(village, "leader") == {"type": "leader", "peer_id": village_welcome["peer_id"]}
            village.send_json({"type": "viewer", "event": {"kind": "window", "center": 40, "width": 400}})
            assert next_of(host, "viewer")["seq"] == 4
            session_id = welcome["room"]["session_id"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with session_factory() as db:
            seqs = db.scalars(
                select(RoomEvent.seq).where(RoomEvent.session_id == session_id).order_by(RoomEvent.seq)
            ).all()
            ended = db.get_one(ConsultSession, session_id).ended_at
        if len(seqs) == 4 and ended:
            break
        time.sleep(0.05)
    assert seqs == [1, 2, 3, 4] and ended is not None  # persisted; the session ended with the last peer


def test_a_late_joiner_gets_the_folded_state(signalling, app: Starlette, case_room) -> None:
    with connect(signalling, app, case_room, "radiologist") as host:
        host.receive_json()
        for event in (
            {"kind": "open", "target": {"type": "series", "id": "s1"}},
            {"kind": "slice", "index": 7},
            {"kind": "annotation_added", "id": "a1", "shape": {"type": "line", "points": [[0, 0], [5, 5]]}},
            {"kind": "annotation_added", "id": "a2", "shape": {"type": "point", "points": [[1, 1]]}},
            {"kind": "annotation_removed", "id": "a1"},
            {"kind": "viewport", "zoom": 2.0, "pan": [10, -4]},
        ):
            host.send_json({"type": "viewer", "event": event})
            next_of(host, "viewer")
        with connect(signalling, app, case_room, "village") as village:
            welcome = village.receive_json()
    assert welcome["last_seq"] == 6
    assert welcome["state"] == {
        "seq": 6,
        "open": {"type": "series", "id": "s1"},
        "slice": 7,
        "window": None,
        "viewport": {"zoom": 2.0, "pan": [10, -4]},
        "annotations": {"a2": {"type": "point", "points": [[1, 1]]}},
    }


def test_a_dropped_peer_resumes_within_the_grace_period_and_is_gone_after(
    signalling, app: Starlette, case_room
) -> None:
    with connect(signalling, app, case_room, "village") as village:
        village_id = village.receive_json()["peer_id"]
        with connect(signalling, app, case_room, "radiologist") as host:
            first = host.receive_json()
            host.send_json({"type": "consent", "recording": True})
            next_of(host, "peer_updated")
        # the host's socket is cut without `bye`: away, not gone
        assert next_of(village, "peer_away") == {"type": "peer_away", "peer_id": first["peer_id"]}
        resume = f"?resume={first['resume_token']}"
        with connect(signalling, app, case_room, "radiologist", resume) as host:
            again = host.receive_json()
            assert again["type"] == "welcome"
            assert (again["peer_id"], again["role"], again["room"]["leader"]) == (
                first["peer_id"],
                "host",
                first["peer_id"],
            )
            assert [p["peer_id"] for p in again["peers"]] == [village_id]
            assert next_of(village, "peer_back") == {"type": "peer_back", "peer_id": first["peer_id"]}
            host.send_json({"type": "recording", "action": "start"})  # consent survived the drop...
            assert next_of(host, "error")["error"] == "consent_missing"  # ...the village doctor's is missing
        assert next_of(village, "peer_away")["peer_id"] == first["peer_id"]
        time.sleep(1.3)  # the grace period (1 s in these tests) runs out
        assert next_of(village, "peer_left") == {
            "type": "peer_left",
            "peer_id": first["peer_id"],
            "reason": "timeout",
        }
        assert next_of(village, "leader") == {"type": "leader", "peer_id": village_id}
        code_reason = refusal(signalling, case_room + resume, bearer(app, "radiologist"))
    assert code_reason == (1008, "room_ended")


def test_moderation_mutes_removes_and_ends(
    signalling, app: Starlette, teaching_room, session_factory: sessionmaker[Session]
) -> None:
    with (
        connect(signalling, app, teaching_room, "radiologist") as host,
        connect(signalling, app, teaching_room, "village") as village,
        connect(signalling, app, teaching_room, "trainee") as trainee,
    ):
        session_id = host.receive_json()["room"]["session_id"]
        village_id = village.receive_json()["peer_id"]
        trainee_id = trainee.receive_json()["peer_id"]
        village.send_json({"type": "moderate", "action": "end"})
        assert next_of(village, "error")["error"] == "not_allowed"
        host.send_json({"type": "moderate", "action": "mute", "peer_id": village_id})
        assert next_of(village, "muted")["by"]
        muted = next_of(trainee, "peer_updated")
        assert (muted["peer_id"], muted["audio"]) == (village_id, False)
        host.send_json({"type": "moderate", "action": "remove", "peer_id": trainee_id})
        assert next_of(trainee, "peer_left")["reason"] == "removed"
        with pytest.raises(WebSocketDisconnect) as closed:
            trainee.receive_json()
        assert closed.value.reason == "removed"
        assert next_of(village, "peer_left") == {
            "type": "peer_left",
            "peer_id": trainee_id,
            "reason": "removed",
        }
        host.send_json({"type": "moderate", "action": "waiting_room", "on": True})
        assert next_of(village, "room")["room"]["waiting_room"] is True
        with connect(signalling, app, teaching_room, "township") as late:
            assert late.receive_json()["type"] == "waiting"  # the host turned the waiting room on
            host.send_json({"type": "moderate", "action": "end"})
            assert next_of(village, "ended")["by"]
            assert next_of(late, "ended")
            with pytest.raises(WebSocketDisconnect) as closed:
                village.receive_json()
            assert closed.value.code == 1000
    with session_factory() as db:
        row = db.get(ConsultSession, session_id)
        assert row is not None
        assert row.ended_at is not None and row.ended_by_id is not None


def test_recording_needs_every_consent_and_starts_the_recorder(
    settings: Settings, app: Starlette, case_room
) -> None:
    signalling_app = create_app(with_rtc(settings, grace_seconds=1))
    recorder = FramesPeer(user_id=None, display_name="录制", role="server")
    started: list[Room] = []

    async def start_recorder(room: Room) -> None:
        started.append(room)
        await room.add_server_peer(recorder)

    signalling_app.state.recorder_factory = start_recorder
    with (
        TestClient(signalling_app) as client,
        connect(client, app, case_room, "radiologist") as host,
        connect(client, app, case_room, "village") as village,
    ):
        host.receive_json()
        village.receive_json()
        host.send_json({"type": "consent", "recording": True})
        host.send_json({"type": "recording", "action": "start"})
        error = next_of(host, "error")
        assert error["error"] == "consent_missing" and "王村医" in error["detail"]
        village.send_json({"type": "consent", "recording": True})
        next_of(host, "peer_updated")
        host.send_json({"type": "recording", "action": "start"})
        assert next_of(village, "recording")["state"] == "on"
        joined = next_of(village, "peer_joined")
        assert (joined["role"], joined["display_name"]) == ("server", "录制")
        assert [room.name for room in started] == [case_room.rsplit("/", 1)[1]]
        village.send_json({"type": "offer", "to": recorder.id, "sdp": "v=0"})
        host.send_json({"type": "recording", "action": "stop"})
        assert next_of(village, "recording")["state"] == "off"
    assert any(frame["type"] == "offer" and frame["sdp"] == "v=0" for frame in recorder.frames)
    assert recorder.frames[0]["type"] == "welcome" and recorder.frames[0]["room"]["recording"] is True


def test_media_and_network_reports_reach_the_others(signalling, app: Starlette, case_room) -> None:
    with (
        connect(signalling, app, case_room, "radiologist") as host,
        connect(signalling, app, case_room, "village") as village,
    ):
        host.receive_json()
        village_id = village.receive_json()["peer_id"]
        village.send_json({"type": "media", "audio": True, "video": False, "profile": "audio_only"})
        updated = next_of(host, "peer_updated")
        assert (updated["peer_id"], updated["video"], updated["profile"]) == (village_id, False, "audio_only")
        village.send_json({"type": "network", "rtt_ms": 900, "loss": 0.2, "bitrate_kbps": 80})
        assert next_of(host, "network_quality") == {
            "type": "network_quality",
            "peer_id": village_id,
            "level": "poor",
        }
        village.send_json({"type": "network", "rtt_ms": 40, "loss": 0.0, "bitrate_kbps": 900})
        assert next_of(host, "network_quality")["level"] == "good"
