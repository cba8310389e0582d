"""Share links for outside experts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.cases.models import Case
from server.community.models import User
from server.core.orm import Base, UTCDateTime, str_enum, utcnow
from server.dicom.models import DicomStudy


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
    scope: Mapped[ShareScope] = mapped_column(str_enum(ShareScope))
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
