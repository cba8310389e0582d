"""The medical community (县域医共体): its member institutions, reading centres and users."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.core.orm import Base, UTCDateTime, str_enum, utcnow


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
    tier: Mapped[Tier] = mapped_column(str_enum(Tier))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    community: Mapped[Community] = relationship(back_populates="institutions")
    parent: Mapped[Institution | None] = relationship(remote_side=[id])
    centres: Mapped[list[ReadingCentre]] = relationship(back_populates="institution")


class ReadingCentre(Base):
    """A shared diagnosis centre (影像/心电/病理中心) run by one institution for the community."""

    __tablename__ = "reading_centres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    kind: Mapped[CentreKind] = mapped_column(str_enum(CentreKind))
    name: Mapped[str] = mapped_column(String(200))

    institution: Mapped[Institution] = relationship(back_populates="centres")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("reading_centres.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    institution: Mapped[Institution | None] = relationship()
    centre: Mapped[ReadingCentre | None] = relationship()

    @property
    def community_id(self) -> int | None:
        return self.institution.community_id if self.institution else None
