"""The DICOM viewer in Chromium: a radiologist opens the generated CT, windows, scrolls, measures, saves.

Runs against the `live_server` fixture (a running API server with the demo community, and the village
doctor's case carrying a 30-slice CT study). The viewer exposes a read-only test hook on
`window.__viewer` (see web/README.md): imageIndex(), voi(), imageCount(), annotationCount().
"""

from __future__ import annotations

import pytest

from tests.support.browser import chromium
from tests.support.paths import ARTIFACTS
from tests.support.viewer import READY, sign_in, viewer_api

pytestmark = pytest.mark.browser


def test_radiologist_reads_the_ct_and_saves_a_measurement(live_server) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in(page, live_server.url, live_server.password)

        # From the case list: the case's studies, then the viewer for the CT.
        row = page.locator(f"[data-testid=case-row][data-case-id='{live_server.case_with_ct}']")
        row.get_by_test_id("case-images-link").click()
        page.wait_for_url(f"**/cases/{live_server.case_with_ct}/images")
        # Other tests attach more studies to this case: open the 30-slice CT by its UID.
        page.locator(f"a[data-testid=study-open][href*='{live_server.study_uid}']").click()
        page.wait_for_url("**/viewer/**")
        page.locator(READY).wait_for(timeout=60000)
        assert page.get_by_test_id("viewer").is_visible()
        assert page.get_by_test_id("series-item").count() >= 1
        assert viewer_api(page, "imageCount()") == 30
        assert (
            page.get_by_test_id("slice-counter").inner_text()
            == f"{viewer_api(page, 'imageIndex()') + 1} / 30"
        )
        page.screenshot(path=str(ARTIFACTS / "viewer-ready.png"))

        viewport = page.get_by_test_id("viewer-viewport")
        box = viewport.bounding_box()
        assert box is not None
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

        # Window/level by left-drag, in the browser (no request per change).
        voi_before = viewer_api(page, "voi()")
        overlay_before = page.get_by_test_id("wl-overlay").inner_text()
        assert overlay_before.startswith("W: ")
        page.mouse.move(cx, cy)
        page.mouse.down()
        page.mouse.move(cx + 120, cy + 60, steps=12)
        page.mouse.up()
        page.wait_for_function(
            "([lower, upper]) => { const v = window.__viewer.voi(); return v.lower !== lower || v.upper !== upper; }",
            arg=[voi_before["lower"], voi_before["upper"]],
            timeout=5000,
        )
        page.wait_for_function(
            "(before) => document.querySelector('[data-testid=wl-overlay]').textContent !== before",
            arg=overlay_before,
            timeout=5000,
        )

        # Lung preset: centre -600, width 1500 → VOI about (-1350, 150).
        page.get_by_test_id("preset-lung").click()
        page.wait_for_function("Math.abs(window.__viewer.voi().lower + 1350) <= 1", timeout=5000)
        voi = viewer_api(page, "voi()")
        assert abs(voi["lower"] - -1350) <= 1 and abs(voi["upper"] - 150) <= 1, voi
        assert page.get_by_test_id("wl-overlay").inner_text() == "W: 1500 L: -600"
        page.screenshot(path=str(ARTIFACTS / "viewer-lung.png"))

        # Five wheel notches scroll five slices; the counter follows.
        start = viewer_api(page, "imageIndex()")
        page.mouse.move(cx, cy)
        for _ in range(5):
            page.mouse.wheel(0, 100)
            page.wait_for_timeout(100)
        page.wait_for_function(f"window.__viewer.imageIndex() >= {start + 5}", timeout=10000)
        index = viewer_api(page, "imageIndex()")
        assert index == start + 5
        page.wait_for_function(
            f"document.querySelector('[data-testid=slice-counter]').textContent === '{index + 1} / 30'",
            timeout=5000,
        )

        # A length measurement, saved to the case (the fresh demo case has none yet).
        assert viewer_api(page, "annotationCount()") == 0
        page.get_by_test_id("tool-length").click()
        page.mouse.move(cx - 90, cy - 40)
        page.mouse.down()
        page.mouse.move(cx + 70, cy + 50, steps=12)
        page.mouse.up()
        page.wait_for_function("window.__viewer.annotationCount() === 1", timeout=5000)
        page.screenshot(path=str(ARTIFACTS / "viewer-length.png"))
        page.get_by_test_id("save-annotations").click()
        page.locator("[data-testid=save-status][data-state=saved]").wait_for(timeout=10000)

        # After a reload the saved measurement is read back from the server and drawn again.
        page.reload()
        page.locator(READY).wait_for(timeout=60000)
        page.wait_for_function("window.__viewer.annotationCount() === 1", timeout=10000)
        assert page.get_by_test_id("annotation-count").get_attribute("data-count") == "1"
        for _ in range(index - viewer_api(page, "imageIndex()")):  # back to the measured slice, by keyboard
            page.keyboard.press("ArrowDown")
        page.wait_for_function(f"window.__viewer.imageIndex() === {index}", timeout=5000)
        page.screenshot(path=str(ARTIFACTS / "viewer-reloaded.png"))
        assert errors == [], errors
