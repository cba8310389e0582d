"""Patients of a member institution."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.community.models import Institution
from server.core.orm import Base, UTCDateTime, utcnow


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


class IdentityDocument(enum.StrEnum):
    NATIONAL_ID = "national_id"  # 居民身份证号
    HEALTH_CARD = "health_card"  # 居民健康卡 / 电子健康卡号


class IdentityResult(enum.StrEnum):
    MATCHED = "matched"
    MISMATCH = "mismatch"
    INVALID = "invalid"  # malformed or failing its check digit: a typo, compared with nothing
