"""aiortc participants for the recording peer: moving bars, solid colours and a tone, recorded in-process."""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from signaling.recording.recorder import RecordingPeer

WIDTH, HEIGHT = 320, 240


class MovingBars(VideoStreamTrack):
    """A bar that moves one column per frame: consecutive frames differ, as a camera's do."""

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        img = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        x = (pts // 3000) % WIDTH
        img[:, max(0, x - 20) : x, :] = 255
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class Solid(VideoStreamTrack):
    """One colour, so each participant's tile is recognisable in the composite."""

    def __init__(self, rgb: tuple[int, int, int]) -> None:
        super().__init__()
        self.image = np.full((HEIGHT, WIDTH, 3), rgb, np.uint8)

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame.from_ndarray(self.image, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class Tone(AudioStreamTrack):
    """A 440 Hz sine, 20 ms frames at 48 kHz."""

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        assert isinstance(frame, av.AudioFrame) and frame.pts is not None  # aiortc types it as any Frame
        n = np.arange(frame.pts, frame.pts + frame.samples)
        pcm = (np.sin(2 * math.pi * 440 * n / frame.sample_rate) * 8000).astype(np.int16)
        out = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        out.pts, out.sample_rate, out.time_base = frame.pts, frame.sample_rate, fractions.Fraction(1, 48000)
        return out


async def connected(pc: RTCPeerConnection) -> None:
    while pc.connectionState != "connected":
        await asyncio.sleep(0.01)


async def record_session(
    directory: Path,
    seconds: float,
    cameras: Sequence[Callable[[], VideoStreamTrack]] = (MovingBars,),
    stagger_s: float = 0.0,
) -> RecordingPeer:
    """Participants connect to the recording peer (SDP exchanged in-process), the i-th `i * stagger_s`
    after the session started, each sending its camera and a tone; all hang up `seconds` after the start."""
    started = time.monotonic()
    answers: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    peer = RecordingPeer([], started, directory, answers.put)
    participants = []
    for index, camera in enumerate(cameras):
        await asyncio.sleep(max(0.0, started + index * stagger_s - time.monotonic()))
        participant = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        participant.addTrack(camera())
        participant.addTrack(Tone())
        await participant.setLocalDescription(await participant.createOffer())
        await peer.handle(f"p{index + 1}", {"type": "offer", "sdp": participant.localDescription.sdp})
        answer = await asyncio.wait_for(answers.get(), 10)
        await participant.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        await asyncio.wait_for(connected(participant), 10)  # fail, not hang, if ICE/DTLS never completes
        participants.append(participant)
    await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
    await peer.close()
    for participant in participants:
        await participant.close()
    return peer
