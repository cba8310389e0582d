"""Real WebRTC media between two aiortc participants through the signalling server process and coturn.

The village doctor (requester) and the radiologist (host) meet in the village clinic's imaging-case
room; each must receive the other's video (at the size sent) and audio, first directly on the LAN,
then forced through TURN with the REST credentials the signalling server hands out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from server.config import Settings
from tests.support.coturn import Turn, coturn
from tests.support.rtc import HEIGHT, WIDTH, RtcPeer
from tests.support.services import free_port, process_env, running, telemed_command
from tests.test_signaling import bearer, village_case_id

MIN_VIDEO_FRAMES, MIN_AUDIO_FRAMES = 20, 50  # about 1 s of each


@pytest.fixture(scope="module")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Turn]:
    with coturn(tmp_path_factory.mktemp("coturn")) as server:
        yield server


@pytest.fixture(scope="module")
def room_url(settings: Settings, demo: None, session_factory: Any, turn: Turn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # fmt: skip
    """The signalling server as its own process, configured with the coturn above."""
    port = free_port()
    env = {
        **process_env(settings),
        "TELEMED_SIGNALING_PORT": str(port),
        "TELEMED_TURN_URLS": turn.url,
        "TELEMED_TURN_SECRET": turn.secret,
    }
    log = tmp_path_factory.mktemp("signaling") / "signaling.log"
    with running(telemed_command("signaling"), env, ready_url=f"http://127.0.0.1:{port}/healthz", log=log):
        yield f"ws://127.0.0.1:{port}/ws/rooms/case-{village_case_id(session_factory)}"


def token(app: Any, username: str) -> str:
    return bearer(app, username)["Authorization"].removeprefix("Bearer ")


async def meet(village: RtcPeer, reader: RtcPeer, timeout: float = 20) -> None:
    """Join both (the reader second, so it offers), wait until each has had enough of both kinds."""
    await village.join()
    await reader.join()

    def enough(peer: RtcPeer) -> bool:
        frames = peer.received.frames
        return frames["video"] >= MIN_VIDEO_FRAMES and frames["audio"] >= MIN_AUDIO_FRAMES

    async def until_flowing() -> None:
        while not (enough(village) and enough(reader)):
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(until_flowing(), timeout)
    except TimeoutError:
        pytest.fail(f"media did not flow: village {village.received.frames}, reader {reader.received.frames}")


def assert_received_sent_size(*peers: RtcPeer) -> None:
    for peer in peers:
        assert peer.received.video_sizes == {(WIDTH, HEIGHT)}


def test_two_participants_receive_each_others_audio_and_video(app: Any, room_url: str) -> None:
    async def scenario() -> None:
        village = RtcPeer(room_url, token(app, "village"), ice_servers=[])  # host candidates: a LAN
        reader = RtcPeer(room_url, token(app, "radiologist"), ice_servers=[])
        try:
            await meet(village, reader)
            assert village.welcome["role"] == "requester" and reader.welcome["role"] == "host"
            assert_received_sent_size(village, reader)
        finally:
            await reader.close()
            await village.close()

    asyncio.run(scenario())


def test_media_flows_through_turn_with_the_servers_credentials(app: Any, room_url: str, turn: Turn) -> None:
    async def scenario() -> None:
        village = RtcPeer(room_url, token(app, "village"), relay_only=True)
        reader = RtcPeer(room_url, token(app, "radiologist"), relay_only=True)
        try:
            await meet(village, reader)
            for peer in (village, reader):
                assert [s["urls"] for s in peer.welcome["ice_servers"]] == [[turn.url]]
                assert peer.selected_candidate_types() == {("relay", "relay")}
            assert_received_sent_size(village, reader)
        finally:
            await reader.close()
            await village.close()

    asyncio.run(scenario())


def test_wrong_turn_secret_gives_no_relayed_media(app: Any, room_url: str, turn: Turn) -> None:
    """A TURN credential not signed with coturn's secret is refused: relay-only peers never connect."""
    forged = Turn(turn.port, "not-the-secret").ice_server("intruder")

    async def scenario() -> None:
        village = RtcPeer(room_url, token(app, "village"), ice_servers=[forged], relay_only=True)
        reader = RtcPeer(room_url, token(app, "radiologist"), ice_servers=[forged], relay_only=True)
        try:
            await village.join()
            await reader.join()
            await asyncio.sleep(3)
            assert village.received.frames == reader.received.frames == {"audio": 0, "video": 0}
        finally:
            await reader.close()
            await village.close()

    asyncio.run(scenario())
