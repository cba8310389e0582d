"""Contracts of `server.api.ecg`: a case's ECGs, their measurements and samples for the viewer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from server.api.schemas.common import Timestamp

# What an ECG upload's body may be: the formats `imaging.ecg` reads, by their usual media types.
ECG_MEDIA_TYPES = ("application/octet-stream", "application/dicom", "application/xml", "text/xml")


class EcgFilters(BaseModel):
    highpass_hz: float | None = None
    lowpass_hz: float | None = None
    notch_hz: float | None = None


class Ecg(BaseModel):
    """An ECG record; `render_state` is pending, ready or failed (its page, rendered by the worker)."""

    id: int
    case_id: int
    filename: str
    format: str
    format_name: str
    leads: list[str]
    sampling_rate: int | float
    duration_s: int | float
    acquired_at: str | None = Field(description="As the device recorded it, without a zone.")
    device: str
    filters: dict[str, Any] = Field(description="The device's filters (`EcgFilters`), as far as known.")
    render_state: str
    render_error: str | None
    created_at: Timestamp


class StoredEcg(Ecg):
    """An upload's answer: `stored` (201), or `duplicate` (200) when the case holds that file already."""

    status: str


class Ecgs(BaseModel):
    items: list[Ecg]


class AutomatedMeasurements(BaseModel):
    """Computed on the platform, labelled with its method; values not found are null."""

    source: Literal["automated"]
    method: str
    lead: str
    beats: int
    heart_rate_bpm: float | None
    rr_ms: float | None
    pr_ms: float | None
    qrs_ms: float | None
    qt_ms: float | None
    qtc_bazett_ms: float | None
    qtc_fridericia_ms: float | None
    qrs_axis_deg: float | None


class DeviceMeasurements(BaseModel):
    measurements: dict[str, Any]
    statements: list[str]


class EcgMeasurements(BaseModel):
    """Automated values and the device's own, never mixed."""

    automated: dict[str, Any] | None = Field(description="`AutomatedMeasurements`, or null.")
    device: DeviceMeasurements


class EcgDetail(Ecg):
    measurements: EcgMeasurements


class EcgSamples(BaseModel):
    """Every lead in µV, at `sampling_rate` (downsampled as `?rate=` asks)."""

    id: int
    units: Literal["uV"]
    sampling_rate: int | float
    leads: dict[str, list[int]]
    derived_leads: list[str]
