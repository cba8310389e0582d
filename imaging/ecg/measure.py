"""Automated measurements with neurokit2: rate, PR, QRS, QT, QTc (Bazett and Fridericia), frontal axis.

Intervals are delineated on one lead, the one of II, I, aVF, V5 and V2 with the largest deflections (lead
II, the usual choice, is nearly flat when the axis is near -30°), with neurokit2's
prominence method (on waveform_ecg.dcm it is far closer to the device than its wavelet methods; see
docs/ecg.md), beat by beat, and summarised by the median, so a badly delineated beat does not
move the result. The frontal QRS axis comes from the net QRS amplitude (largest positive plus largest
negative deflection from the PR baseline) of leads I and aVF, averaged over beats: aVF projects the heart
vector with a gain of √3/2 (Goldberger), so the axis is atan2(2·aVF/√3, I). Every value is
labelled automated; the device's own values are kept apart (`EcgRecord.device_measurements`).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import neurokit2 as nk
import numpy as np

from imaging.ecg.record import EcgRecord

METHOD = f"neurokit2 {nk.__version__}: ecg_clean, ecg_peaks, ecg_delineate (prominence) on lead {{lead}}"
_RHYTHM_LEADS = ("II", "I", "aVF", "V5", "V2")
_QRS_HALF_WINDOW_S = 0.06  # around the R peak, when a beat's QRS onset or offset was not found


def _median_ms(starts: np.ndarray, ends: np.ndarray, fs: float) -> float | None:
    valid = ~(np.isnan(starts) | np.isnan(ends))
    spans = (ends[valid] - starts[valid]) * 1000 / fs
    spans = spans[spans > 0]
    return round(float(np.median(spans)), 1) if len(spans) else None


def _points(waves: dict[str, Any], key: str, n: int) -> np.ndarray:
    values = np.asarray(waves.get(key, [np.nan] * n), dtype=np.float64)
    return values[:n] if len(values) >= n else np.pad(values, (0, n - len(values)), constant_values=np.nan)


def _net_qrs(
    signal: np.ndarray, rpeaks: np.ndarray, onsets: np.ndarray, offsets: np.ndarray, fs: float
) -> float:
    """Mean over beats of the net QRS deflection (µV) from the level just before the QRS."""
    half = int(_QRS_HALF_WINDOW_S * fs)
    nets = []
    for peak, onset, offset in zip(rpeaks, onsets, offsets, strict=True):
        start = int(onset) if not np.isnan(onset) else peak - half
        end = int(offset) if not np.isnan(offset) else peak + half
        start, end = max(start, 0), min(end, len(signal) - 1)
        if end - start < 2:
            continue
        baseline = float(np.median(signal[max(start - int(0.02 * fs), 0) : start + 1]))
        window = signal[start : end + 1] - baseline
        nets.append(float(window.max() + window.min()))
    return float(np.mean(nets)) if nets else float("nan")


def _rhythm_lead(record: EcgRecord) -> str:
    candidates = [name for name in _RHYTHM_LEADS if name in record.leads] or [record.leads[0]]

    def spread(name: str) -> float:
        low, high = np.percentile(record.lead(name), [1, 99])
        return float(high - low)

    return max(candidates, key=spread)  # the first of equals: II when it is as large as any


def measure(record: EcgRecord) -> dict[str, Any]:
    """The automated measurements as a JSON-ready dict; a value that could not be found is None."""
    fs = record.sampling_rate
    lead = _rhythm_lead(record)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # neurokit2 warns on short or noisy stretches; results say enough
        cleaned = nk.ecg_clean(record.lead(lead).astype(np.float64) / 1000, sampling_rate=fs)
        _, info = nk.ecg_peaks(cleaned, sampling_rate=fs)
        rpeaks = np.asarray(info["ECG_R_Peaks"], dtype=int)
        result: dict[str, Any] = {
            "source": "automated",
            "method": METHOD.format(lead=lead),
            "lead": lead,
            "beats": len(rpeaks),
            "heart_rate_bpm": None,
            "rr_ms": None,
            "pr_ms": None,
            "qrs_ms": None,
            "qt_ms": None,
            "qtc_bazett_ms": None,
            "qtc_fridericia_ms": None,
            "qrs_axis_deg": None,
        }
        if len(rpeaks) < 3:
            return result
        rr_s = float(np.median(np.diff(rpeaks))) / fs
        result["rr_ms"] = round(rr_s * 1000, 1)
        result["heart_rate_bpm"] = round(60 / rr_s, 1)
        try:
            _, waves = nk.ecg_delineate(cleaned, rpeaks, sampling_rate=fs, method="prominence")
        except (ValueError, IndexError, ZeroDivisionError):
            waves = {}
    n = len(rpeaks)
    p_onsets, qrs_onsets = _points(waves, "ECG_P_Onsets", n), _points(waves, "ECG_R_Onsets", n)
    qrs_offsets, t_offsets = _points(waves, "ECG_R_Offsets", n), _points(waves, "ECG_T_Offsets", n)
    result["pr_ms"] = _median_ms(p_onsets, qrs_onsets, fs)
    result["qrs_ms"] = _median_ms(qrs_onsets, qrs_offsets, fs)
    qt = _median_ms(qrs_onsets, t_offsets, fs)
    result["qt_ms"] = qt
    if qt is not None:
        result["qtc_bazett_ms"] = round(qt / math.sqrt(rr_s), 1)
        result["qtc_fridericia_ms"] = round(qt / rr_s ** (1 / 3), 1)
    if "I" in record.leads and "aVF" in record.leads:
        net_i = _net_qrs(record.lead("I").astype(np.float64), rpeaks, qrs_onsets, qrs_offsets, fs)
        net_avf = _net_qrs(record.lead("aVF").astype(np.float64), rpeaks, qrs_onsets, qrs_offsets, fs)
        if not (math.isnan(net_i) or math.isnan(net_avf)) and (net_i or net_avf):
            result["qrs_axis_deg"] = round(math.degrees(math.atan2(2 * net_avf / math.sqrt(3), net_i)))
    return result
