"""Live HLS broadcast measured: a presenter whose camera shows the wall clock, HLS viewers at the live edge,
and glass-to-glass latency per frame (shared by tests/media/test_broadcast.py and benchmarks/broadcast_hls.py)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import av
import httpx2 as httpx
import numpy as np
from aiortc import RTCPeerConnection, VideoStreamTrack

from tests.support.consult import (
    consent,
    server_joined,
)
from tests.support.rtc import HEIGHT, WIDTH, RtcPeer, ToneTrack, ice_config

BITS, GRID = 64, 8  # the capture time as 64 bits in an 8 x 8 grid of blocks


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
    segments: list[tuple[int, float, str]] = []
    duration = 0.0
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
    with av.open(io.BytesIO(init + segment), "r") as container:
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
    result: list[float] = []
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
