"""The shared viewer of a live consult in three Chromium browsers: the county radiologist (host, so the
first leader) opens the case's CT for everyone, scrolls to slice 5 and sets the lung window; the village
doctor's viewer shows the same study, slice and window. The radiologist hands the lead to the village
doctor, who scrolls on: now the radiologist follows. A dispatcher joining late (admitted from the
waiting room) sees the current state at once, from the `welcome` alone, and — the room being recorded —
is asked for consent at once. On a pathology case the pathologist's zoom and pan of a slide is what the
village doctor's slide shows; on an ECG case the ECG reader's paper zoom is the village doctor's. In a
teaching round's room a trainee observes: sends nothing, yet sees and hears the host, who leads.

Live platform and signalling server of the `consult_platform` fixture (tests/browser/conftest.py), helpers
of tests/support/consult_browser.py; the viewers' state is read from the shared viewer's data-*
attributes (what is on screen, from the Cornerstone viewport).
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2 as httpx
import pydicom
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.cases.models import Case, CaseKind
from server.community.models import Institution, User
from tests.support import wsi_factory
from tests.support.accounts import DEMO_PASSWORD
from tests.support.browser import CHROMIUM, FLAGS, SEEN, screenshot, signed_in_page
from tests.support.consult_browser import (
    ConsultPlatform,
    assert_playing,
    fake_capture,
    leave_consults,
    open_consult,
)
from tests.support.dicom_factory import ct_series
from tests.support.paths import pydicom_test_file

pytestmark = pytest.mark.browser

SLICES = 12
LUNG = {"center": "-600", "width": "1500"}


@pytest.fixture(scope="module")
def ct_study(consult_platform: ConsultPlatform) -> str:
    """A small CT on the consult's case; its StudyInstanceUID."""
    platform = consult_platform.platform
    series = ct_series(n_slices=SLICES, rows=128, cols=128, seed=61, patient_name="李^桂兰")
    stored = platform.stow("village", series, consult_platform.case_id)
    assert stored.status_code == 200, stored.text
    ds = pydicom.dcmread(io.BytesIO(series[0]))
    platform.wait_for_thumbnail("radiologist", ds.StudyInstanceUID, ds.SeriesInstanceUID)
    return str(ds.StudyInstanceUID)


@pytest.fixture(scope="module")
def slide_case(
    consult_platform: ConsultPlatform, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, int]:
    """A new pathology case of the village clinic with one tiled slide: (case id, slide id)."""
    url, village = consult_platform.platform.url, consult_platform.platform.bearer("village")
    created = httpx.post(
        f"{url}/api/cases",
        json={
            "kind": "pathology",
            "clinical_question": "宫颈活检",
            "patient": {"name": "周桂香", "sex": "F"},
        },
        headers=village,
    )
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    tiff = wsi_factory.pyramidal_tiff(
        tmp_path_factory.mktemp("slide") / "cervix.tiff", 4000, 3000, levels=3, mpp=0.25
    )
    uploaded = httpx.post(
        f"{url}/api/cases/{case_id}/slides",
        params={"filename": tiff.name},
        content=tiff.read_bytes(),
        headers={**village, "Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    deadline = time.monotonic() + 120
    while (slide := httpx.get(f"{url}/api/slides/{uploaded.json()['id']}", headers=village).json())[
        "tiles_state"
    ] != "ready":
        assert slide["tiles_state"] != "failed" and time.monotonic() < deadline, slide
        time.sleep(0.5)
    submitted = httpx.post(f"{url}/api/cases/{case_id}/actions/submit", json={}, headers=village)
    assert submitted.status_code == 200, submitted.text
    return case_id, slide["id"]


@pytest.fixture(scope="module")
def ecg_case(consult_platform: ConsultPlatform, session_factory: sessionmaker[Session]) -> tuple[int, int]:
    """The village clinic's ECG case with pydicom's Mortara 12-lead attached: (case id, ECG id)."""
    with session_factory() as db:
        case_id = db.scalar(
            select(Case.id)
            .join(Institution)
            .where(Institution.name == "青山村卫生室", Case.kind == CaseKind.ECG)
        )
    assert case_id is not None
    url, village = consult_platform.platform.url, consult_platform.platform.bearer("village")
    uploaded = httpx.post(
        f"{url}/api/cases/{case_id}/ecgs",
        params={"filename": "waveform_ecg.dcm"},
        content=pydicom_test_file("waveform_ecg.dcm").read_bytes(),
        headers={**village, "Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert uploaded.status_code in {200, 201}, uploaded.text  # 200: another test attached the same file
    return case_id, uploaded.json()["id"]


Participant = Callable[[str], tuple[Page, list[str]]]


@pytest.fixture
def participant(consult_platform: ConsultPlatform, tmp_path: Path) -> Iterator[Participant]:
    """Signs a user in, in a Chromium process of their own with the fake camera and microphone (one
    Playwright driver, as in test_consult_browser); each leaves its consult at the end."""
    args = FLAGS + fake_capture(tmp_path)
    with sync_playwright() as playwright:
        browsers: list[Browser] = []

        def join(username: str) -> tuple[Page, list[str]]:
            browsers.append(playwright.chromium.launch(executable_path=CHROMIUM, args=args))
            return signed_in_page(browsers[-1], consult_platform.platform.url, username, DEMO_PASSWORD)

        try:
            yield join
        finally:
            for browser in browsers:
                leave_consults(browser)
                browser.close()


def shown(page: Page) -> Locator:
    """The shared viewer's study view as it is on screen."""
    return page.get_by_test_id("shared-view")


def expect_view(page: Page, study_uid: str, slice_index: int) -> None:
    expect(page.get_by_test_id("shared-viewer")).to_have_attribute("data-target-id", study_uid, timeout=SEEN)
    view = shown(page)
    expect(view).to_have_attribute("data-ready", "true", timeout=60_000)
    expect(view).to_have_attribute("data-slice", str(slice_index), timeout=SEEN)
    expect(view).to_have_attribute("data-window-center", LUNG["center"], timeout=SEEN)
    expect(view).to_have_attribute("data-window-width", LUNG["width"], timeout=SEEN)


def scroll_to(page: Page, index: int) -> None:
    """Mouse-wheel notches over the image, one slice each (the viewer's own binding), until slice
    `index` shows. Each notch waits for its slice: one that lands while slices still load is lost,
    and is sent again rather than counted."""
    box = page.get_by_test_id("viewer-viewport").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    deadline = time.monotonic() + SEEN / 1000
    while (current := int(shown(page).get_attribute("data-slice") or 0)) != index:
        assert time.monotonic() < deadline, f"the viewer stays at slice {current}, not {index}"
        page.mouse.wheel(0, 100 if current < index else -100)
        moved = f"() => document.querySelector('[data-testid=shared-view]').dataset.slice !== '{current}'"
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(moved, timeout=1000)


def expect_leading(page: Page, leading: bool) -> None:
    expect(page.get_by_test_id("shared-leader")).to_have_attribute(
        "data-self-leads", "true" if leading else "false", timeout=SEEN
    )
    expect(page.get_by_test_id("shared-viewer")).to_have_attribute(
        "data-lead", "true" if leading else "false"
    )


def test_follower_sees_the_leaders_view_the_lead_moves_and_a_late_joiner_catches_up(
    consult_platform: ConsultPlatform, ct_study: str, participant: Participant
) -> None:
    url, case_id = consult_platform.platform.url, consult_platform.case_id
    reader, reader_errors = participant("radiologist")
    village, village_errors = participant("village")
    open_consult(reader, url, case_id)
    open_consult(village, url, case_id)
    expect_leading(reader, True)
    expect_leading(village, False)
    expect(village.get_by_test_id("shared-leader")).to_contain_text("陈影像")

    # The leader opens the CT, scrolls five slices and picks the lung window.
    reader.get_by_test_id("shared-pick").select_option(f"study:{ct_study}")
    expect(shown(reader)).to_have_attribute("data-ready", "true", timeout=60_000)
    expect(shown(reader)).to_have_attribute("data-slice", "0")
    scroll_to(reader, 5)
    expect(shown(reader)).to_have_attribute("data-slice", "5", timeout=SEEN)
    reader.get_by_test_id("preset-lung").click()
    expect_view(reader, ct_study, 5)

    # The follower shows the same study, slice and window.
    expect_view(village, ct_study, 5)
    expect(village.get_by_test_id("slice-counter")).to_have_text(f"6 / {SLICES}")
    expect(village.get_by_test_id("wl-overlay")).to_have_text("W: 1500 L: -600")

    # The leader zooms (right-drag): the follower's image has the same zoom.
    box = reader.get_by_test_id("viewer-viewport").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    reader.mouse.move(cx, cy)
    reader.mouse.down(button="right")
    reader.mouse.move(cx, cy - 80, steps=8)
    reader.mouse.up(button="right")
    reader.wait_for_timeout(300)  # the last camera change goes out within 100 ms
    zoom = shown(reader).get_attribute("data-zoom")
    assert zoom and abs(float(zoom) - 1) > 0.05, zoom
    expect(shown(village)).to_have_attribute("data-zoom", zoom, timeout=SEEN)

    # A length measurement of the leader's appears, locked, in the follower's viewer.
    reader.get_by_test_id("tool-length").click()
    reader.mouse.move(cx - 60, cy - 30)
    reader.mouse.down()
    reader.mouse.move(cx + 60, cy + 40, steps=10)
    reader.mouse.up()
    expect(reader.get_by_test_id("annotation-count")).to_have_attribute("data-count", "1", timeout=SEEN)
    expect(village.get_by_test_id("annotation-count")).to_have_attribute("data-count", "1", timeout=SEEN)
    screenshot(village, "consult-viewer-follower.png")

    # The lead goes to the village doctor; the radiologist now follows her.
    reader.get_by_test_id("shared-hand-over-to").select_option(label="王村医")
    reader.get_by_test_id("shared-hand-over").click()
    expect_leading(village, True)
    expect_leading(reader, False)
    scroll_to(village, 8)
    expect(shown(village)).to_have_attribute("data-slice", "8", timeout=SEEN)
    expect_view(reader, ct_study, 8)

    # Both consent and the host records; whoever joins now is asked for consent at once.
    for page in (reader, village):
        page.get_by_test_id("consult-consent").check()
    reader.get_by_test_id("consult-recording-toggle").click()
    expect(village.get_by_test_id("consult-recording")).to_be_visible(timeout=SEEN)

    # A dispatcher joins late: admitted from the waiting room, the study, slice and window are there at once.
    dispatcher, dispatcher_errors = participant("dispatcher")
    dispatcher.goto(f"{url}/cases/{case_id}")
    dispatcher.get_by_test_id("case-consult").click()
    expect(dispatcher.get_by_test_id("consult-page")).to_have_attribute("data-phase", "waiting", timeout=SEEN)
    reader.get_by_test_id("consult-admit").click()
    expect(dispatcher.get_by_test_id("consult-page")).to_have_attribute("data-phase", "in_room", timeout=SEEN)
    dialog = dispatcher.get_by_test_id("consult-consent-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("consult-consent-dialog-confirm").click()
    expect(dialog).to_have_count(0)
    expect(dispatcher.get_by_test_id("consult-consent")).to_be_checked()
    expect_leading(dispatcher, False)
    expect_view(dispatcher, ct_study, 8)
    expect(dispatcher.get_by_test_id("annotation-count")).to_have_attribute("data-count", "1", timeout=SEEN)
    screenshot(dispatcher, "consult-viewer-late-joiner.png")

    assert reader_errors == [] and village_errors == [] and dispatcher_errors == []


def test_the_slide_follows_the_leaders_zoom_and_pan(
    consult_platform: ConsultPlatform, slide_case: tuple[int, int], participant: Participant
) -> None:
    url = consult_platform.platform.url
    case_id, slide_id = slide_case
    pathologist, pathologist_errors = participant("pathologist")
    village, village_errors = participant("village")
    open_consult(pathologist, url, case_id)
    open_consult(village, url, case_id)
    expect_leading(pathologist, True)

    pathologist.get_by_test_id("shared-pick").select_option(f"slide:{slide_id}")
    expect(shown(pathologist)).to_have_attribute("data-ready", "true", timeout=SEEN)
    pathologist.get_by_test_id("slide-zoom-in").click()
    pathologist.get_by_test_id("slide-zoom-in").click()
    box = pathologist.get_by_test_id("slide-viewport").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pathologist.mouse.move(cx, cy)
    pathologist.mouse.down()
    pathologist.mouse.move(cx - 150, cy - 80, steps=10)
    pathologist.mouse.up()
    pathologist.wait_for_timeout(1000)  # the pan's animation settles; the last view is what is sent
    leader = shown(pathologist)
    view = {name: leader.get_attribute(name) for name in ("data-x", "data-y", "data-zoom")}
    assert float(view["data-zoom"] or 0) > 3, view

    follower = shown(village)
    expect(village.get_by_test_id("shared-viewer")).to_have_attribute(
        "data-target-type", "slide", timeout=SEEN
    )
    for name, value in view.items():
        expect(follower).to_have_attribute(name, value or "", timeout=SEEN)
    expect(village.get_by_test_id("shared-pointer")).to_be_visible()  # where the pathologist's mouse is
    screenshot(village, "consult-viewer-slide-follower.png")
    assert pathologist_errors == [] and village_errors == []


def test_the_ecg_follows_the_leaders_zoom(
    consult_platform: ConsultPlatform, ecg_case: tuple[int, int], participant: Participant
) -> None:
    url = consult_platform.platform.url
    case_id, ecg_id = ecg_case
    reader, reader_errors = participant("ecgreader")
    village, village_errors = participant("village")
    open_consult(reader, url, case_id)
    open_consult(village, url, case_id)
    expect_leading(reader, True)

    reader.get_by_test_id("shared-pick").select_option(f"ecg:{ecg_id}")
    expect(shown(reader)).to_have_attribute("data-ready", "true", timeout=SEEN)
    reader.get_by_test_id("ecg-zoom").select_option("2")
    expect(shown(village)).to_have_attribute("data-zoom", "2", timeout=SEEN)
    expect(village.get_by_test_id("ecg-zoom")).to_have_value("2")
    expect(village.get_by_test_id("ecg-scale-state")).to_have_attribute("data-true-scale", "false")
    assert reader_errors == [] and village_errors == []


def test_a_trainee_observes_a_teaching_round(
    consult_platform: ConsultPlatform, participant: Participant, session_factory: sessionmaker[Session]
) -> None:
    platform = consult_platform.platform
    with session_factory() as db:
        host_id = db.scalar(select(User.id).where(User.username == "expert"))
    created = httpx.post(
        f"{platform.url}/api/teaching-sessions",
        json={
            "title": "胸部CT读片教学查房",
            "kind": "ward_round",
            "host_id": host_id,
            "scheduled_at": "2026-12-02T02:00:00+00:00",
        },
        headers=platform.bearer("admin"),
    )
    assert created.status_code == 201, created.text
    room = f"{platform.url}/teaching/sessions/{created.json()['id']}/room"
    host, host_errors = participant("expert")
    trainee, trainee_errors = participant("trainee")
    for page in (host, trainee):
        page.goto(room)
        expect(page.get_by_test_id("consult-page")).to_have_attribute("data-phase", "in_room", timeout=SEEN)

    expect_leading(host, True)
    expect_leading(trainee, False)
    expect(trainee.get_by_test_id("consult-observer-note")).to_be_visible()
    for absent in ("consult-self-tile", "consult-consent", "shared-pick"):
        expect(trainee.get_by_test_id(absent)).to_have_count(0)
    assert_playing(trainee)  # the host offers to the observer, who may not offer
    expect(host.get_by_test_id("consult-remote-tile")).to_have_attribute("data-camera", "off")
    assert host_errors == [] and trainee_errors == []
