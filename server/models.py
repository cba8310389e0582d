"""The core domain of a county medical community (县域医共体), as SQLAlchemy models.

Enumerations are stored as short strings (no native database enums) so that adding a value is a
plain code change on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(
        cls,
        native_enum=False,
        values_callable=lambda members: [m.value for m in members],
        length=32,
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Tier(enum.StrEnum):
    VILLAGE_CLINIC = "village_clinic"  # 村卫生室
    TOWNSHIP_CENTRE = "township_centre"  # 乡镇卫生院 / 社区卫生服务中心
    COUNTY_HOSPITAL = "county_hospital"  # 县级医院
    TERTIARY_HOSPITAL = "tertiary_hospital"  # 三级医院


class CentreKind(enum.StrEnum):
    IMAGING = "imaging"  # 影像中心
    ECG = "ecg"  # 心电中心
    PATHOLOGY = "pathology"  # 病理中心


class Role(enum.StrEnum):
    REQUESTER = "requester"  # village / township doctor who requests reads and consults
    READER = "reader"  # specialist reading at a centre
    DISPATCHER = "dispatcher"  # centre dispatcher who assigns cases
    EXPERT = "expert"  # tertiary expert taking escalations
    TRAINEE = "trainee"  # sees de-identified teaching material only
    ADMIN = "admin"  # administrator of one medical community
    AUDITOR = "auditor"  # reads the audit log


class CaseKind(enum.StrEnum):
    IMAGING = "imaging"
    ECG = "ecg"
    PATHOLOGY = "pathology"
    CONSULT = "consult"
    MDT = "mdt"
    REFERRAL = "referral"


class CaseStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    IN_REVIEW = "in_review"
    REPORTED = "reported"
    CLOSED = "closed"
    RETURNED = "returned"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


class Urgency(enum.StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"


class ReportStatus(enum.StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"


class TaskState(enum.StrEnum):
    STARTED = "started"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Community(Base):
    """A medical community (医共体), led by its county hospital."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    institutions: Mapped[list[Institution]] = relationship(back_populates="community")


class Institution(Base):
    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[Tier] = mapped_column(_enum(Tier))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    community: Mapped[Community] = relationship(back_populates="institutions")
    parent: Mapped[Institution | None] = relationship(remote_side=[id])
    centres: Mapped[list[ReadingCentre]] = relationship(back_populates="institution")


class ReadingCentre(Base):
    """A shared diagnosis centre (影像/心电/病理中心) run by one institution for the community."""

    __tablename__ = "reading_centres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    kind: Mapped[CentreKind] = mapped_column(_enum(CentreKind))
    name: Mapped[str] = mapped_column(String(200))

    institution: Mapped[Institution] = relationship(back_populates="centres")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("reading_centres.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    institution: Mapped[Institution | None] = relationship()
    centre: Mapped[ReadingCentre | None] = relationship()

    @property
    def community_id(self) -> int | None:
        return self.institution.community_id if self.institution else None


class Patient(Base):
    """A patient registered by a member institution. The national ID is stored whole, shown masked."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[date | None] = mapped_column(Date)
    national_id: Mapped[str | None] = mapped_column(String(32), index=True)
    health_card_no: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    institution: Mapped[Institution] = relationship()

    @property
    def national_id_masked(self) -> str:
        return mask_identifier(self.national_id)


def mask_identifier(value: str | None) -> str:
    """Keep the first 3 and last 4 characters (the common Chinese display rule for ID numbers)."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


class Case(Base):
    """A request for a read, consult or referral, opened by a member institution for one patient."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[CaseKind] = mapped_column(_enum(CaseKind))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.DRAFT, index=True)
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency), default=Urgency.ROUTINE)
    clinical_question: Mapped[str] = mapped_column(Text, default="")
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("reading_centres.id"), index=True)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    institution: Mapped[Institution] = relationship()
    patient: Mapped[Patient] = relationship()
    centre: Mapped[ReadingCentre | None] = relationship()
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    files: Mapped[list[StoredFile]] = relationship(back_populates="case")
    reports: Mapped[list[Report]] = relationship(back_populates="case", order_by="Report.version")


class StoredFile(Base):
    """One object in the object store, with what is needed to check it was stored intact."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    object_key: Mapped[str] = mapped_column(String(1024), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(128))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    integrity_error: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case | None] = relationship(back_populates="files")


class Report(Base):
    """A report version. Signed versions are never overwritten: an amendment is a new version."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus), default=ReportStatus.DRAFT)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="reports")


class AuditEvent(Base):
    """Who did what to which record, when and from where. Append-only."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_resource", "resource_type", "resource_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str | None] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LoginSession(Base):
    """A server-side session; only the token's hash is stored, so a database leak yields no logins."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean)


class TaskRun(Base):
    """The recorded outcome of a background task, keyed by the Celery task id."""

    __tablename__ = "task_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[TaskState] = mapped_column(_enum(TaskState))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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


class UploadState(enum.StrEnum):
    RECEIVING = "receiving"  # bytes still arriving (or all arrived and the last step has yet to finish)
    COMPLETED = "completed"  # every byte arrived and matched the declared SHA-256; see `result`
    FAILED = "failed"  # every byte arrived but the file's SHA-256 differs from the declared one
    EXPIRED = "expired"  # not finished in time; its chunks were deleted
    CANCELLED = "cancelled"  # terminated by its uploader; its chunks were deleted


class Upload(Base):
    """A resumable (tus) upload. Its chunks are objects under `uploads/{id}/`; how far it got is kept here.

    `lock_token` and `locked_until` are a short lease held by the one request writing to the upload, so
    API replicas never write the same offset twice.
    """

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    filetype: Mapped[str] = mapped_column(String(128), default="")
    # The Upload-Metadata header as the client sent it (validated), returned by HEAD as the protocol asks.
    metadata_header: Mapped[str] = mapped_column(Text, default="")
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[UploadState] = mapped_column(_enum(UploadState), default=UploadState.RECEIVING, index=True)
    result: Mapped[str | None] = mapped_column(String(16))  # stored | duplicate | conflict | invalid
    detail: Mapped[str | None] = mapped_column(Text)
    study_uid: Mapped[str | None] = mapped_column(String(64))
    sop_uid: Mapped[str | None] = mapped_column(String(64))
    lock_token: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
    case: Mapped[Case | None] = relationship()
