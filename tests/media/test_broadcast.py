"""Live teaching broadcast over HLS: one presenter (a real aiortc peer) records a teaching room, the
signalling server (its own process) encodes the presenter once into a live playlist, and 50 trainees
watch it over plain HTTP at the same time. Each video frame carries its capture wall-clock time in
black and white blocks, so glass-to-glass latency is measured per frame at every viewer: from the
moment the frame was made to the moment that viewer finished downloading the segment holding it.

The helpers (`Presenter`, `watch`, `latencies`, ...) are in tests/support/broadcast.py, shared with
benchmarks/broadcast_hls.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
import websockets

from server.core.config import Settings
from tests.support.broadcast import (
    Playlist,
    Presenter,
    Watch,
    browsers,
    go_live,
    latencies,
    observer_joined,
    parse_playlist,
    percentiles,
    viewers,
)
from tests.support.consult import (
    new_teaching_session,
    signalling_process,
    token,
    village_case_id,
)

VIEWERS = 50
WATCH_S = 20
LATENCY_BOUND_S = 10  # a regression guard; the measured figures go to benchmarks/ and docs/


@pytest.fixture(scope="module")
def teaching_room(session_factory: Any, demo: None) -> str:
    return f"teaching-{new_teaching_session(session_factory, '网络收看：胸部CT读片')}"


@pytest.fixture(scope="module")
def server(settings: Settings, demo: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The signalling server as its own process (no TURN: everyone is on this host); its HTTP base."""
    with signalling_process(settings, [], "", tmp_path_factory.mktemp("signaling") / "signaling.log") as port:
        yield f"http://127.0.0.1:{port}"


def test_fifty_trainees_watch_one_presenter_live_with_measured_latency(app: Any, server: str, teaching_room: str) -> None:  # fmt: skip
    trainee = token(app, "trainee")

    async def scenario() -> tuple[list[Watch], Playlist, int]:
        presenter = Presenter(f"ws{server[4:]}/ws/rooms/{teaching_room}", token(app, "radiologist"), ice_servers=[])  # fmt: skip
        async with httpx.AsyncClient(timeout=10) as client, browsers(VIEWERS) as clients:
            try:
                url = await go_live(presenter, client, server, teaching_room, trainee)
                watches = await viewers(clients, server, teaching_room, trainee, WATCH_S)
                await presenter.send({"type": "recording", "action": "stop"})
                await presenter.next_frame("peer_left")  # the recorder finished the files and the playlist
                final = parse_playlist((await client.get(url)).text)
                headers = {"Authorization": f"Bearer {trainee}"}
                after = await client.get(f"{server}/broadcast/{teaching_room}", headers=headers)
                return watches, final, after.status_code
            finally:
                await presenter.close()

    watches, final, after = asyncio.run(scenario())
    for seen in watches:
        assert set(seen.statuses) == {200}
        numbers = sorted(seen.segments)
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers  # no gaps
        assert sum(duration for _, duration, _ in seen.segments.values()) >= 10
    measured = latencies(watches)
    figures = percentiles(measured)
    print(
        f"\nglass-to-glass over HLS, {VIEWERS} viewers, {len(measured)} frames: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in figures.items())
    )
    assert figures["max"] < LATENCY_BOUND_S
    assert min(measured) > 0  # the decoded clocks are real capture times, not garbage
    assert final.ended  # recording stopped: the playlist says it is over
    assert after == 404  # not_live


def test_an_hls_watcher_chats_and_gets_no_webrtc_and_urls_are_guarded(app: Any, server: str, teaching_room: str, session_factory: Any) -> None:  # fmt: skip
    trainee = token(app, "trainee")
    ws_base = f"ws{server[4:]}/ws/rooms"

    async def scenario() -> None:
        presenter = Presenter(f"{ws_base}/{teaching_room}", token(app, "radiologist"), ice_servers=[])
        async with httpx.AsyncClient(timeout=10) as client:
            try:
                url = await go_live(presenter, client, server, teaching_room, trainee)
                headers = {"Authorization": f"Bearer {trainee}"}
                async with websockets.connect(f"{ws_base}/{teaching_room}?watch=hls", additional_headers=headers) as ws:  # fmt: skip
                    welcome = json.loads(await ws.recv())
                    assert welcome["role"] == "observer"
                    assert all(p["media"] for p in welcome["peers"])  # the presenter and the recorder
                    joined = await observer_joined(presenter)
                    assert (joined["peer_id"], joined["media"]) == (welcome["peer_id"], False)
                    await ws.send(json.dumps({"type": "chat", "text": "老师，这个结节多大？"}))
                    _, question = await presenter.next_frame("chat")
                    assert (question["from"], question["text"]) == (
                        welcome["peer_id"],
                        "老师，这个结节多大？",
                    )
                    # nobody offers WebRTC media to a watcher: the presenter's only connection is the recorder
                    assert set(presenter.pcs) == {
                        p["peer_id"] for p in welcome["peers"] if p["role"] == "server"
                    }
                    await presenter.send({"type": "offer", "to": welcome["peer_id"], "sdp": "v=0"})
                    _, refused = await presenter.next_frame("error")
                    assert refused["error"] == "not_allowed"

                base, name = url.rsplit("/", 1)
                room_base, signed = base.rsplit("/", 1)
                expires, _, signature = signed.partition(".")
                forged = f"{int(expires) + 3600}.{signature}"  # a longer life is not signed
                assert (await client.get(f"{room_base}/{forged}/{name}")).status_code == 403
                assert (await client.get(f"{room_base}/not-a-token/{name}")).status_code == 403
                other_room = url.replace(f"/live/{teaching_room}/", "/live/teaching-999999/")
                assert (await client.get(other_room)).status_code == 403  # the token is for one room
                for sneaky in ("..%2F..%2Fsecret_key", "index.m3u8.tmp", "seg-1.m4s.tmp", ".."):
                    assert (await client.get(f"{base}/{sneaky}")).status_code in (403, 404)
                playlist = await client.get(url)
                assert playlist.headers["content-type"].startswith("application/vnd.apple.mpegurl")
                assert playlist.headers["cache-control"] == "no-cache"
                segment = await client.get(f"{base}/{parse_playlist(playlist.text).segments[-1][2]}")
                assert "immutable" in segment.headers["cache-control"]

                case_room = f"case-{village_case_id(session_factory)}"
                refused_case = await client.get(f"{server}/broadcast/{case_room}", headers=headers)
                assert (refused_case.status_code, refused_case.json()) == (403, {"error": "forbidden"})
                radiologist = {"Authorization": f"Bearer {token(app, 'radiologist')}"}
                assert (await client.get(f"{server}/broadcast/{case_room}", headers=radiologist)).status_code == 403  # fmt: skip
                assert (await client.get(f"{server}/broadcast/{teaching_room}")).status_code == 401
                async with websockets.connect(f"{ws_base}/{case_room}?watch=hls", additional_headers=radiologist) as ws:  # fmt: skip
                    with pytest.raises(websockets.ConnectionClosed) as closed:
                        await ws.recv()
                    assert closed.value.rcvd is not None
                    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "forbidden")
            finally:
                await presenter.close()

    asyncio.run(scenario())
