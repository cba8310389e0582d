"""The live HLS rendition of a teaching room (网络收看): many trainees watch one room without adding a
WebRTC peer each, since aiortc re-encodes per outgoing peer. While the room records, the presenter's
frames (the ones the recorder already pulls) are encoded once more, in a thread of their own, into a
sliding fMP4 HLS playlist under `<data_dir>/live/<room>/`; the signalling server serves those files
under a signed, time-limited URL, so a viewer costs file reads and no database lookup.

A second encode rather than a remux of the recording's packets: the recorder writes one file per
participant and track, while the live stream follows whoever presents (the leader, else the host) at
one fixed size with a keyframe starting every segment. Its cost is one encode per room, whatever the
number of viewers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from av.video.frame import PictureType

from signaling.recording.recorder import MS, SampleClock

log = logging.getLogger(__name__)

SEGMENT_MS = 1000
LIST_SIZE = 6
TOKEN_SECONDS = 4 * 3600
LINGER_SECONDS = 120  # an ended playlist (EXT-X-ENDLIST) stays this long for viewers to finish
MAX_WIDTH, MAX_HEIGHT = 1280, 720
AUDIO_RATE = 48000
PLAYLIST = "index.m3u8"
FILE_NAME = re.compile(r"index\.m3u8|init\.mp4|seg-[0-9]{1,9}\.m4s")
MEDIA_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "video/mp4", ".m4s": "video/iso.segment"}

Frame = av.VideoFrame | av.AudioFrame


def output_size(width: int, height: int) -> tuple[int, int]:
    """The presenter's first picture size, scaled down to fit 720p, even (yuv420p needs it)."""
    scale = min(1.0, MAX_WIDTH / width, MAX_HEIGHT / height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


class HlsEncoder:
    """H.264 + AAC into ffmpeg's HLS muxer; opened at the first picture (both streams must exist
    before the header). Lives in the rendition's thread only."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.out: Any = None
        self.video: Any = None
        self.audio: Any = None
        self.resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_RATE, frame_size=1024)
        self.clock = SampleClock(AUDIO_RATE)
        self.last_pts = self.last_key = -SEGMENT_MS

    def _open(self, width: int, height: int) -> None:
        options = {
            "hls_time": str(SEGMENT_MS / 1000),
            "hls_list_size": str(LIST_SIZE),
            "hls_flags": "delete_segments+temp_file+independent_segments+program_date_time",
            "hls_segment_type": "fmp4",
            "hls_fmp4_init_filename": "init.mp4",
            "hls_segment_filename": str(self.directory / "seg-%d.m4s"),
            "max_interleave_delta": "300000",  # µs: a silent or missing microphone never holds pictures back
        }
        self.out = av.open(str(self.directory / PLAYLIST), "w", format="hls", options=options)
        self.video = self.out.add_stream("libx264", rate=30)
        self.video.width, self.video.height, self.video.pix_fmt = width, height, "yuv420p"
        self.video.time_base = self.video.codec_context.time_base = MS
        self.video.options = {"preset": "veryfast", "tune": "zerolatency", "g": "600", "sc_threshold": "0"}
        self.audio = self.out.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        self.audio.bit_rate = 64000
        self.audio.time_base = Fraction(1, AUDIO_RATE)

    def add(self, t_ms: int, frame: Frame) -> None:
        if isinstance(frame, av.VideoFrame):
            self._picture(t_ms, frame)
        elif self.out is not None:  # the playlist starts with the first picture
            self._sound(t_ms, frame)

    def _picture(self, t_ms: int, frame: av.VideoFrame) -> None:
        if self.out is None:
            self._open(*output_size(frame.width, frame.height))
        own = frame.reformat(width=self.video.width, height=self.video.height, format="yuv420p")
        if own is frame:  # the recorder's thread holds the same frame: never touch its fields
            own = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
        self.last_pts = max(t_ms, self.last_pts + 1)  # arrival jitter must not reorder frames
        own.pts, own.time_base = self.last_pts, MS
        if self.last_pts - self.last_key >= SEGMENT_MS:  # every segment opens on a keyframe
            own.pict_type = PictureType.I
            self.last_key = self.last_pts
        self._mux(self.video.encode(own))

    def _sound(self, t_ms: int, frame: av.AudioFrame) -> None:
        own = av.AudioFrame.from_ndarray(
            frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name
        )
        own.sample_rate = frame.sample_rate
        for chunk in self.resampler.resample(own):
            if self.clock.ahead(t_ms):
                continue  # the rest of a burst after a stall (SampleClock.ahead)
            chunk.pts, chunk.time_base = self.clock.stamp(t_ms, chunk.samples), self.audio.time_base
            self._mux(self.audio.encode(chunk))

    def _mux(self, packets: Iterable[av.Packet]) -> None:
        for packet in packets:
            self.out.mux(packet)

    def close(self) -> None:
        """Flush both encoders; closing the muxer writes the last segment and EXT-X-ENDLIST."""
        if self.out is None:
            return
        self._mux(self.video.encode(None))
        self._mux(self.audio.encode(None))
        self.out.close()


class LiveRendition:
    """One broadcast: `feed` (event loop, from the recorder's track readers) keeps the presenter's
    frames, which a thread encodes. The presenter is asked per frame, so a change of leader is
    followed at once (the new presenter's pictures are scaled to the stream's size)."""

    def __init__(self, directory: Path, presenter: Callable[[], str | None], queue_size: int = 120) -> None:
        self.directory, self.presenter = directory, presenter
        self.dropped = 0
        self.ended = False
        self._queue: queue.Queue[tuple[int, Frame] | None] = queue.Queue(queue_size)
        self._thread = threading.Thread(target=self._encode, name=f"live-{directory.name}", daemon=True)

    @property
    def playlist(self) -> Path:
        return self.directory / PLAYLIST

    def start(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)  # a previous broadcast's leftovers
        self.directory.mkdir(parents=True)
        self._thread.start()

    def feed(self, participant: str, t_ms: int, frame: Frame) -> None:
        if participant != self.presenter():
            return
        try:
            self._queue.put_nowait((t_ms, frame))
        except queue.Full:
            self.dropped += 1

    def _encode(self) -> None:
        encoder, drained = HlsEncoder(self.directory), False
        try:
            while (item := self._queue.get()) is not None:
                encoder.add(*item)
            drained = True
            encoder.close()
        except Exception:  # a broken live stream must not take the recording with it
            log.exception("live rendition %s failed", self.directory.name)
            while not drained and self._queue.get() is not None:
                pass

    async def close(self) -> None:
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)
        self.ended = True
        if self.dropped:
            log.warning("live rendition %s dropped %d frames", self.directory.name, self.dropped)


class LiveBroadcasts:
    """This signalling process's live renditions, and the signed URLs their files are served under:
    `<token>` is `<expiry>.<HMAC of room and expiry>`, checked without a database."""

    def __init__(self, data_dir: Path, secret_key: str) -> None:
        self.root = data_dir / "live"
        self._key = hmac.new(secret_key.encode(), b"telemed live hls", hashlib.sha256).digest()
        self.renditions: dict[str, LiveRendition] = {}

    def start(self, room: str, presenter: Callable[[], str | None]) -> LiveRendition:
        rendition = self.renditions[room] = LiveRendition(self.root / room, presenter)
        rendition.start()
        return rendition

    async def stop(self, room: str, rendition: LiveRendition) -> None:
        """End the playlist; its files go after `LINGER_SECONDS` unless the room broadcasts again."""
        await rendition.close()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self._remove, room, rendition)

    def _remove(self, room: str, rendition: LiveRendition) -> None:
        if self.renditions.get(room) is rendition:
            del self.renditions[room]
            shutil.rmtree(rendition.directory, ignore_errors=True)

    def is_live(self, room: str) -> bool:
        """Broadcasting, with a first segment in the playlist."""
        rendition = self.renditions.get(room)
        return rendition is not None and not rendition.ended and rendition.playlist.exists()

    def _signature(self, room: str, expires: int) -> str:
        digest = hmac.new(self._key, f"{room}\n{expires}".encode(), hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode()

    def sign(self, room: str, now: float | None = None) -> tuple[str, int]:
        expires = int(now if now is not None else time.time()) + TOKEN_SECONDS
        return f"{expires}.{self._signature(room, expires)}", expires

    def valid(self, room: str, token: str, now: float | None = None) -> bool:
        expires, _, signature = token.partition(".")
        if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(signature, self._signature(room, int(expires)))

    def file(self, room: str, name: str) -> Path | None:
        """The served file `name` of `room`'s rendition: only the playlist, init and segment names (no
        `.tmp` files being written, nothing outside the room's directory)."""
        rendition = self.renditions.get(room)
        if rendition is None or not FILE_NAME.fullmatch(name):
            return None
        return rendition.directory / name
