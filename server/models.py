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
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    inspect,
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
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # The workflow's clock: when the case was (last) submitted, is due, was taken by a reader, reported,
    # ended (closed or cancelled), and when it was flagged overdue (urgent cases past `target_at`).
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    target_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    institution: Mapped[Institution] = relationship()
    patient: Mapped[Patient] = relationship()
    centre: Mapped[ReadingCentre | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    escalated_to: Mapped[User | None] = relationship(foreign_keys=[escalated_to_id])
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
    __table_args__ = (UniqueConstraint("case_id", "version", name="uq_reports_case_id_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus), default=ReportStatus.DRAFT)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The institution the signer signed for (a reader may move; the report keeps where it was signed).
    signed_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    amendment_reason: Mapped[str | None] = mapped_column(Text)  # why this version replaced the last
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="reports")
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])
    signed_institution: Mapped[Institution | None] = relationship()


class SignedReportImmutable(Exception):
    """Something tried to change a signed report version; amend it with a new version instead."""


@event.listens_for(Report, "before_update")
def _refuse_changing_signed_reports(_mapper: Any, _connection: Any, report: Report) -> None:
    """Enforced in the model so no code path can overwrite a signed report: an amendment is a new row."""
    status_history = inspect(report).attrs.status.history
    status_before = status_history.deleted[0] if status_history.deleted else report.status
    if status_before == ReportStatus.SIGNED:
        raise SignedReportImmutable(f"report {report.id} version {report.version} is signed")


class CaseEvent(Base):
    """One step of a case's lifecycle: who did what, when, from which state to which. Append-only."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus))
    to_status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the platform itself
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()


class NotificationKind(enum.StrEnum):
    RESULT_READY = "result_ready"  # 结果反馈: the report is signed
    REPORT_AMENDED = "report_amended"
    RETURNED = "returned"  # 退回补充: the requester is asked for more information
    ASSIGNED = "assigned"  # a case was assigned or addressed to this user
    ESCALATED = "escalated"  # a second opinion is asked of this expert
    OVERDUE = "overdue"  # an urgent case passed its target time


class Notification(Base):
    """A message to one user or to everyone of one reading centre about one case."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    recipient_centre_id: Mapped[int | None] = mapped_column(ForeignKey("reading_centres.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(_enum(NotificationKind))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship()


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


class ShareScope(enum.StrEnum):
    READ = "read"  # metadata, frames, rendered images and thumbnails: enough to read the study
    DOWNLOAD = "download"  # also the original instances, byte for byte


class ShareLink(Base):
    """A time-limited link that lets an outside expert, who has no account, open one study of a case.

    Only the token's hash is stored (as for login sessions). A link is never deleted: revoking it
    keeps the row, so the audit log's references to it stay meaningful.
    """

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("dicom_studies.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scope: Mapped[ShareScope] = mapped_column(_enum(ShareScope))
    recipient: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    use_count: Mapped[int] = mapped_column(Integer, default=0)

    study: Mapped[DicomStudy] = relationship()
    case: Mapped[Case] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])


class PriceTier(enum.StrEnum):
    """The tier a service is priced at: that of the institution performing it (三级 / 二级 / 基层)."""

    TERTIARY = "tertiary"
    SECONDARY = "secondary"
    PRIMARY = "primary"


class ServicePrice(Base):
    """One entry of a community's service catalogue: a service code's price at one tier, in fen (分).

    `case_kind` names the cases whose completion bills this service (a signed read, a consult).
    """

    __tablename__ = "service_prices"
    __table_args__ = (UniqueConstraint("community_id", "code", "tier", name="uq_service_prices_code_tier"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    case_kind: Mapped[CaseKind | None] = mapped_column(_enum(CaseKind))
    tier: Mapped[PriceTier] = mapped_column(_enum(PriceTier))
    price_fen: Mapped[int] = mapped_column(Integer)
    insurance_payable: Mapped[bool] = mapped_column(Boolean, default=False)


class SettlementRule(enum.StrEnum):
    DISCOUNT = "discount"  # 折扣: the centre bills the member unit the price less the discount rate
    REBATE = "rebate"  # 返款: the centre was paid the price and returns the rebate rate to the member unit


class SettlementAgreement(Base):
    """What a provider (the centre's institution) and a member unit agreed for one service (医联体协议).

    Rates are in basis points (1/100 of a percent). The rate never exceeds the service's baseline cost
    rate (基线成本率) recorded with the agreement; that rate is to be reviewed every six months.
    """

    __tablename__ = "settlement_agreements"
    __table_args__ = (
        UniqueConstraint(
            "provider_institution_id",
            "member_institution_id",
            "service_code",
            name="uq_settlement_agreements_pair",
        ),
        CheckConstraint("rate_bp >= 0 AND rate_bp <= baseline_cost_rate_bp", name="rate_within_baseline"),
        CheckConstraint("baseline_cost_rate_bp <= 10000", name="baseline_at_most_whole"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    member_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    service_code: Mapped[str] = mapped_column(String(32))
    rule: Mapped[SettlementRule] = mapped_column(_enum(SettlementRule))
    rate_bp: Mapped[int] = mapped_column(Integer)
    baseline_cost_rate_bp: Mapped[int] = mapped_column(Integer)
    baseline_recorded_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    provider: Mapped[Institution] = relationship(foreign_keys=[provider_institution_id])
    member: Mapped[Institution] = relationship(foreign_keys=[member_institution_id])


class BillableItem(Base):
    """One completed service, priced from the catalogue when it was completed; one per case and code."""

    __tablename__ = "billable_items"
    __table_args__ = (UniqueConstraint("case_id", "service_code", name="uq_billable_items_case_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    service_code: Mapped[str] = mapped_column(String(32))
    service_name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[PriceTier] = mapped_column(_enum(PriceTier))
    price_fen: Mapped[int] = mapped_column(Integer)
    insurance_payable: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    member_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    performed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)

    case: Mapped[Case] = relationship()
    performed_by: Mapped[User | None] = relationship()


class StatementState(enum.StrEnum):
    SUBMITTED = "submitted"  # the member unit submitted the sheet to the alliance office
    CHECKED = "checked"  # the reviewing department checked it
    INVOICED = "invoiced"  # finance collected and invoiced; counted as workload


class Statement(Base):
    """The monthly settlement sheet between one member unit and one provider; `lines` per service."""

    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint(
            "member_institution_id", "provider_institution_id", "month", name="uq_statements_pair_month"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    provider_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    state: Mapped[StatementState] = mapped_column(_enum(StatementState))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    gross_fen: Mapped[int] = mapped_column(BigInteger)
    # What the member unit owes the provider after the agreed rules; negative: the provider pays back.
    net_fen: Mapped[int] = mapped_column(BigInteger)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invoiced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    invoiced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    member: Mapped[Institution] = relationship(foreign_keys=[member_institution_id])
    provider: Mapped[Institution] = relationship(foreign_keys=[provider_institution_id])


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
    kind: Mapped[TeachingKind] = mapped_column(_enum(TeachingKind))
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


class OutreachDay(Base):
    """One day a specialist worked at a member institution (专家下沉, staff sent down).

    Recorded centrally, one place a day per specialist, whoever pays the outreach fee.
    """

    __tablename__ = "outreach_days"
    __table_args__ = (UniqueConstraint("specialist_id", "day", name="uq_outreach_days_specialist_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    host_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # the calendar day in China Standard Time
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    specialist: Mapped[User] = relationship(foreign_keys=[specialist_id])
    host_institution: Mapped[Institution] = relationship()


class ReferralDirection(enum.StrEnum):
    UP = "up"  # 上转: from the grassroots to an upper hospital
    DOWN = "down"  # 下转: back to the grassroots with a discharge and follow-up plan


class ReferralState(enum.StrEnum):
    SENT = "sent"
    RECEIVED = "received"  # the receiving side has taken note of it
    BOOKED = "booked"  # a visit or exam slot is booked from the grassroots-reserved quota
    ARRIVED = "arrived"
    ADMITTED = "admitted"
    TREATED = "treated"  # outpatient care finished
    DISCHARGED = "discharged"  # inpatient care finished
    CLOSED = "closed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class OfficeDuty(enum.StrEnum):
    HEAD = "head"  # 主任
    STAFF = "staff"  # 专员


class SlotKind(enum.StrEnum):
    OUTPATIENT = "outpatient"  # 门诊号
    CT = "ct"
    MRI = "mri"
    ULTRASOUND = "ultrasound"  # 超声
    ENDOSCOPY = "endoscopy"  # 内镜


class ReferralNoteKind(enum.StrEnum):
    TREATMENT_PLAN = "treatment_plan"  # 治疗方案
    RECORD = "record"  # 病程记录: what was found and done upstairs


class TriageColour(enum.StrEnum):
    """三色分级: who manages a chronic patient (see `server.referrals.TRIAGE_MEANINGS`)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class IdentityDocument(enum.StrEnum):
    NATIONAL_ID = "national_id"  # 居民身份证号
    HEALTH_CARD = "health_card"  # 居民健康卡 / 电子健康卡号


class IdentityResult(enum.StrEnum):
    MATCHED = "matched"
    MISMATCH = "mismatch"
    INVALID = "invalid"  # malformed or failing its check digit: a typo, compared with nothing


class ReferralOfficeMember(Base):
    """A named member of an institution's referral office (分级诊疗办公室), who receives and books referrals."""

    __tablename__ = "referral_office_members"
    __table_args__ = (UniqueConstraint("institution_id", "user_id", name="uq_referral_office_members_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    duty: Mapped[OfficeDuty] = mapped_column(_enum(OfficeDuty), default=OfficeDuty.STAFF)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    institution: Mapped[Institution] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ReferralQuotaPolicy(Base):
    """The share of an upper institution's slots reserved for its community's grassroots (default 30%)."""

    __tablename__ = "referral_quota_policies"
    __table_args__ = (
        CheckConstraint("reserved_share_bp >= 0 AND reserved_share_bp <= 10000", name="share_within_whole"),
    )

    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    reserved_share_bp: Mapped[int] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReferralSlot(Base):
    """Appointment or exam slots an upper institution publishes for one day (号源), and their reserved part.

    `reserved` is fixed when published from the institution's share; bookings count in `booked`, which
    the database keeps within `reserved`.
    """

    __tablename__ = "referral_slots"
    __table_args__ = (
        UniqueConstraint("institution_id", "day", "kind", "department", name="uq_referral_slots_day_kind"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("reserved >= 0 AND reserved <= capacity", name="reserved_within_capacity"),
        CheckConstraint("booked >= 0 AND booked <= reserved", name="booked_within_reserved"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[SlotKind] = mapped_column(_enum(SlotKind))
    department: Mapped[str] = mapped_column(String(100), default="")
    capacity: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    institution: Mapped[Institution] = relationship()


class Referral(Base):
    """One referral (转诊) of a patient between two member institutions, with its letter and outcome.

    An up referral attaches the material of its source case; a down referral answers an up referral
    (`parent_id`) with a discharge summary and a follow-up plan for the grassroots doctor.
    """

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[ReferralDirection] = mapped_column(_enum(ReferralDirection))
    state: Mapped[ReferralState] = mapped_column(_enum(ReferralState), default=ReferralState.SENT, index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    from_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    to_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The letter (转诊单).
    reason: Mapped[str] = mapped_column(Text, default="")
    diagnosis: Mapped[str] = mapped_column(Text, default="")
    history: Mapped[str] = mapped_column(Text, default="")
    treatment: Mapped[str] = mapped_column(Text, default="")  # treatment so far
    # 两免三优先 flags the patient carries (referred up by their family doctor), as codes.
    priority: Mapped[list[str]] = mapped_column(JSON, default=list)
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("referral_slots.id"), index=True)
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str | None] = mapped_column(Text)
    # Down only: the discharge summary and the plan the grassroots doctor follows.
    discharge_summary: Mapped[str] = mapped_column(Text, default="")
    follow_up_plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship()
    parent: Mapped[Referral | None] = relationship(remote_side=[id])
    patient: Mapped[Patient] = relationship()
    from_institution: Mapped[Institution] = relationship(foreign_keys=[from_institution_id])
    to_institution: Mapped[Institution] = relationship(foreign_keys=[to_institution_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    slot: Mapped[ReferralSlot | None] = relationship()


class ReferralEvent(Base):
    """One step of a referral: who moved it from which state to which, when, with what note. Append-only."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[ReferralState | None] = mapped_column(_enum(ReferralState))  # None: created
    to_state: Mapped[ReferralState] = mapped_column(_enum(ReferralState))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")

    referral: Mapped[Referral] = relationship()
    actor: Mapped[User | None] = relationship()


class ReferralNote(Base):
    """A treatment plan or record note written at the receiving hospital; the referring doctor reads it."""

    __tablename__ = "referral_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[ReferralNoteKind] = mapped_column(_enum(ReferralNoteKind))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User] = relationship()


class IdentityCheck(Base):
    """A patient identity check made before a referred patient's record was opened (the number is not kept)."""

    __tablename__ = "identity_checks"
    __table_args__ = (Index("ix_identity_checks_user_referral", "user_id", "referral_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    document: Mapped[IdentityDocument] = mapped_column(_enum(IdentityDocument))
    result: Mapped[IdentityResult] = mapped_column(_enum(IdentityResult))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # matched checks only


class FollowUpEntry(Base):
    """A referred-down patient on the grassroots doctor's follow-up list, with plan, due dates and colour."""

    __tablename__ = "follow_up_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), unique=True)
    plan: Mapped[str] = mapped_column(Text, default="")
    due_dates: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO dates, ascending
    colour: Mapped[TriageColour] = mapped_column(_enum(TriageColour), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    patient: Mapped[Patient] = relationship()
    referral: Mapped[Referral] = relationship()
    colour_changes: Mapped[list[FollowUpColourChange]] = relationship(
        back_populates="entry", order_by="FollowUpColourChange.id"
    )


class FollowUpColourChange(Base):
    """One change of a follow-up entry's triage colour (the first row is the colour it started with)."""

    __tablename__ = "follow_up_colour_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("follow_up_entries.id"), index=True)
    from_colour: Mapped[TriageColour | None] = mapped_column(_enum(TriageColour))
    to_colour: Mapped[TriageColour] = mapped_column(_enum(TriageColour))
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    entry: Mapped[FollowUpEntry] = relationship(back_populates="colour_changes")
    changed_by: Mapped[User | None] = relationship()


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
        _enum(TeachingItemState), default=TeachingItemState.PREPARING, index=True
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
