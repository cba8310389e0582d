"""The server's recording peer. Frames are taken from each track in the event loop and handed to a
thread that encodes them (encoding in the loop would stall signalling), into Matroska files: Matroska is
written cluster by cluster, so a recorder killed mid-session still leaves a playable file."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaStreamError
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

log = logging.getLogger(__name__)

MS = Fraction(1, 1000)
Send = Callable[[dict[str, Any]], Awaitable[None]]


class TrackWriter:
    """Records one incoming track to `path`, with pts in ms on the session clock (`origin` is the
    monotonic time of the session start, so a late track starts at its offset)."""

    def __init__(self, track: MediaStreamTrack, path: Path, origin: float, queue_size: int = 120) -> None:
        self.track, self.path, self.origin = track, path, origin
        self.dropped = 0
        self.frames = 0
        self._queue: queue.Queue[tuple[int, av.VideoFrame | av.AudioFrame] | None] = queue.Queue(queue_size)
        self._thread = threading.Thread(target=self._encode, name=f"rec-{path.stem}", daemon=True)
        self._pump: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._thread.start()
        self._pump = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                return
            t_ms = round((time.monotonic() - self.origin) * 1000)
            if t_ms < 0:
                continue  # before the session started: not part of the recording
            try:
                self._queue.put_nowait((t_ms, frame))
            except queue.Full:
                self.dropped += 1

    def _encode(self) -> None:
        # Short clusters, each flushed as it closes: a SIGKILL loses at most the last second.
        options = {"flush_packets": "1", "cluster_time_limit": "1000"}
        with av.open(str(self.path), "w", format="matroska", options=options) as out:
            stream: Any = None
            resampler: av.AudioResampler | None = None
            next_audio_pts = 0
            last_video_pts = -1
            while (item := self._queue.get()) is not None:
                t_ms, frame = item
                if isinstance(frame, av.VideoFrame):
                    if stream is None:
                        stream = out.add_stream("libx264", rate=30)
                        stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "yuv420p"
                        stream.time_base = MS
                        stream.options = {"preset": "veryfast", "tune": "zerolatency", "g": "60"}
                    if frame.width != stream.width or frame.height != stream.height:
                        frame = frame.reformat(width=stream.width, height=stream.height)
                    pts = max(t_ms, last_video_pts + 1)  # arrival jitter must not reorder frames
                    last_video_pts = pts
                    frame = frame.reformat(format="yuv420p")
                    frame.pts, frame.time_base = pts, MS
                    frames = [frame]
                else:
                    if stream is None:
                        stream = out.add_stream("libopus", rate=48000, layout="stereo")
                        stream.time_base = Fraction(1, 48000)
                        resampler = av.AudioResampler(
                            format="s16", layout="stereo", rate=48000, frame_size=960
                        )
                        next_audio_pts = t_ms * 48
                    frame.pts = None
                    frames = []
                    for chunk in resampler.resample(frame):  # type: ignore[union-attr]
                        # Audio pts follow the samples (encoders want them contiguous); a gap after a
                        # stall larger than 200 ms re-anchors to the arrival time.
                        if t_ms * 48 - next_audio_pts > 9600:
                            next_audio_pts = t_ms * 48
                        chunk.pts, chunk.time_base = next_audio_pts, stream.time_base
                        next_audio_pts += chunk.samples
                        frames.append(chunk)
                for f in frames:
                    out.mux(stream.encode(f))
                self.frames += 1
            if stream is not None:
                out.mux(stream.encode(None))

    async def close(self) -> None:
        """Stop reading, let the thread drain the queue and finish the file."""
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)


class RecordingPeer:
    """The room member with role `server`: one peer connection per remote participant, every incoming
    track recorded under `directory` as `<participant>-<kind>-<part>.mkv`."""

    def __init__(
        self, ice_servers: list[RTCIceServer], session_started: float, directory: Path, send: Send
    ) -> None:
        self.config = RTCConfiguration(iceServers=ice_servers)
        self.origin, self.directory, self.send = session_started, directory, send
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.writers: list[TrackWriter] = []
        self._parts = 0

    async def handle(self, participant: str, message: dict[str, Any]) -> None:
        """Take an `offer` (answer goes out through `send`) or an `ice` frame from `participant`."""
        kind = message.get("type")
        if kind == "offer":
            await self._offer(participant, str(message["sdp"]))
        elif kind == "ice":
            pc = self.pcs.get(participant)
            cand = message.get("candidate") or {}
            if pc is not None and cand.get("candidate"):
                ice = candidate_from_sdp(str(cand["candidate"]).removeprefix("candidate:"))
                ice.sdpMid, ice.sdpMLineIndex = cand.get("sdpMid"), cand.get("sdpMLineIndex")
                await pc.addIceCandidate(ice)
        else:
            raise ValueError(f"recording peer cannot handle {kind!r} frames")

    async def _offer(self, participant: str, sdp: str) -> None:
        pc = self.pcs.get(participant)
        if pc is not None and pc.connectionState in ("failed", "closed"):
            await pc.close()  # aiortc has no ICE restart: a fresh connection, same session clock
            pc = None
        if pc is None:
            pc = self.pcs[participant] = RTCPeerConnection(self.config)
            pc.on("track", lambda track: self._record(participant, track))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.send({"type": "answer", "to": participant, "sdp": pc.localDescription.sdp})

    def _record(self, participant: str, track: MediaStreamTrack) -> None:
        self._parts += 1
        path = self.directory / f"{participant}-{track.kind}-{self._parts}.mkv"
        writer = TrackWriter(track, path, self.origin)
        self.writers.append(writer)
        writer.start()

    async def close(self) -> None:
        """Finish every file, then hang up."""
        await asyncio.gather(*(w.close() for w in self.writers))
        await asyncio.gather(*(pc.close() for pc in self.pcs.values()))
        for w in self.writers:
            if w.dropped:
                log.warning("recording %s dropped %d frames", w.path.name, w.dropped)
