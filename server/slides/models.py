"""Whole-slide images and their annotations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.cases.models import Case, StoredFile
from server.community.models import User
from server.core.orm import Base, UTCDateTime, utcnow


class Slide(Base):
    """One whole-slide image of a case: the original file as uploaded, its metadata and tile state.

    Metadata is read when the upload is checked (a broken slide is never stored); the thumbnail and the
    pre-built top deep-zoom levels are the worker's (`tiles_state`). Deeper tiles are rendered on first
    request and cached in object storage. `slide_metadata` holds every property, identifying ones
    included; views filter it (`imaging.wsi.SlideMetadata.to_json`).
    """

    __tablename__ = "slides"
    __table_args__ = (UniqueConstraint("case_id", "sha256", name="uq_slides_case_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    original_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255), default="")
    source_format: Mapped[str] = mapped_column(String(16))  # tiff | dicom | dicom_zip
    vendor: Mapped[str] = mapped_column(String(64), default="")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    mpp_x: Mapped[float | None] = mapped_column(Float)
    mpp_y: Mapped[float | None] = mapped_column(Float)
    objective_power: Mapped[float | None] = mapped_column(Float)
    slide_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tiles_state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | ready | failed
    tiles_error: Mapped[str | None] = mapped_column(Text)
    tiles_ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship()
    original_file: Mapped[StoredFile] = relationship()


class SlideAnnotation(Base):
    """A reader's point, line or polygon on a slide, in base-level pixels; lengths and areas follow from
    the slide's microns per pixel, so they are computed when read rather than stored."""

    __tablename__ = "slide_annotations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slide_id: Mapped[int] = mapped_column(ForeignKey("slides.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    tool: Mapped[str] = mapped_column(String(16))  # point | line | polygon
    points: Mapped[list[dict[str, float]]] = mapped_column(JSON)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User] = relationship()
