"""Two-way referral (双向转诊): referrals, the referral office, slots, identity checks and follow-up."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.cases.models import Case
from server.community.models import Institution, User
from server.core.orm import Base, UTCDateTime, str_enum, utcnow
from server.patients.models import IdentityDocument, IdentityResult, Patient


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
    """三色分级: who manages a chronic patient (see `server.referrals.lifecycle.TRIAGE_MEANINGS`)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class ReferralOfficeMember(Base):
    """A named member of an institution's referral office (分级诊疗办公室), who receives and books referrals."""

    __tablename__ = "referral_office_members"
    __table_args__ = (UniqueConstraint("institution_id", "user_id", name="uq_referral_office_members_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    duty: Mapped[OfficeDuty] = mapped_column(str_enum(OfficeDuty), default=OfficeDuty.STAFF)
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
    kind: Mapped[SlotKind] = mapped_column(str_enum(SlotKind))
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
    direction: Mapped[ReferralDirection] = mapped_column(str_enum(ReferralDirection))
    state: Mapped[ReferralState] = mapped_column(
        str_enum(ReferralState), default=ReferralState.SENT, index=True
    )
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
    from_state: Mapped[ReferralState | None] = mapped_column(str_enum(ReferralState))  # None: created
    to_state: Mapped[ReferralState] = mapped_column(str_enum(ReferralState))
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
    kind: Mapped[ReferralNoteKind] = mapped_column(str_enum(ReferralNoteKind))
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
    document: Mapped[IdentityDocument] = mapped_column(str_enum(IdentityDocument))
    result: Mapped[IdentityResult] = mapped_column(str_enum(IdentityResult))
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
    colour: Mapped[TriageColour] = mapped_column(str_enum(TriageColour), index=True)
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
    from_colour: Mapped[TriageColour | None] = mapped_column(str_enum(TriageColour))
    to_colour: Mapped[TriageColour] = mapped_column(str_enum(TriageColour))
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    entry: Mapped[FollowUpEntry] = relationship(back_populates="colour_changes")
    changed_by: Mapped[User | None] = relationship()
