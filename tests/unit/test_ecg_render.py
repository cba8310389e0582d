"""The page is at true scale: at a known DPI a 1 mV, 1 s pulse in the rhythm strip is 10 mm high and
25 mm long in pixels, and so is the calibration pulse; the PDF is vector (text and paths, no image)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from imaging.ecg.record import assemble
from imaging.ecg.render import ROW_BASELINES, TRACE_X0, render_page
from tests.support import ecg_factory

DPI = 254  # 10 pixels per millimetre
PX_PER_MM = DPI / 25.4


def _dark(png: bytes) -> np.ndarray:
    image = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return image < 80  # trace and text are black; the grid is light red (never that dark in grey)


def test_one_millivolt_is_ten_mm_and_one_second_twenty_five_mm() -> None:
    leads = ecg_factory.step_leads(fs=500)
    record = assemble(list(leads), list(leads.values()), 500, "synthetic")
    dark = _dark(render_page(record, None, "png", dpi=DPI))
    height = dark.shape[0]
    baseline_row = round(height - ROW_BASELINES[-1] * PX_PER_MM)
    top_row = round(height - (ROW_BASELINES[-1] + 10) * PX_PER_MM)
    # The pulse's top edge in the rhythm strip: from 2 s to 3 s after the trace start.
    top = dark[top_row - 3 : top_row + 4, :]
    columns = np.flatnonzero(top.any(axis=0))
    strip = columns[columns > (TRACE_X0 + 10) * PX_PER_MM]
    length_mm = (strip.max() - strip.min()) / PX_PER_MM
    start_mm = strip.min() / PX_PER_MM - TRACE_X0
    # The pulse's rising edge: a vertical run of dark pixels from the baseline to 1 mV.
    edge = dark[:, strip.min() - 1 : strip.min() + 2].any(axis=1)
    assert isinstance(edge, np.ndarray)  # a 2-D array reduced along one axis (numpy's stub allows a scalar)
    run = np.flatnonzero(edge[top_row - 5 : baseline_row + 5]) + top_row - 5
    height_mm = (run.max() - run.min()) / PX_PER_MM
    print(
        f"\npulse: {length_mm:.2f} mm long (25 expected), {height_mm:.2f} mm high (10), from {start_mm:.2f} mm (50)"
    )
    assert abs(length_mm - 25) <= 0.3
    assert abs(height_mm - 10) <= 0.3
    assert abs(start_mm - 50) <= 0.3


def test_calibration_pulse_is_ten_mm_high() -> None:
    leads = ecg_factory.step_leads(fs=500)
    record = assemble(list(leads), list(leads.values()), 500, "synthetic")
    dark = _dark(render_page(record, None, "png", dpi=DPI))
    column = round(18 * PX_PER_MM)  # the pulse's rising edge, in front of the first row
    top = round(dark.shape[0] - (ROW_BASELINES[0] + 13) * PX_PER_MM)
    bottom = round(dark.shape[0] - (ROW_BASELINES[0] - 3) * PX_PER_MM)
    rows = np.flatnonzero(dark[top:bottom, column - 1 : column + 2].any(axis=1))
    height_mm = (rows.max() - rows.min()) / PX_PER_MM
    assert abs(height_mm - 10) <= 0.3


def test_pdf_is_vector_with_measurements_and_filter() -> None:
    leads = ecg_factory.synthetic_leads()
    record = assemble(list(leads), list(leads.values()), 500, "synthetic")
    automated = {"heart_rate_bpm": 75.0, "pr_ms": 160.0, "qrs_ms": 90.0, "qt_ms": 380.0,
                 "qtc_bazett_ms": 424.9, "qtc_fridericia_ms": 409.0, "qrs_axis_deg": 60}  # fmt: skip
    pdf = render_page(record, automated, "pdf")
    assert pdf.startswith(b"%PDF")
    assert b"/Subtype /Image" not in pdf  # traces and grid are paths, not a picture
    png = render_page(record, automated, "png")
    assert Image.open(io.BytesIO(png)).size == (int(297 / 25.4 * 150), int(210 / 25.4 * 150))
