"""The slide viewer in Chromium: the village doctor uploads a generated pyramidal TIFF to a new pathology
case from its page; the county pathologist opens it, zooms in two deep-zoom levels, reads the scale bar,
measures a line and a polygon, and the µm figures match the slide's 0.25 µm per pixel.

The expected zoom is worked out from the viewer element's size and the slide's (OpenSeadragon fits the
whole slide, then each zoom-in doubles), not taken from the viewer; tiles are counted in the network
responses. Test hook: `window.__slideViewer` (web/README.md).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support import wsi_factory
from tests.support.browser import SEEN, chromium, screenshot, signed_in_page

pytestmark = pytest.mark.browser

WIDTH, HEIGHT, MPP = 4000, 3000, 0.25


def number(locator: Locator, name: str) -> float:
    """A numeric attribute of the element (Playwright types attributes as `str | None`)."""
    value = locator.get_attribute(name)
    assert value is not None, f"no {name}"
    return float(value)


def hook(page: Page, call: str):
    return page.evaluate(f"window.__slideViewer.{call}")


def pathology_case(url: str, village: dict[str, str]) -> int:
    created = httpx.post(
        f"{url}/api/cases",
        json={
            "kind": "pathology",
            "clinical_question": "胃窦活检，请病理诊断",
            "patient": {"name": "陈桂兰", "sex": "F"},
        },
        headers=village,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def wait_for_tiles(url: str, case_id: int, village: dict[str, str]) -> int:
    deadline = time.monotonic() + 120
    while True:
        items = httpx.get(f"{url}/api/cases/{case_id}/slides", headers=village).json()["items"]
        if items and items[0]["tiles_state"] == "ready":
            return items[0]["id"]
        assert not items or items[0]["tiles_state"] != "failed", items
        assert time.monotonic() < deadline, "the worker built no tiles in 120 s"
        time.sleep(0.5)


def click_at(page: Page, dx: float, dy: float) -> None:
    """A click at the viewer's centre plus (dx, dy) CSS px."""
    box = page.get_by_test_id("slide-viewport").bounding_box()
    assert box is not None
    page.get_by_test_id("slide-viewport").click(
        position={"x": box["width"] / 2 + dx, "y": box["height"] / 2 + dy}
    )


def test_pathologist_zooms_two_levels_and_measures_in_microns(live_server, tmp_path: Path) -> None:
    url = live_server.url
    village = live_server.platform.bearer("village")
    case_id = pathology_case(url, village)
    slide_file = wsi_factory.pyramidal_tiff(tmp_path / "antrum-biopsy.tiff", WIDTH, HEIGHT, levels=3, mpp=MPP)

    with chromium() as browser:
        doctor, doctor_errors = signed_in_page(browser, url, "village", live_server.password)
        doctor.goto(f"{url}/cases/{case_id}")
        expect(doctor.get_by_test_id("case-slides-empty")).to_be_visible(timeout=SEEN)
        doctor.get_by_test_id("slide-file").set_input_files(str(slide_file))
        expect(doctor.get_by_test_id("slide-uploaded")).to_have_attribute(
            "data-status", "stored", timeout=60_000
        )
        expect(doctor.get_by_test_id("case-slide")).to_have_count(1)
        slide_id = wait_for_tiles(url, case_id, village)
        submitted = httpx.post(f"{url}/api/cases/{case_id}/actions/submit", json={}, headers=village)
        assert submitted.status_code == 200, submitted.text

        page, errors = signed_in_page(browser, url, "pathologist", live_server.password)
        tiles: list[tuple[int, int]] = []  # (level, status) of every tile response
        page.on(
            "response",
            lambda r: (
                tiles.append((int(r.url.split("/tiles/")[1].split("/")[0]), r.status))
                if "/tiles/" in r.url
                else None
            ),
        )
        page.goto(f"{url}/cases/{case_id}")
        item = page.locator(f"[data-testid=case-slide][data-slide-id='{slide_id}']")
        expect(item).to_have_attribute("data-tiles-state", "ready", timeout=SEEN)
        expect(page.get_by_test_id("slide-file")).to_have_count(0)  # only the requester uploads
        thumb = item.locator("img.ecg-thumb")
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(), timeout=SEEN
        )
        item.get_by_test_id("slide-open").click()

        expect(page.get_by_test_id("slide-viewer-status")).to_have_attribute(
            "data-state", "ready", timeout=SEEN
        )
        box = page.get_by_test_id("slide-viewport").bounding_box()
        assert box is not None
        fit = min(box["width"] / WIDTH, box["height"] / HEIGHT)
        max_level = math.ceil(math.log2(max(WIDTH, HEIGHT)))
        assert hook(page, "maxLevel()") == max_level
        assert hook(page, "zoom()") == pytest.approx(fit, rel=0.01)
        start = hook(page, "level()")
        assert start == max_level + math.ceil(math.log2(fit)), (start, fit)
        assert hook(page, "mpp()") == {"x": pytest.approx(MPP), "y": pytest.approx(MPP)}

        for _ in range(2):
            page.get_by_test_id("slide-zoom-in").click()
        page.wait_for_function(f"window.__slideViewer.level() === {start + 2}", timeout=SEEN)
        page.wait_for_function(
            f"window.__slideViewer.fullyLoaded() && window.__slideViewer.tilesLoaded({start + 2}) > 0",
            timeout=SEEN,
        )
        # Each zoom-in doubles the scale (the animation ends there).
        page.wait_for_function(f"Math.abs(window.__slideViewer.zoom() / {4 * fit} - 1) < 1e-3", timeout=SEEN)
        zoom = hook(page, "zoom()")
        deep = [status for level, status in tiles if level == start + 2]
        assert deep and set(deep) == {200}, tiles
        assert hook(page, "tileErrors()") == 0
        expect(page.get_by_test_id("slide-level")).to_have_attribute("data-level", str(start + 2))

        # The scale bar: a round length, drawn as long as that length is on screen.
        bar = page.get_by_test_id("slide-scale-bar")
        um, px = number(bar, "data-um"), number(bar, "data-px")
        assert um / 10 ** math.floor(math.log10(um)) in {1, 2, 5}
        assert px * MPP / zoom == pytest.approx(um, rel=0.02)
        drawn = bar.locator(".slide-scale-line").bounding_box()
        assert drawn is not None and drawn["width"] == pytest.approx(px, abs=1.5)
        screenshot(page, "slide-viewer.png")

        # A line 240 CSS px long, at the zoom measured from the page: its length in µm is px / zoom × mpp.
        page.get_by_test_id("slide-tool-line").click()
        click_at(page, -120, 0)
        click_at(page, 120, 0)
        expect(page.get_by_test_id("slide-annotation")).to_have_count(1)
        measured = hook(page, "lastMeasurement()")
        expected_um = 240 / (4 * fit) * MPP
        assert measured["tool"] == "line"
        assert measured["lengthUm"] == pytest.approx(expected_um, rel=0.02), (measured, expected_um)
        line_item = page.get_by_test_id("slide-annotation").first
        assert number(line_item, "data-length-um") == pytest.approx(expected_um, rel=0.02)
        expect(line_item).to_contain_text("µm")

        # A 160 × 120 CSS px rectangle as a polygon, closed with the button.
        page.get_by_test_id("slide-tool-polygon").click()
        for dx, dy in ((-80, -60), (80, -60), (80, 60), (-80, 60)):
            click_at(page, dx, dy)
        page.get_by_test_id("slide-polygon-close").click()
        expect(page.get_by_test_id("slide-annotation")).to_have_count(2)
        area = hook(page, "lastMeasurement()")
        side = MPP / (4 * fit)
        assert area["tool"] == "polygon"
        assert area["areaUm2"] == pytest.approx(160 * side * 120 * side, rel=0.03)
        assert hook(page, "zoom()") == pytest.approx(zoom, rel=1e-3)  # drawing moved nothing
        assert page.locator("[data-testid=slide-overlay] .slide-mark").count() >= 2
        # Saved to the case: after a reload the same two marks come back, measured the same.
        page.get_by_test_id("slide-annotations-save").click()
        expect(page.get_by_test_id("slide-annotations-saved")).to_have_attribute(
            "data-state", "saved", timeout=SEEN
        )
        screenshot(page, "slide-annotation.png")
        page.reload()
        expect(page.get_by_test_id("slide-annotation")).to_have_count(2, timeout=SEEN)
        reloaded = page.get_by_test_id("slide-annotation").first
        assert number(reloaded, "data-length-um") == pytest.approx(expected_um, rel=0.02)

        assert not errors, errors
        assert not doctor_errors, doctor_errors
