"""An aiortc participant that speaks the signalling protocol (docs/consults.md) over a real socket.

It joins a room, offers to the peers already present (joiners offer, so two peers never glare) and
to a server peer (the recorder) when it joins, answers offers, sends a moving test pattern and a sine tone, and counts what it receives. aiortc
gathers every candidate before `setLocalDescription` returns (half-trickle), so its SDP carries
them; trickled `ice` frames from browsers are added as they come.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import websockets
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import AUDIO_PTIME, AudioStreamTrack, MediaStreamError
from aiortc.sdp import candidate_from_sdp

from tests.support.media_fixtures import HEIGHT, WIDTH, moving_pattern, tone


class PatternTrack(VideoStreamTrack):
    """The fixture's moving pattern at 30 fps (VideoStreamTrack paces frames)."""

    def __init__(self) -> None:
        super().__init__()
        self.index = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame.from_ndarray(moving_pattern(self.index), format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        self.index += 1
        return frame


class ToneTrack(AudioStreamTrack):
    """A 440 Hz tone in 20 ms frames, paced by the parent's clock."""

    rate = 48000

    def __init__(self) -> None:
        super().__init__()
        self.sample = 0
        self.start: float | None = None

    async def recv(self) -> av.AudioFrame:
        samples = int(AUDIO_PTIME * self.rate)
        if self.start is None:
            self.start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self.start + self.sample / self.rate - time.monotonic()))
        frame = av.AudioFrame.from_ndarray(tone(samples, self.sample)[None, :], format="s16", layout="mono")
        frame.pts, frame.sample_rate, frame.time_base = self.sample, self.rate, Fraction(1, self.rate)
        self.sample += samples
        return frame


@dataclass
class Received:
    """Frames received from all remote peers, per kind, and the decoded video sizes seen."""

    frames: dict[str, int] = field(default_factory=lambda: {"audio": 0, "video": 0})
    video_sizes: set[tuple[int, int]] = field(default_factory=set)
    first_video: asyncio.Event = field(default_factory=asyncio.Event)


def ice_config(servers: list[dict[str, Any]], *, relay_only: bool = False) -> RTCConfiguration:
    """Always explicit: aiortc's default is a public STUN server, a 5 s wait on a closed network."""
    ice = [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in servers
    ]
    return RTCConfiguration(
        iceServers=ice,
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL,
    )


class RtcPeer:
    """One participant: `await join()`, then media flows in the background until `close()`."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        ice_servers: list[dict[str, Any]] | None = None,
        relay_only: bool = False,
    ) -> None:
        self.url, self.token = url, token
        self.ice_servers, self.relay_only = ice_servers, relay_only
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.received = Received()
        self.welcome: dict[str, Any] = {}
        self.frames: list[dict[str, Any]] = []  # every signalling frame after the welcome, in order
        self._ws: Any = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def join(self) -> dict[str, Any]:
        """Connect, take the welcome (using its `ice_servers` unless given explicitly), offer to everyone present."""
        self._ws = await websockets.connect(
            self.url, additional_headers={"Authorization": f"Bearer {self.token}"}
        )
        self.welcome = json.loads(await self._ws.recv())
        if self.welcome.get("type") != "welcome":
            raise RuntimeError(f"expected welcome, got {self.welcome}")
        if self.ice_servers is None:
            self.ice_servers = self.welcome.get("ice_servers") or []
        self._spawn(self._listen())
        for peer in self.welcome["peers"]:
            if peer.get("media", True):  # HLS watchers take no WebRTC media
                await self.offer(peer["peer_id"])
        return self.welcome

    async def offer(self, peer_id: str) -> None:
        """Offer media to `peer_id` on a fresh connection (e.g. to the recorder once consent is given)."""
        if (previous := self.pcs.pop(peer_id, None)) is not None:
            await previous.close()
        pc = self._connection(peer_id)
        await pc.setLocalDescription(await pc.createOffer())
        await self.send({"type": "offer", "to": peer_id, "sdp": pc.localDescription.sdp})

    def _connection(self, peer_id: str) -> RTCPeerConnection:
        pc = RTCPeerConnection(ice_config(self.ice_servers or [], relay_only=self.relay_only))
        pc.addTrack(PatternTrack())
        pc.addTrack(ToneTrack())
        pc.on("track", lambda track: self._spawn(self._count(track)))
        self.pcs[peer_id] = pc
        return pc

    async def send(self, frame: dict[str, Any]) -> None:
        """A protocol frame: the peer's own negotiation, or the test's (consent, viewer, recording...)."""
        await self._ws.send(json.dumps(frame))

    async def next_frame(
        self, kind: str, *, after: int = 0, timeout: float = 10
    ) -> tuple[int, dict[str, Any]]:
        """The first frame of `kind` at index `after` or later in `frames`, and its index."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index in range(after, len(self.frames)):
                if self.frames[index]["type"] == kind:
                    return index, self.frames[index]
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no {kind!r} frame within {timeout} s")

    async def _listen(self) -> None:
        async for message in self._ws:
            frame = json.loads(message)
            self.frames.append(frame)
            kind, sender = frame["type"], frame.get("from")
            if kind == "offer":
                pc = self._connection(sender)
                await pc.setRemoteDescription(RTCSessionDescription(frame["sdp"], "offer"))
                await pc.setLocalDescription(await pc.createAnswer())
                await self.send({"type": "answer", "to": sender, "sdp": pc.localDescription.sdp})
            elif kind == "answer" and sender in self.pcs:
                await self.pcs[sender].setRemoteDescription(RTCSessionDescription(frame["sdp"], "answer"))
            elif kind == "ice" and sender in self.pcs and frame.get("candidate"):
                await self.pcs[sender].addIceCandidate(browser_candidate(frame["candidate"]))
            elif kind == "peer_joined" and frame["role"] == "server":  # the recorder never offers
                await self.offer(frame["peer_id"])

    async def _count(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.received.frames[track.kind] += 1
            if track.kind == "video":
                assert isinstance(frame, av.VideoFrame)  # aiortc types recv() as any Frame or a Packet
                self.received.video_sizes.add((frame.width, frame.height))
                self.received.first_video.set()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def selected_candidate_types(self) -> set[tuple[str, str]]:
        """(local, remote) candidate types of each connection's nominated pair. aiortc's getStats has
        no candidate-pair entry, so this reads aioice's connection behind the ICE transport."""
        types = set()
        for pc in self.pcs.values():
            for transceiver in pc.getTransceivers():
                connection = transceiver.sender.transport.transport._connection
                for pair in connection._nominated.values():
                    types.add((pair.local_candidate.type, pair.remote_candidate.type))
        return types

    async def close(self) -> None:
        if self._ws is not None:
            await self.send({"type": "bye"})
            await self._ws.close()
        for pc in self.pcs.values():
            await pc.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def browser_candidate(candidate: dict[str, Any]) -> Any:
    """A trickled `{candidate, sdpMid, sdpMLineIndex}` as aiortc's RTCIceCandidate."""
    parsed = candidate_from_sdp(candidate["candidate"].removeprefix("candidate:"))
    parsed.sdpMid, parsed.sdpMLineIndex = candidate.get("sdpMid"), candidate.get("sdpMLineIndex")
    return parsed


__all__ = ["HEIGHT", "WIDTH", "Received", "RtcPeer", "ice_config"]
