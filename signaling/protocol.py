"""The client → server frames as pydantic models: one discriminated union on `type` (docs/consults.md).

`parse` turns a raw text frame into a model or a `ProtocolError` carrying the error code the client
gets back; nothing a client sends can raise anything else.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_FRAME_BYTES = 64 * 1024
MAX_CHAT_CHARS = 2000
PeerId = Annotated[str, Field(min_length=1, max_length=64)]
Sdp = Annotated[str, Field(max_length=MAX_FRAME_BYTES)]
Unit = Annotated[float, Field(ge=0, le=1)]


class ProtocolError(Exception):
    """A frame the server will not act on; `code` is one of the protocol's error codes."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail

    def frame(self) -> dict[str, Any]:
        return {"type": "error", "error": self.code, "detail": self.detail}


@dataclass
class FrameBudget:
    """A token bucket per peer: bursts are fine (ICE trickles), a flood gets `rate_limited`."""

    rate: float = 50.0  # frames per second, sustained
    burst: float = 200.0
    tokens: float = 200.0
    at: float = field(default_factory=time.monotonic)

    def spend(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            raise ProtocolError("rate_limited", f"more than {self.rate:.0f} frames a second")
        self.tokens -= 1


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Viewer events ---------------------------------------------------------------------------------


class Target(Frame):
    type: Literal["study", "series", "ecg", "slide"]
    id: Annotated[str, Field(min_length=1, max_length=128)]


class OpenEvent(Frame):
    kind: Literal["open"]
    target: Target


class SliceEvent(Frame):
    kind: Literal["slice"]
    index: Annotated[int, Field(ge=0, le=100_000)]


class WindowEvent(Frame):
    kind: Literal["window"]
    center: float
    width: Annotated[float, Field(gt=0)]


class ViewportEvent(Frame):
    kind: Literal["viewport"]
    zoom: Annotated[float, Field(gt=0)]
    pan: tuple[float, float] | None = None
    x: float | None = None
    y: float | None = None


class AnnotationAdded(Frame):
    kind: Literal["annotation_added"]
    id: Annotated[str, Field(min_length=1, max_length=64)]
    shape: dict[str, Any]


class AnnotationRemoved(Frame):
    kind: Literal["annotation_removed"]
    id: Annotated[str, Field(min_length=1, max_length=64)]


class PointerEvent(Frame):
    kind: Literal["pointer"]
    x: Unit
    y: Unit


ViewerEvent = Annotated[
    OpenEvent | SliceEvent | WindowEvent | ViewportEvent | AnnotationAdded | AnnotationRemoved | PointerEvent,
    Field(discriminator="kind"),
]


# Client frames ---------------------------------------------------------------------------------


class Offer(Frame):
    type: Literal["offer"]
    to: PeerId
    sdp: Sdp


class Answer(Frame):
    type: Literal["answer"]
    to: PeerId
    sdp: Sdp


class Candidate(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)  # browsers add usernameFragment and the like

    candidate: Annotated[str, Field(max_length=4096)]
    sdpMid: str | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=1024)] | None = None


class Ice(Frame):
    type: Literal["ice"]
    to: PeerId
    candidate: Candidate | None


class Viewer(Frame):
    type: Literal["viewer"]
    event: ViewerEvent


class Leader(Frame):
    type: Literal["leader"]
    to: PeerId


class Chat(Frame):
    type: Literal["chat"]
    text: Annotated[str, Field(min_length=1, max_length=MAX_CHAT_CHARS)]


class Media(Frame):
    type: Literal["media"]
    audio: bool
    video: bool
    profile: Literal["normal", "low", "audio_only"] = "normal"


class Network(Frame):
    type: Literal["network"]
    rtt_ms: Annotated[float, Field(ge=0, le=60_000)]
    loss: Unit
    bitrate_kbps: Annotated[float, Field(ge=0, le=1_000_000)]


class Consent(Frame):
    type: Literal["consent"]
    recording: bool


class Recording(Frame):
    type: Literal["recording"]
    action: Literal["start", "stop"]


class Admit(Frame):
    type: Literal["admit"]
    peer_id: PeerId


class Deny(Frame):
    type: Literal["deny"]
    peer_id: PeerId


class Moderate(Frame):
    type: Literal["moderate"]
    action: Literal["mute", "remove", "end", "waiting_room"]
    peer_id: PeerId | None = None
    on: bool | None = None


class Ping(Frame):
    type: Literal["ping"]


class Bye(Frame):
    type: Literal["bye"]


ClientFrame = Annotated[
    Offer
    | Answer
    | Ice
    | Viewer
    | Leader
    | Chat
    | Media
    | Network
    | Consent
    | Recording
    | Admit
    | Deny
    | Moderate
    | Ping
    | Bye,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
TYPES = frozenset(
    {"offer", "answer", "ice", "viewer", "leader", "chat", "media", "network", "consent", "recording"}
    | {"admit", "deny", "moderate", "ping", "bye"}
)


def _explain(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "frame"
    return f"{where}: {first['msg']}"


def parse(raw: str | bytes) -> Any:
    """The frame's model, or `ProtocolError` (`bad_message`, `unknown_type`) saying what is wrong."""
    if len(raw.encode() if isinstance(raw, str) else raw) > MAX_FRAME_BYTES:
        raise ProtocolError("bad_message", f"frame larger than {MAX_FRAME_BYTES} bytes")
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("bad_message", f"not JSON: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("bad_message", "a frame must be a JSON object with a string 'type'")
    if message["type"] not in TYPES:
        raise ProtocolError("unknown_type", f"unknown type {message['type'][:40]!r}")
    try:
        return _ADAPTER.validate_python(message)
    except ValidationError as exc:
        raise ProtocolError("bad_message", _explain(exc)) from None
