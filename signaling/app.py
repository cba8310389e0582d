"""WebRTC signalling: peers meet in a room bound to a case and exchange SDP and ICE through it.

Clients authenticate with the API's session (cookie or `Authorization: Bearer`). A room is named
after a case (`case-<id>`) and only users who may see that case can join. Every frame is a JSON
object with a `type`; a bad frame gets an error frame back and the room carries on.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.access import can_see_case
from server.auth.sessions import SESSION_COOKIE, resolve_session
from server.config import Settings, load_settings
from server.db import make_engine, make_session_factory
from server.models import Case

RELAYED_TYPES = frozenset({"offer", "answer", "ice"})
MAX_FRAME_BYTES = 64 * 1024
POLICY_VIOLATION = 1008


@dataclass
class Peer:
    id: str
    user_id: int
    display_name: str
    role: str
    socket: WebSocket

    def describe(self) -> dict[str, Any]:
        return {
            "peer_id": self.id,
            "user_id": self.user_id,
            "display_name": self.display_name,
            "role": self.role,
        }


@dataclass
class Room:
    name: str
    peers: dict[str, Peer] = field(default_factory=dict)

    async def broadcast(self, message: dict[str, Any], *, exclude: str | None = None) -> None:
        for peer in list(self.peers.values()):
            if peer.id != exclude:
                await peer.socket.send_json(message)


class Rooms:
    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}

    def join(self, name: str, peer: Peer) -> Room:
        room = self.rooms.setdefault(name, Room(name))
        room.peers[peer.id] = peer
        return room

    def leave(self, room: Room, peer: Peer) -> None:
        room.peers.pop(peer.id, None)
        if not room.peers:
            self.rooms.pop(room.name, None)


def _token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return websocket.cookies.get(SESSION_COOKIE)


def _admit(factory, token: str | None, room_name: str) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
    """The joining user's description, or None if unauthenticated or not allowed in this room."""
    if not token or not room_name.startswith("case-") or not room_name[5:].isdigit():
        return None
    with factory() as db:
        login = resolve_session(db, token)
        case = db.get(Case, int(room_name[5:]))
        if login is None or case is None or not can_see_case(db, login.user, case):
            return None
        user = login.user
        return {"user_id": user.id, "display_name": user.display_name, "role": user.role.value}


def _parse(raw: str) -> dict[str, Any]:
    if len(raw) > MAX_FRAME_BYTES:
        raise ValueError("frame too large")
    message = json.loads(raw)
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ValueError("a frame must be a JSON object with a string 'type'")
    return message


async def room_socket(websocket: WebSocket) -> None:
    state = websocket.app.state
    room_name = websocket.path_params["room"]
    admitted = await run_in_threadpool(_admit, state.session_factory, _token(websocket), room_name)
    if admitted is None:
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    peer = Peer(id=secrets.token_hex(8), socket=websocket, **admitted)
    room = state.rooms.join(room_name, peer)
    await websocket.send_json(
        {
            "type": "welcome",
            "peer_id": peer.id,
            "peers": [p.describe() for p in room.peers.values() if p is not peer],
        }
    )
    await room.broadcast({"type": "peer_joined", **peer.describe()}, exclude=peer.id)
    try:
        while True:
            raw = await websocket.receive_text()
            try:
                message = _parse(raw)
            except ValueError as exc:
                await websocket.send_json({"type": "error", "error": "bad_message", "detail": str(exc)})
                continue
            await _handle(room, peer, message)
    except WebSocketDisconnect:
        pass
    finally:
        state.rooms.leave(room, peer)
        await room.broadcast({"type": "peer_left", "peer_id": peer.id})


async def _handle(room: Room, peer: Peer, message: dict[str, Any]) -> None:
    kind = message["type"]
    if kind == "ping":
        await peer.socket.send_json({"type": "pong"})
        return
    if kind not in RELAYED_TYPES:
        await peer.socket.send_json(
            {"type": "error", "error": "unknown_type", "detail": f"unknown type {kind!r}"}
        )
        return
    target = room.peers.get(str(message.get("to")))
    if target is None:
        await peer.socket.send_json(
            {"type": "error", "error": "unknown_peer", "detail": "no such peer in room"}
        )
        return
    await target.socket.send_json({**message, "from": peer.id})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "rooms": len(request.app.state.rooms.rooms)})


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        app.state.engine.dispose()

    app = Starlette(
        routes=[Route("/healthz", healthz), WebSocketRoute("/ws/rooms/{room}", room_socket)],
        lifespan=lifespan,
    )
    app.state.engine = make_engine(settings.database_url)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.rooms = Rooms()
    return app
