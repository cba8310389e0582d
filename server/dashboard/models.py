"""Records the dashboard counts that no other capability keeps: specialists' outreach days (专家下沉)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.community.models import Institution, User
from server.core.orm import Base, UTCDateTime, utcnow


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
