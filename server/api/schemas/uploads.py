"""Contracts of `server.api.uploads`: tus speaks in headers; only an upload's state is JSON."""

from __future__ import annotations

from pydantic import BaseModel, Field

from server.api.schemas.common import Timestamp


class Upload(BaseModel):
    """`state`: receiving, completed, failed, cancelled or expired; `result` once completed: stored,
    duplicate, conflict or invalid (`detail` says why)."""

    id: str
    filename: str
    length: int
    offset: int
    state: str
    result: str | None
    detail: str | None
    sha256: str
    case_id: int | None
    study_uid: str | None
    sop_uid: str | None
    created_at: Timestamp
    expires_at: Timestamp
    completed_at: Timestamp | None = Field(description="When the last byte arrived.")
