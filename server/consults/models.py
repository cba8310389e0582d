"""Live consult sessions, their persisted room events and recordings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.cases.models import Case
from server.core.orm import Base, UTCDateTime, utcnow


class ConsultSession(Base):
    """One live occupation of a signalling room, from its first admitted peer to `moderate end` or the
    last peer's grace period running out. Its start is the zero of the room's session clock (`t_ms`)."""

    __tablename__ = "consult_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    teaching_session_id: Mapped[int | None] = mapped_column(ForeignKey("teaching_sessions.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case | None] = relationship()


class RoomEvent(Base):
    """A viewer event or chat line of a consult session, in the room's order (`seq` from 1)."""

    __tablename__ = "room_events"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("consult_sessions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    t_ms: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))  # viewer | chat
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class Recording(Base):
    """A consult recording: per-track files while `recording`, then the worker's muxed outputs in the
    object store, on the clock of its consult session (whose viewer events are stored beside it)."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consult_session_id: Mapped[int] = mapped_column(ForeignKey("consult_sessions.id"), index=True)
    # recording | processing | ready | failed
    state: Mapped[str] = mapped_column(String(16), default="recording")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    object_keys: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    consent_user_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
