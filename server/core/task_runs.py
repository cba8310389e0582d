"""The recorded outcome of every background task run."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.core.orm import Base, UTCDateTime, str_enum, utcnow


class TaskState(enum.StrEnum):
    STARTED = "started"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class TaskRun(Base):
    """The recorded outcome of a background task, keyed by the Celery task id."""

    __tablename__ = "task_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[TaskState] = mapped_column(str_enum(TaskState))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
