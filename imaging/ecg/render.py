"""The standard ECG page: 3×4 leads and a lead II rhythm strip at 25 mm/s and 10 mm/mV, on the 1 mm / 5 mm
grid, with the 1 mV calibration pulse, the filter setting and the measurements printed.

The page is one matplotlib figure whose data coordinates are millimetres of paper (A4 landscape), so the
PNG (preview, at any DPI) and the vector PDF (for the report) come from the same drawing and are at true
scale: 1 mV is 10 mm and 1 s is 25 mm on paper, and `dpi / 25.4` pixels per millimetre in the PNG.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Literal

import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from imaging.ecg.record import EcgRecord

PAGE_MM = (297.0, 210.0)  # A4 landscape
MM_PER_S = 25.0
MM_PER_MV = 10.0
PREVIEW_DPI = 150
TRACE_X0 = 25.0  # where the traces start; the calibration pulse stands before them
GRID = (15.0, 10.0, 280.0, 178.0)  # x0, y0, x1, y1 of the grid, mm
ROW_BASELINES = (158.0, 118.0, 78.0, 34.0)  # three rows of four leads, then the rhythm strip
COLUMN_S = 2.5
LAYOUT = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
RHYTHM_LEAD = "II"
_CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)
MEDIA_TYPES = {"png": "image/png", "pdf": "application/pdf"}


def _font() -> font_manager.FontProperties:
    """A CJK font for the Chinese labels where the system has one (Debian fonts-noto-cjk)."""
    for path in _CJK_FONTS:
        if Path(path).exists():
            return font_manager.FontProperties(fname=path, size=7)
    return font_manager.FontProperties(size=7)


def _grid(axes: Any) -> None:
    x0, y0, x1, y1 = GRID
    minor: list[list[tuple[float, float]]] = []
    major: list[list[tuple[float, float]]] = []
    for x in np.arange(x0, x1 + 0.01, 1.0):
        (major if round(x - x0) % 5 == 0 else minor).append([(x, y0), (x, y1)])
    for y in np.arange(y0, y1 + 0.01, 1.0):
        (major if round(y - y0) % 5 == 0 else minor).append([(x0, y), (x1, y)])
    axes.add_collection(LineCollection(minor, colors="#f6c6c6", linewidths=0.2))
    axes.add_collection(LineCollection(major, colors="#e58a8a", linewidths=0.45))


def _calibration(axes: Any, baseline: float) -> None:
    """The 1 mV pulse: 10 mm high, 0.2 s (5 mm) wide."""
    x = 18.0
    xs = [x - 2, x, x, x + 0.2 * MM_PER_S, x + 0.2 * MM_PER_S, x + 0.2 * MM_PER_S + 2]
    ys = [baseline, baseline, baseline + MM_PER_MV, baseline + MM_PER_MV, baseline, baseline]
    axes.plot(xs, ys, color="black", linewidth=0.6)


def _trace(
    axes: Any, record: EcgRecord, lead: str, start_s: float, seconds: float, x0: float, y: float
) -> None:
    fs = record.sampling_rate
    first, last = int(start_s * fs), min(int((start_s + seconds) * fs), record.samples.shape[1])
    if lead not in record.leads or last <= first:
        return
    values = record.lead(lead)[first:last].astype(np.float64)
    xs = x0 + np.arange(last - first) / fs * MM_PER_S
    axes.plot(xs, y + values / 1000 * MM_PER_MV, color="black", linewidth=0.5)


def _value(measures: dict[str, Any], key: str, unit: str) -> str:
    value = measures.get(key)
    return "—" if value is None else f"{value:.0f} {unit}"


def _measure_line(title: str, measures: dict[str, Any]) -> str:
    if measures.get("qtc_bazett_ms") is None and measures.get("qtc_ms") is not None:
        qtc = f"QTc(设备公式 device formula) {_value(measures, 'qtc_ms', 'ms')}"
    else:
        qtc = f"QTc(Bazett) {_value(measures, 'qtc_bazett_ms', 'ms')}"
    return (
        f"{title}  HR {_value(measures, 'heart_rate_bpm', 'bpm')}  PR {_value(measures, 'pr_ms', 'ms')}  "
        f"QRS {_value(measures, 'qrs_ms', 'ms')}  QT {_value(measures, 'qt_ms', 'ms')}  "
        f"{qtc}  "
        f"QTc(Fridericia) {_value(measures, 'qtc_fridericia_ms', 'ms')}  "
        f"电轴 Axis {_value(measures, 'qrs_axis_deg', '°')}"
    )


def _device_measures(record: EcgRecord) -> dict[str, Any]:
    measures = dict(record.device_measurements)
    if "heart_rate_bpm" not in measures and measures.get("rr_ms"):
        measures["heart_rate_bpm"] = 60000 / measures["rr_ms"]
    return measures


def _header(axes: Any, record: EcgRecord, automated: dict[str, Any] | None) -> None:
    font = _font()
    filters = record.filters.label() or "未注明 not stated"
    lines = [
        f"采集时间 Acquired {record.acquired_at or '—'}    设备 Device {record.device or '—'}    "
        f"格式 Format {record.source_format}    {record.sampling_rate:g} Hz    {record.duration_s:.1f} s",
        f"走纸速度 {MM_PER_S:g} mm/s    增益 {MM_PER_MV:g} mm/mV    滤波 Filter {filters}"
        + (f"    推导导联 Derived leads: {', '.join(record.derived_leads)}" if record.derived_leads else ""),
    ]
    if automated is not None:
        lines.append(_measure_line("自动测量 Automated (neurokit2)", automated))
    if record.device_measurements:
        lines.append(_measure_line("设备测量 Device", _device_measures(record)))
    if record.device_statements:
        lines.append("设备诊断 Device interpretation: " + "; ".join(record.device_statements)[:180])
    for index, line in enumerate(lines):
        axes.text(GRID[0], 205 - index * 4.6, line, fontproperties=font, va="top")


def _figure(record: EcgRecord, automated: dict[str, Any] | None) -> Figure:
    figure = Figure(figsize=(PAGE_MM[0] / 25.4, PAGE_MM[1] / 25.4))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, PAGE_MM[0])
    axes.set_ylim(0, PAGE_MM[1])
    axes.set_axis_off()
    _grid(axes)
    label_font = _font()
    column_mm = COLUMN_S * MM_PER_S
    for row, leads in enumerate(LAYOUT):
        y = ROW_BASELINES[row]
        _calibration(axes, y)
        for column, lead in enumerate(leads):
            x0 = TRACE_X0 + column * column_mm
            _trace(axes, record, lead, column * COLUMN_S, COLUMN_S, x0, y)
            axes.text(x0 + 1, y + 12, lead, fontproperties=label_font, weight="bold")
            if column:
                axes.plot([x0, x0], [y - 2, y + 2], color="black", linewidth=0.6)
    y = ROW_BASELINES[-1]
    _calibration(axes, y)
    _trace(axes, record, RHYTHM_LEAD, 0, 4 * COLUMN_S, TRACE_X0, y)
    axes.text(TRACE_X0 + 1, y + 12, f"{RHYTHM_LEAD} 节律 rhythm", fontproperties=label_font, weight="bold")
    _header(axes, record, automated)
    return figure


def render_page(
    record: EcgRecord, automated: dict[str, Any] | None, fmt: Literal["png", "pdf"], dpi: int = PREVIEW_DPI
) -> bytes:
    """The page as PNG (at `dpi`) or vector PDF; `automated` is `imaging.ecg.measure.measure`'s result."""
    figure = _figure(record, automated)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=dpi, metadata={"Creator": "telemed"} if fmt == "pdf" else None)
    return buffer.getvalue()
