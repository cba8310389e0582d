"""Room state: peers and their roles, the waiting room, the leader, the grace period and moderation.

A `Room` only changes state and sends frames; it never touches the database itself. What must be
persisted (session start and end, viewer events, chat) goes through the `RoomStore` it is given,
so the rules here are the protocol's alone (docs/consults.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.websockets import WebSocket

from server.consults.viewer_events import empty_state, fold, for_observer, observer_state

log = logging.getLogger(__name__)

HOST = "host"
OBSERVER = "observer"
SERVER = "server"
NORMAL_CLOSE = 1000
POLICY_VIOLATION = 1008


def network_level(rtt_ms: float, loss: float) -> str:
    """good / fair / poor from a peer's receive-side report: what a user would call the call."""
    if loss > 0.10 or rtt_ms > 600:
        return "poor"
    if loss > 0.03 or rtt_ms > 300:
        return "fair"
    return "good"


@dataclass(eq=False)
class Peer:
    """A member of a room. Browsers have a socket; server-side peers (the recorder) override `send`."""

    user_id: int | None
    display_name: str
    role: str
    institution: str = ""
    socket: WebSocket | None = None
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    resume_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    admitted: bool = False
    audio: bool = True
    video: bool = True
    profile: str = "normal"
    consent: bool = False
    quality: str | None = None
    away: bool = False
    webrtc: bool = True  # False: an HLS watcher (`?watch=hls`), to whom nobody offers WebRTC media
    ice_servers: list[dict[str, Any]] = field(default_factory=list)
    grace: asyncio.Task[None] | None = None

    async def send(self, message: dict[str, Any]) -> None:
        """Deliver a frame; a peer that is away or whose socket just broke misses it (it renegotiates)."""
        if self.socket is None:
            return
        try:
            await self.socket.send_json(message)
        except Exception:  # the socket's own receive loop notices the break and starts the grace period
            log.debug("could not send to peer %s", self.id, exc_info=True)

    async def close(self, code: int, reason: str = "") -> None:
        socket, self.socket = self.socket, None
        if socket is not None:
            with contextlib.suppress(Exception):
                await socket.close(code=code, reason=reason)

    @property
    def sends_media(self) -> bool:
        return self.role not in (OBSERVER, SERVER)

    def describe(self) -> dict[str, Any]:
        return {
            "peer_id": self.id,
            "user_id": self.user_id,
            "display_name": self.display_name,
            "role": self.role,
            "institution": self.institution,
            "audio": self.audio,
            "video": self.video,
            "profile": self.profile,
            "consent": self.consent,
            "away": self.away,
            "quality": self.quality,
            "media": self.webrtc,
        }


class RoomStore(Protocol):
    """Persistence a room needs; `signaling.app` implements it on the database and the event writer."""

    async def start_session(self, room: Room) -> int: ...

    async def end_session(self, room: Room, ended_by: int | None) -> None: ...

    def append(self, room: Room, seq: int, t_ms: int, at: datetime, user_id: int | None, kind: str, payload: dict[str, Any]) -> None: ...  # fmt: skip


class RoomError(Exception):
    """A frame the room refuses: becomes an error frame to the sender."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(eq=False)
class Room:
    name: str
    kind: str  # case | teaching
    title: str
    store: RoomStore
    grace_seconds: float
    case_id: int | None = None
    teaching_session_id: int | None = None
    on_recording: Callable[[Room], Awaitable[None] | None] | None = None
    on_empty: Callable[[Room], None] | None = None
    peers: dict[str, Peer] = field(default_factory=dict)  # in joining order
    session_id: int | None = None
    leader: str | None = None
    waiting_room: bool = False
    recording: bool = False
    ended: bool = False
    seq: int = 0
    state: dict[str, Any] = field(default_factory=empty_state)
    _clock_start: float = 0.0
    _starting: asyncio.Future[int] | None = None

    # -- membership ------------------------------------------------------------------------------

    def admitted(self) -> list[Peer]:
        return [peer for peer in self.peers.values() if peer.admitted]

    def by_resume_token(self, token: str) -> Peer | None:
        return next((p for p in self.peers.values() if secrets.compare_digest(p.resume_token, token)), None)

    def must_wait(self, peer: Peer) -> bool:
        if peer.role in (HOST, SERVER):
            return False
        if self.kind == "case":
            return peer.role == "participant"
        return self.waiting_room

    async def join(self, peer: Peer) -> None:
        """A new peer: straight in, or into the waiting room (it gets `waiting`, the hosts the list)."""
        self.peers[peer.id] = peer
        if self.must_wait(peer):
            await peer.send({"type": "waiting", "peer_id": peer.id, "resume_token": peer.resume_token})
            await self._send_waiting_list()
        else:
            await self._enter(peer)

    async def add_server_peer(self, peer: Peer) -> None:
        """A server-side member (role `server`, e.g. the recorder): admitted, no WebSocket.

        Its `send` gets what a browser would: offers addressed to it, `recording` off, `ended`.
        """
        peer.role = SERVER
        self.peers[peer.id] = peer
        await self._enter(peer)

    async def _enter(self, peer: Peer) -> None:
        if self.session_id is None:  # the first admission starts the session (and its clock) once
            if self._starting is None:
                self._clock_start = time.monotonic()
                self._starting = asyncio.ensure_future(self.store.start_session(self))
            self.session_id = await self._starting
        peer.admitted = True
        takes_lead = self._should_lead(peer)
        if takes_lead:
            self.leader = peer.id
        await peer.send(self.welcome(peer))
        await self.broadcast({"type": "peer_joined", **peer.describe()}, exclude=peer.id)
        if takes_lead:
            await self.broadcast({"type": "leader", "peer_id": peer.id}, exclude=peer.id)

    def _should_lead(self, peer: Peer) -> bool:
        if not peer.sends_media:
            return False
        current = self.peers.get(self.leader or "")
        if current is None:
            return True
        return peer.role == HOST and current.role != HOST  # the first host takes the lead

    def welcome(self, peer: Peer) -> dict[str, Any]:
        return {
            "type": "welcome",
            "peer_id": peer.id,
            "resume_token": peer.resume_token,
            "role": peer.role,
            "room": self.describe(),
            "peers": [p.describe() for p in self.admitted() if p is not peer],
            "state": observer_state(self.state) if peer.role == OBSERVER else self.state,
            "last_seq": self.seq,
            "ice_servers": peer.ice_servers,
            "grace_seconds": self.grace_seconds,
        }

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "title": self.title,
            "session_id": self.session_id,
            "leader": self.leader,
            "waiting_room": self.waiting_room,
            "recording": self.recording,
        }

    async def broadcast(self, message: dict[str, Any], *, exclude: str | None = None) -> None:
        for peer in self.admitted():
            if peer.id != exclude:
                await peer.send(message)

    async def _send_waiting_list(self) -> None:
        waiting = [p.describe() for p in self.peers.values() if not p.admitted]
        for peer in self.admitted():
            if peer.role == HOST:
                await peer.send({"type": "waiting_list", "peers": waiting})

    # -- leaving, grace period, resume -----------------------------------------------------------

    async def disconnected(self, peer: Peer) -> None:
        """The socket closed without `bye`: the peer is away until it resumes or the grace runs out."""
        if peer.id not in self.peers or self.ended:
            return
        peer.socket = None
        peer.away = True
        if peer.admitted:
            await self.broadcast({"type": "peer_away", "peer_id": peer.id}, exclude=peer.id)
        peer.grace = asyncio.create_task(self._expire(peer))  # a waiting peer keeps its place too

    async def _expire(self, peer: Peer) -> None:
        await asyncio.sleep(self.grace_seconds)
        peer.grace = None
        await self.leave(peer, "timeout")

    async def resume(self, peer: Peer, socket: WebSocket, ice_servers: list[dict[str, Any]]) -> None:
        """The same peer back on a new socket: same id, role, leadership, consent."""
        if peer.grace is not None:
            peer.grace.cancel()
            peer.grace = None
        await peer.close(NORMAL_CLOSE, "replaced")  # a resume while the old socket still lives
        peer.socket = socket
        peer.ice_servers = ice_servers
        peer.away = False
        if not peer.admitted:
            await peer.send({"type": "waiting", "peer_id": peer.id, "resume_token": peer.resume_token})
            return
        await peer.send(self.welcome(peer))
        await self.broadcast({"type": "peer_back", "peer_id": peer.id}, exclude=peer.id)

    async def leave(self, peer: Peer, reason: str) -> None:
        """The peer is gone for good (`bye`, removed, grace over, denied while waiting)."""
        if self.peers.pop(peer.id, None) is None:
            return
        if peer.grace is not None:
            peer.grace.cancel()
            peer.grace = None
        if not peer.admitted:
            await self._send_waiting_list()
        else:
            await self.broadcast({"type": "peer_left", "peer_id": peer.id, "reason": reason})
            if self.leader == peer.id:
                await self._pass_lead()
        if self.session_id is not None and all(p.role == SERVER for p in self.admitted()):
            await self.end(None)
        elif not self.peers and self.on_empty is not None:
            self.on_empty(self)  # nobody was ever admitted: no session to end

    async def _pass_lead(self) -> None:
        candidates = [p for p in self.admitted() if p.sends_media]
        hosts = [p for p in candidates if p.role == HOST]
        successor = next(iter(hosts or candidates), None)
        self.leader = successor.id if successor else None
        if successor is not None:
            await self.broadcast({"type": "leader", "peer_id": successor.id})

    async def end(self, by: Peer | None) -> None:
        """The room is over: everyone gets `ended`, sockets close normally, the session row ends."""
        if self.ended:
            return
        self.ended = True
        if self.session_id is not None:  # recorded before anyone is told, so a client never sees it open
            await self.store.end_session(self, by.user_id if by else None)
        for peer in list(self.peers.values()):
            if peer.grace is not None:
                peer.grace.cancel()
            await peer.send({"type": "ended", "by": by.id if by else None})
            await peer.close(NORMAL_CLOSE, "ended")
        self.peers.clear()
        if self.on_empty is not None:
            self.on_empty(self)

    # -- frames ----------------------------------------------------------------------------------

    def _admitted_peer(self, peer_id: str) -> Peer:
        target = self.peers.get(peer_id)
        if target is None or not target.admitted:
            raise RoomError("unknown_peer", "no such peer in room")
        return target

    def _require_host(self, peer: Peer) -> None:
        if peer.role != HOST:
            raise RoomError("not_allowed", "only a host may do this")

    async def relay(self, peer: Peer, message: dict[str, Any]) -> None:
        """`offer`/`answer`/`ice` to the named peer, with `from`."""
        target = self._admitted_peer(message["to"])
        if message["type"] == "offer" and peer.role == OBSERVER and target.role != SERVER:
            raise RoomError("not_allowed", "observers receive media only")
        if message["type"] == "offer" and not target.webrtc:
            raise RoomError("not_allowed", "HLS watchers take no WebRTC media")
        if message["type"] == "offer" and target.role == SERVER and peer.sends_media and not peer.consent:
            raise RoomError("consent_missing", "consent to the recording before sending it media")
        await target.send({**message, "from": peer.id})

    def clock_ms(self) -> int:
        """Milliseconds on the session clock (zero when the session started): recordings use it too."""
        return int((time.monotonic() - self._clock_start) * 1000)

    def _stamp(self) -> tuple[int, int, datetime]:
        self.seq += 1
        return self.seq, self.clock_ms(), datetime.now(UTC)

    async def viewer(self, peer: Peer, event: dict[str, Any]) -> None:
        if peer.role == OBSERVER:
            raise RoomError("not_allowed", "observers do not drive the viewer")
        if event["kind"] != "pointer" and peer.id != self.leader:
            raise RoomError("not_leader", "only the leader drives the shared viewer")
        seq, t_ms, at = self._stamp()
        self.state = fold(self.state, seq, event)
        self.store.append(self, seq, t_ms, at, peer.user_id, "viewer", event)
        frame = {"type": "viewer", "seq": seq, "t_ms": t_ms, "at": at.isoformat(), "from": peer.id}
        shown = for_observer(event)
        for other in self.admitted():
            if other.role != OBSERVER:
                await other.send({**frame, "event": event})
            elif shown is not None:
                await other.send({**frame, "event": shown})

    async def chat(self, peer: Peer, text: str) -> None:
        seq, t_ms, at = self._stamp()
        self.store.append(self, seq, t_ms, at, peer.user_id, "chat", {"text": text})
        await self.broadcast(
            {"type": "chat", "seq": seq, "t_ms": t_ms, "at": at.isoformat(), "from": peer.id}
            | {"display_name": peer.display_name, "text": text}
        )

    async def hand_lead(self, peer: Peer, to: str) -> None:
        if peer.id != self.leader and peer.role != HOST:
            raise RoomError("not_leader", "only the leader or a host hands the lead over")
        target = self._admitted_peer(to)
        if not target.sends_media:
            raise RoomError("not_allowed", "observers and server peers cannot lead")
        self.leader = target.id
        await self.broadcast({"type": "leader", "peer_id": target.id})

    async def update(self, peer: Peer, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(peer, name, value)
        await self.broadcast({"type": "peer_updated", **peer.describe()})

    async def network(self, peer: Peer, rtt_ms: float, loss: float) -> None:
        level = network_level(rtt_ms, loss)
        if level != peer.quality:
            peer.quality = level
            await self.broadcast({"type": "network_quality", "peer_id": peer.id, "level": level})

    async def set_recording(self, peer: Peer, on: bool) -> None:
        """Start needs the consent of every admitted peer who sends media; the hook gets the room."""
        self._require_host(peer)
        if on:
            missing = [p.display_name for p in self.admitted() if p.sends_media and not p.consent]
            if missing:
                raise RoomError("consent_missing", "no recording consent from: " + ", ".join(missing))
        if on == self.recording:
            return
        self.recording = on
        await self.broadcast({"type": "recording", "state": "on" if on else "off", "by": peer.id})
        if on and self.on_recording is not None:
            started = self.on_recording(self)
            if started is not None:
                await started

    async def admit(self, peer: Peer, peer_id: str, *, allow: bool) -> None:
        self._require_host(peer)
        target = self.peers.get(peer_id)
        if target is None or target.admitted:
            raise RoomError("unknown_peer", "no such peer in the waiting room")
        if allow:
            await self._enter(target)
            await self._send_waiting_list()
            return
        await target.send({"type": "denied"})
        await target.close(POLICY_VIOLATION, "denied")
        await self.leave(target, "left")

    async def moderate(self, peer: Peer, action: str, peer_id: str | None, on: bool | None) -> None:
        self._require_host(peer)
        if action == "end":
            await self.end(peer)
        elif action == "waiting_room":
            if on is None:
                raise RoomError("bad_message", "waiting_room needs 'on'")
            self.waiting_room = on
            await self.broadcast({"type": "room", "room": self.describe()})
        else:
            if peer_id is None:
                raise RoomError("bad_message", f"{action} needs 'peer_id'")
            target = self._admitted_peer(peer_id)
            if action == "mute":
                target.audio = False
                await target.send({"type": "muted", "by": peer.id})
                await self.broadcast({"type": "peer_updated", **target.describe()})
            else:
                await target.send({"type": "peer_left", "peer_id": target.id, "reason": "removed"})
                await target.close(POLICY_VIOLATION, "removed")
                await self.leave(target, "removed")
