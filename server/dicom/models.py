"""The DICOM index: studies, series, instances, conflicts and readers' annotations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.cases.models import StoredFile
from server.community.models import User
from server.core.orm import Base, UTCDateTime, utcnow


class DicomStudy(Base):
    """A DICOM study as indexed at ingest. Owned by the uploading institution, optionally attached to a case."""

    __tablename__ = "dicom_studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_uid: Mapped[str] = mapped_column(String(64), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    patient_name: Mapped[str] = mapped_column(String(200), default="")
    patient_dicom_id: Mapped[str] = mapped_column(String(64), default="")
    patient_sex: Mapped[str] = mapped_column(String(16), default="")
    patient_birth_date: Mapped[str] = mapped_column(String(8), default="")
    study_date: Mapped[str] = mapped_column(String(8), default="", index=True)
    study_time: Mapped[str] = mapped_column(String(16), default="")
    accession_number: Mapped[str] = mapped_column(String(64), default="", index=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    # Study-level attributes in the DICOM JSON model, taken from the first instance, for QIDO answers.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    series: Mapped[list[DicomSeries]] = relationship(back_populates="study", order_by="DicomSeries.number")


class DicomSeries(Base):
    __tablename__ = "dicom_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_uid: Mapped[str] = mapped_column(String(64), unique=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("dicom_studies.id"), index=True)
    modality: Mapped[str] = mapped_column(String(16), default="", index=True)
    number: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200), default="")
    body_part: Mapped[str] = mapped_column(String(64), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    thumbnail_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    study: Mapped[DicomStudy] = relationship(back_populates="series")
    instances: Mapped[list[DicomInstance]] = relationship(
        back_populates="series", order_by="DicomInstance.instance_number"
    )


class DicomInstance(Base):
    """One stored SOP instance. Its DICOM JSON metadata is kept so metadata requests never reparse files."""

    __tablename__ = "dicom_instances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_uid: Mapped[str] = mapped_column(String(64), unique=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("dicom_series.id"), index=True)
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    transfer_syntax_uid: Mapped[str] = mapped_column(String(64))
    instance_number: Mapped[int | None] = mapped_column(Integer)
    rows: Mapped[int | None] = mapped_column(Integer)
    columns: Mapped[int | None] = mapped_column(Integer)
    frames: Mapped[int] = mapped_column(Integer, default=1)
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    dicom_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    previews_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    preview_error: Mapped[str | None] = mapped_column(Text)

    series: Mapped[DicomSeries] = relationship(back_populates="instances")
    stored_file: Mapped[StoredFile] = relationship()


class DicomConflict(Base):
    """An instance that arrived again under a known SOP Instance UID but with other bytes: kept, never applied."""

    __tablename__ = "dicom_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_uid: Mapped[str] = mapped_column(String(64), index=True)
    stored_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Annotation(Base):
    """A reader's measurement or mark on an image, saved to the case (viewer tool state as JSON)."""

    __tablename__ = "annotations"
    __table_args__ = (Index("ix_annotations_case_study", "case_id", "study_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    study_uid: Mapped[str] = mapped_column(String(64))
    series_uid: Mapped[str] = mapped_column(String(64))
    sop_uid: Mapped[str] = mapped_column(String(64))
    frame: Mapped[int] = mapped_column(Integer, default=1)
    tool: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User] = relationship()
