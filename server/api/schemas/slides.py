"""Contracts of `server.api.slides`: a case's whole-slide images (tiles and thumbnails are JPEG, the
descriptor DZI XML)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from server.api.schemas.common import Timestamp


class SlideLevel(BaseModel):
    width: int
    height: int
    downsample: int | float


class SlideImage(BaseModel):
    """What a viewer needs of a slide: its size, levels and calibration (no label or macro image)."""

    width: int
    height: int
    levels: list[SlideLevel]
    mpp_x: float | None = Field(description="Microns per base-level pixel; null when not recorded.")
    mpp_y: float | None
    objective_power: float | None
    associated_images: list[str]
    label_withheld: bool
    properties: dict[str, Any]
    tiles_state: str = Field(description="pending, ready or failed.")
    tiles_error: str | None
    dzi: str = Field(description="The deep-zoom descriptor's path.")
    created_at: Timestamp


class Slide(SlideImage):
    id: int
    case_id: int
    filename: str
    format: str
    vendor: str | None


class StoredSlide(Slide):
    """An upload's answer: `stored` (201), or `duplicate` (200) when the case holds that file already."""

    status: str


class Slides(BaseModel):
    items: list[Slide]
