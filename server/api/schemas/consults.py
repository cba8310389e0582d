"""Contracts of `server.api.consults`: consult sessions, their event streams, the caller's RTC setup."""

from __future__ import annotations

from typing import Any, NotRequired

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from server.api.schemas.common import Timestamp
from server.consults.models import ConsultSession as SessionRow


class ConsultSession(BaseModel):
    id: int
    room: str
    case_id: int | None
    teaching_session_id: int | None
    started_at: Timestamp
    ended_at: Timestamp | None
    ended_by_id: int | None

    @classmethod
    def of(cls, row: SessionRow) -> ConsultSession:
        return cls(
            id=row.id,
            room=row.room,
            case_id=row.case_id,
            teaching_session_id=row.teaching_session_id,
            started_at=row.started_at,
            ended_at=row.ended_at,
            ended_by_id=row.ended_by_id,
        )


class ConsultSessions(BaseModel):
    sessions: list[ConsultSession]


class RoomEvent(BaseModel):
    """A viewer event or chat message, `t_ms` after the session started."""

    seq: int
    t_ms: int
    at: Timestamp
    user_id: int | None
    kind: str = Field(description="viewer or chat.")
    payload: dict[str, Any]


class ConsultEvents(BaseModel):
    session: ConsultSession
    events: list[RoomEvent]


class IceServer(TypedDict):
    """An RTCIceServer: STUN (urls only) or TURN (signed for the caller)."""

    urls: list[str]
    username: NotRequired[str]
    credential: NotRequired[str]


class RtcConfig(BaseModel):
    signaling_url: str
    ice_servers: list[IceServer]
    grace_seconds: int | float
