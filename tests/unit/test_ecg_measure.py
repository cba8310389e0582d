"""Automated measurements: a synthetic ECG of known rate, intervals and axis, and the real Mortara record
against the device's own values. Tolerances are stated here and the differences printed (docs/ecg.md)."""

from __future__ import annotations

import pytest

from imaging.ecg import read_ecg
from imaging.ecg.measure import measure
from imaging.ecg.record import assemble
from tests.support import ecg_factory
from tests.support.paths import pydicom_test_file

# Tolerances: rate ±1 bpm; PR and QT ±20 ms; QRS ±30 ms (single-lead delineation places onset and
# offset inside the first and last small deflections); axis ±10°.
SYNTHETIC_TOLERANCE = {"heart_rate_bpm": 1, "pr_ms": 20, "qrs_ms": 30, "qt_ms": 20, "qrs_axis_deg": 10}
# Against the Mortara device (global intervals over all leads, its own algorithm): rate ±2 bpm, PR ±25 ms,
# QRS ±30 ms, QT ±45 ms, QTc ±45 ms, axis ±15°.
DEVICE_TOLERANCE = {"rr_ms": 20, "pr_ms": 25, "qrs_ms": 30, "qt_ms": 45, "qrs_axis_deg": 15}


@pytest.mark.parametrize(
    "truth",
    [
        ecg_factory.Truth(),
        ecg_factory.Truth(rate_bpm=60, pr_ms=200, qrs_ms=100, qt_ms=400, axis_deg=-30),
        ecg_factory.Truth(rate_bpm=100, pr_ms=140, qrs_ms=80, qt_ms=320, axis_deg=90, fs=1000),
    ],
    ids=["75bpm-axis60", "60bpm-axis-30", "100bpm-axis90-1kHz"],
)
def test_synthetic_ecg_measured_within_tolerance(truth: ecg_factory.Truth) -> None:
    leads = ecg_factory.synthetic_leads(truth)
    record = assemble(list(leads), list(leads.values()), truth.fs, "synthetic")
    result = measure(record)
    expected = {
        "heart_rate_bpm": truth.rate_bpm,
        "pr_ms": truth.pr_ms,
        "qrs_ms": truth.qrs_ms,
        "qt_ms": truth.qt_ms,
        "qrs_axis_deg": truth.axis_deg,
    }
    print(f"\n{truth}: {result}")
    assert result["source"] == "automated"
    for key, tolerance in SYNTHETIC_TOLERANCE.items():
        assert result[key] is not None, key
        assert abs(result[key] - expected[key]) <= tolerance, (key, result[key], expected[key])
    rr_s = 60 / truth.rate_bpm
    assert result["qtc_bazett_ms"] == pytest.approx(result["qt_ms"] / rr_s**0.5, abs=0.2)
    assert result["qtc_fridericia_ms"] == pytest.approx(result["qt_ms"] / rr_s ** (1 / 3), abs=0.2)


def test_mortara_record_against_the_device_values() -> None:
    record = read_ecg(pydicom_test_file("waveform_ecg.dcm").read_bytes())
    ours = measure(record)
    device = record.device_measurements
    print("\nmeasure   ours    device  difference")
    for key in ("rr_ms", "pr_ms", "qrs_ms", "qt_ms", "qrs_axis_deg"):
        print(f"{key:<9} {ours[key]:>6}  {device[key]:>6}  {ours[key] - device[key]:+.0f}")
    print(
        f"QTc: Bazett {ours['qtc_bazett_ms']}, Fridericia {ours['qtc_fridericia_ms']}, device {device['qtc_ms']}"
    )
    for key, tolerance in DEVICE_TOLERANCE.items():
        assert abs(ours[key] - device[key]) <= tolerance, (key, ours[key], device[key])
    assert abs(ours["qtc_bazett_ms"] - device["qtc_ms"]) <= 45
    assert ours["heart_rate_bpm"] == pytest.approx(60000 / device["rr_ms"], abs=2)


def test_flat_line_gives_no_values_rather_than_wrong_ones() -> None:
    leads = ecg_factory.step_leads()
    leads = {name: values * 0 for name, values in leads.items()}
    result = measure(assemble(list(leads), list(leads.values()), 500, "synthetic"))
    assert result["heart_rate_bpm"] is None and result["qt_ms"] is None
