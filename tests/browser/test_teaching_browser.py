"""The trainee's side of teaching in Chromium.

On demand: a recorded teaching round (a real aiortc host in a signalling server process, recorded and
muxed by the worker, made a library item with de-identified copies) is found by search, plays, and its
shared viewer replays in step with the video: seeking to a chapter after the host showed slice N shows
slice N, seeking back shows the slice before. The patient's name, carried by the original CT, appears
nowhere on the trainee's pages.

Live (网络收看): while the host records, the trainee's page plays the room's HLS, follows the host's
viewer and sends a chat question that reaches the host's aiortc client."""

from __future__ import annotations

import asyncio
import io
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2 as httpx
import pydicom
import pytest
from playwright.sync_api import Browser, Page, expect

from server.core.config import Settings
from tests.support.accounts import DEMO_PASSWORD
from tests.support.browser import SEEN, chromium, screenshot, signed_in_page
from tests.support.consult import (
    consent,
    finished_recordings,
    new_teaching_session,
    platform_with_signalling,
    server_joined,
    village_case_id,
)
from tests.support.dicom_factory import ct_series, multiframe_us
from tests.support.live import LivePlatform
from tests.support.rtc import RtcPeer

pytestmark = pytest.mark.browser

PATIENT = ("司马", "明远")  # the generated patient's family and given name
BEFORE, SHOWN, AFTER = 2, 7, 12  # slices the host shows, in order
STEP_S = 3  # seconds between them

T = TypeVar("T")


@dataclass(frozen=True)
class TeachingItem:
    platform: LivePlatform
    title: str
    study_uid: str
    shown_at_ms: dict[int, int]  # slice index → its viewer event's t_ms


async def viewer_event(host: RtcPeer, event: dict[str, Any]) -> int:
    """Send a viewer event; its `t_ms` on the session clock, from the server's echo."""
    after = len(host.frames)
    await host.send({"type": "viewer", "event": event})
    _, echo = await host.next_frame("viewer", after=after)
    return int(echo["t_ms"])


async def record_round(room_url: str, token: str, ct_uid: str, us_uid: str) -> tuple[int, dict[int, int]]:
    """The host alone records: opens the CT, shows three slices STEP_S apart, opens the ultrasound, stops.
    Returns the consult session id and when each slice was shown."""
    host = RtcPeer(room_url, token, ice_servers=[])
    try:
        await host.join()
        await consent(host)
        await host.send({"type": "recording", "action": "start"})
        index, on = await host.next_frame("recording")
        assert on["state"] == "on", on
        await server_joined(host)
        await asyncio.sleep(1)
        await viewer_event(host, {"kind": "open", "target": {"type": "study", "id": ct_uid}})
        shown = {}
        for slice_index in (BEFORE, SHOWN, AFTER):
            shown[slice_index] = await viewer_event(host, {"kind": "slice", "index": slice_index})
            await asyncio.sleep(STEP_S)
        await viewer_event(host, {"kind": "open", "target": {"type": "study", "id": us_uid}})
        await asyncio.sleep(1)
        await host.send({"type": "recording", "action": "stop"})
        index, off = await host.next_frame("recording", after=index + 1)
        assert off["state"] == "off", off
        await host.next_frame("peer_left", after=index)  # the recorder closed its files
        return host.welcome["room"]["session_id"], shown
    finally:
        await host.close()


def wait_ready(platform: LivePlatform, headers: dict[str, str], item_id: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while (item := httpx.get(f"{platform.url}/api/teaching/library/{item_id}", headers=headers).json())[
        "state"
    ] == "preparing":
        assert time.monotonic() < deadline, f"library item still preparing after {timeout} s"
        time.sleep(0.5)
    assert item["state"] == "ready", item


@dataclass(frozen=True)
class TeachingPlatform:
    platform: LivePlatform
    signaling_port: str

    def room_url(self, session_id: int) -> str:
        return f"ws://127.0.0.1:{self.signaling_port}/ws/rooms/teaching-{session_id}"

    def token(self, username: str) -> str:
        return self.platform.bearer(username)["Authorization"].removeprefix("Bearer ")


@pytest.fixture(scope="module")
def teaching_platform(settings: Settings, demo: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeachingPlatform]:  # fmt: skip
    """API, worker and signalling server processes; the API names the signalling server to browsers."""
    with platform_with_signalling(settings, tmp_path_factory.mktemp("teaching")) as (platform, port):
        yield TeachingPlatform(platform, port)


@pytest.fixture(scope="module")
def teaching_item(teaching_platform: TeachingPlatform, session_factory: Any) -> TeachingItem:
    """A recorded teaching round over a CT of a named patient and an ultrasound loop (whose pixels may
    carry burned-in text), made a ready library item."""
    platform = teaching_platform.platform
    series = ct_series(n_slices=16, rows=128, cols=128, seed=7061, patient_name="^".join(PATIENT))
    us = multiframe_us(3, seed=7062)
    stored = platform.stow("village", [*series, us], village_case_id(session_factory))
    assert stored.status_code == 200, stored.text
    study_uid = pydicom.dcmread(io.BytesIO(series[0])).StudyInstanceUID
    us_uid = pydicom.dcmread(io.BytesIO(us)).StudyInstanceUID

    title = f"肺结节教学查房 {uuid.uuid4().hex[:6]}"
    session_id = new_teaching_session(session_factory, title)
    room_url, token = teaching_platform.room_url(session_id), teaching_platform.token("radiologist")
    consult_id, shown = asyncio.run(record_round(room_url, token, study_uid, us_uid))
    [recording] = finished_recordings(session_factory, consult_id)
    assert recording.state == "ready", recording.error

    host = platform.bearer("radiologist")
    created = httpx.post(
        f"{platform.url}/api/teaching/library",
        json={"recording_id": recording.id, "title": title, "specialty": "放射科", "description": "右肺结节"},
        headers=host,
    )
    assert created.status_code == 201, created.text
    item_id = created.json()["id"]
    chapters = [
        {"t_ms": shown[BEFORE] + 500, "title": "病例介绍"},
        {"t_ms": shown[SHOWN] + 500, "title": "右下肺结节"},
    ]
    put = httpx.put(
        f"{platform.url}/api/teaching/library/{item_id}/chapters", json={"chapters": chapters}, headers=host
    )
    assert put.status_code == 200, put.text
    wait_ready(platform, host, item_id)
    return TeachingItem(platform, title, study_uid, shown)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium(["--autoplay-policy=no-user-gesture-required"]) as launched:
        yield launched


def media_ms(page: Page) -> int:
    return int(page.get_by_test_id("teaching-media-time").get_attribute("data-ms") or 0)


def seek_to_chapter(page: Page, title: str) -> None:
    page.get_by_test_id("teaching-chapter").filter(has_text=title).click()


def assert_no_patient_name(page: Page) -> None:
    text = page.inner_text("body")
    for part in PATIENT:
        assert part not in text, f"the patient's name ({part}) is on the trainee's page"


def test_a_trainee_finds_plays_and_seeks_a_recorded_round(teaching_item: TeachingItem, browser: Browser) -> None:  # fmt: skip
    url = teaching_item.platform.url
    page, errors = signed_in_page(browser, url, "trainee", DEMO_PASSWORD)
    page.goto(f"{url}/teaching")
    page.get_by_test_id("teaching-search").fill("没有这门课")
    page.get_by_test_id("teaching-search-submit").click()
    expect(page.get_by_test_id("teaching-library-empty")).to_be_visible(timeout=SEEN)
    page.get_by_test_id("teaching-search").fill(teaching_item.title.split()[-1])
    page.get_by_test_id("teaching-search-submit").click()
    found = page.get_by_test_id("teaching-item")
    expect(found).to_have_count(1, timeout=SEEN)
    expect(found.get_by_test_id("teaching-item-title")).to_have_text(teaching_item.title)
    assert_no_patient_name(page)
    screenshot(page, "teaching-library.png")

    found.get_by_test_id("teaching-item-link").click()
    video = page.get_by_test_id("teaching-video")
    expect(video).to_be_visible(timeout=SEEN)
    materials = page.get_by_test_id("teaching-material")
    expect(materials).to_have_count(2)
    expect(materials.filter(has=page.get_by_test_id("teaching-burned-in"))).to_have_count(1)
    video.evaluate("(v) => v.play()")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=teaching-video]').currentTime > 1", timeout=SEEN
    )
    assert media_ms(page) > 0

    # Forwards past the moment the host showed slice SHOWN, then back to before it.
    video.evaluate("(v) => v.pause()")
    slice_shown = page.get_by_test_id("teaching-replay-slice")
    seek_to_chapter(page, "右下肺结节")
    expect(slice_shown).to_have_attribute("data-slice", str(SHOWN), timeout=SEEN)
    assert abs(media_ms(page) - (teaching_item.shown_at_ms[SHOWN] + 500)) < 100
    viewer = page.get_by_test_id("shared-viewer")
    expect(viewer).to_have_attribute("data-target-type", "study")
    assert viewer.get_attribute("data-target-id") != teaching_item.study_uid  # the de-identified copy
    on_screen = page.get_by_test_id("shared-view")  # the copy's images, read through the teaching DICOMweb
    expect(on_screen).to_have_attribute("data-slice", str(SHOWN), timeout=SEEN * 2)
    screenshot(page, "teaching-player.png")

    seek_to_chapter(page, "病例介绍")
    expect(slice_shown).to_have_attribute("data-slice", str(BEFORE), timeout=SEEN)
    expect(on_screen).to_have_attribute("data-slice", str(BEFORE), timeout=SEEN)
    video.evaluate("(v) => { v.currentTime = 0; }")
    expect(slice_shown).to_have_attribute("data-slice", "", timeout=SEEN)
    assert_no_patient_name(page)
    assert errors == []


@contextmanager
def event_loop_thread() -> Iterator[Callable[[Coroutine[Any, Any, T]], T]]:
    """An event loop on its own thread (Playwright's sync API refuses to run inside one); yields a
    function that runs a coroutine there and returns its result."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=SEEN / 1000 * 2)

    try:
        yield run
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


async def start_recording(host: RtcPeer) -> None:
    """The host alone joins, consents and records: the room's live HLS is made while it records."""
    await host.join()
    await consent(host)
    await host.send({"type": "recording", "action": "start"})
    _, on = await host.next_frame("recording")
    assert on["state"] == "on", on
    await server_joined(host)


async def chat_received(host: RtcPeer, text: str) -> dict[str, Any]:
    index = 0
    while (found := await host.next_frame("chat", after=index, timeout=SEEN / 1000))[1]["text"] != text:
        index = found[0] + 1
    return found[1]


def test_a_trainee_watches_a_live_round_and_asks_the_presenter(teaching_platform: TeachingPlatform, session_factory: Any, browser: Browser) -> None:  # fmt: skip
    platform = teaching_platform.platform
    session_id = new_teaching_session(session_factory, f"心电图网络教学 {uuid.uuid4().hex[:6]}")
    page, errors = signed_in_page(browser, platform.url, "trainee", DEMO_PASSWORD)
    with event_loop_thread() as run:
        host = RtcPeer(
            teaching_platform.room_url(session_id), teaching_platform.token("radiologist"), ice_servers=[]
        )
        try:
            run(start_recording(host))
            # The trainee finds the round on the library page's timetable (教学安排).
            page.goto(f"{platform.url}/teaching")
            scheduled = page.locator(f"[data-testid=teaching-scheduled][data-session-id='{session_id}']")
            expect(page.get_by_test_id("teaching-enter-room")).to_have_count(0)  # trainees watch
            scheduled.get_by_test_id("teaching-watch-live").click()
            live = page.get_by_test_id("teaching-live-page")
            expect(live).to_have_attribute("data-phase", "in_room", timeout=SEEN)
            # The first segments take a few seconds: the page asks again until the broadcast is live.
            expect(live).to_have_attribute("data-broadcast", "live", timeout=SEEN * 2)
            expect(page.get_by_test_id("teaching-live-latency")).to_contain_text("4")
            video = page.get_by_test_id("teaching-live-video")
            page.wait_for_function(
                "() => document.querySelector('[data-testid=teaching-live-video]').currentTime > 1",
                timeout=SEEN * 2,
            )
            assert video.evaluate("(v) => v.videoWidth") > 0
            screenshot(page, "teaching-live.png")

            # The shared viewer follows the presenter, but a trainee is never sent an original's id.
            viewer = page.get_by_test_id("shared-viewer")
            run(viewer_event(host, {"kind": "open", "target": {"type": "slide", "id": "1"}}))
            expect(viewer).to_have_attribute("data-target-type", "slide", timeout=SEEN)
            expect(viewer).to_have_attribute("data-target-id", "")
            expect(page.get_by_test_id("shared-viewer-withheld")).to_be_visible()

            question = "请问这个结节需要随访多久？"
            page.get_by_test_id("consult-chat-input").fill(question)
            page.get_by_test_id("consult-chat-send").click()
            said = run(chat_received(host, question))
            assert said["display_name"] == "刘学员"
            expect(page.get_by_test_id("consult-chat-line")).to_contain_text([question])
        finally:
            run(host.close())
    assert errors == []
