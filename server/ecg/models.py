"""ECG records."""

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
from server.core.orm import Base, UTCDateTime, utcnow


class EcgRecord(Base):
    """One ECG of a case: the original file as uploaded, its normalised record, measurements and page.

    The same file (by SHA-256) attached to the same case again is the same record. Measurements and the
    rendered page are the worker's (`render_state`); the device's own values come from the file.
    """

    __tablename__ = "ecg_records"
    __table_args__ = (UniqueConstraint("case_id", "sha256", name="uq_ecg_records_case_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    original_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    record_key: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255), default="")
    source_format: Mapped[str] = mapped_column(String(32))
    leads: Mapped[list[str]] = mapped_column(JSON, default=list)
    sampling_rate: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    acquired_at: Mapped[str | None] = mapped_column(String(32))  # as the device recorded it (no zone)
    device: Mapped[str] = mapped_column(String(200), default="")
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    device_measurements: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    device_statements: Mapped[list[str]] = mapped_column(JSON, default=list)
    automated_measurements: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    render_state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | ready | failed
    render_error: Mapped[str | None] = mapped_column(Text)
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship()
    original_file: Mapped[StoredFile] = relationship()
