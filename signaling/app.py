"""WebRTC signalling server: the Starlette app, its WebSocket route and the database-backed room store.

Clients authenticate with the API's session (cookie or `Authorization: Bearer`); `admission` decides
who joins which room with what role, `rooms` holds the rules of a live room, `protocol` the frames.
A refused join is accepted and closed with 1008 and a reason, so browsers can say why.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from server.auth.tokens import session_token
from server.consults.ice import ice_servers
from server.consults.models import ConsultSession
from server.core.config import Settings, load_settings
from server.core.db import make_engine, make_session_factory, transaction
from server.core.orm import utcnow
from server.core.tasks import TaskClient
from signaling import protocol
from signaling.admission import Admission, Refused, admit, origin_allowed
from signaling.events import EventWriter, PendingEvent
from signaling.recording import live
from signaling.recording.room_recorder import Recorders
from signaling.rooms import OBSERVER, POLICY_VIOLATION, Peer, Room, RoomError


class DatabaseStore:
    """A room's session rows (written at once: events need their id) and its events (batched)."""

    def __init__(self, factory: Any, writer: EventWriter) -> None:
        self.factory = factory
        self.writer = writer

    async def start_session(self, room: Room) -> int:
        def insert() -> int:
            with transaction(self.factory) as db:
                row = ConsultSession(
                    room=room.name, case_id=room.case_id, teaching_session_id=room.teaching_session_id
                )
                db.add(row)
                db.flush()
                return row.id

        return await asyncio.to_thread(insert)

    async def end_session(self, room: Room, ended_by: int | None) -> None:
        def close(session_id: int) -> None:
            with transaction(self.factory) as db:
                row = db.get(ConsultSession, session_id)
                if row is not None and row.ended_at is None:
                    row.ended_at, row.ended_by_id = utcnow(), ended_by

        assert room.session_id is not None
        await asyncio.to_thread(close, room.session_id)

    def append(self, room: Room, seq: int, t_ms: int, at: datetime, user_id: int | None, kind: str, payload: dict[str, Any]) -> None:  # fmt: skip
        assert room.session_id is not None
        self.writer.add(PendingEvent(room.session_id, seq, t_ms, at, user_id, kind, payload))


class Hub:
    """The live rooms of this server process, created on first join and dropped when they end."""

    def __init__(self, app: Starlette, settings: Settings, store: DatabaseStore) -> None:
        self.app = app
        self.settings = settings
        self.store = store
        self.rooms: dict[str, Room] = {}

    def room_for(self, name: str, admission: Admission) -> Room:
        room = self.rooms.get(name)
        if room is None:
            room = Room(
                name=name,
                kind=admission.kind,
                title=admission.title,
                store=self.store,
                grace_seconds=self.settings.rtc.grace_seconds,
                case_id=admission.case_id,
                teaching_session_id=admission.teaching_session_id,
                on_recording=self._recording_started,
                on_empty=self._forget,
            )
            self.rooms[name] = room
        return room

    def _forget(self, room: Room) -> None:
        if self.rooms.get(room.name) is room:
            del self.rooms[room.name]

    def _recording_started(self, room: Room) -> Any:
        factory = getattr(self.app.state, "recorder_factory", None)
        return factory(room) if factory is not None else None


def allowed_hosts(settings: Settings, websocket: HTTPConnection) -> set[str]:
    hosts = {settings.host, websocket.url.hostname or ""}
    if settings.rtc.signaling_url:
        hosts.add(urlsplit(settings.rtc.signaling_url).hostname or "")
    return hosts - {"", "0.0.0.0"}


async def refuse(websocket: WebSocket, reason: str) -> None:
    await websocket.accept()
    await websocket.close(code=POLICY_VIOLATION, reason=reason)


async def room_socket(websocket: WebSocket) -> None:
    hub: Hub = websocket.app.state.hub
    name = websocket.path_params["room"]
    if not origin_allowed(websocket.headers.get("origin"), allowed_hosts(hub.settings, websocket)):
        await refuse(websocket, "bad_origin")
        return
    token, _ = session_token(websocket.headers, websocket.cookies)
    ip = websocket.client.host if websocket.client else None
    watch = websocket.query_params.get("watch") == "hls"  # an HLS watcher: observer, no WebRTC media
    try:
        factory = websocket.app.state.session_factory
        admission = await asyncio.to_thread(admit, factory, token, name, ip, watch=watch)
    except Refused as refused:
        await refuse(websocket, refused.reason)
        return
    servers = ice_servers(hub.settings.rtc, admission.user_id)
    resume = websocket.query_params.get("resume")
    if resume:
        room = hub.rooms.get(name)
        peer = room.by_resume_token(resume) if room is not None else None
        if room is None or peer is None or peer.user_id != admission.user_id:
            await refuse(websocket, "room_ended")  # the grace period ran out, or the room is over
            return
        await websocket.accept()
        await room.resume(peer, websocket, servers)
    else:
        room = hub.room_for(name, admission)
        await websocket.accept()
        peer = Peer(
            user_id=admission.user_id,
            display_name=admission.display_name,
            role=OBSERVER if watch else admission.role,
            institution=admission.institution,
            socket=websocket,
            ice_servers=servers,
            webrtc=not watch,
        )
        await room.join(peer)
    await serve(room, peer, websocket)


async def serve(room: Room, peer: Peer, websocket: WebSocket) -> None:
    """The peer's receive loop: each frame (text or binary) parsed, checked and handed to the room."""
    budget = protocol.FrameBudget()
    try:
        while not room.ended and peer.socket is websocket:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            try:
                budget.spend()
                frame = protocol.parse(message.get("text") or message.get("bytes") or b"")
                if isinstance(frame, protocol.Bye):
                    await room.leave(peer, "left")
                    await peer.close(1000, "bye")
                    return
                await handle(room, peer, frame)
            except (protocol.ProtocolError, RoomError) as error:
                await peer.send({"type": "error", "error": error.code, "detail": error.detail})
    finally:
        if peer.socket is websocket:  # not replaced by a resume, not closed by the room
            await room.disconnected(peer)


async def handle(room: Room, peer: Peer, frame: Any) -> None:
    if isinstance(frame, protocol.Ping):
        await peer.send({"type": "pong"})
        return
    if not peer.admitted:
        raise RoomError("waiting", "wait until a host admits you")
    match frame:
        case protocol.Offer() | protocol.Answer() | protocol.Ice():
            await room.relay(peer, frame.model_dump())
        case protocol.Viewer():
            await room.viewer(peer, frame.event.model_dump(exclude_none=True))
        case protocol.Chat():
            await room.chat(peer, frame.text)
        case protocol.Leader():
            await room.hand_lead(peer, frame.to)
        case protocol.Media():
            await room.update(peer, audio=frame.audio, video=frame.video, profile=frame.profile)
        case protocol.Network():
            await room.network(peer, frame.rtt_ms, frame.loss)
        case protocol.Consent():
            await room.update(peer, consent=frame.recording)
        case protocol.Recording():
            await room.set_recording(peer, frame.action == "start")
        case protocol.Admit() | protocol.Deny():
            await room.admit(peer, frame.peer_id, allow=isinstance(frame, protocol.Admit))
        case protocol.Moderate():
            await room.moderate(peer, frame.action, frame.peer_id, frame.on)


REFUSAL_STATUS = {"unauthenticated": 401, "no_such_room": 404}
TARGET_LATENCY_SECONDS = 4  # hls.js plays 3 segments behind the newest; see docs/consults.md "Live broadcast"


def http_base(settings: Settings, request: Request) -> str:
    """This server as browsers reach it over HTTP(S): the public signalling URL when configured."""
    if settings.rtc.signaling_url:
        return settings.rtc.signaling_url.replace("ws", "http", 1)  # ws:// → http://, wss:// → https://
    return str(request.base_url).rstrip("/")


async def broadcast(request: Request) -> JSONResponse:
    """A signed URL of the room's live HLS playlist, for whoever may join the (teaching) room. The web
    UI calls it from the API's origin with the session cookie, hence credentialed CORS for that origin."""
    hub: Hub = request.app.state.hub
    name = request.path_params["room"]
    origin = request.headers.get("origin")
    headers = {"Vary": "Origin", "Cache-Control": "no-store"}
    if origin and origin_allowed(origin, allowed_hosts(hub.settings, request)):
        headers |= {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"}
    token, _ = session_token(request.headers, request.cookies)
    ip = request.client.host if request.client else None
    try:
        await asyncio.to_thread(admit, request.app.state.session_factory, token, name, ip, watch=True)
    except Refused as refused:
        status = REFUSAL_STATUS.get(refused.reason, 403)
        return JSONResponse({"error": refused.reason}, status_code=status, headers=headers)
    broadcasts: live.LiveBroadcasts = request.app.state.live
    if not broadcasts.is_live(name):
        return JSONResponse({"error": "not_live"}, status_code=404, headers=headers)
    signed, expires = broadcasts.sign(name)
    body = {
        "hls_url": f"{http_base(hub.settings, request)}/live/{name}/{signed}/{live.PLAYLIST}",
        "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(),
        "segment_seconds": live.SEGMENT_MS / 1000,
        "target_latency_seconds": TARGET_LATENCY_SECONDS,
        "latency_note": f"直播约延迟 {TARGET_LATENCY_SECONDS} 秒 · about {TARGET_LATENCY_SECONDS} s behind live",
    }
    return JSONResponse(body, headers=headers)


async def live_file(request: Request) -> Response:
    """A playlist, init or segment file of a live rendition: the token is the capability (any origin,
    no cookie), the playlist is never cached, segments never change."""
    broadcasts: live.LiveBroadcasts = request.app.state.live
    room, token, name = (request.path_params[k] for k in ("room", "token", "name"))
    headers = {"Access-Control-Allow-Origin": "*"}
    if not broadcasts.valid(room, token):
        return JSONResponse({"error": "bad_token"}, status_code=403, headers=headers)
    path = broadcasts.file(room, name)
    data = await asyncio.to_thread(_read, path) if path is not None else None
    if path is None or data is None:
        return JSONResponse({"error": "not_found"}, status_code=404, headers=headers)
    playlist = name == live.PLAYLIST
    headers["Cache-Control"] = "no-cache" if playlist else "public, max-age=86400, immutable"
    return Response(data, media_type=live.MEDIA_TYPES[path.suffix], headers=headers)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:  # a segment that slid out of the playlist, or the broadcast is over
        return None


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "rooms": len(request.app.state.hub.rooms)})


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        writer = EventWriter(app.state.session_factory)
        writer.start()
        app.state.hub = Hub(app, settings, DatabaseStore(app.state.session_factory, writer))
        try:
            yield
        finally:
            for room in list(app.state.hub.rooms.values()):
                await room.end(None)
            await writer.close()
            app.state.engine.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/broadcast/{room}", broadcast),
            Route("/live/{room}/{token}/{name}", live_file),
            WebSocketRoute("/ws/rooms/{room}", room_socket),
        ],
        lifespan=lifespan,
    )
    app.state.engine = make_engine(settings.database_url)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.live = live.LiveBroadcasts(settings.data_dir, settings.secret_key)
    # called with the room when recording starts; tests may install their own
    app.state.recorder_factory = Recorders(
        settings, app.state.session_factory, TaskClient(settings), app.state.live
    )
    return app
