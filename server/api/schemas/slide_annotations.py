"""Contracts of `server.api.slide_annotations`: points, lines and polygons on a slide."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from server.api.schemas.common import Timestamp

Tool = Literal["point", "line", "polygon"]


class Point(BaseModel):
    """Base-level pixel coordinates."""

    x: float
    y: float


class SlideAnnotationInput(BaseModel):
    tool: Tool
    points: list[Point] = Field(description="1 for a point, 2 for a line, 3 to 500 for a polygon.")
    label: str | None = Field(default=None, max_length=200)


class SlideAnnotationsInput(BaseModel):
    """Replaces the caller's own annotations on the slide."""

    items: list[SlideAnnotationInput] = Field(max_length=500)


class Author(BaseModel):
    id: int
    display_name: str


class SlideAnnotation(BaseModel):
    """`length_um` (line; polygon: perimeter) and `area_um2` (polygon) are null without a calibration."""

    id: int
    tool: Tool
    points: list[Point]
    label: str
    author: Author
    created_at: Timestamp
    length_um: float | None
    area_um2: float | None


class SlideAnnotations(BaseModel):
    items: list[SlideAnnotation]
