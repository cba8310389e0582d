"""The one internal representation of an ECG, whatever file it came in, and its compact stored form.

Every reader produces an `EcgRecord`: standard lead names, one sampling rate, samples as int32 µV (an
integer microvolt is far below any device's noise, and integers round-trip exactly), and what the
device said about the recording (filters, its own measurements and statements). `to_bytes` /
`from_bytes` keep it in object storage as an `.npz` archive with a JSON header.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
RECORD_MEDIA_TYPE = "application/vnd.telemed.ecg+npz"
_FORMAT_VERSION = 1
# Longest recording taken: a resting ECG is 10 s; a few minutes of rhythm strip is still a reading.
MAX_DURATION_S = 600
MAX_SAMPLING_RATE = 20_000


class InvalidEcg(ValueError):
    """The file is not a usable ECG (broken, truncated, or without any lead); the message says why."""


class UnsupportedEcg(InvalidEcg):
    """The file is in no format the platform reads; the message names the formats it does."""


@dataclass(frozen=True)
class Filters:
    """The device's filter settings in Hz, where the file states them."""

    highpass_hz: float | None = None
    lowpass_hz: float | None = None
    notch_hz: float | None = None

    def label(self) -> str:
        """As printed on the page, e.g. `0.05–150 Hz, notch 50 Hz`; empty when the file says nothing."""
        parts = []
        if self.highpass_hz is not None or self.lowpass_hz is not None:
            low = "?" if self.highpass_hz is None else f"{self.highpass_hz:g}"
            high = "?" if self.lowpass_hz is None else f"{self.lowpass_hz:g}"
            parts.append(f"{low}–{high} Hz")
        if self.notch_hz:
            parts.append(f"notch {self.notch_hz:g} Hz")
        return ", ".join(parts)


@dataclass(frozen=True)
class Patient:
    """Identifiers as the device recorded them; the case links the record to the platform's patient."""

    id: str = ""
    name: str = ""
    sex: str = ""
    birth_date: str = ""  # ISO date when known


@dataclass(frozen=True)
class EcgRecord:
    leads: tuple[str, ...]
    sampling_rate: float
    samples: np.ndarray  # int32, shape (len(leads), n): µV
    source_format: str
    acquired_at: str | None = None  # ISO 8601 as the device recorded it (device clocks carry no zone)
    device: str = ""
    filters: Filters = field(default_factory=Filters)
    # The device's own measurements (names as in `DEVICE_MEASUREMENTS`) and interpretation statements.
    device_measurements: dict[str, float] = field(default_factory=dict)
    device_statements: tuple[str, ...] = ()
    patient: Patient = field(default_factory=Patient)
    derived_leads: tuple[str, ...] = ()  # limb leads computed from I and II because the file lacked them

    def __post_init__(self) -> None:
        if self.samples.dtype != np.int32 or self.samples.ndim != 2:
            raise InvalidEcg("samples must be a 2-D int32 array")
        if self.samples.shape[0] != len(self.leads) or not self.leads:
            raise InvalidEcg("the record has no leads, or not one row of samples per lead")
        if not 0 < self.sampling_rate <= MAX_SAMPLING_RATE:
            raise InvalidEcg(f"sampling rate {self.sampling_rate} Hz is not plausible")
        if self.samples.shape[1] < self.sampling_rate:
            raise InvalidEcg("the recording is shorter than one second")
        if self.duration_s > MAX_DURATION_S:
            raise InvalidEcg(f"the recording is longer than {MAX_DURATION_S} s")

    @property
    def duration_s(self) -> float:
        return int(self.samples.shape[1]) / self.sampling_rate

    def lead(self, name: str) -> np.ndarray:
        row: np.ndarray = self.samples[self.leads.index(name)]
        return row

    def header(self) -> dict[str, Any]:
        """Everything but the samples, as JSON-ready values."""
        return {
            "version": _FORMAT_VERSION,
            "leads": list(self.leads),
            "sampling_rate": self.sampling_rate,
            "n_samples": int(self.samples.shape[1]),
            "source_format": self.source_format,
            "acquired_at": self.acquired_at,
            "device": self.device,
            "filters": asdict(self.filters),
            "device_measurements": self.device_measurements,
            "device_statements": list(self.device_statements),
            "patient": asdict(self.patient),
            "derived_leads": list(self.derived_leads),
        }


# The device measurements kept, by the names used in this representation and in the API.
DEVICE_MEASUREMENTS = (
    "heart_rate_bpm",
    "rr_ms",
    "pr_ms",
    "qrs_ms",
    "qt_ms",
    "qtc_ms",
    "qtc_bazett_ms",
    "qtc_fridericia_ms",
    "p_axis_deg",
    "qrs_axis_deg",
    "t_axis_deg",
)


def to_bytes(record: EcgRecord) -> bytes:
    buffer = io.BytesIO()
    header = np.frombuffer(json.dumps(record.header(), ensure_ascii=False).encode(), dtype=np.uint8)
    np.savez_compressed(buffer, header=header, samples=record.samples)
    return buffer.getvalue()


def from_bytes(data: bytes) -> EcgRecord:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        header = json.loads(archive["header"].tobytes())
        samples = archive["samples"]
    if header.get("version") != _FORMAT_VERSION:
        raise InvalidEcg(f"stored ECG record version {header.get('version')} is not readable")
    return EcgRecord(
        leads=tuple(header["leads"]),
        sampling_rate=header["sampling_rate"],
        samples=samples,
        source_format=header["source_format"],
        acquired_at=header["acquired_at"],
        device=header["device"],
        filters=Filters(**header["filters"]),
        device_measurements=header["device_measurements"],
        device_statements=tuple(header["device_statements"]),
        patient=Patient(**header["patient"]),
        derived_leads=tuple(header["derived_leads"]),
    )


_LEAD_ALIASES = {name.upper(): name for name in STANDARD_LEADS}
_LEAD_NOISE = re.compile(r"^(MDC_ECG_LEAD_|LEAD[\s_-]*)|\s*\(.*\)\s*$", re.IGNORECASE)


def standard_lead_name(label: str) -> str:
    """`Lead I (Einthoven)`, `MDC_ECG_LEAD_AVR`, `avr`, `V1` → the standard name; others cleaned, kept."""
    cleaned = _LEAD_NOISE.sub("", label.strip()).strip()
    return _LEAD_ALIASES.get(cleaned.upper(), cleaned)


def assemble(
    labels: list[str], rows: list[np.ndarray], sampling_rate: float, source_format: str, **details: Any
) -> EcgRecord:
    """One record from per-lead µV rows: standard names in standard order, missing limb leads derived.

    Many devices store only I, II and V1–V6 (SCP-ECG and MUSE commonly do): the other four limb leads
    follow from Einthoven's and Goldberger's relations, and are marked as derived.
    """
    if not rows:
        raise InvalidEcg("the file holds no ECG leads")
    length = min(len(row) for row in rows)
    by_name: dict[str, np.ndarray] = {}
    for label, row in zip(labels, rows, strict=True):
        name = standard_lead_name(label) or f"lead {len(by_name) + 1}"
        if name not in by_name:
            by_name[name] = np.rint(np.asarray(row[:length], dtype=np.float64))
    derived = []
    if "I" in by_name and "II" in by_name:
        lead_i, lead_ii = by_name["I"], by_name["II"]
        relations = {
            "III": lead_ii - lead_i,
            "aVR": -(lead_i + lead_ii) / 2,
            "aVL": lead_i - lead_ii / 2,
            "aVF": lead_ii - lead_i / 2,
        }
        for name, values in relations.items():
            if name not in by_name:
                by_name[name] = np.rint(values)
                derived.append(name)
    order = [n for n in STANDARD_LEADS if n in by_name] + [n for n in by_name if n not in STANDARD_LEADS]
    stacked = np.stack([by_name[name] for name in order])
    if not np.all(np.isfinite(stacked)) or np.abs(stacked).max(initial=0) > 2**31 - 1:
        raise InvalidEcg("the samples are not finite microvolt values")
    return EcgRecord(
        leads=tuple(order),
        sampling_rate=float(sampling_rate),
        samples=stacked.astype(np.int32),
        source_format=source_format,
        derived_leads=tuple(derived),
        **details,
    )
