"""Signalling rooms: only users who may see the case join; SDP/ICE frames reach the named peer."""

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server.models import Case, Institution
from signaling.app import create_app
from tests.conftest import DEMO_PASSWORD


def bearer(client: TestClient, api, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = TestClient(api).post(
        "/api/auth/login", json={"username": username, "password": DEMO_PASSWORD, "bearer": True}
    )
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def signal_client(settings):  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings)) as client:
        yield client


def village_case_id(session_factory) -> int:  # type: ignore[no-untyped-def]
    with session_factory() as db:
        return db.scalar(
            select(Case.id)
            .join(Institution)
            .where(Institution.name == "青山村卫生室", Case.kind == "imaging")
        )


def test_two_peers_exchange_an_offer(signal_client, app, session_factory) -> None:  # type: ignore[no-untyped-def]
    room = f"/ws/rooms/case-{village_case_id(session_factory)}"
    with (
        signal_client.websocket_connect(room, headers=bearer(signal_client, app, "village")) as village,
        signal_client.websocket_connect(room, headers=bearer(signal_client, app, "radiologist")) as reader,
    ):
        village_id = village.receive_json()["peer_id"]
        welcome = reader.receive_json()
        assert [p["display_name"] for p in welcome["peers"]] == ["王村医"]
        assert village.receive_json()["type"] == "peer_joined"
        reader.send_json({"type": "offer", "to": village_id, "sdp": "v=0"})
        relayed = village.receive_json()
        assert relayed == {"type": "offer", "to": village_id, "sdp": "v=0", "from": welcome["peer_id"]}

        reader.send_text("{not json")
        assert reader.receive_json()["error"] == "bad_message"
        reader.send_json({"type": "ping"})
        assert reader.receive_json() == {"type": "pong"}  # the room carries on after a bad frame


def test_outsiders_cannot_join(signal_client, app, session_factory) -> None:  # type: ignore[no-untyped-def]
    room = f"/ws/rooms/case-{village_case_id(session_factory)}"
    for headers in ({}, bearer(signal_client, app, "trainee"), bearer(signal_client, app, "township")):
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            signal_client.websocket_connect(room, headers=headers) as ws,
        ):
            ws.receive_json()
        assert refused.value.code == 1008
