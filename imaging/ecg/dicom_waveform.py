"""DICOM waveform ECGs (12-Lead ECG and General ECG IODs) read with pydicom's `waveform_array`.

The first multiplex group that is not a median beat is the recording. `waveform_array` applies each
channel's sensitivity, correction factor and baseline (PS3.3 C.10.9.1.4); the result, in the channel's
own sensitivity unit, is scaled to µV here. The device's measurements and statements are its WaveformAnnotationSequence items.
"""

from __future__ import annotations

import io
import struct
from datetime import datetime

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from imaging.ecg.record import EcgRecord, Filters, InvalidEcg, Patient, assemble

ECG_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.9.1.1": "12-Lead ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "General ECG",
}
_MICROVOLTS_PER = {"uV": 1.0, "mV": 1000.0, "V": 1_000_000.0}
# Device measurement concept names (CodeMeaning, lower case) → this representation's names.
_ANNOTATIONS = {
    "rr interval": "rr_ms",
    "pr interval": "pr_ms",
    "qrs duration": "qrs_ms",
    "qt interval": "qt_ms",
    "qtc interval": "qtc_ms",
    "p axis": "p_axis_deg",
    "qrs axis": "qrs_axis_deg",
    "t axis": "t_axis_deg",
    "heart rate": "heart_rate_bpm",
    "ventricular heart rate": "heart_rate_bpm",
}


def is_ecg_dataset(ds: Dataset) -> bool:
    return str(ds.get("SOPClassUID", "")) in ECG_SOP_CLASSES


def read_dicom_waveform(data: bytes) -> EcgRecord:
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
        return from_dataset(ds)
    except (
        InvalidDicomError,
        OSError,
        EOFError,
        struct.error,
        ValueError,
        KeyError,
        AttributeError,
        IndexError,
        TypeError,
    ) as exc:
        if isinstance(exc, InvalidEcg):
            raise
        raise InvalidEcg(f"the DICOM waveform cannot be read: {exc}") from None


def _rhythm_group(ds: Dataset) -> int:
    for index, group in enumerate(ds.WaveformSequence):
        if "MEDIAN" not in str(group.get("MultiplexGroupLabel", "")).upper():
            return index
    raise InvalidEcg("the DICOM file holds only median beats, no rhythm recording")


def _channel_label(channel: Dataset) -> str:
    source = channel.get("ChannelSourceSequence")
    if source:
        return str(source[0].get("CodeMeaning", "")) or str(channel.get("ChannelLabel", ""))
    return str(channel.get("ChannelLabel", ""))


def _microvolts(values: np.ndarray, channel: Dataset) -> np.ndarray:
    units = channel.get("ChannelSensitivityUnitsSequence")
    unit = str(units[0].get("CodeValue", "uV")) if units else "uV"
    if unit not in _MICROVOLTS_PER:
        raise InvalidEcg(f"channel unit {unit!r} is not a voltage")
    return values * _MICROVOLTS_PER[unit]


def _filters(channel: Dataset) -> Filters:
    def hz(keyword: str) -> float | None:
        value = channel.get(keyword)
        return float(value) if value not in (None, "") and float(value) > 0 else None

    return Filters(hz("FilterLowFrequency"), hz("FilterHighFrequency"), hz("NotchFilterFrequency"))


def _annotations(ds: Dataset) -> tuple[dict[str, float], tuple[str, ...]]:
    measurements: dict[str, float] = {}
    statements: list[str] = []
    for item in ds.get("WaveformAnnotationSequence", []):
        text = str(item.get("UnformattedTextValue", "") or "").strip()
        if text:
            statements.append(text)
            continue
        concept = item.get("ConceptNameCodeSequence")
        value = item.get("NumericValue")
        if not concept or value in (None, ""):
            continue
        name = _ANNOTATIONS.get(str(concept[0].get("CodeMeaning", "")).strip().lower())
        number = float(value[0] if isinstance(value, list | tuple) else value)
        if name and name not in measurements and number != 0:  # 0: the device did not measure it
            measurements[name] = number
    return measurements, tuple(statements)


def _acquired_at(ds: Dataset) -> str | None:
    raw = str(ds.get("AcquisitionDateTime", "") or "")
    if not raw:
        raw = str(ds.get("ContentDate", "") or "") + str(ds.get("ContentTime", "") or "")
    try:
        return datetime.strptime(raw[:14], "%Y%m%d%H%M%S").isoformat() if len(raw) >= 14 else None
    except ValueError:
        return None


def from_dataset(ds: Dataset) -> EcgRecord:
    if not is_ecg_dataset(ds):
        raise InvalidEcg("the DICOM file is not an ECG waveform (12-Lead ECG or General ECG)")
    if "WaveformSequence" not in ds:
        raise InvalidEcg("the DICOM ECG has no WaveformSequence")
    index = _rhythm_group(ds)
    group = ds.WaveformSequence[index]
    values = ds.waveform_array(index)  # (samples, channels), scaled to each channel's unit
    channels = list(group.ChannelDefinitionSequence)
    if values.ndim != 2 or values.shape[1] != len(channels):
        raise InvalidEcg("the waveform data does not match its channel definitions")
    measurements, statements = _annotations(ds)
    device = " ".join(str(ds.get(k, "") or "") for k in ("Manufacturer", "ManufacturerModelName")).strip()
    return assemble(
        [_channel_label(channel) for channel in channels],
        [_microvolts(values[:, i], channel) for i, channel in enumerate(channels)],
        float(group.SamplingFrequency),
        "dicom",
        acquired_at=_acquired_at(ds),
        device=device,
        filters=_filters(channels[0]),
        device_measurements=measurements,
        device_statements=statements,
        patient=Patient(
            id=str(ds.get("PatientID", "") or ""),
            name=str(ds.get("PatientName", "") or ""),
            sex=str(ds.get("PatientSex", "") or ""),
            birth_date=str(ds.get("PatientBirthDate", "") or ""),
        ),
    )
