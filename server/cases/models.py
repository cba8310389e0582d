"""Cases, their stored files, reports, lifecycle events and notifications."""

from __future__ import annotations

import enum
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
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.community.models import Institution, ReadingCentre, User
from server.core.orm import Base, UTCDateTime, str_enum, utcnow
from server.patients.models import Patient


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


class Case(Base):
    """A request for a read, consult or referral, opened by a member institution for one patient."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[CaseKind] = mapped_column(str_enum(CaseKind))
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus), default=CaseStatus.DRAFT, index=True)
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency), default=Urgency.ROUTINE)
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
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus), default=ReportStatus.DRAFT)
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
    from_status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus))
    to_status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus))
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
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship()
