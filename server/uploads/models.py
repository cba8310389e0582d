"""Resumable (tus) uploads in progress."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.cases.models import Case
from server.community.models import User
from server.core.orm import Base, UTCDateTime, str_enum, utcnow


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
    state: Mapped[UploadState] = mapped_column(
        str_enum(UploadState), default=UploadState.RECEIVING, index=True
    )
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
