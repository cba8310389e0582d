"""A live consult in two Chromium browsers: the village doctor and the county radiologist open the same
case's consult page, see each other's video over a real WebRTC mesh (signalling server process, API,
Debian Chromium with fake camera and microphone), chat, and the village doctor's switch to audio only
turns her tile into "camera off" on the radiologist's screen (and back to video with a new camera track).

Two browser *processes*, not two contexts of one, as ../shared/FIELD-NOTES.md advises for two participants.
A second test pairs one Chromium with an aiortc participant (tests/support/rtc.py), so each side's media
is checked by a client that is not the same WebRTC stack as the other.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.support.accounts import DEMO_PASSWORD
from tests.support.browser import CHROMIUM, FLAGS, SEEN, chromium, screenshot, signed_in_page
from tests.support.consult import MIN_AUDIO_FRAMES, MIN_VIDEO_FRAMES
from tests.support.consult_browser import (
    ConsultPlatform,
    assert_playing,
    fake_capture,
    leave_consults,
    open_consult,
    remote_tile,
)
from tests.support.live import LivePlatform
from tests.support.media_fixtures import HEIGHT, WIDTH
from tests.support.rtc import RtcPeer

pytestmark = pytest.mark.browser


@pytest.fixture
def two_browsers(tmp_path: Path) -> Iterator[tuple[Browser, Browser]]:
    """Two Chromium processes from one Playwright driver (a second sync driver cannot run inside the first),
    each with the fake camera and microphone."""
    args = FLAGS + fake_capture(tmp_path)
    with sync_playwright() as playwright:
        browsers = [playwright.chromium.launch(executable_path=CHROMIUM, args=args) for _ in range(2)]
        try:
            yield browsers[0], browsers[1]
        finally:
            for browser in browsers:
                leave_consults(browser)
                browser.close()


@pytest.fixture
def one_browser(tmp_path: Path) -> Iterator[Browser]:
    with chromium(fake_capture(tmp_path)) as browser:
        try:
            yield browser
        finally:
            leave_consults(browser)


def test_two_browsers_see_each_other_chat_and_go_audio_only(
    consult_platform: ConsultPlatform, two_browsers: tuple[Browser, Browser]
) -> None:
    url, case_id = consult_platform.platform.url, consult_platform.case_id
    village_browser, reader_browser = two_browsers
    village, village_errors = signed_in_page(village_browser, url, "village", DEMO_PASSWORD)
    reader, reader_errors = signed_in_page(reader_browser, url, "radiologist", DEMO_PASSWORD)
    open_consult(village, url, case_id)
    open_consult(reader, url, case_id)

    expect(remote_tile(village).get_by_test_id("consult-peer-name")).to_have_text("陈影像", timeout=SEEN)
    expect(remote_tile(reader).get_by_test_id("consult-peer-name")).to_have_text("王村医", timeout=SEEN)
    assert_playing(village)
    assert_playing(reader)
    screenshot(village, "consult-village.png")
    screenshot(reader, "consult-radiologist.png")

    village.get_by_test_id("consult-chat-input").fill("请看一下右下肺的结节")
    village.get_by_test_id("consult-chat-send").click()
    expect(reader.get_by_test_id("consult-chat-line")).to_contain_text(["请看一下右下肺的结节"], timeout=SEEN)

    village.get_by_test_id("consult-profile").select_option("audio_only")
    expect(remote_tile(reader)).to_have_attribute("data-camera", "off", timeout=SEEN)
    expect(remote_tile(reader).get_by_test_id("consult-camera-off")).to_be_visible()
    expect(remote_tile(reader).get_by_test_id("consult-video")).to_be_hidden()
    # Both report getStats() every 5 s; over loopback the server rates the village doctor's link good.
    expect(remote_tile(reader).get_by_test_id("consult-quality")).to_have_attribute(
        "data-level", "good", timeout=SEEN
    )
    screenshot(reader, "consult-radiologist-audio-only.png")

    village.get_by_test_id("consult-profile").select_option("normal")
    expect(remote_tile(reader)).to_have_attribute("data-camera", "on", timeout=SEEN)
    assert_playing(reader)

    assert village_errors == [] and reader_errors == []


def room_url(platform: LivePlatform, headers: dict[str, str], case_id: int) -> str:
    """The case room on the signalling server the API names, as the consult page finds it."""
    config = httpx.get(f"{platform.url}/api/rtc/config", headers=headers)
    config.raise_for_status()
    return f"{config.json()['signaling_url']}/ws/rooms/case-{case_id}"


@contextmanager
def aiortc_participant(url: str, token: str) -> Iterator[RtcPeer]:
    """An RtcPeer in the room on its own thread and event loop (Playwright's sync API refuses to run inside
    one); it leaves with `bye` on exit, and a failure to join is raised here."""
    peer = RtcPeer(url, token)
    joined, leave = threading.Event(), threading.Event()

    async def attend() -> None:
        try:
            await peer.join()
            joined.set()
            await asyncio.to_thread(leave.wait)
        finally:
            joined.set()
            await peer.close()

    with ThreadPoolExecutor(1) as pool:
        attendance = pool.submit(asyncio.run, attend())
        joined.wait(SEEN / 1000)
        try:
            if attendance.done():
                attendance.result()
            yield peer
        finally:
            leave.set()
            attendance.result(timeout=10)


def wait_for_media(peer: RtcPeer, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while (
        peer.received.frames["video"] < MIN_VIDEO_FRAMES or peer.received.frames["audio"] < MIN_AUDIO_FRAMES
    ):
        if time.monotonic() > deadline:
            pytest.fail(f"the aiortc side got too little media from Chromium: {peer.received.frames}")
        time.sleep(0.1)


def test_chromium_and_aiortc_receive_each_others_audio_and_video(
    consult_platform: ConsultPlatform, one_browser: Browser
) -> None:
    platform, case_id = consult_platform.platform, consult_platform.case_id
    village, errors = signed_in_page(one_browser, platform.url, "village", DEMO_PASSWORD)
    open_consult(village, platform.url, case_id)

    headers = platform.bearer("radiologist")
    token = headers["Authorization"].removeprefix("Bearer ")
    with aiortc_participant(room_url(platform, headers, case_id), token) as reader:
        assert reader.welcome["role"] == "host"
        present = [peer["display_name"] for peer in reader.welcome["peers"] if not peer["away"]]
        assert present == ["王村医"]
        expect(remote_tile(village).get_by_test_id("consult-peer-name")).to_have_text("陈影像", timeout=SEEN)
        assert_playing(village)
        screenshot(village, "consult-chromium-aiortc.png")
        wait_for_media(reader)
        assert reader.received.video_sizes == {(WIDTH, HEIGHT)}  # the fake camera's y4m, as sent

    assert errors == []
