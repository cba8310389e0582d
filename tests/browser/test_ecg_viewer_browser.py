"""The ECG viewer in Chromium: the ECG centre's reader opens the Mortara 12-lead on true-scale paper,
calibrates the screen with a card, measures one RR interval with the calipers, switches speed and gain.

pydicom's `waveform_ecg.dcm` is attached to the village clinic's ECG case through the API and rendered by a
real worker. The grid is measured in the canvas's own pixels (not taken from the viewer's word), and the
caliper's interval is compared with R peaks found in the record's samples. Test hook: `window.__ecgViewer`
(web/README.md).
"""

from __future__ import annotations

import time

import httpx2 as httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect
from scipy.signal import find_peaks
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.cases.models import Case, CaseKind
from server.community.models import Institution
from tests.support.browser import SEEN, chromium, screenshot, signed_in_page
from tests.support.paths import pydicom_test_file

pytestmark = pytest.mark.browser

MORTARA = pydicom_test_file("waveform_ecg.dcm").read_bytes()
DEFAULT_PX_PER_MM = 96 / 25.4
CARD_MM = 85.6

# The vertical grid lines crossing one canvas row, as CSS px centroids: only strongly red pixels (major
# lines; minor lines are pale, the trace is grey-black) count.
MAJOR_LINES_JS = """
(yCss) => {
  const canvas = document.querySelector('[data-testid=ecg-canvas]');
  const dpr = canvas.width / parseFloat(canvas.style.width);
  const y = Math.round(yCss * dpr);
  const row = canvas.getContext('2d').getImageData(0, y, canvas.width, 1).data;
  const centres = [];
  let sum = 0, weight = 0;
  for (let x = 0; x <= canvas.width; x++) {
    const r = row[4 * x], g = row[4 * x + 1];
    const major = x < canvas.width && g < 200 && r - g > 40;
    if (major) { sum += (x + 0.5) * (255 - g); weight += 255 - g; }
    else if (weight) { centres.push(sum / weight / dpr); sum = 0; weight = 0; }
  }
  return centres;
}
"""


def viewer(page: Page, call: str):
    return page.evaluate(f"window.__ecgViewer.{call}")


def major_spacing(page: Page) -> tuple[float, int]:
    """Mean distance between neighbouring 5 mm lines measured in the canvas pixels, and how many were seen.
    The row is 2.5 mm from the top: inside the top margin, between two horizontal lines."""
    minor = viewer(page, "grid().minorPx")
    centres = page.evaluate(MAJOR_LINES_JS, 2.5 * minor)
    assert len(centres) > 20, centres
    expected = 5 * minor
    gaps = np.diff(centres)
    # Every gap is one major square (a tall R wave crossing a line could hide it: then two).
    assert all(abs(gap / expected - round(gap / expected)) * expected < 0.75 for gap in gaps), gaps
    squares = round((centres[-1] - centres[0]) / expected)
    return (centres[-1] - centres[0]) / squares, len(centres)


def r_peaks(lead_uv: list[int], rate: float) -> np.ndarray:
    values = np.asarray(lead_uv, dtype=float)
    peaks, _ = find_peaks(values, height=0.6 * values.max(), distance=int(0.3 * rate))
    return peaks


def caliper_across(page: Page, t1: float, v1: float, t2: float, v2: float) -> dict[str, float]:
    """Clicks the strip at two instants (s) and voltages (µV); returns the viewer's caliper result."""
    box = page.get_by_test_id("ecg-canvas").bounding_box()
    assert box is not None
    strip = viewer(page, "strip()")
    scale = viewer(page, "pxPerMm()") * viewer(page, "zoom()")
    speed, gain = viewer(page, "speed()"), viewer(page, "gain()")
    for t, v in ((t1, v1), (t2, v2)):
        x = strip["x0"] + (t - strip["startS"]) * speed * scale
        y = strip["baselineY"] - v / 1000 * gain * scale
        page.get_by_test_id("ecg-canvas").scroll_into_view_if_needed()
        canvas = page.get_by_test_id("ecg-canvas")
        canvas.click(position={"x": x, "y": y})
    expect(page.get_by_test_id("ecg-caliper-result")).to_be_visible()
    return viewer(page, "lastCaliper()")


def attach_and_render(live_server, case_id: int) -> int:
    """The village doctor attaches the Mortara record through the API; waits for the worker's page."""
    url = live_server.url
    uploaded = httpx.post(
        f"{url}/api/cases/{case_id}/ecgs",
        params={"filename": "waveform_ecg.dcm"},
        content=MORTARA,
        headers={**live_server.platform.bearer("village"), "Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert uploaded.status_code in {200, 201}, uploaded.text  # 200: another test attached the same file
    ecg_id = uploaded.json()["id"]
    reader = live_server.platform.bearer("village")  # the centre sees a case only once it is submitted
    deadline = time.monotonic() + 90
    while httpx.get(f"{url}/api/ecgs/{ecg_id}", headers=reader).json()["render_state"] != "ready":
        assert time.monotonic() < deadline, "the worker did not render the ECG in 90 s"
        time.sleep(0.5)
    return ecg_id


def test_ecg_reader_measures_on_true_scale_paper(live_server, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as db:
        case_id = db.scalar(
            select(Case.id)
            .join(Institution)
            .where(Institution.name == "青山村卫生室", Case.kind == CaseKind.ECG)
        )
        assert case_id is not None
    url = live_server.url
    ecg_id = attach_and_render(live_server, case_id)
    reader = live_server.platform.bearer("ecgreader")
    native = httpx.get(f"{url}/api/ecgs/{ecg_id}/samples", headers=reader, timeout=30).json()
    rate = native["sampling_rate"]
    lead_ii = native["leads"]["II"]
    peaks = r_peaks(lead_ii, rate)
    assert len(peaks) >= 8, peaks
    first, second = int(peaks[3]), int(peaks[4])
    true_rr_ms = (second - first) / rate * 1000

    with chromium() as browser:
        page, errors = signed_in_page(browser, url, "ecgreader", live_server.password)
        page.goto(f"{url}/cases/{case_id}")
        item = page.locator(f"[data-testid=case-ecg][data-ecg-id='{ecg_id}']")
        expect(item).to_have_attribute("data-render-state", "ready", timeout=SEEN)
        expect(item).to_contain_text("12")
        thumb = item.locator("img.ecg-thumb")
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(), timeout=SEEN
        )
        item.get_by_test_id("ecg-open").click()
        page.wait_for_url(f"**/cases/{case_id}/ecgs/{ecg_id}")
        page.locator("[data-testid=ecg-viewer-status][data-state=ready]").wait_for(
            state="attached", timeout=SEEN
        )

        # Defaults: 25 mm/s, 10 mm/mV, 96 dpi until calibrated; the drawn 5 mm squares are 5 × px per mm.
        assert viewer(page, "pxPerMm()") == pytest.approx(DEFAULT_PX_PER_MM)
        assert viewer(page, "calibrated()") is False
        assert (viewer(page, "speed()"), viewer(page, "gain()"), viewer(page, "zoom()")) == (25, 10, 1)
        spacing, lines = major_spacing(page)
        assert spacing == pytest.approx(5 * DEFAULT_PX_PER_MM, abs=0.05)
        assert viewer(page, "grid().majorPx") == pytest.approx(5 * DEFAULT_PX_PER_MM)
        # 3×4 at 25 mm/s is 250 mm of trace: about 52 major lines across the paper.
        assert lines >= 45

        # What the reader needs beside the trace: the filter, the automated values (named as such, with the
        # QTc formulas) and, apart, the device's interpretation.
        expect(page.get_by_test_id("ecg-filters")).to_contain_text("滤波")
        expect(page.get_by_test_id("ecg-automated")).to_contain_text("自动测量")
        expect(page.get_by_test_id("ecg-automated")).to_contain_text("Bazett")
        expect(page.get_by_test_id("ecg-automated-method")).to_contain_text("neurokit2")
        expect(page.get_by_test_id("ecg-device")).to_contain_text("设备判读")
        expect(page.get_by_test_id("ecg-device-measure-qt_ms")).to_have_attribute("data-value", "368")
        screenshot(page, "ecg-viewer.png")

        # One-time calibration: drag the card outline 40 px wider, save; the paper is redrawn at that scale
        # and the value survives a reload.
        page.get_by_test_id("ecg-calibrate").click()
        card = page.get_by_test_id("ecg-calibration-card")
        before = card.bounding_box()
        assert before is not None and before["width"] == pytest.approx(CARD_MM * DEFAULT_PX_PER_MM, abs=0.5)
        handle = page.get_by_test_id("ecg-calibration-handle").bounding_box()
        assert handle is not None
        hx, hy = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        page.mouse.move(hx, hy)
        page.mouse.down()
        page.mouse.move(hx + 40, hy, steps=8)
        page.mouse.up()
        after = card.bounding_box()
        assert after is not None and after["width"] == pytest.approx(before["width"] + 40, abs=0.5)
        calibrated = after["width"] / CARD_MM
        page.get_by_test_id("ecg-calibration-save").click()
        assert viewer(page, "pxPerMm()") == pytest.approx(calibrated, abs=0.01)
        assert viewer(page, "calibrated()") is True
        stored = float(page.evaluate("localStorage.getItem('telemed.ecg.pxPerMm')"))
        assert stored == pytest.approx(calibrated, abs=0.01)
        spacing, _ = major_spacing(page)
        assert spacing == pytest.approx(5 * stored, abs=0.05)
        page.reload()
        page.locator("[data-testid=ecg-viewer-status][data-state=ready]").wait_for(
            state="attached", timeout=SEEN
        )
        assert viewer(page, "pxPerMm()") == pytest.approx(stored)
        expect(page.get_by_test_id("ecg-scale-state")).to_have_attribute("data-true-scale", "true")

        # Calipers across one RR interval of the lead II rhythm strip.
        result = caliper_across(page, first / rate, lead_ii[first], second / rate, lead_ii[second])
        assert abs(result["intervalMs"] - true_rr_ms) <= 10, (result, true_rr_ms)
        assert abs(result["amplitudeMv"] - (lead_ii[second] - lead_ii[first]) / 1000) <= 0.05, result
        expect(page.get_by_test_id("ecg-caliper-result")).to_contain_text(f"{round(result['intervalMs'])} ms")
        screenshot(page, "ecg-caliper.png")

        # 50 mm/s: the paper doubles in length, the squares stay 5 mm, the same interval still measures right.
        width_25 = viewer(page, "grid().widthPx")
        page.get_by_test_id("ecg-speed-50").click()
        assert viewer(page, "speed()") == 50
        assert viewer(page, "grid().widthPx") == pytest.approx(2 * width_25, rel=0.05)
        assert major_spacing(page)[0] == pytest.approx(5 * stored, abs=0.05)
        result = caliper_across(page, first / rate, lead_ii[first], second / rate, lead_ii[second])
        assert abs(result["intervalMs"] - true_rr_ms) <= 10, (result, true_rr_ms)

        # 20 mm/mV: an R wave's height above the baseline measures the same in mV.
        page.get_by_test_id("ecg-gain-20").click()
        assert viewer(page, "gain()") == 20
        result = caliper_across(page, first / rate, 0, first / rate + 0.001, lead_ii[first])
        assert abs(result["amplitudeMv"] - lead_ii[first] / 1000) <= 0.03, result

        # One lead enlarged: the strip is that lead over the whole record.
        page.get_by_test_id("ecg-lead").select_option("V2")
        assert viewer(page, "lead()") == "V2" and viewer(page, "strip().lead") == "V2"
        assert errors == []


def test_reader_copies_the_automated_measurements_into_the_report_draft(live_server) -> None:
    url = live_server.url
    village = live_server.platform.bearer("village")
    created = httpx.post(
        f"{url}/api/cases", json={"kind": "ecg", "patient": {"name": "心电报告测试"}}, headers=village
    )
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    ecg_id = attach_and_render(live_server, case_id)
    submitted = httpx.post(f"{url}/api/cases/{case_id}/actions/submit", json={}, headers=village)
    assert submitted.status_code == 200, submitted.text
    reader = live_server.platform.bearer("ecgreader")
    claimed = httpx.post(f"{url}/api/cases/{case_id}/actions/claim", json={}, headers=reader)
    assert claimed.status_code == 200, claimed.text
    started = httpx.post(f"{url}/api/cases/{case_id}/actions/start_review", json={}, headers=reader)
    assert started.status_code == 200, started.text
    automated = httpx.get(f"{url}/api/ecgs/{ecg_id}", headers=reader).json()["measurements"]["automated"]

    with chromium() as browser:
        page, errors = signed_in_page(browser, url, "ecgreader", live_server.password)
        page.goto(f"{url}/cases/{case_id}/ecgs/{ecg_id}")
        page.get_by_test_id("ecg-copy-to-report").click()
        page.get_by_test_id("ecg-copied").get_by_role("link").click()
        page.wait_for_url(f"**/cases/{case_id}")
        fields = {
            "heart_rate": automated["heart_rate_bpm"],
            "qt_ms": automated["qt_ms"],
            "qtc_ms": automated["qtc_bazett_ms"],
            "axis_deg": automated["qrs_axis_deg"],
        }
        for field, value in fields.items():
            expect(page.get_by_test_id(f"report-field-{field}")).to_have_value(
                str(round(value)), timeout=SEEN
            )
        # Rhythm and interpretation are the reader's own words: left empty.
        expect(page.get_by_test_id("report-field-interpretation")).to_have_value("")
        assert errors == []
