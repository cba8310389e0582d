"""Real WebRTC media between two aiortc participants through the signalling server process and coturn.

The village doctor (requester) and the radiologist (host) meet in the village clinic's imaging-case
room; each must receive the other's video (at the size sent) and audio, first directly on the LAN,
then forced through TURN with the REST credentials the signalling server hands out.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.consult import meet, token
from tests.support.coturn import Turn
from tests.support.rtc import HEIGHT, WIDTH, RtcPeer


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
