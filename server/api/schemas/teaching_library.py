"""Contracts of `server.api.teaching_library`: the library's items and their de-identified copies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.api.schemas.common import Timestamp
from server.api.schemas.ecg import EcgMeasurements
from server.api.schemas.slides import SlideImage


class PublishInput(BaseModel):
    model_config = ConfigDict(strict=True)

    recording_id: int
    title: str
    specialty: str
    description: str | None = None


class ChapterInput(BaseModel):
    t_ms: int = Field(ge=0)
    title: str = Field(min_length=1)


class ChaptersInput(BaseModel):
    """The host's chapters (the viewer-derived ones stay)."""

    chapters: list[ChapterInput]


class Chapter(BaseModel):
    t_ms: int
    title: str
    source: Literal["host", "viewer"]


class ItemSummary(BaseModel):
    id: int
    title: str
    specialty: str
    kind: str
    host_name: str
    institution: str
    held_at: Timestamp
    duration_ms: int | None
    poster_url: str | None
    state: str


class ListedItem(ItemSummary):
    chapters: int = Field(description="How many chapters the item has.")


class ItemMedia(BaseModel):
    video: str
    hls: str
    poster: str | None
    chapters_vtt: str


class Material(BaseModel):
    """A de-identified copy shown in the recording: `kind` study, slide or ecg, `id` the copy's."""

    kind: str
    id: str
    description: str
    burned_in_warning: bool


class Item(ItemSummary):
    description: str
    error: str | None
    chapters: list[Chapter]
    media: ItemMedia
    events: list[dict[str, Any]]
    materials: list[Material]


class Items(BaseModel):
    items: list[ListedItem]


class TeachingSlide(SlideImage):
    id: int


class TeachingEcg(BaseModel):
    id: int
    format: str
    format_name: str
    leads: list[str]
    sampling_rate: int | float
    duration_s: int | float
    device: str
    filters: dict[str, Any]
    measurements: EcgMeasurements
    created_at: Timestamp
