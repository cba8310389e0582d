"""The server's recording peer. Frames are taken from each track in the event loop and handed to a
thread that encodes them (encoding in the loop would stall signalling), into Matroska files: Matroska is
written cluster by cluster, so a recorder killed mid-session still leaves a playable file."""

from __future__ import annotations

import asyncio
import functools
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
Tap = Callable[[str, int, av.VideoFrame | av.AudioFrame], None]  # (participant, t_ms, frame), in the loop


class SampleClock:
    """Audio pts that follow the samples (encoders want them contiguous); a gap after a stall larger
    than 200 ms re-anchors to the arrival time."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.next: int | None = None

    def stamp(self, t_ms: int, samples: int) -> int:
        arrival = t_ms * self.rate // 1000
        if self.next is None or arrival - self.next > self.rate // 5:
            self.next = arrival
        pts, self.next = self.next, self.next + samples
        return pts

    def ahead(self, t_ms: int) -> bool:
        """Whether the next samples would land more than 100 ms after their arrival: the rest of a burst
        that follows a stall the clock has already re-anchored over. Stamping them would push the audio
        ahead of the video for good (seconds, after a few stalls on a busy server), so they are dropped."""
        return self.next is not None and self.next - t_ms * self.rate // 1000 > self.rate // 10


class TrackWriter:
    """Records one incoming track to `path`, with pts in ms on the session clock (`origin` is the
    monotonic time of the session start, so a late track starts at its offset). `tap`, if given, also
    gets every frame kept (the live rendition)."""

    def __init__(
        self,
        track: MediaStreamTrack,
        path: Path,
        origin: float,
        queue_size: int = 120,
        tap: Callable[[int, av.VideoFrame | av.AudioFrame], None] | None = None,
    ) -> None:
        self.track, self.path, self.origin, self.tap = track, path, origin, tap
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
            if not isinstance(frame, (av.VideoFrame, av.AudioFrame)):
                continue  # a remote track yields decoded frames; aiortc's recv() also admits a Packet
            t_ms = round((time.monotonic() - self.origin) * 1000)
            if t_ms < 0:
                continue  # before the session started: not part of the recording
            if self.tap is not None:
                self.tap(t_ms, frame)
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
            clock = SampleClock(48000)
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
                    frames: list[av.VideoFrame | av.AudioFrame] = [frame]
                else:
                    if stream is None:
                        stream = out.add_stream("libopus", rate=48000, layout="stereo")
                        stream.time_base = Fraction(1, 48000)
                        resampler = av.AudioResampler(
                            format="s16", layout="stereo", rate=48000, frame_size=960
                        )
                    assert resampler is not None  # made with the audio stream, on this track's first frame
                    frame.pts = None
                    frames = []
                    for chunk in resampler.resample(frame):
                        if clock.ahead(t_ms):
                            continue
                        chunk.pts, chunk.time_base = clock.stamp(t_ms, chunk.samples), stream.time_base
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
    track recorded under `directory` as `<participant>-<kind>-<part>.mkv` (and handed to `tap`)."""

    def __init__(
        self,
        ice_servers: list[RTCIceServer],
        session_started: float,
        directory: Path,
        send: Send,
        tap: Tap | None = None,
    ) -> None:
        self.config = RTCConfiguration(iceServers=ice_servers)
        self.origin, self.directory, self.send, self.tap = session_started, directory, send, tap
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
        tap = functools.partial(self.tap, participant) if self.tap is not None else None
        writer = TrackWriter(track, path, self.origin, tap=tap)
        self.writers.append(writer)
        writer.start()

    async def hang_up(self, participant: str) -> None:
        """Stop recording `participant` (its consent was withdrawn): finish its files, close its connection.
        A later offer (consent given again) starts a new connection and new files."""
        pc = self.pcs.pop(participant, None)
        if pc is None:
            return
        mine = [w for w in self.writers if w.path.name.startswith(f"{participant}-")]
        self.writers = [w for w in self.writers if w not in mine]
        await _finish(mine)
        await pc.close()

    async def close(self) -> None:
        """Finish every file, then hang up."""
        await _finish(self.writers)
        await asyncio.gather(*(pc.close() for pc in self.pcs.values()))


async def _finish(writers: list[TrackWriter]) -> None:
    await asyncio.gather(*(w.close() for w in writers))
    for w in writers:
        if w.dropped:
            log.warning("recording %s dropped %d frames", w.path.name, w.dropped)
