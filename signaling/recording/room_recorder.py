"""The room's recorder: what `recording start` sets going and `recording stop` (or the room's end) hands
to the worker. It is a room member with role `server`, so participants offer it their media like to any
peer; the frames a browser would get (offers, `recording` off, `ended`) arrive through its `send`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiortc import RTCIceServer
from sqlalchemy.orm import Session, sessionmaker

from server.consults.ice import ice_servers
from server.consults.models import Recording
from server.consults.recordings import PROCESS_TASK, track_dir
from server.core.config import Settings
from server.core.db import transaction
from server.core.orm import utcnow
from server.core.tasks import TaskClient, TaskMessage
from signaling.recording.live import LiveBroadcasts, LiveRendition
from signaling.recording.recorder import RecordingPeer
from signaling.rooms import HOST, SERVER, Peer, Room, RoomError

log = logging.getLogger(__name__)

DISPLAY_NAME = "录制"
RECORDER_USER_ID = 0  # the TURN username needs a user id; the recorder is nobody's


def presenter(room: Room) -> str | None:
    """Whose media a teaching room broadcasts: the leader's, else the host's."""
    leader = room.peers.get(room.leader or "")
    if leader is not None and leader.sends_media:
        return leader.id
    return next((p.id for p in room.admitted() if p.role == HOST), None)


def consenting_users(room: Room) -> set[int]:
    return {p.user_id for p in room.admitted() if p.consent and p.user_id is not None}


class Recorders:
    """`app.state.recorder_factory`: one `RoomRecorder` per `recording start`, its own `Recording` row;
    in a teaching room, with `live`, also a live HLS rendition of the presenter."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        tasks: TaskClient,
        live: LiveBroadcasts | None = None,
    ) -> None:
        self.settings, self.session_factory, self.tasks, self.live = settings, session_factory, tasks, live

    async def __call__(self, room: Room) -> None:
        consenting = sorted(consenting_users(room))
        assert room.session_id is not None  # recording starts only in a room with admitted peers
        recording_id = await asyncio.to_thread(self._insert, room.session_id, consenting)
        servers = [
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in ice_servers(self.settings.rtc, RECORDER_USER_ID)
        ]
        live = None
        if self.live is not None and room.kind == "teaching":
            live = self.live.start(room.name, lambda: presenter(room))
        await room.add_server_peer(RoomRecorder(room, recording_id, servers, self, live))

    def _insert(self, session_id: int, consenting: list[int]) -> int:
        with transaction(self.session_factory) as db:
            row = Recording(consult_session_id=session_id, state="recording", consent_user_ids=consenting)
            db.add(row)
            db.flush()
            return row.id

    def add_consent(self, recording_id: int, user_id: int) -> None:
        """A user who consented after the start (admitted while recording) joins the row's list."""
        with transaction(self.session_factory) as db:
            row = db.get(Recording, recording_id)
            if row is not None and user_id not in row.consent_user_ids:
                row.consent_user_ids = sorted({*row.consent_user_ids, user_id})

    async def hand_over(self, recording_id: int) -> None:
        """The files are complete: mark the row `processing` and queue the worker's mux."""

        def mark_and_send() -> None:
            with transaction(self.session_factory) as db:
                row = db.get(Recording, recording_id)
                if row is not None:
                    row.state, row.ended_at = "processing", utcnow()
            self.tasks.send(TaskMessage(PROCESS_TASK, (recording_id,)))

        await asyncio.to_thread(mark_and_send)


class RoomRecorder(Peer):
    """The server peer of one recording. Offers and ICE are handled one at a time in a task of their
    own, so a slow answer (aiortc gathers candidates first) never stalls the sender's socket loop."""

    def __init__(
        self,
        room: Room,
        recording_id: int,
        servers: list[RTCIceServer],
        owner: Recorders,
        live: LiveRendition | None = None,
    ) -> None:
        super().__init__(user_id=None, display_name=DISPLAY_NAME, role=SERVER)
        self.room, self.recording_id, self.owner, self.live = room, recording_id, owner, live
        origin = time.monotonic() - room.clock_ms() / 1000  # track pts are then session `t_ms`
        tap = live.feed if live is not None else None
        self.media = RecordingPeer(
            servers, origin, track_dir(owner.settings.data_dir, recording_id), self._answer, tap
        )
        self.consenting = consenting_users(room)
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._negotiation = asyncio.ensure_future(self._negotiate())
        self._finished = False

    async def send(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in ("offer", "ice", "peer_updated"):  # consent changes in order with that peer's offers
            self._inbox.put_nowait(message)
        elif kind == "ended" or (kind == "recording" and message.get("state") == "off"):
            await self.finish()

    async def _negotiate(self) -> None:
        while True:
            message = await self._inbox.get()
            sender = message.get("from") or message.get("peer_id")
            try:
                if message["type"] == "peer_updated":
                    await self._consent_changed(message)
                else:
                    await self.media.handle(message["from"], message)
            except Exception:  # a malformed SDP from one participant must not end the recording
                log.warning("recording %s: bad %s from %s", self.recording_id, message["type"], sender, exc_info=True)  # fmt: skip

    async def _consent_changed(self, peer: dict[str, Any]) -> None:
        """`peer_updated` is the recorder's notice: a withdrawn consent stops that peer's recording (its
        files end, its connection closes); a late consent is added to the recording's consenting users."""
        if not peer["consent"]:
            await self.media.hang_up(peer["peer_id"])
        elif (user_id := peer.get("user_id")) is not None and user_id not in self.consenting:
            self.consenting.add(user_id)
            await asyncio.to_thread(self.owner.add_consent, self.recording_id, user_id)

    async def _answer(self, message: dict[str, Any]) -> None:
        if self.room.ended or self.id not in self.room.peers:
            return
        with contextlib.suppress(RoomError):  # the participant left while we answered
            await self.room.relay(self, message)

    async def finish(self) -> None:
        """Close the files, hand them to the worker, leave the room (unless it is ending anyway)."""
        if self._finished:
            return
        self._finished = True
        self._negotiation.cancel()
        await asyncio.gather(self._negotiation, return_exceptions=True)
        await self.media.close()
        if self.live is not None and self.owner.live is not None:
            await self.owner.live.stop(self.room.name, self.live)
        await self.owner.hand_over(self.recording_id)
        if not self.room.ended:
            await self.room.leave(self, "left")
