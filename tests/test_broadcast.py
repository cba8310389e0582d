"""Live teaching broadcast over HLS: one presenter (a real aiortc peer) records a teaching room, the
signalling server (its own process) encodes the presenter once into a live playlist, and 50 trainees
watch it over plain HTTP at the same time. Each video frame carries its capture wall-clock time in
black and white blocks, so glass-to-glass latency is measured per frame at every viewer: from the
moment the frame was made to the moment that viewer finished downloading the segment holding it.

The helpers here (`Presenter`, `watch`, `latencies`, ...) are shared with benchmarks/broadcast_hls.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import av
import httpx2 as httpx
import numpy as np
import pytest
import websockets
from aiortc import RTCPeerConnection, VideoStreamTrack

from server.core.config import Settings
from tests.support.consult import (
    consent,
    new_teaching_session,
    server_joined,
    signalling_process,
    token,
    village_case_id,
)
from tests.support.rtc import HEIGHT, WIDTH, RtcPeer, ToneTrack, ice_config

VIEWERS = 50
WATCH_S = 20
BITS, GRID = 64, 8  # the capture time as 64 bits in an 8 x 8 grid of blocks
LATENCY_BOUND_S = 10  # a regression guard; the measured figures go to benchmarks/ and docs/


def clock_picture(ms: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """`ms` as 64 black/white blocks (most significant bit first): large enough to survive VP8 and H.264."""
    bits = np.array([(ms >> (BITS - 1 - i)) & 1 for i in range(BITS)], np.uint8).reshape(GRID, GRID)
    blocks = np.kron(bits * 255, np.ones((height // GRID, width // GRID), np.uint8))
    return np.ascontiguousarray(blocks)


def read_clock(gray: np.ndarray) -> int:
    """The time `clock_picture` drew, read from the middle of each block of a decoded picture."""
    bh, bw = gray.shape[0] // GRID, gray.shape[1] // GRID
    value = 0
    for i in range(BITS):
        row, col = divmod(i, GRID)
        block = gray[
            row * bh + bh // 4 : (row + 1) * bh - bh // 4, col * bw + bw // 4 : (col + 1) * bw - bw // 4
        ]
        value = value << 1 | int(block.mean() > 128)
    return value


class ClockTrack(VideoStreamTrack):
    """30 fps pictures of the wall-clock time (ms) at which each is handed to the encoder."""

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame.from_ndarray(clock_picture(round(time.time() * 1000)), format="gray")
        frame.pts, frame.time_base = pts, time_base
        return frame


class Presenter(RtcPeer):
    """A participant whose camera is the clock and whose microphone is the tone."""

    def _connection(self, peer_id: str) -> RTCPeerConnection:
        pc = RTCPeerConnection(ice_config(self.ice_servers or []))
        pc.addTrack(ClockTrack())
        pc.addTrack(ToneTrack())
        self.pcs[peer_id] = pc
        return pc


@dataclass
class Playlist:
    sequence: int  # EXT-X-MEDIA-SEQUENCE
    init: str
    segments: list[tuple[int, float, str]]  # (media sequence number, duration s, uri)
    ended: bool


def parse_playlist(text: str) -> Playlist:
    lines = text.splitlines()
    sequence = next(int(line.split(":")[1]) for line in lines if line.startswith("#EXT-X-MEDIA-SEQUENCE:"))
    init = next(line.split('URI="')[1].rstrip('"') for line in lines if line.startswith("#EXT-X-MAP:"))
    segments, duration = [], 0.0
    for line in lines:
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line and not line.startswith("#"):
            segments.append((sequence + len(segments), duration, line))
    return Playlist(sequence, init, segments, "#EXT-X-ENDLIST" in lines)


@dataclass
class Watch:
    """What one viewer got: every status, the init segment, and per media sequence number the segment's
    bytes, duration and the wall-clock time its download finished."""

    statuses: list[int] = field(default_factory=list)
    init: bytes = b""
    segments: dict[int, tuple[bytes, float, float]] = field(default_factory=dict)


async def hls_url(client: httpx.AsyncClient, base: str, room: str, bearer: str) -> str:
    response = await client.get(f"{base}/broadcast/{room}", headers={"Authorization": f"Bearer {bearer}"})
    response.raise_for_status()
    return str(response.json()["hls_url"])


async def watch(client: httpx.AsyncClient, url: str, seconds: float, poll: float = 0.5) -> Watch:
    """A player at the live edge: polls the playlist every `poll` s (half a segment) and fetches each
    new segment from the newest one it first saw on, for `seconds`."""
    seen = Watch()
    base = url.rsplit("/", 1)[0]
    deadline = time.monotonic() + seconds
    last: int | None = None
    while time.monotonic() < deadline:
        response = await client.get(url)
        seen.statuses.append(response.status_code)
        playlist = parse_playlist(response.text)
        if not seen.init:
            init = await client.get(f"{base}/{playlist.init}")
            seen.statuses.append(init.status_code)
            seen.init = init.content
            last = playlist.segments[-1][0] - 1  # start at the live edge
        for number, duration, uri in playlist.segments:
            if last is not None and number > last:
                segment = await client.get(f"{base}/{uri}")
                seen.statuses.append(segment.status_code)
                seen.segments[number] = (segment.content, duration, time.time())
                last = number
        await asyncio.sleep(poll)
    return seen


@asynccontextmanager
async def browsers(n: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`n` HTTP clients, one per trainee's browser. Made before the presenter goes live: making one
    takes tens of milliseconds in this process, which the presenter's capture loop shares."""
    clients = [httpx.AsyncClient(timeout=10) for _ in range(n)]
    try:
        yield clients
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


async def viewers(clients: list[httpx.AsyncClient], base: str, room: str, bearer: str, seconds: float) -> list[Watch]:  # fmt: skip
    """Each trainee asks for the URL and watches."""
    urls = await asyncio.gather(*(hls_url(c, base, room, bearer) for c in clients))
    return list(await asyncio.gather(*(watch(c, u, seconds) for c, u in zip(clients, urls, strict=True))))


def decode_segment(init: bytes, segment: bytes) -> tuple[list[int], int]:
    """The capture times (ms) of the segment's pictures, and how many audio frames it holds."""
    with av.open(io.BytesIO(init + segment)) as container:
        assert {s.codec_context.name for s in container.streams} == {"h264", "aac"}
        times, sounds = [], 0
        for frame in container.decode(video=0, audio=0):
            if isinstance(frame, av.VideoFrame):
                times.append(read_clock(frame.to_ndarray(format="gray")))
            else:
                sounds += 1
    return times, sounds


def latencies(watches: list[Watch]) -> list[float]:
    """Glass-to-glass seconds of every picture at every viewer (each distinct segment decoded once).
    Every segment must decode; the one a viewer joined on is left out of the figures, as it was
    already there when the viewer came (its age says when the viewer joined, not how late it is)."""
    decoded: dict[str, tuple[list[int], int]] = {}
    result = []
    for seen in watches:
        joined = min(seen.segments)
        for number, (data, _, done) in seen.segments.items():
            key = hashlib.sha256(seen.init + data).hexdigest()
            if key not in decoded:
                decoded[key] = decode_segment(seen.init, data)
            times, sounds = decoded[key]
            assert times and sounds, "a segment without pictures or sound"
            if number != joined:
                result.extend(done - ms / 1000 for ms in times)
    return result


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100)
    return {"p50": cuts[49], "p95": cuts[94], "max": max(values)}


@pytest.fixture(scope="module")
def teaching_room(session_factory: Any, demo: None) -> str:
    return f"teaching-{new_teaching_session(session_factory, '网络收看：胸部CT读片')}"


@pytest.fixture(scope="module")
def server(settings: Settings, demo: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The signalling server as its own process (no TURN: everyone is on this host); its HTTP base."""
    with signalling_process(settings, [], "", tmp_path_factory.mktemp("signaling") / "signaling.log") as port:
        yield f"http://127.0.0.1:{port}"


async def observer_joined(peer: RtcPeer, timeout: float = 10) -> dict[str, Any]:
    """The first `peer_joined` of an observer that `peer` saw."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in peer.frames:
            if frame["type"] == "peer_joined" and frame["role"] == "observer":
                return frame
        await asyncio.sleep(0.05)
    raise TimeoutError("no observer joined")


async def go_live(presenter: RtcPeer, client: httpx.AsyncClient, base: str, room: str, bearer: str) -> str:
    """The host consents and starts recording; once the first segment is out, the signed playlist URL."""
    await presenter.join()
    await consent(presenter)
    await presenter.send({"type": "recording", "action": "start"})
    _, on = await presenter.next_frame("recording")
    assert on["state"] == "on", presenter.frames
    await server_joined(presenter)
    deadline = time.monotonic() + 15
    while (response := await client.get(f"{base}/broadcast/{room}", headers={"Authorization": f"Bearer {bearer}"})).status_code == 404:  # fmt: skip
        assert response.json() == {"error": "not_live"}
        assert time.monotonic() < deadline, "no live segment within 15 s of recording start"
        await asyncio.sleep(0.2)
    assert response.status_code == 200, response.text
    return str(response.json()["hls_url"])


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
                    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "forbidden")
            finally:
                await presenter.close()

    asyncio.run(scenario())
