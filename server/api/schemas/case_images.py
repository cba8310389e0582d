"""Contracts of `server.api.case_images`: a case's studies and the viewer's annotations on them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from server.api.schemas.common import Timestamp
from server.dicom.models import Annotation as AnnotationRow

MAX_ANNOTATIONS = 500


class CaseStudy(BaseModel):
    """An imaging study attached to a case; `study_date` is DICOM's YYYYMMDD."""

    study_uid: str
    description: str | None
    study_date: str | None
    modalities: list[str]
    series_count: int
    instance_count: int


class CaseStudies(BaseModel):
    items: list[CaseStudy]


class AnnotationInput(BaseModel):
    """One saved viewer measurement; `tool` is a Cornerstone tool name (Length, Angle, RectangleROI...)."""

    study_uid: str = Field(min_length=1, max_length=64)
    series_uid: str = Field(min_length=1, max_length=64)
    sop_uid: str = Field(min_length=1, max_length=64)
    frame: int = Field(default=1, ge=1, description="Frame number, from 1.")
    tool: str = Field(min_length=1, max_length=64)
    data: dict[str, Any] = Field(description="The Cornerstone annotation's serialisable part.")


class AnnotationsInput(BaseModel):
    """Replaces the caller's annotations on the studies of `items` and of `study_uids`."""

    items: list[AnnotationInput] = Field(max_length=MAX_ANNOTATIONS)
    study_uids: list[str] | None = None


class Annotation(BaseModel):
    id: int
    study_uid: str
    series_uid: str
    sop_uid: str
    frame: int
    tool: str
    data: dict[str, Any]
    author: str = Field(description="The author's display name.")
    created_at: Timestamp

    @classmethod
    def of(cls, row: AnnotationRow) -> Annotation:
        return cls(
            id=row.id,
            study_uid=row.study_uid,
            series_uid=row.series_uid,
            sop_uid=row.sop_uid,
            frame=row.frame,
            tool=row.tool,
            data=row.data,
            author=row.author.display_name,
            created_at=row.created_at,
        )


class Annotations(BaseModel):
    items: list[Annotation]
