"""Teaching sessions, their attendance, and the de-identified teaching library."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.community.models import Institution, User
from server.consults.models import Recording
from server.core.orm import Base, UTCDateTime, str_enum, utcnow


class TeachingKind(enum.StrEnum):
    WARD_ROUND = "ward_round"  # 教学查房
    BEDSIDE = "bedside"  # 临床带教
    SURGICAL_DEMO = "surgical_demo"  # 远程手术示教
    LECTURE = "lecture"  # 远程教育


class TeachingSession(Base):
    """A teaching session of the community (教研平台), hosted from one institution and attended remotely.

    It counts as held once `held_at` is set. Live rooms and recordings attach to a session by its id.
    """

    __tablename__ = "teaching_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[TeachingKind] = mapped_column(str_enum(TeachingKind))
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    host: Mapped[User] = relationship(foreign_keys=[host_id])
    institution: Mapped[Institution] = relationship()
    attendance: Mapped[list[TeachingAttendance]] = relationship(
        back_populates="session", order_by="TeachingAttendance.joined_at"
    )


class TeachingAttendance(Base):
    """A trainee's attendance of one teaching session: first joined, last left (None: still there)."""

    __tablename__ = "teaching_attendance"
    __table_args__ = (
        UniqueConstraint("session_id", "trainee_id", name="uq_teaching_attendance_session_trainee"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("teaching_sessions.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    session: Mapped[TeachingSession] = relationship(back_populates="attendance")
    trainee: Mapped[User] = relationship()


class TeachingItemState(enum.StrEnum):
    PREPARING = "preparing"  # the worker is making the de-identified copies
    READY = "ready"
    FAILED = "failed"


class TeachingItem(Base):
    """A teaching session's recording published to the community's library (教学点播), for trainees.

    Its viewer events are stored rewritten so that every target names a de-identified copy
    (`TeachingMaterial`); chapters are the host's plus one per material opened in the session.
    """

    __tablename__ = "teaching_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    teaching_session_id: Mapped[int] = mapped_column(ForeignKey("teaching_sessions.id"), index=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    specialty: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    host_chapters: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{t_ms, title}]
    viewer_chapters: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # the worker's
    events: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # targets rewritten to copies
    state: Mapped[TeachingItemState] = mapped_column(
        str_enum(TeachingItemState), default=TeachingItemState.PREPARING, index=True
    )
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    teaching_session: Mapped[TeachingSession] = relationship()
    recording: Mapped[Recording] = relationship()
    materials: Mapped[list[TeachingMaterial]] = relationship(
        back_populates="item", order_by="TeachingMaterial.id"
    )


class TeachingMaterial(Base):
    """A study or slide shown in a teaching item, linked as its de-identified copy. `source_id` (the
    original StudyInstanceUID or slide id) stays on the server: answers name only `copy_id`."""

    __tablename__ = "teaching_materials"
    __table_args__ = (
        UniqueConstraint("item_id", "kind", "source_id", name="uq_teaching_materials_item_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("teaching_items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # study | slide | ecg
    source_id: Mapped[str] = mapped_column(String(64))
    copy_id: Mapped[str] = mapped_column(String(64), index=True)
    burned_in_warning: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(String(200), default="")

    item: Mapped[TeachingItem] = relationship(back_populates="materials")


class TeachingSlide(Base):
    """A de-identified copy of a case's slide: its pyramid's tiles copied under its own prefix, no label
    or macro image, and only the metadata a viewer needs (no vendor properties, no file name)."""

    __tablename__ = "teaching_slides"
    __table_args__ = (UniqueConstraint("item_id", "source_slide_id", name="uq_teaching_slides_item_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("teaching_items.id"), index=True)
    source_slide_id: Mapped[int] = mapped_column(ForeignKey("slides.id"), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{width, height, downsample}]
    mpp_x: Mapped[float | None] = mapped_column(Float)
    mpp_y: Mapped[float | None] = mapped_column(Float)
    objective_power: Mapped[float | None] = mapped_column(Float)
    tiles_state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | ready
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def thumbnail_key(self) -> str:
        return f"teaching/slides/{self.id}/thumbnail.jpeg"

    def tile_key(self, level: int, col: int, row: int) -> str:
        """Under the copy's own prefix: the copy outlives any change to the source slide's objects."""
        return f"teaching/slides/{self.id}/tiles/{level}/{col}_{row}.jpeg"


class TeachingEcg(Base):
    """A de-identified copy of a case's ECG: the same samples under the copy's own key, with only what a
    reader needs (leads, rate, duration, filters, device make and model, measurements). No patient, no
    acquisition time, no file name, no device statements (free text, which may name people)."""

    __tablename__ = "teaching_ecgs"
    __table_args__ = (UniqueConstraint("item_id", "source_ecg_id", name="uq_teaching_ecgs_item_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("teaching_items.id"), index=True)
    source_ecg_id: Mapped[int] = mapped_column(ForeignKey("ecg_records.id"), index=True)
    source_format: Mapped[str] = mapped_column(String(32))
    leads: Mapped[list[str]] = mapped_column(JSON, default=list)
    sampling_rate: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    device: Mapped[str] = mapped_column(String(200), default="")  # manufacturer and model, no serial
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    device_measurements: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    automated_measurements: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def record_key(self) -> str:
        """Under the copy's own prefix: the normalised record, re-written without its identifying header."""
        return f"teaching/ecgs/{self.id}/record.npz"
